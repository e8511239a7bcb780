"""File I/O for the storage jobs: durable small files, whole reads and writes, cache advice,
and the chunk writer that bypasses the page cache.

Everything here blocks; the jobs call it from their ``step`` in a thread pool.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
from pathlib import Path

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


def writeDurably(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` atomically and durably (temporary file, fsync, rename)."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        writeAll(fd, memoryview(data), 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    fsyncDirectory(path.parent)


def writeAll(fd: int, view: memoryview, offset: int) -> None:
    """Write all of ``view`` at ``offset`` (``pwrite`` may write less than asked)."""
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


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
    """

    ALIGN = 4096

    def __init__(self, path: Path, fd: int, length: int) -> None:
        self.fd = fd
        #: Page-aligned; one block longer than a chunk, which a cipher writing in place needs.
        self.buffer = mmap.mmap(-1, -(-max(1, length) // self.ALIGN) * self.ALIGN + self.ALIGN)
        self.length = length
        self._direct = -1
        flag = getattr(os, "O_DIRECT", 0)
        if flag:
            with contextlib.suppress(OSError):
                self._direct = os.open(path, os.O_WRONLY | os.O_CLOEXEC | flag)

    @property
    def direct(self) -> bool:
        """Whether aligned chunks bypass the page cache."""
        return self._direct >= 0

    def write(self, offset: int, n: int) -> None:
        """Write the buffer's first ``n`` bytes at ``offset``."""
        if not 0 <= n <= self.length:
            raise ValueError(f"a chunk of {n} bytes does not fit the {self.length}-byte buffer")
        with memoryview(self.buffer) as whole, whole[:n] as view:
            if self.direct and not (n % self.ALIGN or offset % self.ALIGN):
                written = 0
                try:
                    while written < n:
                        written += os.pwrite(self._direct, view[written:], offset + written)
                    return
                except OSError as problem:
                    if problem.errno != errno.EINVAL or written:
                        raise
                    self._closeDirect()  # this file system will not: buffered from now on
            writeAll(self.fd, view, offset)

    def close(self) -> None:
        """Let go of the direct descriptor and the buffer (``fd`` is the caller's)."""
        self._closeDirect()
        self.buffer.close()

    def _closeDirect(self) -> None:
        if self._direct >= 0:
            os.close(self._direct)
            self._direct = -1
