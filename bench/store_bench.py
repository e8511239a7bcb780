"""Benchmark of the SQLite store against raw sqlite3 on the same disk, in one run.

    python bench/store_bench.py [--seconds 3] [--writers 200] [--deep 100000] [--dir DIR]

Prints, with absolute figures and ratios to the baseline measured in the same run:

- baseline: raw ``sqlite3`` INSERT + COMMIT in a loop, WAL and ``synchronous=FULL`` (one fsync
  per row), rows the size of an entity's document;
- durable creates/s through ``SQLiteStore.apply`` with 1 writer (each waits for its commit)
  and with ``--writers`` concurrent writers (group commit: many change sets per transaction,
  several transactions per fsync), with change sets per commit and per fsync;
- ``get()`` latency (median and p99) on the reactor thread;
- the time of a page at offset ``--deep`` against the first page (keyset pagination).

The machine is noisy: compare ratios measured in the same run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twisted.internet import task
from twisted.internet.defer import Deferred, DeferredList, ensureDeferred

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from occi_twisted.model import Description, Entity, Registry, newEntity  # noqa: E402
from occi_twisted.model.infrastructure import COMPUTE  # noqa: E402
from occi_twisted.store.interface import CREATE, Put, Query  # noqa: E402
from occi_twisted.store.serial import recordOf  # noqa: E402
from occi_twisted.store.sqlite import SQLiteStore  # noqa: E402

_ids = itertools.count()


def compute() -> Entity:
    description = Description(kind=COMPUTE, attributes={
        "occi.compute.cores": 2, "occi.compute.memory": 4.0, "occi.core.title": "bench"})
    return newEntity(description, entityId=f"bench-{next(_ids):09}", now=time.time())


def baseline(directory: str, seconds: float) -> float:
    """Raw sqlite3: one INSERT and one durable COMMIT per row; commits per second."""
    db = sqlite3.connect(os.path.join(directory, "baseline.sqlite3"), isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("CREATE TABLE rows (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, document TEXT)")
    document = recordOf(compute()).document
    count = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        db.execute("BEGIN")
        db.execute("INSERT INTO rows (id, document) VALUES (?, ?)", (f"r{count}", document))
        db.execute("COMMIT")
        count += 1
    elapsed = time.perf_counter() - started
    db.close()
    return count / elapsed


async def creates(
    store: SQLiteStore, writers: int, seconds: float
) -> tuple[float, float, float]:
    """Durable creates/s with ``writers`` concurrent writers, and change sets per commit and
    per sync."""
    deadline = time.perf_counter() + seconds
    done = 0

    async def writer() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await store.apply([Put(compute(), expect=CREATE)])
            done += 1

    commits, syncs = store.commits, store.syncs
    started = time.perf_counter()
    await DeferredList([ensureDeferred(writer()) for _ in range(writers)],
                       fireOnOneErrback=True)
    elapsed = time.perf_counter() - started
    return (done / elapsed, done / max(1, store.commits - commits),
            done / max(1, store.syncs - syncs))


def latency(call: Callable[[], Deferred[Any]], rounds: int) -> tuple[float, float]:
    """Median and p99 of a synchronous read, in microseconds."""
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        result: list[object] = []
        call().addCallback(result.append)
        timings.append((time.perf_counter() - started) * 1e6)
        assert result, "the read did not answer synchronously"
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99)]


async def fill(store: SQLiteStore, total: int) -> None:
    """At least ``total`` entities, in change sets of 500 with 8 in flight."""
    missing = total - await store.count(Query())
    while missing > 0:
        batch = [store.apply([Put(compute(), expect=CREATE) for _ in range(min(500, missing))])
                 for _ in range(8)]
        await DeferredList(batch, fireOnOneErrback=True)
        missing = total - await store.count(Query())


async def cursorAt(store: SQLiteStore, offset: int) -> str | None:
    cursor = None
    while offset > 0:
        page = await store.page(Query(), cursor, min(offset, 5000))
        offset -= len(page.entities)
        cursor = page.cursor
    return cursor


async def main(reactor: Any, options: argparse.Namespace) -> None:
    base = Path(options.dir) if options.dir else ROOT / "bench" / "results"
    base.mkdir(parents=True, exist_ok=True)
    directory = tempfile.mkdtemp(prefix="store-bench-", dir=base)
    try:
        raw = baseline(directory, options.seconds)
        print(f"baseline  raw sqlite3 INSERT+COMMIT (WAL, synchronous=FULL): {raw:9.0f} /s")

        store = SQLiteStore(os.path.join(directory, "store.sqlite3"), Registry.standard(),
                            reactor)
        await store.start()
        one, _, _ = await creates(store, 1, options.seconds)
        many, perCommit, perSync = await creates(store, options.writers, options.seconds)
        print(f"store     durable creates, 1 writer:       {one:9.0f} /s"
              f"   ratio to baseline {one / raw:5.2f}")
        print(f"store     durable creates, {options.writers} writers:   {many:9.0f} /s"
              f"   ratio to baseline {many / raw:5.2f}   ({perCommit:.0f} change sets/commit,"
              f" {perSync:.0f}/fsync)")

        known = [f"bench-{n:09}" for n in range(0, next(_ids), 97)][:2000]
        pick = itertools.cycle(known)
        median, p99 = latency(lambda: store.get(next(pick)), 20_000)
        print(f"store     get() latency:                   {median:9.1f} us median, "
              f"{p99:.1f} us p99")

        if options.deep:
            await fill(store, options.deep + 1000)
            first = latency(lambda: store.page(Query(), None, 100), 200)[0]
            cursor = await cursorAt(store, options.deep)
            deep = latency(lambda: store.page(Query(), cursor, 100), 200)[0]
            kinds = Query(kinds=frozenset({COMPUTE.identifier, "http://x#y"}))
            deepKinds = latency(lambda: store.page(kinds, cursor, 100), 200)[0]
            print(f"store     page of 100 at offset {options.deep}:     {deep:9.0f} us"
                  f"   first page {first:.0f} us   ratio {deep / first:4.2f}"
                  f"   (two kinds: {deepKinds:.0f} us)")
        await store.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput figure")
    parser.add_argument("--writers", type=int, default=200, help="concurrent writers")
    parser.add_argument("--deep", type=int, default=100_000, help="offset of the deep page")
    parser.add_argument("--dir", help="where the databases go (default: bench/results)")
    options = parser.parse_args()
    task.react(lambda reactor: ensureDeferred(main(reactor, options)))
