"""Working through 100,000 pending requests: the server's memory and completions per second.

    python bench/requests_bench.py [--networks 1000] [--per-network 100]
                                   [--concurrency 32,128] [--data-root DIR]

Requests wait in the store (SQLite) until the scheduler claims them, ``--concurrency`` at a
time, and runs each through the action runner and the driver; the store's partial indexes are
meant to make a pending request cost nothing until it is claimed, so a deep queue should
neither fill the server's memory nor slow its work.

The store is seeded directly (``SQLiteStore.apply``, big change sets): ``--networks`` networks
and ``--per-network`` ``up`` requests on each (an instant action of the simulated driver),
queued round-robin (network 1, 2, ... then again), so requests claimed together are on
distinct networks and never race for one entity.  Then, for each ``--concurrency``, the real
server (``twistd -n occi --concurrency N``) starts on a fresh copy of that store and the bench
polls the store file read-only (``SELECT count(*) FROM requests WHERE state='succeeded'``,
every ``--interval`` s) and the server's ``/proc/<pid>/status`` until every request ended:

- RSS right after start (the port listens: the scheduler already runs) and its peak (VmHWM)
  while the server works (goal < 300 MB);
- completions per second, overall (from start to the last) and steady (from 10% to 90%)
  (goal >= 1,000/s).

Baselines measured in the same run, on copies of the same seeded file, with no server:
the store alone claiming batches of ``claimDue(limit=32)`` and finishing each batch's
requests concurrently (so that they share group commits, as the server's runs do) --

- ``store: claim+finish``: the store's own cost per request, the figure the server's rate is
  divided by;
- ``store: claim+get+finish with the entity write``: as the action runner does, the network
  read and its new state committed with the end (a Put in ``finish``).

The machine is noisy: compare ratios measured in the same run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted.internet import task
from twisted.internet.defer import DeferredList, ensureDeferred
from twisted.internet.task import deferLater

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from procstat import cpuSeconds, memory  # noqa: E402

from occi_twisted.model import Description, Entity, Registry, newEntity, withState  # noqa: E402
from occi_twisted.model.infrastructure import NETWORK, UP  # noqa: E402
from occi_twisted.model.requests import AddRequest, RequestState, newRequest  # noqa: E402
from occi_twisted.store.interface import CREATE, Put  # noqa: E402
from occi_twisted.store.sqlite import SQLiteStore  # noqa: E402

STORE = "occi.sqlite3"
NODE = "bench"
#: Requests per change set while seeding.
SEED_BATCH = 5000


# -- seeding and the store-alone baselines ---------------------------------------------------


async def seed(reactor: Any, dataDir: Path, networks: int, perNetwork: int) -> float:
    """Networks and their ``up`` requests, round-robin; returns the seconds it took."""
    started = time.perf_counter()
    store = SQLiteStore(dataDir / STORE, Registry.standard(), reactor)
    await store.start()
    try:
        now = time.time()
        made: list[Entity] = [newEntity(Description(kind=NETWORK), now=now)
                              for _ in range(networks)]
        for start in range(0, networks, SEED_BATCH):
            await store.apply([Put(n, expect=CREATE) for n in made[start:start + SEED_BATCH]])
        pending = [AddRequest(newRequest(n.id, UP.identifier, owner=n.owner, now=now))
                   for _ in range(perNetwork) for n in made]
        for start in range(0, len(pending), SEED_BATCH):
            await store.apply(pending[start:start + SEED_BATCH])
    finally:
        await store.stop()
    return time.perf_counter() - started


def copyStore(source: Path, target: Path) -> None:
    target.mkdir(parents=True)
    for suffix in ("", "-wal"):
        if (source / (STORE + suffix)).exists():
            shutil.copy2(source / (STORE + suffix), target / (STORE + suffix))


async def storeAlone(reactor: Any, dataDir: Path, limit: int, withEntity: bool,
                     most: int | None) -> tuple[int, float]:
    """Claim ``limit`` at a time and finish them together until none is due (or ``most``
    ended); (requests finished, seconds)."""
    store = SQLiteStore(dataDir / STORE, Registry.standard(), reactor)
    await store.start()
    done = 0
    try:
        started = time.perf_counter()
        while most is None or done < most:
            claimed = await store.claimDue(NODE, reactor.seconds(), limit, 60.0)
            if not claimed:
                break

            async def end(requestId: str, entityId: str) -> None:
                changes = []
                if withEntity:
                    entity = await store.get(entityId)
                    assert entity is not None
                    changes.append(Put(withState(entity, {
                        "occi.network.state": "active", "occi.network.state.message": "Up"},
                        now=reactor.seconds()), expect=entity.revision))
                await store.finish(requestId, NODE, now=reactor.seconds(),
                                   state=RequestState.SUCCEEDED, message="Up.",
                                   progress={"percent": 100}, changes=changes)

            await DeferredList([ensureDeferred(end(r.id, r.entityId)) for r in claimed],
                               fireOnOneErrback=True, consumeErrors=True)
            done += len(claimed)
        return done, time.perf_counter() - started
    finally:
        await store.stop()


# -- the server ------------------------------------------------------------------------------


def freePort() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def startServer(dataDir: Path, port: int, concurrency: int) -> subprocess.Popen[bytes]:
    """The server, once its port listens (the store is open and the scheduler runs)."""
    twistd = Path(sys.executable).parent / "twistd"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [str(twistd), "-n", "--pidfile=", "-l", str(dataDir.parent / "server.log"), "occi",
         "--listen", f"tcp:{port}:interface=127.0.0.1", "--data", str(dataDir),
         "--concurrency", str(concurrency)],
        cwd=dataDir.parent, env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server on {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"nothing listens on {port}")


@dataclass
class ServerRun:
    concurrency: int
    total: int
    succeeded: int = 0
    states: dict[str, int] = field(default_factory=dict)
    #: Seconds from the port listening to the last request ended (or the timeout).
    seconds: float = 0.0
    #: Completions per second from 10% to 90% of the requests.
    steady: float = 0.0
    startRSS: int = 0
    peakRSS: int = 0
    endRSS: int = 0
    cpu: float = 0.0
    timedOut: bool = False

    @property
    def rate(self) -> float:
        return self.succeeded / self.seconds if self.seconds else 0.0


async def serverRun(reactor: Any, dataDir: Path, concurrency: int, total: int, *,
                    interval: float, timeout: float) -> ServerRun:
    """Start the server on ``dataDir`` and follow it until every request ended."""
    result = ServerRun(concurrency, total)
    server = startServer(dataDir, freePort(), concurrency)
    started = time.perf_counter()
    result.startRSS = memory(server.pid)["VmRSS"]
    cpu = cpuSeconds(server.pid)
    db = sqlite3.connect(f"file:{dataDir / STORE}?mode=ro", uri=True, isolation_level=None)
    db.execute("PRAGMA busy_timeout = 10000")
    marks: dict[float, float] = {}
    try:
        while True:
            await deferLater(reactor, interval, lambda: None)
            if server.poll() is not None:
                raise SystemExit(f"the server exited with {server.returncode}")
            now = time.perf_counter() - started
            (succeeded,), = db.execute(
                "SELECT count(*) FROM requests WHERE state = 'succeeded'").fetchall()
            (left,), = db.execute(
                "SELECT count(*) FROM requests WHERE state IN ('queued', 'scheduled')"
                " OR state = 'running'").fetchall()
            result.succeeded, result.seconds = succeeded, now
            for fraction in (0.1, 0.9):
                if fraction not in marks and succeeded >= fraction * total:
                    marks[fraction] = now
            if left == 0:
                break
            if now > timeout:
                result.timedOut = True
                break
        status = memory(server.pid)
        result.peakRSS, result.endRSS = status["VmHWM"], status["VmRSS"]
        result.cpu = (cpuSeconds(server.pid) - cpu) / result.seconds
        result.states = dict(db.execute("SELECT state, count(*) FROM requests GROUP BY state"))
    finally:
        db.close()
        server.terminate()
        server.wait()
    if 0.1 in marks and 0.9 in marks and marks[0.9] > marks[0.1]:
        result.steady = 0.8 * total / (marks[0.9] - marks[0.1])
    return result


# -- the run ---------------------------------------------------------------------------------


async def run(reactor: Any, args: argparse.Namespace) -> None:
    args.data_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="requests-bench-", dir=args.data_root))
    total = args.networks * args.per_network
    try:
        seeded = work / "seeded"
        took = await seed(reactor, seeded, args.networks, args.per_network)
        size = sum(f.stat().st_size for f in seeded.iterdir()) / 1e6
        print(f"seeded {args.networks} networks and {total} up requests in {took:.1f} s "
              f"({total / took:.0f}/s); store {size:.0f} MB; in {work}; {os.cpu_count()} CPUs")

        baselines: dict[str, float] = {}
        for name, withEntity in (("store: claim+finish", False),
                                 ("store: claim+get+finish with the entity write", True)):
            copy = work / f"alone-{int(withEntity)}"
            copyStore(seeded, copy)
            done, seconds = await storeAlone(reactor, copy, 32, withEntity, args.baseline_count)
            shutil.rmtree(copy)
            baselines[name] = done / seconds
            print(f"{name:<48} {done:>7} requests in {seconds:6.1f} s: "
                  f"{done / seconds:7.0f}/s")
        base = baselines["store: claim+finish"]
        withWrite = baselines["store: claim+get+finish with the entity write"]

        print(f"{'server':<14}{'done':>8}{'s':>7}{'/s':>7}{'steady/s':>9}{'ratio':>7}"
              f"{'ratio+w':>8}{'CPU':>6}{'RSS start':>10}{'peak MiB':>9}{'end':>6}")
        for concurrency in args.concurrency:
            copy = work / f"server-{concurrency}"
            copyStore(seeded, copy)
            result = await serverRun(reactor, copy, concurrency, total,
                                     interval=args.interval, timeout=args.timeout)
            shutil.rmtree(copy)
            others = {k: v for k, v in result.states.items() if k != "succeeded"}
            verdicts = [
                "rate ok" if result.rate >= 1000 else "rate MISSED (goal >= 1,000/s)",
                "memory ok" if result.peakRSS < 300 * 1024 else "memory MISSED (< 300 MB)"]
            print(f"--concurrency {concurrency:<4}{result.succeeded:>8}{result.seconds:>7.1f}"
                  f"{result.rate:>7.0f}{result.steady:>9.0f}{result.rate / base:>7.2f}"
                  f"{result.rate / withWrite:>8.2f}{result.cpu * 100:>5.0f}%"
                  f"{result.startRSS / 1024:>10.1f}{result.peakRSS / 1024:>9.1f}"
                  f"{result.endRSS / 1024:>6.0f}   {'; '.join(verdicts)}"
                  + (f"   other states: {others}" if others else "")
                  + ("   TIMED OUT" if result.timedOut else ""))
        print("ratio: server completions/s (overall) / store alone claim+finish; ratio+w: / "
              "store alone with the entity write")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--networks", type=int, default=1000)
    parser.add_argument("--per-network", type=int, default=100)
    parser.add_argument("--concurrency", type=lambda text: [int(n) for n in text.split(",")],
                        default=[32, 128], help="comma-separated --concurrency values")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between two polls of the store")
    parser.add_argument("--timeout", type=float, default=900,
                        help="give up on a server run after this many seconds")
    parser.add_argument("--baseline-count", type=int, default=None,
                        help="requests the store-alone baselines finish [all]")
    parser.add_argument("--data-root", type=Path, default=ROOT / "bench" / "results",
                        help="where to make the data directories [bench/results]")
    parser.add_argument("--keep", action="store_true", help="keep the data directories")
    args = parser.parse_args()
    task.react(lambda reactor: ensureDeferred(run(reactor, args)))


if __name__ == "__main__":
    main()
