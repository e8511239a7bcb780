"""The requests table of the SQLite store.

Writes run on the writer thread inside a change set's savepoint (see :mod:`._writer`), so a
claim reads and updates in one ``BEGIN IMMEDIATE`` transaction: SQLite's write lock is held from
the read of the due requests to their update, which is what keeps two stores on one file (two
nodes) from claiming the same request.  Reads run on the reactor thread.

Claims and due times read only the partial indexes ``requests_waiting`` and ``requests_leased``
(see :mod:`._sqlschema`), which hold waiting and running requests by due time: a claim costs
what it takes, however many requests wait.  The query texts here repeat the indexes' WHERE
clauses word for word, which is what lets SQLite use a partial index.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from ..model.requests import RequestRecord
from . import _eventrules, _sqlevents
from . import _requestrules as rules

_COLUMNS = ", ".join(rules.COLUMNS)
_SELECT = f"SELECT {_COLUMNS} FROM requests"
_WAITING = "state IN ('queued', 'scheduled')"
_RUNNING = "state = 'running'"


@dataclass(frozen=True)
class NewRequest:
    """An :class:`~.requests.AddRequest` with its record turned into a row."""

    row: rules.Row


def insert(db: sqlite3.Connection, row: rules.Row) -> None:
    """Add a request of an existing entity under a new id (inside a change set)."""
    requestId, entityId = row[0], row[1]
    if db.execute("SELECT 1 FROM requests WHERE id = ?", (requestId,)).fetchone():
        raise rules.duplicate(requestId)
    if db.execute("SELECT 1 FROM entities WHERE id = ?", (entityId,)).fetchone() is None:
        raise rules.noEntity(entityId)
    marks = ", ".join("?" * len(rules.COLUMNS))
    db.execute(f"INSERT INTO requests ({_COLUMNS}) VALUES ({marks})", row)
    location = _sqlevents.locationOf(db, entityId)
    if location is not None:
        _sqlevents.append(db, _eventrules.requestRow(None, rules.fromRow(row), location))


def get(db: sqlite3.Connection, requestId: str) -> RequestRecord | None:
    row = db.execute(f"{_SELECT} WHERE id = ?", (requestId,)).fetchone()
    return None if row is None else rules.fromRow(row)


def page(
    db: sqlite3.Connection, entityId: str | None, after: int, limit: int
) -> tuple[list[tuple[int, RequestRecord]], bool]:
    """Up to ``limit`` (seq, request) pairs after ``after``, and whether more follow."""
    if entityId is None:
        rows = db.execute(
            f"SELECT seq, {_COLUMNS} FROM requests WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, limit + 1),
        ).fetchall()
    else:
        rows = db.execute(
            f"SELECT seq, {_COLUMNS} FROM requests WHERE entity_id = ? AND seq > ?"
            " ORDER BY seq LIMIT ?",
            (entityId, after, limit + 1),
        ).fetchall()
    return [(int(row[0]), rules.fromRow(row[1:])) for row in rows[:limit]], len(rows) > limit


def claimDue(
    db: sqlite3.Connection, node: str, now: float, limit: int, leaseSeconds: float
) -> list[RequestRecord]:
    """Claim the ``limit`` requests due longest: waiting ones by ``not_before``, running ones
    whose lease ended by ``lease_until`` -- each walk stops after ``limit`` rows."""
    if limit < 1:
        return []
    waiting = db.execute(
        f"SELECT not_before, seq, {_COLUMNS} FROM requests"
        f" WHERE {_WAITING} AND not_before <= ? ORDER BY not_before, seq LIMIT ?",
        (now, limit),
    ).fetchall()
    expired = db.execute(
        f"SELECT lease_until, seq, {_COLUMNS} FROM requests"
        f" WHERE {_RUNNING} AND lease_until <= ? ORDER BY lease_until, seq LIMIT ?",
        (now, limit),
    ).fetchall()
    due = sorted(waiting + expired, key=lambda row: (row[0], row[1]))[:limit]
    claimed = []
    for row in due:
        before = rules.fromRow(row[2:])
        record = rules.claimed(before, node, now, leaseSeconds)
        _update(db, record, before)
        claimed.append(record)
    return claimed


def nextDue(db: sqlite3.Connection, now: float) -> float | None:
    """The first due time after ``now``: one step into each partial index."""
    times = [
        row[0]
        for sql in (
            f"SELECT not_before FROM requests WHERE {_WAITING} AND not_before > ?"
            " ORDER BY not_before LIMIT 1",
            f"SELECT lease_until FROM requests WHERE {_RUNNING} AND lease_until > ?"
            " ORDER BY lease_until LIMIT 1",
        )
        if (row := db.execute(sql, (now,)).fetchone()) is not None
    ]
    return float(min(times)) if times else None


def change(
    db: sqlite3.Connection, requestId: str, transition: Callable[[RequestRecord], RequestRecord]
) -> RequestRecord:
    """Apply ``transition`` to the stored request and store what it gives."""
    record = rules.found(requestId, get(db, requestId))
    after = transition(record)
    if after is not record:
        _update(db, after, record)
    return after


def releaseNode(db: sqlite3.Connection, node: str, now: float) -> list[RequestRecord]:
    orphans = []
    for row in db.execute(f"{_SELECT} WHERE {_RUNNING} AND claimed_by = ?",
                          (node,)).fetchall():
        before = rules.fromRow(row)
        record = rules.orphaned(before, now)
        _update(db, record, before)
        orphans.append(record)
    return orphans


_ASSIGN = ", ".join(f"{column} = ?" for column in rules.COLUMNS[1:])


def _update(db: sqlite3.Connection, record: RequestRecord, before: RequestRecord) -> None:
    row = rules.toRow(record)
    db.execute(f"UPDATE requests SET {_ASSIGN} WHERE id = ?", (*row[1:], row[0]))
    if record.revision != before.revision:
        location = _sqlevents.locationOf(db, record.entityId)
        if location is not None:
            _sqlevents.append(db, _eventrules.requestRow(before, record, location))
