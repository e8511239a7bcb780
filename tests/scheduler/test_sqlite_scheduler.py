"""Schedulers over the SQLite store, where several nodes share one database file.

The store's writes complete on the real reactor (its writer thread hands results back), so
these tests let the reactor turn until what they wait for has happened; scheduler time is
still a Clock that only the tests move.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.task import Clock, deferLater

from occi_twisted.model import Description, Registry, newEntity
from occi_twisted.model.infrastructure import COMPUTE
from occi_twisted.model.requests import RequestRecord, RequestState, newRequest
from occi_twisted.scheduler import RunContext, RunResult, Scheduler
from occi_twisted.store import CREATE, Put
from occi_twisted.store.sqlite import SQLiteStore

from .support import ERASE, STOP, T0, tick


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await deferLater(reactor, 0.005, lambda: None)


async def openStore(path: Path) -> SQLiteStore:
    store = SQLiteStore(path, Registry.standard(), reactor)
    await store.start()
    return store


@pytest_twisted.ensureDeferred
async def test_two_schedulers_on_one_file_never_both_run_a_request(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    first, second = await openStore(path), await openStore(path)
    clock = Clock()
    clock.advance(T0)
    runs: Counter[str] = Counter()
    nodes: dict[str, str] = {}

    def run(record: RequestRecord, context: RunContext) -> Deferred[RunResult]:
        runs[record.id] += 1
        nodes[record.id] = context.node
        # Work takes a moment, so each node fills its slots and the other gets its share.
        return deferLater(reactor, 0.002, RunResult)

    entity = newEntity(Description(kind=COMPUTE), entityId="c1", owner="alice", now=T0)
    await first.apply([Put(entity, expect=CREATE)])
    records = [newRequest("c1", STOP, owner="alice", now=T0) for _ in range(60)]
    await gatherResults([first.addRequest(record) for record in records])
    schedulers = [
        Scheduler(store, clock, node, {STOP: run}, concurrency=3)
        for store, node in [(first, "a"), (second, "b")]
    ]
    try:
        for scheduler in schedulers:
            scheduler.startService()
        await eventually(lambda: len(runs) == 60 and not any(
            s.runningRequests for s in schedulers))
        assert set(runs.values()) == {1}
        assert set(nodes.values()) == {"a", "b"}  # both took part
        for record in records:
            stored = await second.getRequest(record.id)
            assert stored is not None and stored.state is RequestState.SUCCEEDED
            assert stored.attempts == 1
    finally:
        await gatherResults([scheduler.stopService() for scheduler in schedulers])
        await first.stop()
        await second.stop()


@pytest_twisted.ensureDeferred
async def test_another_node_resumes_from_the_checkpoint_after_a_crash(tmp_path: Path) -> None:
    """Node 1 checkpoints pass 2 of 4 and dies (its clock stops, it renews nothing); node 2,
    on its own store object, claims the request when the lease ends, with that checkpoint."""
    path = tmp_path / "store.sqlite3"
    deadStore, liveStore = await openStore(path), await openStore(path)
    deadClock, clock = Clock(), Clock()
    deadClock.advance(T0)
    clock.advance(T0)
    checkpoints: list[object] = []
    #: The passes whose checkpoint the store acknowledged to the runner.
    acknowledged: list[int] = []

    def erase(node: str, runClock: Clock) -> Callable[..., Deferred[RunResult]]:
        async def run(record: RequestRecord, context: RunContext) -> RunResult:
            checkpoints.append((node, record.checkpoint))
            start = record.checkpoint["pass"] if isinstance(record.checkpoint, dict) else 0
            assert isinstance(start, int)
            for n in range(start + 1, 5):
                await deferLater(runClock, 10.0, lambda: None)
                await context.checkpoint(progress={"pass": n, "passes": 4},
                                         checkpoint={"pass": n})
                acknowledged.append(n)
            return RunResult(message="Erased.")

        return lambda record, context: Deferred.fromCoroutine(run(record, context))

    entity = newEntity(Description(kind=COMPUTE), entityId="c1", owner="alice", now=T0)
    await liveStore.apply([Put(entity, expect=CREATE)])
    request = newRequest("c1", ERASE, owner="alice", now=T0)

    def saved(n: int) -> Callable[[], bool]:
        """Whether the checkpoint of pass ``n`` was acknowledged to the runner (which then
        waits for its next slice), and the store holds it (reads answer at once)."""

        def holds() -> bool:
            stored: list[RequestRecord | None] = []
            liveStore.getRequest(request.id).addCallback(stored.append)
            return n in acknowledged and bool(stored) and stored[0] is not None and (
                stored[0].checkpoint == {"pass": n})

        return holds

    dead = Scheduler(deadStore, deadClock, "node-1", {ERASE: erase("node-1", deadClock)},
                     leaseSeconds=60.0)
    live = Scheduler(liveStore, clock, "node-2", {ERASE: erase("node-2", clock)},
                     leaseSeconds=60.0)
    try:
        dead.startService()
        await dead.submit(request)
        await eventually(lambda: dead.runningRequests == {request.id})
        for n in (1, 2):
            tick(deadClock, 10.0)
            await eventually(saved(n))
        # Node 1 is dead from here on.  Node 2 starts, and waits for the lease to end.
        live.startService()
        await live.settled()
        tick(clock, 79.0)
        await live.settled()
        assert live.runningRequests == frozenset()
        tick(clock, 1.0)  # the lease, last renewed at T0 + 20, ends at T0 + 80
        await eventually(lambda: live.runningRequests == {request.id})
        for n in (3, 4):
            tick(clock, 10.0)
            await eventually(saved(n))
        await eventually(lambda: not live.runningRequests)
        done = await liveStore.getRequest(request.id)
        assert done is not None and done.state is RequestState.SUCCEEDED
        assert done.attempts == 2 and done.progress == {"pass": 4, "passes": 4}
        assert checkpoints == [("node-1", None), ("node-2", {"pass": 2})]
    finally:
        await live.stopService()
        deadClock.advance(1000.0)  # the dead node's pending work finds it lost, and ends
        await dead.stopService()
        await deadStore.stop()
        await liveStore.stop()
