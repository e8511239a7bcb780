"""How to talk to PostgreSQL from Twisted: psycopg 3 on a thread pool, or psycopg 3 async
under the asyncio reactor, against raw psycopg in a plain thread loop, in one run.

    python bench/pg_client_bench.py [--seconds 3] [--concurrency 8] [--url URL]

Without ``--url`` it starts a throwaway cluster (tests/postgres.py: fsync on).  Each way does
two things, one at a time and ``--concurrency`` at once: a durable single-row INSERT (its own
committed transaction: one WAL flush each) and an indexed SELECT by key.  Printed: operations
per second of each, and the ratio to the baseline (raw psycopg, one connection per thread,
no reactor).  Each reactor runs in its own process (a reactor is installed once).  The
machine is noisy: compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ("CREATE TABLE IF NOT EXISTS bench (id TEXT PRIMARY KEY, document TEXT NOT NULL);"
          "TRUNCATE bench; INSERT INTO bench SELECT 'k' || i, repeat('x', 1500)"
          " FROM generate_series(1, 1000) AS i")
INSERT = "INSERT INTO bench (id, document) VALUES (%s, %s)"
GET = "SELECT document FROM bench WHERE id = %s"
DOCUMENT = "x" * 1500
_counter = iter(range(10**9))


def key() -> str:
    return f"n{next(_counter)}-{threading.get_ident()}"


# -- the baseline: raw psycopg in threads --------------------------------------------------


def baseline(url: str, seconds: float, concurrency: int) -> dict[str, float]:
    figures = {}
    for name, concurrent in (("1", 1), (str(concurrency), concurrency)):
        for op in ("insert", "get"):
            counts = [0] * concurrent

            def loop(slot: int, op: str = op, counts: list[int] = counts) -> None:
                with psycopg.connect(url, autocommit=True) as connection:
                    deadline = time.perf_counter() + seconds
                    while time.perf_counter() < deadline:
                        if op == "insert":
                            connection.execute(INSERT, (key(), DOCUMENT))
                        else:
                            connection.execute(GET, (f"k{slot % 1000 + 1}",)).fetchone()
                        counts[slot] += 1

            threads = [threading.Thread(target=loop, args=(i,)) for i in range(concurrent)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            figures[f"{op} x{name}"] = sum(counts) / seconds
    return figures


# -- under a reactor ---------------------------------------------------------------------


async def measure(seconds: float, concurrency: int,
                  insert: Callable[[], Awaitable[object]],
                  get: Callable[[], Awaitable[object]]) -> dict[str, float]:
    figures = {}
    for concurrent in (1, concurrency):
        for name, op in (("insert", insert), ("get", get)):
            done = [0]

            async def worker(op: Callable[[], Awaitable[object]] = op, done: list[int] = done,
                             deadline: float = time.perf_counter() + seconds) -> None:
                while time.perf_counter() < deadline:
                    await op()
                    done[0] += 1

            await asyncio.gather(*(worker() for _ in range(concurrent)))
            figures[f"{name} x{concurrent}"] = done[0] / seconds
    return figures


def threadPool(url: str, seconds: float, concurrency: int) -> dict[str, float]:
    from psycopg_pool import ConnectionPool
    from twisted.internet import asyncioreactor

    asyncioreactor.install()
    from twisted.internet import reactor
    from twisted.internet.defer import Deferred
    from twisted.internet.threads import deferToThreadPool
    from twisted.python.threadpool import ThreadPool

    threads = ThreadPool(0, concurrency)
    threads.start()
    pool: ConnectionPool[Any] = ConnectionPool(url, min_size=concurrency, max_size=concurrency,
                                               kwargs={"autocommit": True})
    pool.wait()

    def run(sql: str, params: tuple[str, ...]) -> Awaitable[object]:
        def call() -> object:
            with pool.connection() as connection:
                return connection.execute(sql, params).fetchall() if sql == GET else \
                    connection.execute(sql, params)

        return deferToThreadPool(reactor, threads, call).asFuture(asyncio.get_event_loop())

    result: dict[str, float] = {}

    async def main() -> None:
        result.update(await measure(
            seconds, concurrency, lambda: run(INSERT, (key(), DOCUMENT)),
            lambda: run(GET, ("k1",))))

    Deferred.fromFuture(asyncio.ensure_future(main())).addBoth(lambda _: reactor.stop())
    reactor.run()
    pool.close()
    threads.stop()
    return result


def asyncPsycopg(url: str, seconds: float, concurrency: int) -> dict[str, float]:
    from psycopg_pool import AsyncConnectionPool
    from twisted.internet import asyncioreactor

    asyncioreactor.install()
    from twisted.internet import reactor
    from twisted.internet.defer import Deferred

    result: dict[str, float] = {}

    async def main() -> None:
        async with AsyncConnectionPool(url, min_size=concurrency, max_size=concurrency,
                                       kwargs={"autocommit": True}) as pool:
            async def insert() -> None:
                async with pool.connection() as connection:
                    await connection.execute(INSERT, (key(), DOCUMENT))

            async def get() -> None:
                async with pool.connection() as connection:
                    await (await connection.execute(GET, ("k1",))).fetchall()

            result.update(await measure(seconds, concurrency, insert, get))

    Deferred.fromFuture(asyncio.ensure_future(main())).addBoth(lambda _: reactor.stop())
    reactor.run()
    return result


WAYS = {"threads": threadPool, "async": asyncPsycopg}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--url")
    parser.add_argument("--way", choices=sorted(WAYS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.way:
        print(json.dumps(WAYS[args.way](args.url, args.seconds, args.concurrency)))
        return
    cluster = None
    url = args.url
    if url is None:
        sys.path.insert(0, str(ROOT))
        from tests.postgres import Cluster

        cluster = Cluster(Path(tempfile.mkdtemp(prefix="occi-pg-bench-"))).start()
        url = cluster.url()
    try:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(SCHEMA)
        figures = {"raw psycopg, threads": baseline(url, args.seconds, args.concurrency)}
        for way, label in (("threads", "psycopg on a Twisted thread pool"),
                           ("async", "psycopg async, asyncio reactor")):
            out = subprocess.run(
                [sys.executable, __file__, "--way", way, "--url", url,
                 "--seconds", str(args.seconds), "--concurrency", str(args.concurrency)],
                check=True, capture_output=True, text=True).stdout
            figures[label] = json.loads(out.strip().splitlines()[-1])
    finally:
        if cluster is not None:
            cluster.stop()
    base = figures["raw psycopg, threads"]
    print(f"{'':34}" + "".join(f"{name:>16}" for name in base))
    for label, measured in figures.items():
        print(f"{label:34}" + "".join(
            f"{measured[name]:9.0f}/s {measured[name] / base[name]:4.2f}x" for name in base))


if __name__ == "__main__":
    main()
