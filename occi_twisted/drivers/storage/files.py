"""File I/O for the storage jobs: durable small files, whole reads and writes, cache advice,
the chunk writer that bypasses the page cache, and the names of an image's sidecars.

Everything here blocks; the jobs call it from their ``step`` in a thread pool.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import mmap
import os
import re
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import cast

#: What the name of an image's sidecar (its remembered SHA-256) adds to the image's.
SIDECAR_SUFFIX = ".sha256"
#: A sidecar, or the temporary file of one being written (:func:`writeDurably`, racing):
#: the name of the image it belongs to is group 1.
_LEFTOVER = re.compile(r"(.+)\.sha256(?:\.[a-z0-9_]{8}\.tmp)?")
#: Large aligned buffers keep the per-call overhead of Python negligible next to the I/O itself.
CHUNK_SIZE = 8 << 20


def fsyncDirectory(path: Path) -> None:
    """A new, renamed or removed name is durable only once its directory is synced."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensureDirectory(path: Path) -> None:
    """``mkdir -p``, syncing each parent so the new directories survive a crash."""
    missing: list[Path] = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another job
            directory.mkdir(mode=0o700)
        fsyncDirectory(directory.parent)


def writeDurably(path: Path, data: bytes, *, racing: bool = False) -> None:
    """Replace ``path`` by ``data`` atomically and durably (temporary file, fsync, rename).

    With ``racing``, writers of the same path may run at once: each writes a temporary file
    of its own (``<name>.<8 random characters>.tmp``), so none renames another's half-written
    file into place.  A temporary file is removed when the write fails."""
    if racing:
        fd, name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        temporary = Path(name)
    else:
        temporary = path.with_name(path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        try:
            writeAll(fd, memoryview(data), 0)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsyncDirectory(path.parent)


def sidecarOf(image: Path) -> Path:
    """Where the digest of ``image`` is remembered."""
    return image.with_name(image.name + SIDECAR_SUFFIX)


def imageNameOfLeftover(fileName: str) -> str | None:
    """The name of the image whose sidecar (or sidecar being written) ``fileName`` is; None
    for any other file."""
    match = _LEFTOVER.fullmatch(fileName)
    return match.group(1) if match else None


def sidecarFiles(image: Path) -> list[Path]:
    """The sidecar of ``image`` and the temporary files of sidecars being written (or left by a
    crash), as they are now: what goes with the image when it is deleted."""
    try:
        names = os.listdir(image.parent)
    except FileNotFoundError:
        return []
    return sorted(image.parent / name for name in names
                  if name.startswith(image.name) and imageNameOfLeftover(name) == image.name)


def writeAll(fd: int, view: memoryview, offset: int) -> None:
    """Write all of ``view`` at ``offset`` (``pwrite`` may write less than asked).  Each
    slice is released at once: one kept alive (by a traceback, say) would keep the buffer
    under it from being closed."""
    written = 0
    while written < len(view):
        with view[written:] as rest:
            written += os.pwrite(fd, rest, offset + written)


def readInto(fd: int, view: memoryview, offset: int) -> int:
    """Fill ``view`` from ``offset``; fewer bytes only at end of file."""
    got = 0
    while got < len(view):
        n = os.preadv(fd, [view[got:]], offset + got)
        if n == 0:
            break
        got += n
    return got


def dropCache(fd: int) -> None:
    """Evict the file's clean pages: an erase or copy of a large image must not push every
    other file out of the page cache, and a verification must read the medium, not the cache."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


#: ``fallocate`` modes (linux/falloc.h): free the blocks of a range, keeping the size.
_KEEP_SIZE, _PUNCH_HOLE = 0x01, 0x02
#: The run of zeros worth a hole: small enough to find the empty space between a guest's
#: files, large enough that the scan costs nothing next to reading the bytes.
HOLE_GRAIN = 64 << 10


def _fallocate() -> Callable[[int, int, int, int], int] | None:
    """libc's ``fallocate`` (Python has no call that punches holes), or None off glibc."""
    try:
        call = ctypes.CDLL(None, use_errno=True).fallocate
    except (AttributeError, OSError):
        return None
    call.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)
    call.restype = ctypes.c_int
    return cast("Callable[[int, int, int, int], int]", call)


_FALLOCATE = _fallocate()


def punchZeros(fd: int, view: memoryview, offset: int) -> int:
    """Free the blocks of ``fd`` where ``view`` (what it holds at ``offset``, just read)
    has runs of zeros of :data:`HOLE_GRAIN` or more: they read as zeros still, and take no
    space.  For a copy someone else wrote whole (a hypervisor's backup job writes the
    empty parts of a disk too).  The bytes freed; 0 where the file system cannot."""
    if _FALLOCATE is None:
        return 0
    zeros = bytes(min(HOLE_GRAIN, len(view)))
    runs: list[tuple[int, int]] = []
    at = 0
    while at < len(view):
        grain = view[at:at + HOLE_GRAIN]
        if grain == zeros[:len(grain)]:
            if runs and runs[-1][1] == at:
                runs[-1] = (runs[-1][0], at + len(grain))
            else:
                runs.append((at, at + len(grain)))
        at += len(grain)
    freed = 0
    for start, end in runs:
        if _FALLOCATE(fd, _PUNCH_HOLE | _KEEP_SIZE, offset + start, end - start) != 0:
            if ctypes.get_errno() in (errno.EOPNOTSUPP, errno.ENOSYS):
                return freed  # this file system keeps every block
            raise OSError(ctypes.get_errno(), "Could not free the zeros of a copy")
        freed += end - start
    return freed


def adviseSequential(fd: int) -> None:
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)


class ChunkWriter:
    """Writes chunks that the caller prepares in :attr:`buffer`, with ``O_DIRECT`` where it can.

    An erase pass written with ``O_DIRECT`` bypasses the page cache, which spares the kernel
    the copy and the writeback work that otherwise takes a core from everything else on the
    machine (the reactor's answers among it).  The data is made in place in the page-aligned
    :attr:`buffer` (filled once for a constant pattern, a keystream written straight into it
    for a random one), so a chunk costs no copy before the kernel's DMA.  A write that is not
    aligned (the end of an odd-sized image), or a file system that refuses ``O_DIRECT``, goes
    through ``fd``, the job's ordinary descriptor, from the same buffer.

    :meth:`writeBehind` hands the chunk to a thread of the writer's own and gives the caller
    another buffer: a chunk that costs CPU to make (a keystream) is made while the ones
    before are on their way to the disk, so the disk never waits for the cipher.
    """

    ALIGN = 4096
    #: How many chunks may be on their way to the disk at once behind the caller, each in a
    #: buffer of its own: more than one keeps the disk busy through a late wake-up of the
    #: caller on a busy machine.
    BEHIND = 2

    def __init__(self, path: Path, fd: int, length: int) -> None:
        self.fd = fd
        self.length = length
        # Page-aligned; one block longer than a chunk, which a cipher writing in place needs.
        size = -(-max(1, length) // self.ALIGN) * self.ALIGN + self.ALIGN
        self._buffers = deque([mmap.mmap(-1, size)])
        self._behind: ThreadPoolExecutor | None = None
        self._pending: deque[Future[None]] = deque()
        self._direct = -1
        flag = getattr(os, "O_DIRECT", 0)
        if flag:
            with contextlib.suppress(OSError):
                self._direct = os.open(path, os.O_WRONLY | os.O_CLOEXEC | flag)

    @property
    def buffer(self) -> mmap.mmap:
        """Where the next chunk is to be made."""
        return self._buffers[0]

    @property
    def direct(self) -> bool:
        """Whether aligned chunks bypass the page cache."""
        return self._direct >= 0

    def write(self, offset: int, n: int) -> None:
        """Write the buffer's first ``n`` bytes at ``offset``, now."""
        self._check(n)
        self.wait()
        self._write(self.buffer, offset, n)

    def writeBehind(self, offset: int, n: int) -> None:
        """Start writing the buffer's first ``n`` bytes at ``offset`` and return once fewer
        than :attr:`BEHIND` chunks are on their way (an error of one is raised here).
        :attr:`buffer` is another one afterwards, with whatever it held."""
        self._check(n)
        if self._behind is None:
            # Not at the disk threads' lower priority: this thread only waits for the disk,
            # and woken late on a busy machine it would leave the disk idle.
            self._behind = ThreadPoolExecutor(1, "occi-disk-write")
            self._buffers.extend(mmap.mmap(-1, len(self.buffer)) for _ in range(self.BEHIND))
        while len(self._pending) >= self.BEHIND:
            self._pending.popleft().result()
        self._pending.append(self._behind.submit(self._write, self.buffer, offset, n))
        # The buffer of the chunk given BEHIND chunks ago, which is written by now.
        self._buffers.rotate(-1)

    def wait(self) -> None:
        """Return once every chunk given is written; raise the error of one that was not."""
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        """Wait for the chunks on their way, then let go of the direct descriptor, the thread
        and the buffers (``fd`` is the caller's)."""
        try:
            self.wait()
        finally:
            if self._behind is not None:
                self._behind.shutdown()
            self._closeDirect()
            for buffer in self._buffers:
                buffer.close()

    def _check(self, n: int) -> None:
        if not 0 <= n <= self.length:
            raise ValueError(f"a chunk of {n} bytes does not fit the {self.length}-byte buffer")

    def _write(self, buffer: mmap.mmap, offset: int, n: int) -> None:
        written = 0
        with memoryview(buffer) as whole, whole[:n] as view:
            if self.direct and not (n % self.ALIGN or offset % self.ALIGN):
                try:
                    written = os.pwrite(self._direct, view, offset)
                except OSError as problem:
                    if problem.errno != errno.EINVAL:
                        raise
                    self._closeDirect()  # this file system will not: buffered from now on
            with view[written:] as rest:  # all of it, or what a short write left
                writeAll(self.fd, rest, offset + written)

    def _closeDirect(self) -> None:
        if self._direct >= 0:
            os.close(self._direct)
            self._direct = -1


_lowered = threading.local()
#: How much lower than the server's other threads the disk threads run: a busy disk thread
#: spends long stretches in the kernel, and on two cores the reactor must not wait for them.
DISK_NICENESS = 10


def lowerThreadPriority() -> None:
    """Once per disk thread: lower its CPU priority (Linux schedules threads one by one)."""
    if getattr(_lowered, "done", False):
        return
    _lowered.done = True
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                       min(19, os.getpriority(os.PRIO_PROCESS, 0) + DISK_NICENESS))
