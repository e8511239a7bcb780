"""What only the SQLite store must do with requests: claims that two stores on one file (two
nodes) never share, claims that read indexes and not the table, a schema upgrade."""

from __future__ import annotations

import re
import sqlite3
import tracemalloc
from pathlib import Path

import pytest_twisted
from twisted.internet.defer import gatherResults

from occi_twisted.model.requests import RequestState
from occi_twisted.store import _requestrules, _sqlrequests
from occi_twisted.store._sqlschema import MIGRATIONS

from .backends import sqliteStore
from .requests_contract import LEASE, request, withEntity


@pytest_twisted.ensureDeferred
async def test_two_stores_on_one_file_never_claim_the_same_request(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    first, second = sqliteStore(path), sqliteStore(path)
    await first.start()
    await second.start()
    try:
        await withEntity(first, "c1")
        await gatherResults([first.addRequest(request(requestId=f"r{n:03}"))
                             for n in range(300)])
        # Every claim in flight at once, from both nodes, interleaved.
        claims = [
            store.claimDue(node, 1000.0, 7, LEASE)
            for _ in range(30)
            for store, node in [(first, "a"), (second, "b")]
        ]
        claimed = [record for batch in await gatherResults(claims) for record in batch]
        ids = [record.id for record in claimed]
        assert len(ids) == len(set(ids)) == 300
        byNode = {record.id: record.claimedBy for record in claimed}
        stored = [await second.getRequest(f"r{n:03}") for n in range(300)]
        assert all(r is not None and r.claimedBy == byNode[r.id] and r.attempts == 1
                   for r in stored)
        assert set(byNode.values()) == {"a", "b"}
    finally:
        await first.stop()
        await second.stop()


class _Recorder:
    """Stands in for a connection: notes the statements, returns nothing."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.statements: list[tuple[str, tuple[object, ...]]] = []

    def execute(self, sql: str, params: tuple[object, ...]) -> sqlite3.Cursor:
        self.statements.append((sql, params))
        return self.db.execute("SELECT 1 WHERE 0")


def _plans(db: sqlite3.Connection, statements: list[tuple[str, tuple[object, ...]]]) -> str:
    return "\n".join(
        str(row[-1])
        for sql, params in statements
        for row in db.execute("EXPLAIN QUERY PLAN " + sql, params)
    )


@pytest_twisted.ensureDeferred
async def test_claims_and_due_times_read_only_the_partial_indexes(tmp_path: Path) -> None:
    store = sqliteStore(tmp_path / "store.sqlite3")
    await store.start()
    await store.stop()
    db = sqlite3.connect(tmp_path / "store.sqlite3")
    try:
        recorder = _Recorder(db)
        rows = _sqlrequests.Rows(recorder)  # type: ignore[arg-type]
        rows.due(1.0, 5)
        rows.nextDue(1.0)
        plan = _plans(db, recorder.statements)
        assert "requests_waiting" in plan and "requests_leased" in plan, plan
        assert not re.search(r"SCAN requests\b(?! USING)", plan), plan
        assert "TEMP B-TREE" not in plan, plan  # the index gives the order: no sorting
    finally:
        db.close()


@pytest_twisted.ensureDeferred
async def test_pending_requests_stay_on_disk(tmp_path: Path) -> None:
    """100,000 requests wait; claiming five reads five, and the next due time one."""
    path = tmp_path / "store.sqlite3"
    store = sqliteStore(path)
    await store.start()
    try:
        await withEntity(store, "c1")
        rows = [
            _requestrules.toRow(request(requestId=f"p{n:06}", now=0.0, notBefore=float(n)))
            for n in range(100_000)
        ]
        with sqlite3.connect(path) as db:
            marks = ", ".join("?" * len(_requestrules.COLUMNS))
            db.executemany(
                f"INSERT INTO requests ({', '.join(_requestrules.COLUMNS)}) VALUES ({marks})",
                rows,
            )
        db.close()
        del rows
        tracemalloc.start()
        try:
            claimed = await store.claimDue("n", 50_000.0, 5, LEASE)
            due = await store.nextDue(50_000.0)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert [r.id for r in claimed] == [f"p{n:06}" for n in range(5)]
        assert due == 50_001.0
        assert peak < 1_000_000, peak  # the 100,000 rows would take tens of megabytes
        page = await store.listRequests("c1", None, 3)
        assert [r.state for r in page.requests] == [RequestState.RUNNING] * 3
    finally:
        await store.stop()


@pytest_twisted.ensureDeferred
async def test_store_of_the_first_schema_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(MIGRATIONS[0])
        db.execute("PRAGMA user_version = 1")
    db.close()
    store = sqliteStore(path)
    await store.start()
    try:
        await withEntity(store, "c1")
        await store.addRequest(request(requestId="r"))
        assert (await store.getRequest("r")) is not None
        # An event with no author (as all were before authors were kept) is its owner's.
        events = await store.eventsAfter(0, 10)
        assert events and all(event.madeBy == event.owner for event in events)
        assert await store.forward("/compute/c1") is None  # the forwards' table is there
    finally:
        await store.stop()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    db.close()
