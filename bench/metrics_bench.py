"""Benchmark of the metrics: what a scrape costs, and what counting costs the GET benchmark.

    python bench/metrics_bench.py [--entities 100000] [--requests 1000] [--scrapes 200]
                                  [--seconds 10] [--rounds 3] [--connections 50]

1. A ``twistd -n occi`` (SQLite) over a store seeded with ``--entities`` computes and
   ``--requests`` requests (most scheduled for tomorrow, some succeeded, some failed, so that
   nothing runs meanwhile) is scraped ``--scrapes`` times in a row, ``GET /-/metrics`` on one
   connection: the median and p99 wall time of a scrape (the goal: under 50 ms), its size,
   and the server's CPU time per scrape.
2. The GET benchmark of ``bench/http_bench.py`` (``wrk``, one compute in ``text/plain``)
   against two servers over the same store: one as shipped, one launched with its requests
   unmeasured (``OCCIServer.measured`` made the identity, in that process only), alternately
   for ``--rounds`` rounds; the median rates, CPU time per request and their ratio (the goal:
   counting costs under 5 %).

The machine is noisy: compare ratios measured in the same run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from http_bench import COMPUTE, freePort, request, waitForPort, wrk  # noqa: E402
from procstat import cpuSeconds  # noqa: E402

#: Run in a server process to serve with its requests unmeasured: the baseline of part 2.
UNMEASURED = """
import sys
from occi_twisted.http.app import OCCIServer
OCCIServer.measured = lambda self, inner: inner
from twisted.scripts.twistd import run
sys.argv = ["twistd", *sys.argv[1:]]
run()
"""

SEED = """
import sys, time
from pathlib import Path
from twisted.internet import task
from twisted.internet.defer import ensureDeferred
from occi_twisted.model import Description, Registry, newEntity
from occi_twisted.model.infrastructure import COMPUTE, START
from occi_twisted.model.requests import AddRequest, RequestState, newRequest
from occi_twisted.store.interface import CREATE, Put
from occi_twisted.store.sqlite import SQLiteStore

async def main(reactor, path, entities, requests):
    store = SQLiteStore(Path(path), Registry.standard(), reactor)
    await store.start()
    now = time.time()
    made = []
    for start in range(0, entities, 2000):
        batch = [newEntity(Description(kind=COMPUTE, attributes={"occi.compute.cores": 1}),
                           now=now) for _ in range(min(2000, entities - start))]
        made += batch[:max(0, requests - len(made))]
        await store.apply([Put(e, expect=CREATE) for e in batch])
    records = [newRequest(e.id, START.identifier, owner=e.owner, now=now,
                          notBefore=now + (0 if i < requests // 5 else 86400))
               for i, e in enumerate(made)]
    await store.apply([AddRequest(r) for r in records])
    # A fifth were due: claimed by a node that is not the server, and ended.
    claimed = await store.claimDue("seeder", now, requests // 5, 60.0)
    for i, record in enumerate(claimed):
        await store.finish(record.id, "seeder", now=now, message="seeded",
                           state=RequestState.FAILED if i % 2 else RequestState.SUCCEEDED)
    await store.stop()

task.react(lambda reactor: ensureDeferred(main(reactor, sys.argv[1], int(sys.argv[2]),
                                               int(sys.argv[3]))))
"""


def serve(dataDir: Path, port: int, *, measured: bool = True) -> subprocess.Popen[bytes]:
    """A server on ``dataDir``: as shipped, or with its requests unmeasured."""
    twistd = Path(sys.executable).parent / "twistd"
    command = [str(twistd)] if measured else [sys.executable, "-c", UNMEASURED]
    log = dataDir.parent / f"server-{port}.log"
    process = subprocess.Popen(
        [*command, "-n", "--pidfile=", "-l", str(log), "occi",
         "--listen", f"tcp:{port}:interface=127.0.0.1", "--data", str(dataDir)],
        cwd=dataDir.parent, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    waitForPort(port, process)
    return process


def scrapes(port: int, count: int, pid: int) -> dict[str, float]:
    """``count`` scrapes on one connection: wall times (ms), size, server CPU per scrape."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times: list[float] = []
    size = 0
    cpu = cpuSeconds(pid)
    for _ in range(count):
        started = time.perf_counter()
        connection.request("GET", "/-/metrics")
        response = connection.getresponse()
        body = response.read()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, body[:200]
        size = len(body)
    spent = cpuSeconds(pid) - cpu
    connection.close()
    times.sort()
    return {"median": statistics.median(times), "p99": times[int(len(times) * 0.99) - 1],
            "max": times[-1], "bytes": float(size), "cpu_ms": spent * 1000 / count}


def scrapeLarge(work: Path, args: argparse.Namespace,
                servers: list[subprocess.Popen[bytes]]) -> None:
    """Part 1: seed a store, serve it, scrape it ``args.scrapes`` times."""
    big = work / "big" / "occi-data"
    big.mkdir(parents=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", SEED, str(big / "occi.sqlite3"),
                    str(args.entities), str(args.requests)], check=True,
                   env=dict(os.environ, PYTHONPATH=str(ROOT)))
    print(f"seeded {args.entities} computes and {args.requests} requests in "
          f"{time.perf_counter() - started:.1f} s")
    port = freePort()
    server = serve(big, port)
    servers.append(server)
    scrapes(port, 5, server.pid)  # warm: the first reads open the database's pages
    scraped = scrapes(port, args.scrapes, server.pid)
    print(f"scrape of /-/metrics ({scraped['bytes'] / 1024:.1f} KiB), {args.scrapes} "
          f"in a row: median {scraped['median']:.2f} ms, p99 {scraped['p99']:.2f} ms, "
          f"max {scraped['max']:.2f} ms; server CPU {scraped['cpu_ms']:.2f} ms a scrape "
          f"(goal: under 50 ms)")
    server.terminate()
    server.wait()
    servers.remove(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, default in (("entities", 100_000), ("requests", 1000), ("scrapes", 200),
                          ("seconds", 10), ("rounds", 3), ("connections", 50)):
        parser.add_argument(f"--{name}", type=int, default=default)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="occi-metrics-bench-"))
    servers: list[subprocess.Popen[bytes]] = []
    try:
        if args.entities:  # 0: the GET benchmark alone
            scrapeLarge(work, args, servers)

        # -- 2. what counting costs a GET --------------------------------------------------
        small = work / "small" / "occi-data"
        small.mkdir(parents=True)
        port = freePort()
        seeding = serve(small, port)
        plain = {"Content-Type": "text/plain", "Accept": "text/plain"}
        for _ in range(101):
            status, headers, body = request(port, "POST", "/compute/", COMPUTE.encode(), plain)
            assert status == 201, body
        location = headers["location"]
        path = location[location.index("/compute/"):]
        seeding.terminate()
        seeding.wait()
        copy = work / "small-copy" / "occi-data"
        shutil.copytree(small, copy)
        measuredPort, barePort = freePort(), freePort()
        measured = serve(small, measuredPort)
        bare = serve(copy, barePort, measured=False)
        servers += [measured, bare]
        script = work / "get.lua"
        script.write_text('wrk.headers["Accept"] = "text/plain"\n')
        runs: dict[str, list[dict[str, float]]] = {"measured": [], "bare": []}
        for _ in range(args.rounds):
            for name, target, process in (("measured", measuredPort, measured),
                                          ("bare", barePort, bare)):
                runs[name].append(wrk(f"http://127.0.0.1:{target}{path}", args.seconds,
                                      args.connections, script, process.pid))
        median = {name: {key: statistics.median(run[key] for run in each)
                         for key in ("rate", "cpu_us", "p99")}
                  for name, each in runs.items()}
        print(f"{'GET compute':<22}{'req/s':>10}{'cpu us/req':>12}{'p99 ms':>9}")
        for name in ("measured", "bare"):
            print(f"{name:<22}{median[name]['rate']:>10.0f}{median[name]['cpu_us']:>12.1f}"
                  f"{median[name]['p99']:>9.1f}")
        rate = median["measured"]["rate"] / median["bare"]["rate"]
        cpu = median["measured"]["cpu_us"] / median["bare"]["cpu_us"]
        print(f"measured / bare: rate {rate:.3f} ({(1 - rate) * 100:+.1f} % lost), CPU per "
              f"request {cpu:.3f} ({(cpu - 1) * 100:+.1f} %) (goal: under 5 %); medians of "
              f"{args.rounds} rounds of {args.seconds} s, alternating")
        if any(run["non2xx"] for each in runs.values() for run in each):
            print("(some answers were not 2xx!)")
    finally:
        for process in servers:
            process.terminate()
            process.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
