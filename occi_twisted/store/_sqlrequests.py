"""The requests table of the SQLite store.

Writes run on the writer thread inside a change set's savepoint (see :mod:`._writer`), so a
claim reads and updates in one ``BEGIN IMMEDIATE`` transaction: SQLite's write lock is held from
the read of the due requests to their update, which is what keeps two stores on one file (two
nodes) from claiming the same request.  Reads run on the reactor thread.

Claims and due times read only the partial indexes ``requests_waiting`` and ``requests_leased``
(see :mod:`._sqlschema`), which hold waiting and running requests by due time: a claim costs
what it takes, however many requests wait.  The query texts here repeat the indexes' WHERE
clauses word for word, which is what lets SQLite use a partial index.  What a claim or any
other transition writes is decided by :mod:`._requests`, as for the memory store.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model.requests import RequestRecord
from . import _eventrules, _sqlevents
from . import _requestrules as rules
from ._sql import ENTITY_EXISTS, Database

_COLUMNS = ", ".join(rules.COLUMNS)
_SELECT = f"SELECT {_COLUMNS} FROM requests"
_WAITING = "state IN ('queued', 'scheduled')"
_RUNNING = "state = 'running'"
_ASSIGN = ", ".join(f"{column} = ?" for column in rules.COLUMNS[1:])
GET = f"{_SELECT} WHERE id = ?"
HELD = f"{_SELECT} WHERE {_RUNNING} AND claimed_by = ?"
#: Waiting requests by due time, and running ones by the end of their lease: what a claim
#: takes (PostgreSQL skips the rows another node's claim holds).
WAITING = (f"SELECT not_before, seq, {_COLUMNS} FROM requests"
           f" WHERE {_WAITING} AND not_before <= ? ORDER BY not_before, seq LIMIT ?")
EXPIRED = (f"SELECT lease_until, seq, {_COLUMNS} FROM requests"
           f" WHERE {_RUNNING} AND lease_until <= ? ORDER BY lease_until, seq LIMIT ?")


@dataclass(frozen=True)
class NewRequest:
    """An :class:`~.requests.AddRequest` with its record turned into a row."""

    row: rules.Row


def insert(db: Database, row: rules.Row) -> None:
    """Add a request of an existing entity under a new id (inside a change set)."""
    requestId, entityId = row[0], row[1]
    if db.execute("SELECT 1 FROM requests WHERE id = ?", (requestId,)).fetchone():
        raise rules.duplicate(requestId)
    if db.execute(ENTITY_EXISTS, (entityId,)).fetchone() is None:
        raise rules.noEntity(entityId)
    marks = ", ".join("?" * len(rules.COLUMNS))
    db.execute(f"INSERT INTO requests ({_COLUMNS}) VALUES ({marks})", row)
    location = _sqlevents.locationOf(db, entityId)
    if location is not None:
        _sqlevents.append(db, _eventrules.requestRow(None, rules.fromRow(row), location))


class Rows:
    """The requests table as :mod:`._requests` reads and writes it (a
    :class:`~._requests.RequestRows`), over ``db``: the reader connection for reads, the
    writer's inside a change set's savepoint for writes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, requestId: str) -> RequestRecord | None:
        row = self._db.execute(GET, (requestId,)).fetchone()
        return None if row is None else rules.fromRow(row)

    def page(
        self, entityId: str | None, after: int, limit: int
    ) -> tuple[list[tuple[int, RequestRecord]], bool]:
        if entityId is None:
            rows = self._db.execute(
                f"SELECT seq, {_COLUMNS} FROM requests WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, limit + 1),
            ).fetchall()
        else:
            rows = self._db.execute(
                f"SELECT seq, {_COLUMNS} FROM requests WHERE entity_id = ? AND seq > ?"
                " ORDER BY seq LIMIT ?",
                (entityId, after, limit + 1),
            ).fetchall()
        return [(int(row[0]), rules.fromRow(row[1:])) for row in rows[:limit]], len(rows) > limit

    def due(self, now: float, limit: int) -> list[RequestRecord]:
        """Waiting ones by ``not_before``, running ones whose lease ended by ``lease_until``:
        each walk stops after ``limit`` rows."""
        waiting = self._db.execute(WAITING, (now, limit)).fetchall()
        expired = self._db.execute(EXPIRED, (now, limit)).fetchall()
        due = sorted(waiting + expired, key=lambda row: (row[0], row[1]))[:limit]
        return [rules.fromRow(row[2:]) for row in due]

    def heldBy(self, node: str) -> list[RequestRecord]:
        return [rules.fromRow(row) for row in self._db.execute(HELD, (node,)).fetchall()]

    def nextDue(self, now: float) -> float | None:
        """One step into each partial index."""
        times = [
            row[0]
            for sql in (
                f"SELECT not_before FROM requests WHERE {_WAITING} AND not_before > ?"
                " ORDER BY not_before LIMIT 1",
                f"SELECT lease_until FROM requests WHERE {_RUNNING} AND lease_until > ?"
                " ORDER BY lease_until LIMIT 1",
            )
            if (row := self._db.execute(sql, (now,)).fetchone()) is not None
        ]
        return float(min(times)) if times else None

    def counts(self) -> dict[tuple[str, str], int]:
        """One pass over the table (a thousand requests take well under a millisecond)."""
        return {(action, state): count for action, state, count in self._db.execute(
            "SELECT action, state, COUNT(*) FROM requests GROUP BY action, state")}

    def update(self, before: RequestRecord, after: RequestRecord) -> RequestRecord:
        row = rules.toRow(after)
        self._db.execute(f"UPDATE requests SET {_ASSIGN} WHERE id = ?", (*row[1:], row[0]))
        if after.revision != before.revision:
            location = _sqlevents.locationOf(self._db, after.entityId)
            if location is not None:
                _sqlevents.append(self._db, _eventrules.requestRow(before, after, location))
        return after


