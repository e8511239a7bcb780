"""What the storage engine's tests share: marked sparse files, the checks of an erased file,
and stepping a job in the test's thread."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path

from twisted.internet.defer import Deferred, succeed

from occi_twisted.drivers.storage import (
    CopyJob,
    EraseJob,
    EraseState,
    Pattern,
    Progress,
    passFills,
)
from occi_twisted.drivers.storage.files import HOLE_GRAIN, punchZeros

CHUNK = 256 << 10
#: 3 MiB and an odd tail: chunk boundaries and a short last chunk.
ODD_SIZE = 3 * (1 << 20) + 12345
MARK = 0xAB


def writeAt(path: Path, offset: int, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, offset)
    finally:
        os.close(fd)


def markedSparseFile(path: Path, size: int) -> None:
    """A file whose first and last thirds hold MARK and whose middle is a hole."""
    with path.open("wb") as f:
        f.truncate(size)
    third = size // 3
    writeAt(path, 0, bytes([MARK]) * third)
    writeAt(path, size - third, bytes([MARK]) * third)


def allocatedBytes(path: Path) -> int:
    return os.stat(path).st_blocks * 512


def fullyAllocated(path: Path) -> bool:
    return allocatedBytes(path) >= path.stat().st_size


def assertLooksRandom(data: bytes) -> None:
    """Nothing that an earlier pass or the old contents left: no run of 16 equal bytes of a
    fill or the mark (1 chance in 2**120 per position for random bytes)."""
    for byte in (0x00, 0xFF, MARK):
        assert data.find(bytes([byte]) * 16) == -1, f"a run of {byte:#04x} survived"


def assertErased(path: Path, pattern: Pattern, passes: int) -> None:
    data = path.read_bytes()
    last = passFills(pattern, passes)[-1]
    if last is Pattern.ZEROS:
        assert data == bytes(len(data))
    elif last is Pattern.ONES:
        assert data == b"\xff" * len(data)
    else:
        assertLooksRandom(data)
    assert fullyAllocated(path)


def runSteps(job: EraseJob | CopyJob, maxBytes: int, limit: int | None = None) -> list[Progress]:
    """Step ``job`` in this thread until done (or ``limit`` steps)."""
    seen = []
    while not job.done and (limit is None or len(seen) < limit):
        seen.append(job.step(maxBytes))
    return seen


def assertMonotonic(progresses: list[Progress]) -> None:
    for before, after in itertools.pairwise(progresses):
        assert after.bytesDone >= before.bytesDone
        assert after.passNumber >= before.passNumber


def recorder() -> tuple[list[tuple[EraseState, Progress]],
                        Callable[[EraseState, Progress], Deferred[None]]]:
    seen: list[tuple[EraseState, Progress]] = []

    def checkpoint(state: EraseState, progress: Progress) -> Deferred[None]:
        seen.append((state, progress))
        return succeed(None)

    return seen, checkpoint


def resumeAt(path: Path, passes: int, pattern: Pattern, stopWhen: Callable[[EraseState], bool],
             maxBytes: int) -> EraseState:
    """Erase until ``stopWhen(state)``, close, and give the checkpoint as JSON would keep it."""
    job = EraseJob(path, passes, pattern, chunkSize=CHUNK)
    while not stopWhen(job.state):
        job.step(maxBytes)
    job.close()
    return EraseState.fromJSON(job.state.toJSON())


def punches(directory: Path) -> bool:
    """Whether files in ``directory`` can have blocks freed in their middle (``fallocate``
    punching holes: ext4, XFS, btrfs and tmpfs can)."""
    probe = directory / ".punch-probe"
    probe.write_bytes(bytes(4 * HOLE_GRAIN))
    fd = os.open(probe, os.O_RDWR)
    try:
        os.fsync(fd)
        return punchZeros(fd, memoryview(bytes(4 * HOLE_GRAIN)), 0) > 0
    finally:
        os.close(fd)
        probe.unlink()
