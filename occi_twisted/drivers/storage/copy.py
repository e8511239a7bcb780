"""Copies of an image, in slices: the snapshot itself, and the base of backups and restores."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from twisted.logger import Logger

from .errors import ImageExists, NoSuchImage, StorageError
from .files import (
    CHUNK_SIZE,
    adviseSequential,
    dropCache,
    ensureDirectory,
    fsyncDirectory,
    punchZeros,
    readInto,
    writeAll,
)
from .progress import Phase, Progress, count, dumpObject, loadObject, optionalCount

if TYPE_CHECKING:
    from hashlib import _Hash

_log = Logger()
#: Linux ``FICLONE`` ioctl (``_IOW(0x94, 9, int)``): a whole-file reflink on btrfs and XFS.
_FICLONE = 0x40049409
#: What a hypervisor rounds a disk's size up to.
_SECTOR = 512
#: copy_file_range errors that mean "not here" rather than "failed": fall back to read/write.
_NO_COPY_RANGE = frozenset({errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP})


@dataclass(frozen=True)
class CopyState:
    """Where a copy is: ``offset`` bytes of a ``size``-byte source are in the side file, or
    ``done`` once the copy is in place."""

    offset: int
    size: int | None = None
    done: bool = False

    def toJSON(self) -> str:
        return dumpObject(asdict(self))

    @classmethod
    def fromJSON(cls, text: str | bytes) -> CopyState:
        value = loadObject(text, "A copy checkpoint")
        done = value.get("done", False)
        if not isinstance(done, bool):
            raise ValueError(f"done must be true or false, not {done!r}")
        return cls(count(value.get("offset"), "offset"),
                   optionalCount(value.get("size"), "size"), done)


class CopyJob:
    """Copies ``source`` to ``target`` through a side file (``target.partial``), in slices.

    Holes stay holes (``SEEK_DATA``/``SEEK_HOLE``): a snapshot of a mostly empty 100 GiB image
    costs what its data costs.  Without hashing, a fresh copy first tries a whole-file reflink
    (``FICLONE``: instant on btrfs and XFS), then ``os.copy_file_range`` per data extent (copied
    in the kernel, or reflinked extent by extent), then plain read and write.  With hashing the
    bytes pass through here to be hashed, holes as zeros, so the SHA-256 is the image's.

    The side file replaces ``target`` (``os.replace``, then the directory is synced) only once
    the copy is complete and synced: ``target`` is never half-written.  Subclasses add what
    happens around that commit (a backup's manifest, a restore's hash check).

    ``prefilled``: someone else (a hypervisor's backup job, copying a running guest's disk as
    it was at one instant) wrote the whole copy into the side file; the job only hashes and
    commits it, and never copies ``source`` into it -- a side file missing or of another size
    than ``source`` is an error, not a reason to copy a disk that is being written.
    """

    overwrite = False

    def __init__(self, source: Path, target: Path, *, hashing: bool = False,
                 resumeFrom: CopyState | None = None, chunkSize: int = CHUNK_SIZE,
                 prefilled: bool = False) -> None:
        if chunkSize < 1:
            raise ValueError(f"chunkSize must be positive, not {chunkSize}")
        self.source, self.target = source, target
        self.partial = target.with_name(target.name + ".partial")
        self.hashing = hashing
        self.prefilled = prefilled
        self.chunkSize = chunkSize
        self.digest: str | None = None
        self._resuming = resumeFrom is not None
        start = resumeFrom or CopyState(0)
        self._offset, self._size, self._done = start.offset, start.size, start.done
        self._src: int | None = None
        self._dst: int | None = None
        self._buffer = memoryview(bytearray(0))
        self._zeros = memoryview(b"")
        self._hasher: _Hash | None = None
        self._hashed = 0
        self._extent = (0, 0)  # the data extent [start, end) of the source at or after offset
        self._copyRange = hasattr(os, "copy_file_range")
        self._stopping = threading.Event()

    @property
    def done(self) -> bool:
        return self._done

    @property
    def state(self) -> CopyState:
        return CopyState(self._offset, self._size, self._done)

    @property
    def progress(self) -> Progress:
        size = self._size or 0
        if self._done:
            return Progress(Phase.DONE, 1, 1, size, size)
        if self.prefilled:  # nothing to copy: the bytes hashed are the work
            return Progress(Phase.VERIFYING, 1, 1, min(self._hashed, size), size)
        return Progress(Phase.COPYING, 1, 1, min(self._offset, size), size)

    def stop(self) -> None:
        """Make a running step return at its next chunk, and every later step do nothing."""
        self._stopping.set()

    def close(self) -> None:
        """Let go of both files; a later step reopens them and carries on."""
        for fd in (self._src, self._dst):
            if fd is not None:
                os.close(fd)
        self._src = self._dst = None
        self._hasher = None
        self._buffer = self._zeros = memoryview(b"")

    def discard(self) -> None:
        """Remove the side file of a copy that will not be resumed (after :meth:`close`)."""
        try:
            self.partial.unlink()
        except FileNotFoundError:
            return
        fsyncDirectory(self.partial.parent)

    def step(self, maxBytes: int) -> Progress:
        """Copy at most ``maxBytes`` (skipped holes cost nothing); blocks, so call it in a
        thread.  The step that copies the last byte also commits."""
        if maxBytes < 1:
            raise ValueError(f"maxBytes must be positive, not {maxBytes}")
        if self._done or self._stopping.is_set():
            return self.progress
        if not self._open():
            return self.progress
        assert self._src is not None and self._dst is not None and self._size is not None
        src, dst, size, budget, dirty = self._src, self._dst, self._size, maxBytes, False
        while True:
            hasher, offset = self._hasher, self._offset
            behind = hasher is not None and self._hashed < offset
            if not behind and offset >= size:
                self._commit(dst)  # which syncs what this step wrote
                dirty = False
                break
            if budget <= 0 or self._stopping.is_set():
                break
            if hasher is not None and behind:  # resumed: hash what the side file holds
                n = min(self.chunkSize, offset - self._hashed, budget)
                view = self._buffer[:n]
                if readInto(dst, view, self._hashed) < n:
                    raise StorageError(f"{self.partial} is shorter than its checkpoint says.")
                hasher.update(view)
                if self.prefilled and punchZeros(dst, view, self._hashed):
                    dirty = True
                self._hashed += n
                budget -= n
                continue
            dataStart, dataEnd = self._dataAt(src, offset, size)
            if offset < dataStart:  # a hole: skipped, or hashed as the zeros it reads as
                if hasher is None:
                    self._offset = dataStart
                    budget -= 1  # bounds the number of extents one step may visit
                    continue
                n = min(self.chunkSize, dataStart - offset, budget)
                hasher.update(self._zeros[:n])
                self._hashed += n
            else:
                n = min(self.chunkSize, dataEnd - offset, budget)
                n = self._copy(src, dst, offset, n)
                dirty = True
            self._offset = offset + n
            budget -= n
        if dirty:
            os.fdatasync(dst)
        if not self._done:
            dropCache(src)
            dropCache(dst)
        return self.progress

    # -- hooks for subclasses ----------------------------------------------------------------

    def _missingSource(self) -> StorageError:
        return NoSuchImage(f"There is no image at {self.source}.")

    def _checkSource(self, size: int) -> None:
        """Called once the source is open: refuse a source that cannot be right."""

    def _alreadyCommitted(self) -> bool:
        """On resume, with no side file: did an earlier run commit before its last checkpoint?"""
        return self.target.exists()

    def _beforeCommit(self, digest: str | None) -> None:
        """The copy is complete and synced in the side file, not yet in place."""

    def _afterCommit(self, digest: str | None) -> None:
        """The copy is durably in place."""

    # -- inside a step -----------------------------------------------------------------------

    def _open(self) -> bool:
        """Open both files; False when the job turned out to be done already."""
        if self._src is not None:
            return True
        try:
            src = os.open(self.source, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise self._missingSource() from None
        try:
            size = os.fstat(src).st_size
            self._checkSource(size)
            dst = self._openPartial(src, size)
        except BaseException:
            os.close(src)
            raise
        if dst is None:
            os.close(src)
            self._done, self._size, self._offset = True, size, size
            return False
        adviseSequential(src)
        self._src, self._dst, self._size = src, dst, size
        self._resuming = True  # reopening after close() carries on from the side file
        self._extent = (0, 0)
        length = max(1, min(self.chunkSize, size))
        self._buffer = memoryview(bytearray(length))
        self._zeros = memoryview(bytes(length))
        self._hasher = hashlib.sha256() if self.hashing else None
        self._hashed = 0
        return True

    def _openPartial(self, src: int, size: int) -> int | None:
        if self.prefilled:
            return self._openPrefilled(size)
        if self._resuming and self._size == size:
            try:
                dst = os.open(self.partial, os.O_RDWR | os.O_CLOEXEC)
            except FileNotFoundError:
                if self._alreadyCommitted():
                    _log.info("Copy to {target} was committed before the restart",
                              target=str(self.target))
                    return None
            else:
                if os.fstat(dst).st_size == size:
                    return dst
                os.close(dst)
        elif self._resuming and self._size is not None:
            _log.warn("{source} changed size since the checkpoint: copying it again",
                      source=str(self.source))
        if not self.overwrite and self.target.exists():
            raise ImageExists(f"{self.target} already exists.")
        ensureDirectory(self.partial.parent)
        dst = os.open(self.partial, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.ftruncate(dst, size)
        except BaseException:
            os.close(dst)
            raise
        self._offset = 0
        if not self.hashing and size and self._reflink(src, dst):
            self._offset = size
        return dst

    def _openPrefilled(self, size: int) -> int | None:
        """The side file someone else filled, whole: hashed from its start, then committed."""
        try:
            dst = os.open(self.partial, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            if self._alreadyCommitted():
                return None
            raise StorageError(f"The copy of {self.source.name} to be kept as "
                               f"{self.target.name} is missing.") from None
        written = os.fstat(dst).st_size
        if written != size and -(-size // _SECTOR) * _SECTOR == written:
            os.ftruncate(dst, size)  # the guest's disk ended on a whole sector; the image not
        elif written != size:
            os.close(dst)
            raise StorageError(f"The copy of {self.source.name} to be kept as "
                               f"{self.target.name} is {written} bytes, not {size}.")
        self._offset = size
        return dst

    def _reflink(self, src: int, dst: int) -> bool:
        if not sys.platform.startswith("linux"):
            return False
        try:
            fcntl.ioctl(dst, _FICLONE, src)
        except OSError as problem:
            _log.debug("No reflink for {target}: {problem}", target=str(self.target),
                       problem=problem.strerror)
            return False
        return True

    def _dataAt(self, src: int, offset: int, size: int) -> tuple[int, int]:
        """The source's data extent at or after ``offset`` (clipped to ``size``)."""
        start, end = self._extent
        if offset < end:
            return max(start, offset), end
        try:
            start = os.lseek(src, offset, os.SEEK_DATA)
            end = os.lseek(src, start, os.SEEK_HOLE)
        except OSError as problem:
            if problem.errno == errno.ENXIO:  # nothing but a hole up to the end of the file
                start = end = size
            elif problem.errno in (errno.EINVAL, errno.EOPNOTSUPP):  # no hole support here
                start, end = offset, size
            else:
                raise
        self._extent = (min(start, size), min(end, size))
        return self._extent

    def _copy(self, src: int, dst: int, offset: int, n: int) -> int:
        if self._hasher is None and self._copyRange:
            try:
                copied = os.copy_file_range(src, dst, n, offset, offset)
            except OSError as problem:
                if problem.errno not in _NO_COPY_RANGE:
                    raise
                _log.info("copy_file_range unavailable for {target} ({problem}): copying "
                          "through memory", target=str(self.target), problem=problem.strerror)
                self._copyRange = False
            else:
                if copied == 0:
                    raise StorageError(f"{self.source} became shorter during the copy.")
                return copied
        view = self._buffer[:n]
        got = readInto(src, view, offset)
        if got == 0:
            raise StorageError(f"{self.source} became shorter during the copy.")
        view = view[:got]
        if self._hasher is not None:
            self._hasher.update(view)
            self._hashed += got
        writeAll(dst, view, offset)
        return got

    def _commit(self, dst: int) -> None:
        os.fsync(dst)
        digest = self._hasher.hexdigest() if self._hasher is not None else None
        self._beforeCommit(digest)
        os.replace(self.partial, self.target)
        fsyncDirectory(self.target.parent)
        self.digest = digest
        self._afterCommit(digest)
        self._done = True
