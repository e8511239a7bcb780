"""HTTP latency while a secure erase writes, against the same server idle, in one run.

    python bench/erase_http_bench.py [--seconds 10] [--connections 10] [--size 8]
                                     [--passes 6] [--pattern zeros] [--rounds 3]
                                     [--data-root DIR]

A secure erase writes every byte of a storage image from the driver's thread pool, in slices
of about 0.25 s, each ``fdatasync``-ed and checkpointed in the store.  None of that may stall
the reactor: a client reading an entity while a disk is being erased must not wait for it.

One server (``twistd -n occi``, SQLite with fsync on commit) serves every window.  Each round
runs ``wrk -t1 -c{connections} -d{seconds}s --latency`` against GET of one compute in
text/plain three times:

- idle: nothing else runs;
- erase: while the server erases a storage of ``--size`` GiB (a sparse file) with
  ``--passes`` passes of ``--pattern`` (enough to outlast the window; ``random`` costs the
  server the CPU of its keystream), started through the API; wrk
  starts once the first slice is on disk and ``--settle`` seconds of progress were sampled.
  The request's progress (GET of the request, JSON, every 0.5 s) gives the erase's MB/s
  before wrk and during it, and says whether the erase was still writing when wrk ended
  (else the figure covers only part of the window).  The erase is then cancelled;
- control: while *another process* runs the same :class:`EraseJob` on a file of the same size
  beside it, with the same slices.  The disk and the CPUs see the same work as in the erase
  window, the server none of it: what the erase window adds to the control is the server's
  doing, what the control adds to idle is the machine's.

Prints p50/p99 of each window per round and their medians, the ratio p99 erase / idle
(goals: < 3x, and < 50 ms during the erase) and control / idle, the erase's MB/s, and where
the CPU went in each window -- the machine is shared, and its noise is part of the answer:
the cores used by the server, wrk, the control eraser and everything else, the cores the
hypervisor stole, and the milliseconds per second the server's reactor thread was ready to
run but waited for a CPU (``/proc/<pid>/schedstat``).  The data directory is on the real disk
(``--data-root``, default ``bench/results``; not tmpfs), sized to the free space there, and
removed at the end; the storage is deleted through the API first.

The machine is noisy: compare ratios measured in the same run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from http_bench import freePort, waitForPort
from procstat import TICK, cpuSeconds

ROOT = Path(__file__).resolve().parent.parent
GIB = 1 << 30
MB = 1_000_000
STORAGE = (
    'Category: storage; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\n'
    "X-OCCI-Attribute: occi.storage.size={size}\n"
)
FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/plain"}
STATE = "occi-twisted.request.state"
PROGRESS = "occi-twisted.request.progress"
FINAL = ("succeeded", "failed", "cancelled")
#: Room left on the disk besides the images: the store, its WAL, the log.
SPARE = 2 * GIB
#: Cores used by other processes (and the hypervisor) above which a window is called noisy.
NOISY = 0.5


# -- processes and CPU -----------------------------------------------------------------------


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


def machineTicks() -> tuple[float, float]:
    """CPU seconds the whole machine spent busy (user, system, interrupts), and stolen by the
    hypervisor."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(ticks[i] for i in (0, 1, 2, 5, 6)) / TICK, ticks[7] / TICK


def runQueueWait(pid: int) -> float:
    """Seconds the process's main thread (the reactor) spent ready to run but waiting for a
    CPU (``/proc/<pid>/schedstat``)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (FileNotFoundError, IndexError):
        return 0.0


def childrenSeconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Cpu:
    """Cores used during a window: by the server, wrk, the control eraser, everything else,
    and stolen by the hypervisor; and the milliseconds per second the reactor thread was
    ready to run but had no CPU."""

    server: float = 0.0
    wrk: float = 0.0
    eraser: float = 0.0
    rest: float = 0.0
    steal: float = 0.0
    waited: float = 0.0


@contextmanager
def cpuMeter(server: int, eraser: int | None, into: Cpu) -> Iterator[None]:
    """Fill ``into`` with the cores each used while the block ran (wrk is the waited-for
    child: it shows in the children's usage once it ended)."""

    def read() -> tuple[float, ...]:
        return (time.perf_counter(), *machineTicks(), cpuSeconds(server), childrenSeconds(),
                cpuSeconds(eraser) if eraser else 0.0, runQueueWait(server))

    before = read()
    yield
    elapsed, busy, steal, ours, children, control, waited = (
        a - b for a, b in zip(read(), before, strict=True))
    into.server, into.wrk, into.eraser = ours / elapsed, children / elapsed, control / elapsed
    into.rest = max(0.0, busy / elapsed - into.server - into.wrk - into.eraser)
    into.steal, into.waited = steal / elapsed, waited / elapsed * 1000


# -- HTTP ------------------------------------------------------------------------------------


def request(port: int, method: str, path: str, body: bytes = b"",
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def created(port: int, path: str, body: bytes, headers: dict[str, str], expect: int) -> str:
    """POST, check the status, and return the path of the Location."""
    status, answer, data = request(port, "POST", path, body, headers)
    if status != expect:
        raise SystemExit(f"POST {path}: {status} {data[:300]!r}")
    return urlsplit(answer["location"]).path


@dataclass
class Latency:
    rate: float
    p50: float
    p99: float
    non2xx: int
    socketErrors: str
    cpu: Cpu = field(default_factory=Cpu)


def wrk(url: str, seconds: int, connections: int, script: Path) -> Latency:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s",
               str(script), url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout

    def find(pattern: str) -> str:
        found = re.search(pattern, output)
        if found is None:
            raise SystemExit(f"cannot read {pattern!r} in wrk's output:\n{output}")
        return found.group(1)

    errors = re.search(r"Socket errors: (.*)", output)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Latency(
        rate=float(find(r"Requests/sec:\s+([\d.]+)")),
        p50=millis(find(r"50%\s+([\d.]+\w+)")),
        p99=millis(find(r"99%\s+([\d.]+\w+)")),
        non2xx=int(non2xx.group(1)) if non2xx else 0,
        socketErrors=errors.group(1) if errors else "",
    )


def millis(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(\w+)", text)
    if found is None:
        raise SystemExit(f"not a wrk duration: {text!r}")
    number, unit = found.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


# -- the erase's progress --------------------------------------------------------------------


@dataclass
class Sample:
    at: float
    state: str
    phase: str
    bytes: int


def sample(port: int, requestPath: str) -> Sample:
    status, _, body = request(port, "GET", requestPath, headers={"Accept": "application/json"})
    if status != 200:
        raise SystemExit(f"GET {requestPath}: {status} {body[:200]!r}")
    attributes: dict[str, Any] = json.loads(body)["attributes"]
    progress: dict[str, Any] = attributes.get(PROGRESS) or {}
    return Sample(time.perf_counter(), str(attributes[STATE]), str(progress.get("phase", "")),
                  int(progress.get("bytes", 0)))


class Sampler(threading.Thread):
    """Reads the erase request's progress every ``interval`` seconds until halted."""

    def __init__(self, port: int, requestPath: str, interval: float) -> None:
        super().__init__(daemon=True)
        self.port, self.requestPath, self.interval = port, requestPath, interval
        self.samples: list[Sample] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            self.samples.append(sample(self.port, self.requestPath))
            self.halt.wait(self.interval)

    def between(self, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples if start <= s.at <= end]


def writeRate(samples: list[Sample]) -> float | None:
    """MB/s written between the first and the last sample taken while writing."""
    writing = [s for s in samples if s.state == "running" and s.phase == "writing"]
    if len(writing) < 2 or writing[-1].at <= writing[0].at:
        return None
    return (writing[-1].bytes - writing[0].bytes) / (writing[-1].at - writing[0].at) / MB


def waitFor(port: int, requestPath: str, done: Callable[[Sample], bool],
            timeout: float) -> Sample:
    deadline = time.monotonic() + timeout
    while True:
        last = sample(port, requestPath)
        if done(last):
            return last
        if time.monotonic() > deadline:
            raise SystemExit(f"{requestPath} is still {last.state}/{last.phase} after "
                             f"{timeout:.0f} s")
        time.sleep(0.1)


# -- the control: the same erase in another process ------------------------------------------


def eraseAlone(path: Path, passes: int, pattern: str, sliceSeconds: float) -> None:
    """Run in a child process: erase ``path`` as the server's runner does (slices aimed at
    ``sliceSeconds``, each synced), printing ``perf_counter bytes`` after each, until done."""
    sys.path.insert(0, str(ROOT))
    from occi_twisted.drivers.storage import CHUNK_SIZE, EraseJob

    job = EraseJob(path, passes, pattern)
    maxBytes, done = 4 * CHUNK_SIZE, 0
    try:
        while not job.done:
            started = time.perf_counter()
            progress = job.step(maxBytes)
            elapsed = time.perf_counter() - started
            advanced, done = progress.bytesDone - done, progress.bytesDone
            print(f"{time.perf_counter()} {done} {progress.phase}", flush=True)
            if advanced > 0 and elapsed > 0:  # as storage._Runner.resize
                aim = min(advanced / elapsed * sliceSeconds, 4 * maxBytes)
                maxBytes = max(CHUNK_SIZE, int(aim) // CHUNK_SIZE * CHUNK_SIZE)
    finally:
        job.close()


# -- the run ---------------------------------------------------------------------------------


def fileSystem(path: Path) -> str:
    """The type of the file system holding ``path`` (the longest mount point above it)."""
    target, best, kind = str(path.resolve()), -1, "?"
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > best:
            best, kind = len(point), fields[2]
    return kind


def pickSize(root: Path, wanted: float) -> float:
    """``wanted`` GiB, or less if the disk under ``root`` has not the room for two images
    (the storage and the control's file) and a spare."""
    free = shutil.disk_usage(root).free
    fits = (free - SPARE) / GIB / 2
    if fits < 1:
        raise SystemExit(f"only {free / GIB:.1f} GiB free under {root}: the run needs twice "
                         f"1 GiB plus {SPARE / GIB:.0f} GiB to spare")
    if fits < wanted:
        print(f"note: {free / GIB:.1f} GiB free under {root}: the images are {int(fits)} GiB "
              f"instead of {wanted:g}")
        return float(int(fits))
    return wanted


@dataclass
class Window:
    name: str
    latency: Latency
    #: MB/s written before wrk started, and while it ran.
    before: float | None = None
    during: float | None = None
    #: What the erase was doing when wrk ended: it should still be running/writing.
    last: str = "running/writing"


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path, size: float) -> None:
        self.args, self.work, self.size = args, work, size
        self.port = freePort()
        self.server = startServer(work / "occi-data", self.port)
        self.script = work / "get.lua"
        self.script.write_text('wrk.headers["Accept"] = "text/plain"\n')
        self.url = ""
        self.storagePath: str | None = None

    def setUp(self) -> str:
        computePath = created(self.port, "/compute/", b"kind=compute&compute.cores=1", FORM,
                              201)
        self.url = f"http://127.0.0.1:{self.port}{computePath}"
        self.storagePath = created(
            self.port, "/storage/", STORAGE.format(size=self.size).encode(),
            {"Content-Type": "text/plain", "Accept": "text/plain"}, 201)
        control = self.work / "control.img"
        with control.open("wb") as f:
            f.truncate(int(self.size * GIB))
        return computePath

    def wrk(self, eraser: int | None = None) -> Latency:
        cpu = Cpu()
        with cpuMeter(self.server.pid, eraser, cpu):
            result = wrk(self.url, self.args.seconds, self.args.connections, self.script)
        result.cpu = cpu
        return result

    def idle(self) -> Window:
        return Window("idle", self.wrk())

    def erase(self) -> Window:
        """Start an erase through the API, run wrk while it writes, then cancel it."""
        assert self.storagePath is not None
        requestPath = created(
            self.port, f"{self.storagePath}/requests",
            f"action=secure_erase&passes={self.args.passes}&pattern={self.args.pattern}"
            .encode(), FORM, 202)
        try:
            waitFor(self.port, requestPath,
                    lambda s: s.bytes > 0 or s.state not in ("queued", "running"), 60)
            sampler = Sampler(self.port, requestPath, 0.5)
            sampler.start()
            time.sleep(self.args.settle)
            wrkStart = time.perf_counter()
            latency = self.wrk()
            wrkEnd = time.perf_counter()
            sampler.halt.set()
            sampler.join()
        finally:
            if self.server.poll() is None:
                request(self.port, "DELETE", requestPath)  # cancels it
                waitFor(self.port, requestPath, lambda s: s.state in FINAL, 120)
        last = sampler.between(0, wrkEnd)[-1]
        return Window("erase", latency, writeRate(sampler.between(0, wrkStart)),
                      writeRate(sampler.between(wrkStart, wrkEnd)), f"{last.state}/{last.phase}")

    def control(self) -> Window:
        """The same erase in a process of its own, while wrk loads the server."""
        eraser = subprocess.Popen(
            [sys.executable, __file__, "--erase-alone", str(self.work / "control.img"),
             "--passes", str(self.args.passes), "--pattern", self.args.pattern],
            stdout=subprocess.PIPE, text=True)
        try:
            assert eraser.stdout is not None
            eraser.stdout.readline()  # the first slice is on disk
            time.sleep(self.args.settle)
            wrkStart = time.perf_counter()
            latency = self.wrk(eraser.pid)
            wrkEnd = time.perf_counter()
        finally:
            eraser.terminate()
        output, _ = eraser.communicate()
        samples = []
        for line in output.splitlines():
            at, done, phase = line.split()
            samples.append(Sample(float(at), "running", phase, int(done)))
        last = [s for s in samples if s.at <= wrkEnd]
        return Window("control", latency, writeRate([s for s in samples if s.at < wrkStart]),
                      writeRate([s for s in samples if wrkStart <= s.at <= wrkEnd]),
                      f"running/{last[-1].phase}" if last else "?")

    def tearDown(self) -> None:
        if self.storagePath is not None and self.server.poll() is None:
            status, _, body = request(self.port, "DELETE", self.storagePath)
            if status not in (200, 204):
                print(f"warning: DELETE {self.storagePath}: {status} {body[:200]!r}")
        self.server.terminate()
        self.server.wait()


def line(label: str, window: Window) -> str:
    result, cpu = window.latency, window.latency.cpu
    text = (f"{label:<12}{result.rate:>8.0f}{result.p50:>8.2f}{result.p99:>8.2f}"
            f"   {cpu.server:4.2f} {cpu.wrk:4.2f} {cpu.eraser:4.2f} {cpu.rest:4.2f}"
            f" {cpu.steal:5.2f} {cpu.waited:6.0f}")
    if window.during is not None:
        text += f"   {window.before or 0:5.0f} {window.during:5.0f}"
    if window.last != "running/writing":
        text += f"   NOTE: the erase was {window.last} at the end: raise --size or --passes"
    if cpu.rest + cpu.steal > NOISY:
        text += f"   (noisy: other processes used {cpu.rest + cpu.steal:.2f} cores)"
    if result.non2xx:
        text += f"   ({result.non2xx} non-2xx!)"
    if result.socketErrors:
        text += f"   (socket errors: {result.socketErrors})"
    return text


def measure(args: argparse.Namespace, work: Path) -> None:
    size = pickSize(work, args.size)
    bench = Bench(args, work, size)
    try:
        computePath = bench.setUp()
        print(f"secure erase of {size:g} GiB, {args.passes} {args.pattern} pass(es), in {work} "
              f"({fileSystem(work)}); wrk -t1 -c{args.connections} -d{args.seconds}s GET "
              f"{computePath} (text/plain); {args.rounds} rounds of idle, erase (by the "
              f"server), control (the same erase in another process); {os.cpu_count()} CPUs")
        print(f"{'':<12}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}   cores: srv  wrk  ctl  rest"
              f" steal  rq-wait   erase MB/s: before, during wrk")
        bench.wrk()  # warm-up, not counted
        rounds: list[tuple[Window, Window, Window]] = []
        for n in range(1, args.rounds + 1):
            windows = (bench.idle(), bench.erase(), bench.control())
            for window in windows:
                print(line(f"{n} {window.name}", window))
            rounds.append(windows)
    finally:
        bench.tearDown()

    def median(pick: Callable[[tuple[Window, Window, Window]], float]) -> float:
        return statistics.median(pick(r) for r in rounds)

    idle50, idle99 = median(lambda r: r[0].latency.p50), median(lambda r: r[0].latency.p99)
    erase50, erase99 = median(lambda r: r[1].latency.p50), median(lambda r: r[1].latency.p99)
    ctl50, ctl99 = median(lambda r: r[2].latency.p50), median(lambda r: r[2].latency.p99)
    ratio = erase99 / idle99
    verdict = "ok" if ratio < 3 and erase99 < 50 else "MISSED"
    print(f"median p50/p99 ms: idle {idle50:.2f}/{idle99:.2f}, erase {erase50:.2f}/"
          f"{erase99:.2f}, control {ctl50:.2f}/{ctl99:.2f}")
    print(f"p99 erase / idle: {ratio:.2f}x (goal < 3x and < 50 ms: {verdict}); per round: "
          + " ".join(f"{r[1].latency.p99 / r[0].latency.p99:.2f}x" for r in rounds))
    print(f"p99 control / idle: {ctl99 / idle99:.2f}x; erase / control: "
          f"{erase99 / ctl99:.2f}x; per round: "
          + " ".join(f"{r[2].latency.p99 / r[0].latency.p99:.2f}x/"
                     f"{r[1].latency.p99 / r[2].latency.p99:.2f}x" for r in rounds))
    rates = [r[1].during for r in rounds if r[1].during is not None]
    alone = [r[2].during for r in rounds if r[2].during is not None]
    print(f"erase MB/s during wrk, median: {statistics.median(rates) if rates else 0:.0f} by "
          f"the server, {statistics.median(alone) if alone else 0:.0f} by the control")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--size", type=float, default=8, help="storage size, GiB")
    parser.add_argument("--passes", type=int, default=6,
                        help="passes of the erase: enough to outlast a window (the "
                             "erase is cancelled after it, so more cost nothing)")
    parser.add_argument("--pattern", choices=["zeros", "ones", "random"], default="zeros",
                        help="what each pass writes [zeros]")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of idle, erase and control windows; medians are printed")
    parser.add_argument("--settle", type=float, default=3,
                        help="seconds of erase sampled before wrk starts")
    parser.add_argument("--data-root", type=Path, default=ROOT / "bench" / "results",
                        help="where to make the data directory: a real disk, not tmpfs "
                             "[bench/results]")
    parser.add_argument("--erase-alone", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.erase_alone is not None:
        eraseAlone(args.erase_alone, args.passes, args.pattern, 0.25)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    args.data_root.mkdir(parents=True, exist_ok=True)
    kind = fileSystem(args.data_root)
    if kind in ("tmpfs", "ramfs"):
        raise SystemExit(f"{args.data_root} is on {kind}: give --data-root on a real disk")
    work = Path(tempfile.mkdtemp(prefix="erase-http-", dir=args.data_root))
    try:
        measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
