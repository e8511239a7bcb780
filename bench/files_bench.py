"""Download of a 1 GiB file through :func:`sendBody` (a Klein route) against
``twisted.web.static.File`` serving the same file and against ``dd`` reading it, in one run.

    python bench/files_bench.py [--dir DIR] [--size 1024] [--rounds 3]
                                [--chunks 256,1024,4096] [--seconds 4] [--probes 4]

A file of ``--size`` MiB of random bytes (``os.urandom`` in 8 MiB blocks: no holes, nothing
compressible) is written in a temporary directory under ``--dir`` (default: the system's
temporary directory, which is on the same file system as /tmp) and fsync-ed; beside it a
sparse image of the same size, nothing but a hole (a new disk).  One server process (this
script with ``--serve``) answers, on 127.0.0.1:

- ``/body/<KiB>/<file>``: the file as a :class:`Body` through ``sendBody`` with reads of
  that many KiB (the default chunk, ``serve.CHUNK``, and for the random file the others of
  ``--chunks``);
- ``/static/<file>``: ``twisted.web.static.File`` on the same file, returned by a Klein
  route (so both pay Klein's routing);
- ``/small``: 100 bytes from a Klein route, the "other clients".

Throughput: each round reads the file with ``dd if=FILE of=/dev/null bs=8M`` (the baseline:
no HTTP, no copy through a socket) and downloads it with ``curl -o /dev/null`` through each
route (the sparse image likewise, its rows compared with each other), in turn, twice: *hot*
(the file is in the page cache: it was just written and fits in memory) and *cold* (its
pages evicted first with ``posix_fadvise(POSIX_FADV_DONTNEED)``, which needs no root;
dropping the whole page cache does, and the hypervisor may still cache beneath this
machine, so "cold" is this machine's cold only).  Printed: the median MB/s of
each, the ratios to static.File (goal: sendBody >= 0.9x) and to dd, the server's CPU seconds
per GiB (steadier than rates on a shared machine), and the growth of the server's resident
memory during each download (VmRSS sampled every 5 ms, minus the figure before it; goal
< 30 MiB) -- and its peak over the whole run (VmHWM) against its size once started.

Latency: ``--probes`` threads each GET ``/small`` over a kept-alive connection, pausing 2 ms
between requests (a light load, not a saturating one), for ``--seconds`` while the server is
idle, then while curl downloads the file through ``sendBody`` back to back, then through
static.File.  Printed: p50 and p99 of each window and p99 during / idle (goal < 3x).

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
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from http_bench import freePort, waitForPort  # noqa: E402
from procstat import cpuSeconds, memory  # noqa: E402

MiB = 1 << 20
SMALL = b"x" * 99 + b"\n"


def serve(port: int, directory: str) -> None:
    """The server process: the routes above on 127.0.0.1:``port``, for the files in
    ``directory``."""
    from klein import Klein
    from twisted.internet import reactor
    from twisted.internet.threads import deferToThreadPool
    from twisted.python.threadpool import ThreadPool
    from twisted.web.iweb import IRequest
    from twisted.web.server import Site
    from twisted.web.static import File

    from occi_twisted.files.body import Body, FilePart, versionTag
    from occi_twisted.files.serve import sendBody

    app = Klein()
    pool = ThreadPool(minthreads=1, maxthreads=4, name="bench-files")
    pool.start()
    reactor.addSystemEventTrigger("during", "shutdown", pool.stop)  # type: ignore[attr-defined]

    def openBody(name: str) -> Body:
        part = FilePart.open(os.path.join(directory, name))
        stat = os.fstat(part.fd)
        return Body([part], "application/octet-stream", versionTag(stat), stat.st_mtime)

    @app.route("/body/<int:kib>/<name>")
    async def body(request: IRequest, kib: int, name: str) -> None:
        made = await deferToThreadPool(reactor, pool, openBody, name)  # type: ignore[arg-type]
        await sendBody(request, made, pool, reactor, chunkSize=kib * 1024)  # type: ignore[arg-type]

    @app.route("/static/<name>")
    def static(request: IRequest, name: str) -> File:
        return File(os.path.join(directory, name), defaultType="application/octet-stream")

    @app.route("/small")
    def small(request: IRequest) -> bytes:
        return SMALL

    reactor.listenTCP(port, Site(app.resource()), interface="127.0.0.1")  # type: ignore[attr-defined]
    reactor.run()  # type: ignore[attr-defined]


def startServer(port: int, directory: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, __file__, "--serve", str(port),
                                str(directory)])
    waitForPort(port, process)
    return process


def writeFile(path: Path, size: int) -> None:
    with path.open("wb") as out:
        for _ in range(size // 8):
            out.write(os.urandom(8 * MiB))
        out.flush()
        os.fsync(out.fileno())


def evict(path: Path) -> None:
    """Drop the file's pages from the page cache (clean pages only: it was fsync-ed)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def timed(command: list[str], server: int) -> dict[str, float]:
    """Seconds to run ``command``, the server's CPU seconds meanwhile and the growth of its
    resident memory (KiB, sampled every 5 ms)."""
    before = memory(server)["VmRSS"]
    peak = [before]
    running = threading.Event()
    running.set()

    def sample() -> None:
        while running.is_set():
            peak[0] = max(peak[0], memory(server)["VmRSS"])
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    cpu = cpuSeconds(server)
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    cpu = cpuSeconds(server) - cpu
    running.clear()
    sampler.join()
    return {"seconds": elapsed, "cpu": cpu, "growth": float(peak[0] - before)}


def probe(port: int, seconds: float, threads: int,
          during: Callable[[], None] | None = None, *, path: str = "/small",
          headers: dict[str, str] | None = None) -> list[float]:
    """Latencies (ms) of GET ``path`` (/small) from ``threads`` kept-alive clients for
    ``seconds``, while ``during`` (if any) runs again and again."""
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        while time.monotonic() < deadline:
            started = time.perf_counter()
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200 and (path != "/small" or body == SMALL)
            mine.append((time.perf_counter() - started) * 1000)
            time.sleep(0.002)
        connection.close()
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    if during is not None:
        while time.monotonic() < deadline:
            during()
    for worker in workers:
        worker.join()
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--size", type=int, default=1024, help="MiB (a multiple of 8)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chunks", default="256,1024,4096", help="sendBody reads, KiB")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--probes", type=int, default=4)
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return
    from occi_twisted.files.serve import CHUNK

    chunks = sorted({CHUNK // 1024, *(int(c) for c in args.chunks.split(","))})
    work = Path(tempfile.mkdtemp(prefix="occi-files-bench-", dir=args.dir))
    path, sparse = work / "image.raw", work / "sparse.raw"
    writeFile(path, args.size)
    with sparse.open("wb") as holes:
        holes.truncate(args.size * MiB)
    port = freePort()
    server = startServer(port, work)
    try:
        subprocess.run(["curl", "-sS", "-o", "/dev/null", f"http://127.0.0.1:{port}/small"],
                       check=True)
        atStart = memory(server.pid)["VmRSS"]
        routes: dict[str, list[str]] = {}
        download = ["curl", "-sS", "--fail", "-o", "/dev/null"]
        for prefix, file in (("", path), ("sparse: ", sparse)):
            routes[f"{prefix}dd bs=8M"] = ["dd", f"if={file}", "of=/dev/null", "bs=8M",
                                           "status=none"]
            url = f"http://127.0.0.1:{port}"
            routes[f"{prefix}static.File"] = [*download, f"{url}/static/{file.name}"]
            for kib in chunks if not prefix else [CHUNK // 1024]:
                routes[f"{prefix}sendBody {kib} KiB"] = [*download,
                                                         f"{url}/body/{kib}/{file.name}"]
        results: dict[tuple[str, str], list[dict[str, float]]] = {}
        for _ in range(args.rounds):
            for mode in ("hot", "cold"):
                for name, command in routes.items():
                    file = sparse if name.startswith("sparse") else path
                    if mode == "cold":
                        evict(file)
                    else:
                        subprocess.run(["cat", str(file)], stdout=subprocess.DEVNULL,
                                       check=True)
                    results.setdefault((mode, name), []).append(timed(command, server.pid))
        report(results, args.size, f"sendBody {CHUNK // 1024} KiB")
        print(f"server RSS {atStart / 1024:.1f} MiB once started, at most "
              f"{memory(server.pid)['VmHWM'] / 1024:.1f} MiB over every download")
        latency(port, args, routes)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


def report(results: dict[tuple[str, str], list[dict[str, float]]], size: int,
           main: str) -> None:
    gib = size / 1024
    print(f"{'read':<26}{'MB/s':>9}{'x static':>10}{'x dd':>7}{'cpu s/GiB':>11}"
          f"{'RSS growth MiB':>16}")
    for mode in ("hot", "cold"):
        print(f"-- {mode} ({'in the page cache' if mode == 'hot' else 'pages evicted'})")
        rate = {name: size * MiB / 1e6 / statistics.median(r["seconds"] for r in runs)
                for (m, name), runs in results.items() if m == mode}
        for (m, name), runs in results.items():
            if m != mode:
                continue
            growth = max(r["growth"] for r in runs) / 1024
            cpu = statistics.median(r["cpu"] for r in runs) / gib
            prefix = name[:name.index(":") + 2] if ":" in name else ""
            http = "dd" not in name
            print(f"{name:<26}{rate[name]:>9.0f}"
                  f"{rate[name] / rate[prefix + 'static.File']:>10.2f}"
                  f"{rate[name] / rate[prefix + 'dd bs=8M']:>7.2f}"
                  + (f"{cpu:>11.2f}{growth:>16.1f}" if http else "")
                  + ("   <- sendBody's default" if name == main else ""))


def latency(port: int, args: Any, routes: dict[str, list[str]]) -> None:
    from occi_twisted.files.serve import CHUNK

    windows = {"idle": None,
               "during sendBody": routes[f"sendBody {CHUNK // 1024} KiB"],
               "during static.File": routes["static.File"]}
    idle = 0.0
    print(f"\nGET /small ({args.probes} clients, 2 ms pauses){'p50 ms':>12}{'p99 ms':>9}"
          f"{'count':>7}{'p99 x idle':>12}")
    for name, command in windows.items():
        def again(command: list[str] | None = command) -> None:
            if command is not None:
                subprocess.run(command, check=True, capture_output=True)

        values = probe(port, args.seconds, args.probes, again if command else None)
        p99 = percentile(values, 0.99)
        idle = idle or p99
        print(f"{name:<42}{percentile(values, 0.5):>8.2f}{p99:>9.2f}{len(values):>7}"
              f"{p99 / idle:>12.2f}")


if __name__ == "__main__":
    main()
