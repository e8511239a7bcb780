"""Forwards in SQL, for SQLite and PostgreSQL alike (see :class:`~.interface.IForwardStore`):
read on a reader's connection, written by the writer, a forward kept inside its change set's
transaction."""

from __future__ import annotations

from ..model.forwards import Forward
from . import _forwardrules
from ._sql import Database

_COLUMNS = "seq, location, entity_id, owner, url, created"


def _forward(row: tuple[int, str, str, str, str | None, float]) -> Forward:
    _, location, entityId, owner, url, created = row
    return Forward(location, entityId, owner, url, created)


def remember(db: Database, forward: Forward) -> None:
    """Keep ``forward``, in place of one the location had (it moves to the end)."""
    db.execute("DELETE FROM forwards WHERE location = ?", (forward.location,))
    db.execute("INSERT INTO forwards (location, entity_id, owner, url, created)"
               " VALUES (?, ?, ?, ?, ?)",
               (forward.location, forward.entityId, forward.owner, forward.url,
                forward.created))


def get(db: Database, location: str) -> Forward | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM forwards WHERE location = ?",
                     (location,)).fetchone()
    return None if row is None else _forward(row)


def forwarded(db: Database, entityId: str) -> bool:
    return db.execute("SELECT 1 FROM forwards WHERE entity_id = ?",
                      (entityId,)).fetchone() is not None


def page(db: Database, owner: str | None, after: int, limit: int
         ) -> tuple[list[Forward], str | None]:
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM forwards WHERE seq > ? AND (CAST(? AS TEXT) IS NULL OR owner = ?)"
        " ORDER BY seq LIMIT ?", (after, owner, owner, limit + 1)).fetchall()
    return _forwardrules.paged([(row[0], _forward(row)) for row in rows], limit)


def forget(db: Database, location: str) -> Forward:
    if db.execute("UPDATE forwards SET url = NULL WHERE location = ?",
                  (location,)).rowcount == 0:
        raise _forwardrules.noForward(location)
    forgotten = get(db, location)
    assert forgotten is not None
    return forgotten
