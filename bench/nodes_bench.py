"""Several nodes on one PostgreSQL: throughput through 1, 2 and 3 nodes, takeover after a
node's death, and how soon a change on one node wakes a long poll on another.

    python bench/nodes_bench.py [--seconds 5] [--connections 32] [--takeovers 3]
                                [--wakes 200]

It starts its own throwaway PostgreSQL cluster (tests/postgres.py's, ``fsync`` on) and real
``twistd -n occi`` nodes on it, each on a fresh database, with one shared ``--data``:

- durable creates/s (POST /compute/, acknowledged once committed) and GETs/s (one compute in
  text/plain) through 1, 2 and 3 nodes, wrk loading every node at once with ``--connections``
  shared among them; the ratios are to one PostgreSQL node and to one SQLite node measured
  in the same run;
- takeover: the node running a secure erase is killed -9 (``--lease 3``); the time from the
  kill to the request's next progress as another node reports it;
- change-to-wake latency: a long poll (``Prefer: wait``) on node B of a request waiting for
  the backup window, cancelled through node A; the time from A's answer (the change
  committed) to B's answer, p50 / p99 over ``--wakes`` samples.

All nodes, PostgreSQL and wrk share this machine's cores: more nodes on one machine mostly
show what the shared database costs, not what more machines would add.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from http_bench import COMPUTE, wrk, wrkScripts  # noqa: E402

from tests.conftest import RunningServer, call  # noqa: E402
from tests.postgres import Cluster  # noqa: E402

# Imported at run time only: mypy would otherwise check the test helpers themselves.
longPoll: Any = importlib.import_module("tests.launch.test_long_poll")
crash: Any = importlib.import_module("tests.launch.test_request_crash")

NODE = "occi-twisted.request.node"
#: Big enough that three passes outlast a kill and a takeover.
ERASED = ('Category: storage; scheme="http://schemas.ogf.org/occi/infrastructure#"; '
          'class="kind"\nX-OCCI-Attribute: occi.storage.size=0.25\n')


class Nodes:
    """``count`` nodes on a fresh database of ``cluster`` (none: one SQLite node)."""

    def __init__(self, work: Path, cluster: Cluster | None, count: int,
                 *extra: str) -> None:
        data = Path(tempfile.mkdtemp(dir=work)) / "data"
        data.mkdir(parents=True)
        self.cluster, self.url = cluster, cluster.database() if cluster else None
        store = ("--store", self.url) if self.url else ()
        self.servers = [RunningServer(data, *store, "--node", f"n{i}", *extra)
                        for i in range(count)]

    def __enter__(self) -> Nodes:
        for server in self.servers:
            server.start(timeout=60)
        return self

    def __exit__(self, *problem: object) -> None:
        for server in self.servers:
            server.stop()
        if self.cluster is not None and self.url is not None:
            self.cluster.drop(self.url)


def throughput(nodes: Nodes, seconds: int, connections: int, work: Path
               ) -> dict[str, float]:
    """GETs/s and creates/s through every node at once."""
    first = nodes.servers[0].port
    status, headers, body = call(first, "POST", "/compute/", COMPUTE,
                                 {"Content-Type": "text/plain"})
    assert status == 201, body
    entity = crash.pathOf(headers["location"])
    get, post = wrkScripts(work)
    each = max(1, connections // len(nodes.servers))
    found = {}
    for name, script, path in (("get", get, entity), ("create", post, "/compute/")):
        rates = _parallel([(f"http://127.0.0.1:{server.port}{path}", seconds, each, script)
                           for server in nodes.servers])
        found[name] = sum(rate["rate"] for rate in rates)
        found[name + "_non2xx"] = sum(rate["non2xx"] for rate in rates)
    return found


def _parallel(runs: list[tuple[str, int, int, Path]]) -> list[dict[str, float]]:
    """wrk runs at the same time, one thread each."""
    async def all() -> list[dict[str, float]]:
        return list(await asyncio.gather(*(asyncio.to_thread(wrk, *run) for run in runs)))

    return asyncio.run(all())


def takeover(cluster: Cluster, work: Path) -> float:
    """Seconds from the kill -9 of the node running an erase to the erase's next progress
    seen through the other node."""
    with Nodes(work, cluster, 2, "--lease", "3") as nodes:
        ports = {f"n{i}": server.port for i, server in enumerate(nodes.servers)}
        _, erase = crash.startErase(nodes.servers[0].port, ERASED)
        while True:
            found = crash.attributes(nodes.servers[0].port, erase)
            if found.get(NODE) and (found.get(crash.PROGRESS) or {}).get("bytes", 0) > 0:
                break
            time.sleep(0.02)
        victim = found[NODE]
        survivor = next(port for name, port in ports.items() if name != victim)
        nodes.servers[list(ports).index(victim)].kill()
        killed = time.monotonic()
        seen = found[crash.PROGRESS]
        while True:
            now = crash.attributes(survivor, erase)
            if now.get(NODE) not in (None, victim) and now.get(crash.PROGRESS) not in (
                    None, seen):
                return time.monotonic() - killed
            time.sleep(0.01)


async def wakes(a: int, b: int, samples: int) -> list[float]:
    """Seconds from A's answer to a change to B's answer to the long poll it woke."""
    found: list[float] = []
    for _ in range(samples):
        path, etag = await asyncio.to_thread(longPoll._waitingBackup, _Server(a))
        poll = asyncio.ensure_future(longPoll._poll(b, path, etag))
        await asyncio.sleep(0.05)  # B is waiting by now
        status, _, _ = await asyncio.to_thread(call, a, "DELETE", path)
        committed = time.monotonic()
        arrived, line = await poll
        assert status in (200, 202, 204) and line.startswith(b"HTTP/1.1 200"), line
        found.append(max(0.0, arrived - committed))
    return found


class _Server:
    """What the long-poll helpers read of a server: its port."""

    def __init__(self, port: int) -> None:
        self.port = port


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--takeovers", type=int, default=3)
    parser.add_argument("--wakes", type=int, default=200)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    with open("/proc/loadavg") as load:
        print(f"load average before: {load.read().split()[0]}")
    work = Path(tempfile.mkdtemp(prefix="occi-nodes-bench-"))
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="occi-postgres-"))).start()
    try:
        with Nodes(work, None, 1) as single:
            sqlite = throughput(single, args.seconds, args.connections, work)
        print(f"SQLite, 1 node: {sqlite['get']:8.0f} GET/s {sqlite['create']:7.0f} "
              f"creates/s")
        one: dict[str, float] = {}
        for count in (1, 2, 3):
            with Nodes(work, cluster, count) as nodes:
                figures = throughput(nodes, args.seconds, args.connections, work)
            one = one or figures
            print(f"PostgreSQL, {count} node(s): " + "  ".join(
                f"{figures[name]:7.0f} {label}/s (x{figures[name] / one[name]:.2f} of one, "
                f"x{figures[name] / sqlite[name]:.2f} of SQLite)"
                for name, label in (("get", "GET"), ("create", "creates")))
                + (f"  non-2xx: {figures['get_non2xx'] + figures['create_non2xx']:.0f}"))
        times = [takeover(cluster, work) for _ in range(args.takeovers)]
        print("takeover after kill -9 (lease 3 s): " + ", ".join(f"{t:.2f} s" for t in times))
        with Nodes(work, cluster, 2) as nodes:
            a, b = (server.port for server in nodes.servers)
            latencies = asyncio.run(wakes(a, b, args.wakes))
        print(f"change-to-wake across nodes ({len(latencies)} samples): p50 "
              f"{percentile(latencies, 0.5) * 1000:.1f} ms, p99 "
              f"{percentile(latencies, 0.99) * 1000:.1f} ms, mean "
              f"{statistics.fmean(latencies) * 1000:.1f} ms")
    finally:
        cluster.stop()
        shutil.rmtree(cluster.directory, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
        with open("/proc/loadavg") as load:
            print(f"load average after: {load.read().split()[0]}")


if __name__ == "__main__":
    main()
