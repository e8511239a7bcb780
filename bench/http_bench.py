"""HTTP benchmark of the core server against a bare Klein route, in one run.

    python bench/http_bench.py [--seconds 10] [--connections 50] [--listing 100000]
                               [--only entity,collection,create]

For each request -- GET of one compute in text/plain, GET of the compute collection, POST
create (durable: acknowledged once its commit is synced to the disk) -- wrk loads the OCCI
server (``twistd -n occi``, one process, SQLite) and then a bare Klein app answering the same
bytes, and the ratio of their rates is printed beside the absolute figures, the p99 latencies
and the CPU time each server spent per request (steadier than rates when other work shares
the machine).  Then the collection is grown to ``--listing`` computes (0: skipped) and one
listing is read through a socket, to measure the time to its first byte and the server's
memory growth while it streams.

The machine is noisy: compare ratios measured in the same run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from procstat import cpuSeconds, memory  # noqa: E402

#: The measurements, by the name ``--only`` takes.
MEASUREMENTS = ("entity", "collection", "create")
COMPUTE = (
    'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\n'
    "X-OCCI-Attribute: occi.compute.cores=2\n"
    "X-OCCI-Attribute: occi.compute.memory=4.0\n"
    'X-OCCI-Attribute: occi.core.title="bench"\n'
)


def freePort() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def waitForPort(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server on {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def request(port: int, method: str, path: str, body: bytes = b"",
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def startServer(dataDir: Path, port: int) -> subprocess.Popen[bytes]:
    twistd = Path(sys.executable).parent / "twistd"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [str(twistd), "-n", "--pidfile=", "-l", str(dataDir.parent / "server.log"), "occi",
         "--listen", f"tcp:{port}:interface=127.0.0.1", "--data", str(dataDir)],
        cwd=dataDir.parent, env=env,
    )
    waitForPort(port, process)
    return process


def wrk(url: str, seconds: int, connections: int, script: Path | None = None,
        server: int | None = None) -> dict[str, float]:
    """Rate, p99 and non-2xx answers of a wrk run; with ``server`` (a pid), the CPU time that
    process spent per request, in microseconds."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    before = cpuSeconds(server) if server else 0.0
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    spent = cpuSeconds(server) - before if server else 0.0
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p99 = _millis(re.search(r"99%\s+([\d.]+\w+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    count = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    return {"rate": rate, "p99": p99, "non2xx": float(errors.group(1)) if errors else 0.0,
            "cpu_us": spent * 1e6 / max(1, count)}


def wrkScripts(work: Path) -> tuple[Path, Path]:
    """wrk scripts in ``work``: a GET in ``text/plain``, and a POST creating a compute."""
    get = work / "get.lua"
    get.write_text('wrk.headers["Accept"] = "text/plain"\n')
    post = work / "post.lua"
    post.write_text('wrk.method = "POST"\nwrk.body = ' + json.dumps(COMPUTE) + "\n"
                    'wrk.headers["Content-Type"] = "text/plain"\n'
                    'wrk.headers["Accept"] = "text/plain"\n')
    return get, post


def _millis(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def seed(dataDir: Path, count: int) -> None:
    """Add ``count`` computes straight through the store, as fast as it takes them."""
    script = f"""
import sys
from pathlib import Path
from twisted.internet import task
from occi_twisted.model import Description, Registry, newEntity
from occi_twisted.model.infrastructure import COMPUTE
from occi_twisted.store.interface import CREATE, Put
from occi_twisted.store.sqlite import SQLiteStore

async def main(reactor):
    store = SQLiteStore(Path({str(dataDir / 'occi.sqlite3')!r}), Registry.standard(), reactor)
    await store.start()
    for start in range(0, {count}, 2000):
        batch = [Put(newEntity(Description(kind=COMPUTE, attributes={{"occi.compute.cores": 1}})),
                     expect=CREATE) for _ in range(min(2000, {count} - start))]
        await store.apply(batch)
    await store.stop()

task.react(lambda reactor: __import__("twisted.internet.defer").internet.defer.ensureDeferred(
    main(reactor)))
"""
    subprocess.run([sys.executable, "-c", script], check=True, env=dict(os.environ,
                   PYTHONPATH=str(ROOT)))


def timeListing(port: int, accept: str) -> dict[str, float]:
    """Time to the first byte and to the last of one GET /compute/."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.perf_counter()
        sock.sendall(f"GET /compute/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: {accept}\r\n"
                     "Connection: close\r\n\r\n".encode())
        first = sock.recv(65536)
        firstByte = time.perf_counter() - started
        total = len(first)
        while chunk := sock.recv(1 << 20):
            total += len(chunk)
        return {"first_byte_ms": firstByte * 1000, "total_s": time.perf_counter() - started,
                "bytes": float(total)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--listing", type=int, default=100_000)
    parser.add_argument("--only", default=",".join(MEASUREMENTS),
                        help="the measurements to run, among " + ", ".join(MEASUREMENTS))
    args = parser.parse_args()
    only = set(args.only.split(","))
    if not only <= set(MEASUREMENTS):
        raise SystemExit(f"--only takes {', '.join(MEASUREMENTS)}")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")

    work = Path(tempfile.mkdtemp(prefix="occi-bench-"))
    dataDir = work / "occi-data"
    occiPort, barePort = freePort(), freePort()
    server = startServer(dataDir, occiPort)
    bare: subprocess.Popen[bytes] | None = None
    try:
        plain = {"Content-Type": "text/plain", "Accept": "text/plain"}
        for _ in range(100):
            request(occiPort, "POST", "/compute/", COMPUTE.encode(), plain)
        status, headers, created = request(occiPort, "POST", "/compute/", COMPUTE.encode(),
                                           plain)
        assert status == 201, (status, created)
        location = headers["location"]
        path = location[location.index("/compute/"):]
        answers = {}
        for name, target in (("entity", path), ("collection", "/compute/")):
            status, headers, body = request(occiPort, "GET", target, headers={"Accept":
                                                                              "text/plain"})
            assert status == 200, (status, body)
            answers[name] = {"type": headers["content-type"], "body": body.decode()}
        answers["create"] = {"type": "text/plain", "body": created.decode()}
        answersFile = work / "answers.json"
        answersFile.write_text(json.dumps(answers))
        bare = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_klein.py"),
                                 str(barePort), str(answersFile)])
        waitForPort(barePort, bare)

        getScript, postScript = wrkScripts(work)
        print(f"{'request':<22}{'occi req/s':>12}{'bare req/s':>12}{'ratio':>8}"
              f"{'occi p99 ms':>13}{'bare p99 ms':>13}{'occi cpu us':>13}{'bare cpu us':>13}")
        for key, name, target, script in (
            ("entity", "GET compute", path, getScript),
            ("collection", "GET /compute/ (102)", "/compute/", getScript),
            ("create", "POST create", "/compute/", postScript),
        ):
            if key not in only:
                continue
            occi = wrk(f"http://127.0.0.1:{occiPort}{target}", args.seconds,
                       args.connections, script, server.pid)
            baseline = wrk(f"http://127.0.0.1:{barePort}{target}", args.seconds,
                           args.connections, script, bare.pid)
            print(f"{name:<22}{occi['rate']:>12.0f}{baseline['rate']:>12.0f}"
                  f"{occi['rate'] / baseline['rate']:>8.2f}{occi['p99']:>13.1f}"
                  f"{baseline['p99']:>13.1f}{occi['cpu_us']:>13.0f}{baseline['cpu_us']:>13.0f}"
                  + (f"  ({occi['non2xx']:.0f} non-2xx!)" if occi["non2xx"] else ""))
        if not args.listing:
            return

        server.terminate()
        server.wait()
        _, _, listing = request(barePort, "GET", "/compute/")
        existing = listing.count(b"\n")
        seed(dataDir, max(0, args.listing - existing))
        server = startServer(dataDir, occiPort)
        before = memory(server.pid)
        timing = timeListing(occiPort, "text/plain")
        after = memory(server.pid)
        print(f"listing {args.listing} computes (text/plain): first byte "
              f"{timing['first_byte_ms']:.1f} ms, whole {timing['total_s']:.2f} s, "
              f"{timing['bytes'] / 1e6:.1f} MB; server RSS {before['VmRSS'] / 1024:.1f} -> "
              f"peak {after['VmHWM'] / 1024:.1f} MiB (growth "
              f"{(after['VmHWM'] - before['VmRSS']) / 1024:.1f} MiB)")
    finally:
        server.terminate()
        if bare is not None:
            bare.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
