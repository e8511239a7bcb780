"""Benchmark of one secure-erase pass of each pattern against ``dd`` on the same disk, in one run.

    python bench/erase_bench.py [--size MiB] [--repeat N] [--dir DIR] [--pattern P ...]

For each pattern (zeros, ones, random), each run times three writes over a fresh sparse file
of the same size (each allocates every block), every byte durable at the end (in turns: each
run starts with another one):

- the disk: ``dd if=/dev/zero of=FILE bs=8M count=N oflag=direct conv=fsync,notrunc``, page
  cache bypassed, as the erase writes -- what the disk can take, whatever the bytes;
- ``dd conv=fsync``: buffered writes synced once at the end, from ``/dev/urandom`` (with
  ``iflag=fullblock``) for random, from ``/dev/zero`` otherwise (no device gives ones; the
  disk does not care which constant it is given);
- ours: one pass of :class:`EraseJob`, through ``runErase`` with a
  real reactor and thread pool (slices of 0.25 s, each synced and checkpointed), from the call
  to the checkpoint that ends the pass, with the CPU time the process spent on it (the
  keystream's cost: on a machine whose cores others keep busy, it is what a random pass
  waits for).  The verification read that follows (a compare with the fill, or with the
  regenerated keystream) is timed apart: dd does not verify.

Prints the median MB/s of ``--repeat`` runs, and the median of each run's ratios ours / dd
(goal: >= 0.9 x the disk for every pattern).  The machine is noisy: compare ratios measured
in the same run, not absolute figures across runs.  The files live in a temporary directory
under the current one (the disk to measure), removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twisted.internet import task
from twisted.internet.defer import Deferred, ensureDeferred, succeed
from twisted.python.threadpool import ThreadPool

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from occi_twisted.drivers.storage import (  # noqa: E402
    CHUNK_SIZE,
    EraseJob,
    EraseState,
    Pattern,
    Progress,
    runErase,
)

MB = 1_000_000


@dataclass
class Run:
    direct: float
    dd: float
    ours: float
    verify: float
    slices: int
    #: CPU seconds of this process (every thread) per GiB of the pass.
    cpu: float


#: The three writes of a run, in the order of the first run.
ORDER = ["direct", "fsync", "ours"]
#: What ``dd conv=fsync`` reads for each pattern.
SOURCES = {Pattern.ZEROS: "/dev/zero", Pattern.ONES: "/dev/zero", Pattern.RANDOM: "/dev/urandom"}


def freshSparseFile(path: Path, size: int) -> None:
    """A new file of ``size`` bytes, all hole: what each write starts from."""
    path.unlink(missing_ok=True)
    with path.open("wb") as f:
        f.truncate(size)
    os.sync()  # nothing earlier left to flush while timing


def ddSeconds(path: Path, source: str, count: int, *flags: str) -> float:
    """Time dd writing ``count`` 8 MiB blocks from ``source`` over a fresh sparse file (as
    the erase does: allocating, not extending), with fsync."""
    freshSparseFile(path, count * (8 << 20))
    command = ["dd", f"if={source}", f"of={path}", "bs=8M", f"count={count}",
               "conv=fsync,notrunc", *flags]
    if source == "/dev/urandom":
        command.append("iflag=fullblock")
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


async def oursSeconds(reactor: Any, pool: ThreadPool, path: Path, size: int,
                      pattern: Pattern) -> tuple[float, float, int, float]:
    """One pass through runErase on a fresh sparse file: (pass seconds, verification seconds,
    slices, CPU seconds of the pass)."""
    freshSparseFile(path, size)
    marks: list[float] = []

    def checkpoint(state: EraseState, progress: Progress) -> Deferred[None]:
        marks.append(time.perf_counter())
        if state.passIndex == 1 and state.offset == 0:
            passEnded.append(marks[-1])
            passCPU.append(time.process_time())
        return succeed(None)

    passEnded: list[float] = []
    passCPU: list[float] = []
    started, cpu = time.perf_counter(), time.process_time()
    await runErase(EraseJob(path, 1, pattern), reactor, pool, checkpoint)
    ended = time.perf_counter()
    return passEnded[0] - started, ended - passEnded[0], len(marks), passCPU[0] - cpu


async def measure(reactor: Any, options: argparse.Namespace) -> None:
    size = options.size << 20
    count = options.size // 8
    parent = Path(options.dir or os.getcwd())
    directory = Path(tempfile.mkdtemp(prefix="erase-bench-", dir=parent))
    pool = ThreadPool(minthreads=1, maxthreads=1, name="erase-bench")
    pool.start()
    path = directory / "disk.img"
    try:
        print(f"erase benchmark: {options.size} MiB in {directory}, {CHUNK_SIZE >> 20} MiB "
              f"chunks, median of {options.repeat} runs; disk = dd oflag=direct from "
              f"/dev/zero, fsync = dd conv=fsync from the pattern's source")
        print(f"{'pattern':8} {'disk MB/s':>10} {'fsync MB/s':>11} {'ours MB/s':>10} "
              f"{'/disk':>6} {'/fsync':>7} {'verify MB/s':>12} {'slices':>7} "
              f"{'cpu s/GiB':>10}   "
              f"runs (disk/fsync/ours MB/s)")
        for pattern in options.pattern or list(SOURCES):
            runs = []
            for n in range(options.repeat):
                # Each run in another order: whatever the disk still does after one write
                # (the host flushing its cache) falls on each of them in turn.
                timed: dict[str, Any] = {}
                for name in ORDER[n % 3:] + ORDER[:n % 3]:
                    if name == "ours":
                        timed[name] = await oursSeconds(reactor, pool, path, size, pattern)
                    elif name == "direct":
                        timed[name] = ddSeconds(path, "/dev/zero", count, "oflag=direct")
                    else:
                        timed[name] = ddSeconds(path, SOURCES[pattern], count)
                ours, verify, slices, cpu = timed["ours"]
                runs.append(Run(size / timed["direct"] / MB, size / timed["fsync"] / MB,
                                size / ours / MB, size / verify / MB, slices,
                                cpu / (size / (1 << 30))))
            directRate = statistics.median(r.direct for r in runs)
            ddRate = statistics.median(r.dd for r in runs)
            oursRate = statistics.median(r.ours for r in runs)
            each = " ".join(f"{r.direct:.0f}/{r.dd:.0f}/{r.ours:.0f}" for r in runs)
            # Ratios within each run (its writes follow each other), then their median.
            toDisk = statistics.median(r.ours / r.direct for r in runs)
            toFsync = statistics.median(r.ours / r.dd for r in runs)
            print(f"{pattern:8} {directRate:10.0f} {ddRate:11.0f} {oursRate:10.0f} "
                  f"{toDisk:6.2f} {toFsync:7.2f} "
                  f"{statistics.median(r.verify for r in runs):12.0f} "
                  f"{statistics.median(r.slices for r in runs):7.0f} "
                  f"{statistics.median(r.cpu for r in runs):10.2f}   {each}")
    finally:
        pool.stop()
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=256, help="MiB, a multiple of 8")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", help="where to make the temporary directory [cwd]")
    parser.add_argument("--pattern", action="append", type=Pattern, choices=list(SOURCES),
                        help="a pattern to measure (repeatable) [zeros, ones and random]")
    options = parser.parse_args()
    if options.size < 8 or options.size % 8:
        parser.error("--size must be a positive multiple of 8 (MiB)")
    task.react(lambda reactor: ensureDeferred(measure(reactor, options)))


if __name__ == "__main__":
    main()
