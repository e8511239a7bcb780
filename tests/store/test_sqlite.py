"""The store contract kept by the SQLite store, and what only a durable store must do:
group commits under concurrency, survival of SIGKILL, schema versions, unusable paths."""

from __future__ import annotations

import os
import re
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest_twisted
from twisted.internet.defer import DeferredList, ensureDeferred, gatherResults
from zope.interface.verify import verifyObject

from occi_twisted.model import Entity
from occi_twisted.model.errors import Conflict
from occi_twisted.store import _sqlread
from occi_twisted.store._sqlschema import MIGRATIONS
from occi_twisted.store.interface import Delete, IStore, Query, StoreUnavailable
from occi_twisted.store.sqlite import SQLiteStore

from .answers_contract import AnswerContract
from .backends import InSQLite, sqliteStore
from .contract import EntityContract, compute, creates, failure, ids, network, nic
from .events_contract import EventContract
from .forwards_contract import ForwardContract
from .notes_contract import NoteContract
from .quotas_contract import QuotaContract
from .requests_contract import RequestContract
from .subscriptions_contract import SubscriptionContract

ROOT = Path(__file__).resolve().parents[2]


def test_provides_i_store() -> None:
    assert verifyObject(IStore, sqliteStore(Path("unused.sqlite3")))


class TestEntities(InSQLite, EntityContract):
    pass


class TestQuotas(InSQLite, QuotaContract):
    pass


class TestRequests(InSQLite, RequestContract):
    pass


class TestEvents(InSQLite, EventContract):
    pass


class TestSubscriptions(InSQLite, SubscriptionContract):
    pass


class TestNotes(InSQLite, NoteContract):
    pass


class TestAnswers(InSQLite, AnswerContract):
    pass


class TestSQLiteStore(InSQLite):
    """What only a durable store does, beside the contracts."""

    @pytest_twisted.ensureDeferred
    async def test_files_are_real_and_in_wal_mode(self, store: IStore) -> None:
        await store.apply(creates(compute("c1")))
        assert self.path.is_file()
        with sqlite3.connect(self.path) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
            assert db.execute("SELECT id, kind, owner FROM entities").fetchall() == [
                ("c1", "http://schemas.ogf.org/occi/infrastructure#compute", "alice")]
        db.close()

    @pytest_twisted.ensureDeferred
    async def test_concurrent_change_sets_commit_in_groups(self, store: IStore) -> None:
        assert isinstance(store, SQLiteStore)
        await store.apply(creates(compute("taken")))
        before, synced = store.commits, store.syncs
        writes = [store.apply(creates(compute(f"c{n:03}"))) for n in range(499)]
        # The one bad set fails after it wrote something: its savepoint must undo that alone.
        writes.insert(250, store.apply(creates(compute("half-done"), compute("taken"))))
        results = await DeferredList(writes, consumeErrors=True)
        failed = [(n, outcome.value) for n, (ok, outcome) in enumerate(results) if not ok]
        assert len(failed) == 1
        assert failed[0][0] == 250 and isinstance(failed[0][1], Conflict)
        # Far fewer transactions, and fewer fsyncs still, than change sets: that is the point.
        assert store.commits - before < 100
        assert store.syncs - synced <= store.commits - before
        again = await self.restart(store)
        assert await again.count(Query()) == 500
        assert await again.get("half-done") is None

    @pytest_twisted.ensureDeferred
    async def test_read_after_acknowledgement_sees_the_write(self, store: IStore) -> None:
        """The read connection is another connection: it must see each write once acknowledged,
        however many are in flight."""

        async def createThenGet(entityId: str) -> Entity | None:
            await store.apply(creates(compute(entityId)))
            return await store.get(entityId)

        seen = await gatherResults([ensureDeferred(createThenGet(f"c{n}")) for n in range(50)])
        assert [entity.id if entity else None for entity in seen] == [f"c{n}" for n in range(50)]

    @pytest_twisted.ensureDeferred
    async def test_deep_pages_use_the_keys(self, store: IStore) -> None:
        """Keyset paging: every plan seeks to the cursor in an index (``seq>?``) and never
        scans a table; a merge of several walks sorts only what each took."""
        await store.apply(creates(compute("c1"), network("n1")))
        db = sqlite3.connect(self.path)
        queries = [
            Query(),
            Query(kinds=frozenset({"k"})),
            Query(kinds=frozenset({"k", "j", "i"}), owner="o"),
            Query(mixins=frozenset({"m"})),
            Query(mixins=frozenset({"m", "n"}), kinds=frozenset({"k"})),
            Query(attributes={"a": 1}),
        ]
        for query in queries:
            plan = _explain(db, query)
            assert not re.search(r"SCAN (e|m|entities|entity_mixins)\b", plan), (query, plan)
            assert re.search(_SEEK, plan), (query, plan)
        db.close()

    @pytest_twisted.ensureDeferred
    async def test_unusable_path_fails_start_in_one_line(self, tmp_path: Path) -> None:
        aFile = tmp_path / "file"
        aFile.write_text("not a directory")
        for path in [aFile / "store.sqlite3", tmp_path]:
            problem = await failure(sqliteStore(path).start(), StoreUnavailable)
            assert str(path) in str(problem) and "\n" not in str(problem)
        aFile.write_bytes(b"this is not a database" * 100)
        problem = await failure(sqliteStore(aFile).start(), StoreUnavailable)
        assert "not a database" in str(problem) and "\n" not in str(problem)

    @pytest_twisted.ensureDeferred
    async def test_newer_schema_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "store.sqlite3"
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA user_version = 99")
        db.close()
        problem = await failure(sqliteStore(path).start(), StoreUnavailable)
        assert "schema version 99" in str(problem)

    @pytest_twisted.ensureDeferred
    async def test_link_rules_hold_across_concurrent_sets(self, store: IStore) -> None:
        """A link and the deletion of its source, in flight together: one order wins, and
        never a link without its source."""
        await store.apply(creates(compute("c"), network("n")))
        link = store.apply(creates(nic("l", "/compute/c", "/network/n")))
        gone = store.apply([Delete("c")])
        await DeferredList([link, gone], fireOnOneErrback=True)
        assert await ids(store) == ["n"]
        await failure(store.apply(creates(nic("l2", "/compute/c", "/network/n"))), Conflict)


#: A plan line that seeks into an index from the cursor.
_SEEK = r"SEARCH [em] USING .*\((rowid|kind=\? AND seq|mixin=\? AND seq)>\?\)"


def _explain(db: sqlite3.Connection, query: Query) -> str:
    """The query plan of the page after cursor 100000, as ``page`` would issue it."""
    captured: list[tuple[str, list[object]]] = []

    class Recorder:
        def execute(self, sql: str, params: list[object]) -> sqlite3.Cursor:
            captured.append((sql, params))
            return db.execute("SELECT 1 WHERE 0")

    _sqlread.page(Recorder(), query, 100_000, 10)  # type: ignore[arg-type]
    sql, params = captured[0]
    rows = db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    return "\n".join(str(row[-1]) for row in rows)


# -- durability under SIGKILL ----------------------------------------------------------------

CRASH_WRITER = ROOT / "tests" / "store" / "crash_writer.py"


@pytest_twisted.ensureDeferred
async def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    """A writer process prints each id once its create is acknowledged; killed mid-way, every
    printed id must be in the store when it is opened again.  (The reactor is blocked while
    this reads the child's output: nothing else runs meanwhile.)"""
    path = tmp_path / "store.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen(
        [sys.executable, str(CRASH_WRITER), str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    acknowledged, partial = _readAcknowledged(writer, wanted=400, timeout=30.0)
    writer.send_signal(signal.SIGKILL)
    remaining, errors = writer.communicate(timeout=10)
    assert writer.returncode == -signal.SIGKILL, errors.decode()
    # Only whole lines count: a line cut by the kill was never printed in full.
    acknowledged.extend((partial + remaining).decode().split("\n")[:-1])
    assert len(acknowledged) >= 400

    store = sqliteStore(path)
    await store.start()
    try:
        present: set[str] = set()
        cursor = None
        while True:
            page = await store.page(Query(), cursor, 500)
            present.update(entity.id for entity in page.entities)
            if page.cursor is None:
                break
            cursor = page.cursor
    finally:
        await store.stop()
    missing = [entityId for entityId in acknowledged if entityId not in present]
    assert missing == []


def _readAcknowledged(
    process: subprocess.Popen[bytes], wanted: int, timeout: float
) -> tuple[list[str], bytes]:
    """At least ``wanted`` whole lines from the process, and the partial line after them."""
    assert process.stdout is not None
    acknowledged: list[str] = []
    buffered = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while len(acknowledged) < wanted:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise AssertionError(f"writer stalled: {process.stderr.read().decode()[-2000:]}"
                                     if process.stderr else "writer stalled")
            if not selector.select(timeout=1.0):
                continue
            chunk = os.read(process.stdout.fileno(), 65536)
            buffered += chunk
            *lines, buffered = buffered.split(b"\n")
            acknowledged.extend(line.decode() for line in lines)
    return acknowledged, buffered


class TestForwards(InSQLite, ForwardContract):
    pass
