"""The file-backed storage engine: disk images, snapshots, backups and secure erase.

Every storage is a sparse file ``<dataDir>/storage/<id>.img``.  Snapshots, backups, restores
and secure erase move or overwrite gigabytes, so they are *jobs*: objects that do their blocking
I/O in ``step(maxBytes)`` calls, each bounded, which :func:`runJob` makes in a thread pool (never
on the reactor thread) and follows with a checkpoint.  Why slices:

- the reactor stays responsive however large the image;
- each slice ends with the written bytes durable (``fdatasync``) *before* its state is handed
  to the checkpoint, so a state the scheduler stored is always one the disk really reached, and
  a request resumes exactly there after a crash or restart;
- a cancelled job lets go of its file within one chunk (milliseconds), not at the end of a pass.

The engine is pure: it knows nothing of HTTP or the store.  Its states serialise to JSON for the
scheduler to keep, and its errors are domain errors (:mod:`occi_twisted.model.errors`) whose
message is one sentence a person can act on.

Limits, said once: overwriting a file erases the bytes the file system shows; copy-on-write
file systems (btrfs, ZFS) and SSD wear levelling may keep older physical copies that only a
device-level erase reaches.  A job's file must not be written by anything else while it runs.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import math
import mmap
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from twisted.internet.defer import CancelledError, Deferred, maybeDeferred
from twisted.internet.interfaces import IReactorFromThreads
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from ..model.errors import BadRequest, Conflict, NotFound, OCCIError

if TYPE_CHECKING:
    from hashlib import _Hash

GIB = 1 << 30
#: Large aligned buffers keep the per-call overhead of Python negligible next to the I/O itself.
CHUNK_SIZE = 8 << 20

_log = Logger()
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
#: Linux ``FICLONE`` ioctl (``_IOW(0x94, 9, int)``): a whole-file reflink on btrfs and XFS.
_FICLONE = 0x40049409
#: copy_file_range errors that mean "not here" rather than "failed": fall back to read/write.
_NO_COPY_RANGE = frozenset({errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP})
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


# -- errors ----------------------------------------------------------------------------------


class StorageError(OCCIError):
    """A storage operation cannot be done; ``message`` says why, for the request's record."""


class InvalidStorageArgument(StorageError, BadRequest):
    """A size or a name that no image can have."""


class NoSuchImage(StorageError, NotFound):
    """The storage has no image file."""


class ImageExists(StorageError, Conflict):
    """The image, snapshot or backup to be made is already there."""


class NoSuchBackup(StorageError, NotFound):
    """No backup of that name (or its manifest is gone)."""


class CorruptBackup(StorageError, Conflict):
    """A backup whose bytes do not match its manifest; restoring it is refused."""


class VerificationFailed(StorageError):
    """After the last erase pass the file does not hold what was written: a failing disk, or
    something else writing to the file."""


# -- small durable file helpers ------------------------------------------------------------


def bytesOf(sizeGiB: float) -> int:
    """``occi.storage.size`` (GiB, a float) in bytes, rounded to the nearest byte."""
    if not math.isfinite(sizeGiB) or sizeGiB < 0:
        raise InvalidStorageArgument(f"A storage size must be a finite number >= 0, not {sizeGiB}.")
    return round(sizeGiB * GIB)


def _checkName(name: str, what: str) -> str:
    """Names become file names: refuse anything that could leave its directory."""
    if not _NAME.fullmatch(name):
        raise InvalidStorageArgument(
            f"{what} {name!r} must be 1-128 letters, digits, '.', '_' or '-', not starting "
            f"with '.', '_' or '-'.")
    return name


def _fsyncDirectory(path: Path) -> None:
    """A new, renamed or removed name is durable only once its directory is synced."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _ensureDirectory(path: Path) -> None:
    """``mkdir -p``, syncing each parent so the new directories survive a crash."""
    missing: list[Path] = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another job
            directory.mkdir(mode=0o700)
        _fsyncDirectory(directory.parent)


def _writeDurably(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` atomically and durably (temporary file, fsync, rename)."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        _writeAll(fd, memoryview(data), 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    _fsyncDirectory(path.parent)


def _writeAll(fd: int, view: memoryview, offset: int) -> None:
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _readInto(fd: int, view: memoryview, offset: int) -> int:
    """Fill ``view`` from ``offset``; fewer bytes only at end of file."""
    got = 0
    while got < len(view):
        n = os.preadv(fd, [view[got:]], offset + got)
        if n == 0:
            break
        got += n
    return got


def _dropCache(fd: int) -> None:
    """Evict the file's clean pages: an erase or copy of a large image must not push every
    other file out of the page cache, and a verification must read the medium, not the cache."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def _adviseSequential(fd: int) -> None:
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)


# -- progress --------------------------------------------------------------------------------


class Phase(StrEnum):
    WRITING = "writing"
    VERIFYING = "verifying"
    COPYING = "copying"
    DONE = "done"


@dataclass(frozen=True)
class Progress:
    """How far a job is, as a request shows it: pass n of m, bytes done of total, percent.

    For an erase, ``bytesTotal`` counts every pass and the verification read (passes + 1 times
    the size), so the percentage moves at the pace the time goes.  ``bytesDone`` never goes
    back, even across a resume, and equals ``bytesTotal`` exactly once the job is done.
    """

    phase: Phase
    passNumber: int
    passes: int
    bytesDone: int
    bytesTotal: int

    @property
    def percent(self) -> float:
        if self.phase is Phase.DONE:
            return 100.0
        return 100.0 * self.bytesDone / self.bytesTotal if self.bytesTotal else 0.0

    def describe(self) -> str:
        """One line for the request's message, e.g. ``pass 2 of 3 (writing): 1.50 of 4.00 GiB
        (37.5%)``."""
        return (f"pass {self.passNumber} of {self.passes} ({self.phase}): "
                f"{self.bytesDone / GIB:.2f} of {self.bytesTotal / GIB:.2f} GiB "
                f"({self.percent:.1f}%)")

    def toJSON(self) -> dict[str, object]:
        return {**asdict(self), "phase": str(self.phase), "percent": round(self.percent, 2)}


# -- resumable states ----------------------------------------------------------------------


def _loadObject(text: str | bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as problem:
        raise ValueError(f"{what} is not JSON: {problem}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object")
    return value


def _count(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, not {value!r}")
    return value


def _optionalCount(value: object, name: str) -> int | None:
    return None if value is None else _count(value, name)


@dataclass(frozen=True)
class EraseState:
    """Where an erase is: pass ``passIndex`` (0-based; ``passes`` means verifying, more means
    done) at byte ``offset``.  ``size`` is the file's size once known (a resume refuses a file
    that changed size); ``digest`` is the SHA-256 the last pass wrote when it was random,
    needed to verify after a restart."""

    passIndex: int
    offset: int
    size: int | None = None
    digest: str | None = None

    def toJSON(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def fromJSON(cls, text: str | bytes) -> EraseState:
        value = _loadObject(text, "An erase checkpoint")
        digest = value.get("digest")
        if digest is not None and not (isinstance(digest, str) and _SHA256_HEX.fullmatch(digest)):
            raise ValueError(f"digest must be a SHA-256 in hex, not {digest!r}")
        return cls(_count(value.get("passIndex"), "passIndex"),
                   _count(value.get("offset"), "offset"),
                   _optionalCount(value.get("size"), "size"), digest)


@dataclass(frozen=True)
class CopyState:
    """Where a copy is: ``offset`` bytes of a ``size``-byte source are in the side file, or
    ``done`` once the copy is in place."""

    offset: int
    size: int | None = None
    done: bool = False

    def toJSON(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def fromJSON(cls, text: str | bytes) -> CopyState:
        value = _loadObject(text, "A copy checkpoint")
        done = value.get("done", False)
        if not isinstance(done, bool):
            raise ValueError(f"done must be true or false, not {done!r}")
        return cls(_count(value.get("offset"), "offset"),
                   _optionalCount(value.get("size"), "size"), done)


# -- secure erase ----------------------------------------------------------------------------


class Pattern(StrEnum):
    """What an erase writes; the values are those of the secure_erase action's attribute."""

    ZEROS = "zeros"
    ONES = "ones"
    RANDOM = "random"
    DOD3 = "dod3"


def passFills(pattern: Pattern, passes: int) -> tuple[Pattern, ...]:
    """The fill of each pass: dod3 cycles zeros, ones, random (so 3 passes is DoD 5220.22-M)."""
    if pattern is Pattern.DOD3:
        cycle = (Pattern.ZEROS, Pattern.ONES, Pattern.RANDOM)
        return tuple(cycle[n % 3] for n in range(passes))
    return (pattern,) * passes


class EraseJob:
    """Overwrites every byte of a file, pass after pass, then verifies the last pass.

    Every pass writes every byte (holes of a sparse file included: the file ends fully
    allocated) and ends with ``fsync``; then the file's cached pages are dropped and it is
    re-read: compared with the fill for zeros and ones, hashed and compared with the SHA-256
    computed while writing for random.  Random bytes come from ``os.urandom`` for every chunk:
    the kernel's CSPRNG, faster here than ``random.randbytes`` and, unlike a seeded Mersenne
    Twister, not predictable from the bytes it wrote.

    ``resumeFrom`` continues exactly from a checkpointed :class:`EraseState`.  A random pass
    resumed at byte N first re-reads and hashes bytes 0..N (durable, since every slice was
    synced before its state was reported), so the verification hash covers the whole pass.

    ``step`` runs in one thread at a time; ``progress``, ``state`` and :meth:`stop` may be used
    from any thread.  A step never spans two passes, so a checkpoint falls on every pass end.
    """

    def __init__(self, path: str | os.PathLike[str], passes: int, pattern: Pattern | str, *,
                 resumeFrom: EraseState | None = None, chunkSize: int = CHUNK_SIZE) -> None:
        if passes < 1:
            raise InvalidStorageArgument(f"An erase needs at least one pass, not {passes}.")
        if chunkSize < 1:
            raise ValueError(f"chunkSize must be positive, not {chunkSize}")
        self.path = Path(path)
        try:
            self.pattern = Pattern(pattern)
        except ValueError:
            raise InvalidStorageArgument(
                f"An erase pattern is one of {', '.join(Pattern)}, not {pattern!r}.") from None
        self.passes = passes
        self.chunkSize = chunkSize
        self._fills = passFills(self.pattern, passes)
        start = resumeFrom or EraseState(0, 0)
        if start.passIndex > passes + 1:
            raise ValueError(f"checkpoint pass {start.passIndex} is beyond {passes} passes")
        if (start.passIndex == passes and self._fills[-1] is Pattern.RANDOM
                and start.digest is None):
            raise ValueError("a checkpoint taken while verifying a random pass needs its digest")
        #: (pass index, offset), replaced as a whole so other threads never see half an update.
        self._position = (start.passIndex, start.offset)
        self._size = start.size
        self._digest = start.digest if start.passIndex >= passes else None
        self._fd: int | None = None
        #: Writes that bypass the page cache, where the file system allows them.
        self._direct: _DirectWriter | None = None
        self._buffer = bytearray(0)
        self._fillViews: dict[Pattern, memoryview] = {}
        self._hasher: _Hash | None = None
        self._hashed = 0
        self._stopping = threading.Event()

    @property
    def done(self) -> bool:
        return self._position[0] > self.passes

    @property
    def state(self) -> EraseState:
        passIndex, offset = self._position
        return EraseState(passIndex, offset, self._size,
                          self._digest if passIndex == self.passes else None)

    @property
    def progress(self) -> Progress:
        passIndex, offset = self._position
        size = self._size or 0
        total = (self.passes + 1) * size
        if passIndex < self.passes:
            phase = Phase.WRITING
        else:
            phase = Phase.VERIFYING if passIndex == self.passes else Phase.DONE
        return Progress(phase, min(passIndex + 1, self.passes), self.passes,
                        min(passIndex * size + offset, total), total)

    def stop(self) -> None:
        """Make a running step return at its next chunk, and every later step do nothing."""
        self._stopping.set()

    def close(self) -> None:
        """Let go of the file; a later step reopens it (re-hashing a random pass's prefix)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._direct is not None:
            self._direct.close()
            self._direct = None
        self._hasher = None
        self._buffer = bytearray(0)
        self._fillViews = {}

    def step(self, maxBytes: int) -> Progress:
        """Do at most ``maxBytes`` of I/O (less at a pass end); blocks, so call it in a thread."""
        if maxBytes < 1:
            raise ValueError(f"maxBytes must be positive, not {maxBytes}")
        if self.done or self._stopping.is_set():
            return self.progress
        fd = self._open()
        assert self._size is not None
        size, budget, dirty = self._size, maxBytes, False
        while True:
            passIndex, offset = self._position
            # A resumed random pass first hashes what it already wrote.
            behind = self._hasher is not None and self._hashed < offset
            if not behind and offset >= size:
                self._endPhase(fd)  # which syncs what this step wrote
                dirty = False
                break
            if budget <= 0 or self._stopping.is_set():
                break
            if behind:
                n = min(self.chunkSize, offset - self._hashed, budget)
                self._hashFromFile(fd, n)
            elif passIndex < self.passes:
                n = min(self.chunkSize, size - offset, budget)
                self._write(fd, self._fills[passIndex], offset, n)
                self._position = (passIndex, offset + n)
                dirty = True
            else:
                n = min(self.chunkSize, size - offset, budget)
                self._verify(fd, offset, n)
                self._position = (passIndex, offset + n)
            budget -= n
        if dirty:
            os.fdatasync(fd)
        _dropCache(fd)
        return self.progress

    # -- inside a step -----------------------------------------------------------------------

    def _open(self) -> int:
        if self._fd is not None:
            return self._fd
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            raise NoSuchImage(f"There is no image to erase at {self.path}.") from None
        try:
            size = os.fstat(fd).st_size
            if self._size is not None and size != self._size:
                raise StorageError(
                    f"{self.path} is {size} bytes but was {self._size} when the erase was "
                    f"checkpointed; it changed size, so the erase cannot resume.")
            if self._position[1] > size:
                raise StorageError(f"The erase checkpoint is beyond the end of {self.path}.")
        except BaseException:
            os.close(fd)
            raise
        _adviseSequential(fd)
        self._fd, self._size = fd, size
        self._direct = _DirectWriter.open(self.path, max(1, min(self.chunkSize, size)))
        length = max(1, min(self.chunkSize, size))
        self._buffer = bytearray(length)
        self._fillViews = {Pattern.ZEROS: memoryview(bytes(length)),
                           Pattern.ONES: memoryview(b"\xff" * length)}
        self._startHash()
        return fd

    def _needsHash(self, passIndex: int) -> bool:
        """Only the last pass is verified, so only a random last pass is hashed (twice: while
        writing and while verifying)."""
        return self._fills[-1] is Pattern.RANDOM and passIndex in (self.passes - 1, self.passes)

    def _startHash(self) -> None:
        self._hasher = hashlib.sha256() if self._needsHash(self._position[0]) else None
        self._hashed = 0

    def _hashFromFile(self, fd: int, n: int) -> None:
        assert self._hasher is not None
        view = memoryview(self._buffer)[:n]
        if _readInto(fd, view, self._hashed) < n:
            raise VerificationFailed(f"{self.path} is shorter than its checkpoint says.")
        self._hasher.update(view)
        self._hashed += n

    def _write(self, fd: int, fill: Pattern, offset: int, n: int) -> None:
        view = memoryview(os.urandom(n)) if fill is Pattern.RANDOM else self._fillViews[fill][:n]
        if self._hasher is not None:
            self._hasher.update(view)
            self._hashed += n
        if self._direct is None or not self._direct.write(view, offset):
            _writeAll(fd, view, offset)

    def _verify(self, fd: int, offset: int, n: int) -> None:
        view = memoryview(self._buffer)[:n]
        if _readInto(fd, view, offset) < n:
            raise VerificationFailed(f"{self.path} became shorter during the erase.")
        if self._hasher is not None:
            self._hasher.update(view)
            self._hashed += n
            return
        fill = self._fills[-1]
        expected = self._fillViews[fill][:n]
        if self._buffer.startswith(expected):  # a memcmp; the buffer holds n bytes read
            return
        at = next(i for i in range(n) if view[i] != expected[i])
        raise VerificationFailed(
            f"Byte {offset + at} of {self.path} is {view[at]:#04x} after the last pass wrote "
            f"{fill} ({expected[at]:#04x}).")

    def _endPhase(self, fd: int) -> None:
        passIndex, _ = self._position
        if passIndex < self.passes:
            os.fsync(fd)
            if self._hasher is not None:
                self._digest = self._hasher.hexdigest()
            _log.info("Erase of {path}: pass {n} of {passes} ({fill}) written",
                      path=str(self.path), n=passIndex + 1, passes=self.passes,
                      fill=str(self._fills[passIndex]))
        elif self._hasher is not None and self._hasher.hexdigest() != self._digest:
            raise VerificationFailed(
                f"{self.path} does not read back as the random bytes the last pass wrote "
                f"(SHA-256 {self._hasher.hexdigest()}, written {self._digest}).")
        else:
            _log.info("Erase of {path} verified", path=str(self.path))
        self._position = (passIndex + 1, 0)
        self._startHash()


class _DirectWriter:
    """Writes of whole, aligned blocks with ``O_DIRECT``: an erase pass bypasses the page
    cache, which spares the kernel the copy and the writeback work that otherwise takes a
    core from everything else on the machine (the reactor's answers among it).  A write
    that is not aligned (the end of an odd-sized image), or a file system that refuses
    ``O_DIRECT``, is left to the ordinary descriptor."""

    ALIGN = 4096

    def __init__(self, fd: int, length: int) -> None:
        self.fd = fd
        self.buffer = mmap.mmap(-1, max(self.ALIGN, length))  # page-aligned memory

    @classmethod
    def open(cls, path: Path, length: int) -> _DirectWriter | None:
        flag = getattr(os, "O_DIRECT", 0)
        if not flag:
            return None
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC | flag)
        except OSError:
            return None
        return cls(fd, length)

    def write(self, data: memoryview, offset: int) -> bool:
        """Write ``data`` at ``offset`` directly, or return False for the caller to write."""
        n = len(data)
        if self.fd < 0 or n % self.ALIGN or offset % self.ALIGN or n > len(self.buffer):
            return False
        self.buffer[:n] = data
        view = memoryview(self.buffer)[:n]
        try:
            written = 0
            while written < n:
                written += os.pwrite(self.fd, view[written:], offset + written)
        except OSError as problem:
            if problem.errno != errno.EINVAL or written:
                raise
            view.release()
            self.close()  # this file system will not: buffered writes from now on
            return False
        finally:
            view.release()
        return True

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self.buffer.close()


# -- copies: snapshot, backup, restore -------------------------------------------------------


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
    """

    overwrite = False

    def __init__(self, source: Path, target: Path, *, hashing: bool = False,
                 resumeFrom: CopyState | None = None, chunkSize: int = CHUNK_SIZE) -> None:
        if chunkSize < 1:
            raise ValueError(f"chunkSize must be positive, not {chunkSize}")
        self.source, self.target = source, target
        self.partial = target.with_name(target.name + ".partial")
        self.hashing = hashing
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
        _fsyncDirectory(self.partial.parent)

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
                if _readInto(dst, view, self._hashed) < n:
                    raise StorageError(f"{self.partial} is shorter than its checkpoint says.")
                hasher.update(view)
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
            _dropCache(src)
            _dropCache(dst)
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
        _adviseSequential(src)
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
        _ensureDirectory(self.partial.parent)
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
        got = _readInto(src, view, offset)
        if got == 0:
            raise StorageError(f"{self.source} became shorter during the copy.")
        view = view[:got]
        if self._hasher is not None:
            self._hasher.update(view)
            self._hashed += got
        _writeAll(dst, view, offset)
        return got

    def _commit(self, dst: int) -> None:
        os.fsync(dst)
        digest = self._hasher.hexdigest() if self._hasher is not None else None
        self._beforeCommit(digest)
        os.replace(self.partial, self.target)
        _fsyncDirectory(self.target.parent)
        self.digest = digest
        self._afterCommit(digest)
        self._done = True


@dataclass(frozen=True)
class Backup:
    """One backup of a storage, as its manifest records it."""

    storageId: str
    name: str
    created: float
    size: int
    sha256: str
    path: Path

    def manifest(self) -> bytes:
        return json.dumps({
            "format": 1,
            "storage": self.storageId,
            "name": self.name,
            "created": datetime.fromtimestamp(self.created, UTC).isoformat().replace(
                "+00:00", "Z"),
            "size": self.size,
            "sha256": self.sha256,
        }, indent=1).encode() + b"\n"


def backupName(created: float) -> str:
    """A backup's name is its UTC creation time: sortable, and the same on a resume."""
    return datetime.fromtimestamp(created, UTC).strftime("%Y%m%dT%H%M%S.%fZ")


class BackupJob(CopyJob):
    """Copies the image to ``backups/<id>/<name>.img`` hashing it, records the SHA-256 in
    ``<name>.json`` beside it, then keeps only the newest ``keep`` backups.

    The manifest is written before the image is renamed into place, and a backup counts only
    when both are there, so a crash never leaves a backup without its hash.  Old backups are
    removed only after the new one is durable."""

    def __init__(self, images: DiskImages, storageId: str, created: float, *,
                 keep: int | None = None, resumeFrom: CopyState | None = None,
                 chunkSize: int = CHUNK_SIZE) -> None:
        if keep is not None and keep < 1:
            raise InvalidStorageArgument(f"A backup policy must keep at least 1, not {keep}.")
        self.images, self.storageId, self.created, self.keep = images, storageId, created, keep
        self.name = backupName(created)
        super().__init__(images.imagePath(storageId), images.backupPath(storageId, self.name),
                         hashing=True, resumeFrom=resumeFrom, chunkSize=chunkSize)
        self.result: Backup | None = None

    def _alreadyCommitted(self) -> bool:
        if not self.target.exists():
            return False
        try:
            self.result = self.images.backup(self.storageId, self.name)
        except StorageError:
            return False
        return True

    def _beforeCommit(self, digest: str | None) -> None:
        assert digest is not None and self._size is not None
        self.result = Backup(self.storageId, self.name, self.created, self._size, digest,
                             self.target)
        _writeDurably(self.images.manifestPath(self.storageId, self.name),
                      self.result.manifest())

    def _afterCommit(self, digest: str | None) -> None:
        _log.info("Backup {name} of storage {storageId} done (SHA-256 {digest})",
                  name=self.name, storageId=self.storageId, digest=digest)
        if self.keep is not None:
            self.images.pruneBackups(self.storageId, self.keep)


class RestoreJob(CopyJob):
    """Puts a backup's bytes back as the storage's image, refusing a corrupt backup.

    The backup is hashed as it is copied into a side file, and the side file replaces the image
    only if the SHA-256 matches the manifest: so a corrupt backup never touches the image, and
    the bytes verified are exactly the bytes restored (no window between checking and
    copying)."""

    overwrite = True

    def __init__(self, images: DiskImages, storageId: str, backupName: str, *,
                 resumeFrom: CopyState | None = None, chunkSize: int = CHUNK_SIZE) -> None:
        self.images, self.storageId, self.backupName = images, storageId, backupName
        super().__init__(images.backupPath(storageId, backupName), images.imagePath(storageId),
                         hashing=True, resumeFrom=resumeFrom, chunkSize=chunkSize)
        self.backup: Backup | None = None

    def _missingSource(self) -> StorageError:
        return NoSuchBackup(f"Storage {self.storageId} has no backup {self.backupName}.")

    def _checkSource(self, size: int) -> None:
        self.backup = self.images.backup(self.storageId, self.backupName)
        if size != self.backup.size:
            raise CorruptBackup(
                f"Backup {self.backupName} of storage {self.storageId} is corrupt: it is {size} "
                f"bytes, its manifest says {self.backup.size}; the image was not changed.")

    def _beforeCommit(self, digest: str | None) -> None:
        assert self.backup is not None
        if digest != self.backup.sha256:
            self.partial.unlink()
            _fsyncDirectory(self.partial.parent)
            raise CorruptBackup(
                f"Backup {self.backupName} of storage {self.storageId} is corrupt: its SHA-256 "
                f"is {digest}, its manifest says {self.backup.sha256}; the image was not "
                f"changed.")


# -- the images of every storage -------------------------------------------------------------


class DiskImages:
    """The files of every storage under ``dataDir``: images, snapshots and backups.

    Job factories (``...Job``) do no I/O, so they may be called on the reactor thread; the jobs
    do theirs in ``step``.  Every other method blocks (it syncs what it changes before it
    returns), so call it in a thread."""

    def __init__(self, dataDir: str | os.PathLike[str], *, chunkSize: int = CHUNK_SIZE) -> None:
        self.dataDir = Path(dataDir)
        self.chunkSize = chunkSize

    # -- where things live -------------------------------------------------------------------

    def imagePath(self, storageId: str) -> Path:
        return self.dataDir / "storage" / f"{_checkName(storageId, 'A storage id')}.img"

    def snapshotPath(self, storageId: str, name: str) -> Path:
        return (self.dataDir / "snapshots" / _checkName(storageId, "A storage id")
                / f"{_checkName(name, 'A snapshot name')}.img")

    def backupPath(self, storageId: str, name: str) -> Path:
        return (self.dataDir / "backups" / _checkName(storageId, "A storage id")
                / f"{_checkName(name, 'A backup name')}.img")

    def manifestPath(self, storageId: str, name: str) -> Path:
        return self.backupPath(storageId, name).with_suffix(".json")

    # -- images (blocking) -------------------------------------------------------------------

    def create(self, storageId: str, sizeGiB: float) -> Path:
        """A new sparse image of ``sizeGiB`` GiB: it takes no disk space until written."""
        path, size = self.imagePath(storageId), bytesOf(sizeGiB)
        _ensureDirectory(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            raise ImageExists(f"Storage {storageId} already has an image.") from None
        try:
            os.ftruncate(fd, size)
            os.fsync(fd)
        finally:
            os.close(fd)
        _fsyncDirectory(path.parent)
        return path

    def resize(self, storageId: str, sizeGiB: float) -> int:
        """Grow (sparsely: the new bytes read as zeros) or shrink (the tail is lost) the image;
        the new size in bytes."""
        path, size = self.imagePath(storageId), bytesOf(sizeGiB)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise NoSuchImage(f"Storage {storageId} has no image to resize.") from None
        try:
            os.ftruncate(fd, size)
            os.fsync(fd)
        finally:
            os.close(fd)
        return size

    def delete(self, storageId: str) -> None:
        """Remove the image.  Snapshots and backups stay: a backup is there to survive this."""
        path = self.imagePath(storageId)
        try:
            path.unlink()
        except FileNotFoundError:
            raise NoSuchImage(f"Storage {storageId} has no image to delete.") from None
        _fsyncDirectory(path.parent)

    def sizeOf(self, storageId: str) -> int:
        try:
            return self.imagePath(storageId).stat().st_size
        except FileNotFoundError:
            raise NoSuchImage(f"Storage {storageId} has no image.") from None

    def snapshots(self, storageId: str) -> list[str]:
        """Names of the storage's snapshots, sorted."""
        directory = self.dataDir / "snapshots" / _checkName(storageId, "A storage id")
        if not directory.is_dir():
            return []
        return sorted(p.stem for p in directory.glob("*.img"))

    # -- backups (blocking) ------------------------------------------------------------------

    def backup(self, storageId: str, name: str) -> Backup:
        """The backup called ``name``, read from its manifest."""
        manifest = self.manifestPath(storageId, name)
        image = self.backupPath(storageId, name)
        try:
            text = manifest.read_bytes()
        except FileNotFoundError:
            raise NoSuchBackup(f"Storage {storageId} has no backup {name}.") from None
        if not image.exists():
            raise NoSuchBackup(f"Storage {storageId} has no backup {name} (its image is gone).")
        try:
            value = json.loads(text)
            created = datetime.fromisoformat(value["created"]).timestamp()
            size, sha256 = value["size"], value["sha256"]
            if not (isinstance(size, int) and isinstance(sha256, str)
                    and _SHA256_HEX.fullmatch(sha256)):
                raise ValueError("size or sha256 malformed")
        except (ValueError, KeyError, TypeError) as problem:
            raise CorruptBackup(
                f"The manifest of backup {name} of storage {storageId} is damaged ({problem})."
            ) from None
        return Backup(storageId, name, created, size, sha256, image)

    def backups(self, storageId: str) -> list[Backup]:
        """Complete backups of the storage, oldest first; damaged ones are logged and left out
        (restoring one would be refused anyway)."""
        directory = self.dataDir / "backups" / _checkName(storageId, "A storage id")
        if not directory.is_dir():
            return []
        found = []
        for manifest in sorted(directory.glob("*.json")):
            try:
                found.append(self.backup(storageId, manifest.stem))
            except StorageError as problem:
                _log.warn("Skipping backup {name}: {problem}", name=manifest.stem,
                          problem=problem.message)
        return found

    def pruneBackups(self, storageId: str, keep: int) -> list[Backup]:
        """Remove all but the newest ``keep`` backups; the ones removed.  The manifest goes
        first, so an interrupted prune never leaves a manifest without its image."""
        if keep < 1:
            raise InvalidStorageArgument(f"A backup policy must keep at least 1, not {keep}.")
        old = self.backups(storageId)[:-keep]
        for backup in old:
            self.manifestPath(storageId, backup.name).unlink(missing_ok=True)
            backup.path.unlink(missing_ok=True)
        if old:
            _fsyncDirectory(old[0].path.parent)
            _log.info("Removed {count} old backups of storage {storageId}", count=len(old),
                      storageId=storageId)
        return old

    # -- jobs (no I/O until stepped) ---------------------------------------------------------

    def eraseJob(self, storageId: str, passes: int = 3, pattern: Pattern | str = Pattern.DOD3,
                 *, resumeFrom: EraseState | None = None) -> EraseJob:
        return EraseJob(self.imagePath(storageId), passes, pattern, resumeFrom=resumeFrom,
                        chunkSize=self.chunkSize)

    def snapshotJob(self, storageId: str, name: str, *,
                    resumeFrom: CopyState | None = None) -> CopyJob:
        return CopyJob(self.imagePath(storageId), self.snapshotPath(storageId, name),
                       resumeFrom=resumeFrom, chunkSize=self.chunkSize)

    def backupJob(self, storageId: str, created: float, *, keep: int | None = None,
                  resumeFrom: CopyState | None = None) -> BackupJob:
        """A backup named after ``created``: give the same time to resume it."""
        return BackupJob(self, storageId, created, keep=keep, resumeFrom=resumeFrom,
                         chunkSize=self.chunkSize)

    def restoreJob(self, storageId: str, backupName: str, *,
                   resumeFrom: CopyState | None = None) -> RestoreJob:
        return RestoreJob(self, storageId, _checkName(backupName, "A backup name"),
                          resumeFrom=resumeFrom, chunkSize=self.chunkSize)


# -- running a job in slices -----------------------------------------------------------------

StateT = TypeVar("StateT")
StateT_co = TypeVar("StateT_co", covariant=True)


class SlicedJob(Protocol[StateT_co]):
    """What :func:`runJob` drives: :class:`EraseJob` and :class:`CopyJob` are such jobs."""

    @property
    def chunkSize(self) -> int: ...
    @property
    def done(self) -> bool: ...
    @property
    def state(self) -> StateT_co: ...
    @property
    def progress(self) -> Progress: ...
    def step(self, maxBytes: int) -> Progress: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


class JobCancelled(CancelledError, Generic[StateT]):
    """Why a cancelled job's Deferred failed, and how far it got.

    Twisted fires a cancelled Deferred at once, while the worker thread may be inside a step:
    ``state`` and ``progress`` are those of the last finished slice (the last ones given to the
    checkpoint; resuming from them is always right), and ``stopped`` fires with the job's final
    progress once the thread has let go of the file -- within one chunk.  Only then may another
    job use the file; ``job.state`` is then the exact (equal or later) position."""

    def __init__(self, state: StateT, progress: Progress, stopped: Deferred[Progress]) -> None:
        super().__init__(f"Cancelled at {progress.describe()}")
        self.state, self.progress, self.stopped = state, progress, stopped


class _Runner(Generic[StateT]):
    """The loop of :func:`runJob`: step in a thread, checkpoint, repeat; then close the job's
    files (in the thread pool: a close may flush) and settle, in that order, whatever ends
    the loop -- the end of the job, an error, or a cancellation."""

    def __init__(self, job: SlicedJob[StateT], *, reactor: IReactorFromThreads,
                 threadpool: ThreadPool,
                 checkpoint: Callable[[StateT, Progress], Deferred[None]],
                 sliceSeconds: float, sliceBytes: int | None) -> None:
        if sliceSeconds <= 0:
            raise ValueError(f"sliceSeconds must be positive, not {sliceSeconds}")
        if sliceBytes is not None and sliceBytes < 1:
            raise ValueError(f"sliceBytes must be positive, not {sliceBytes}")
        self.job, self.reactor, self.threadpool = job, reactor, threadpool
        self.checkpoint, self.sliceSeconds, self.fixed = checkpoint, sliceSeconds, sliceBytes
        # A first guess for the slice; later ones follow the measured throughput.
        self.maxBytes = sliceBytes or 4 * job.chunkSize
        self.result: Deferred[Progress] = Deferred(self.cancel)
        self.stopped: Deferred[Progress] = Deferred()
        self.cancelled = False
        self.lastState, self.lastProgress = job.state, job.progress

    def next(self) -> None:
        if self.cancelled or self.job.done:
            self.finish(None)
            return
        stepped = deferToThreadPool(self.reactor, self.threadpool, self.timedStep,
                                    self.maxBytes)
        stepped.addCallbacks(self.stepped, self.finish)

    def timedStep(self, maxBytes: int) -> tuple[Progress, float]:
        """In the thread: one step, and how long it took (for sizing the next)."""
        _yieldToTheReactor()
        started = time.perf_counter()
        progress = self.job.step(maxBytes)
        return progress, time.perf_counter() - started

    def stepped(self, outcome: tuple[Progress, float]) -> None:
        progress, elapsed = outcome
        if self.cancelled:
            self.finish(None)
            return
        self.resize(progress.bytesDone - self.lastProgress.bytesDone, elapsed)
        self.lastState, self.lastProgress = self.job.state, progress
        saved = maybeDeferred(self.checkpoint, self.lastState, progress)
        saved.addCallbacks(lambda _: self.next(), self.finish)

    def resize(self, advanced: int, elapsed: float) -> None:
        """Aim the next slice at ``sliceSeconds`` at the throughput just seen, in whole chunks
        (aligned writes), growing at most fourfold at a time (the first slices may see only
        the page cache)."""
        if self.fixed is not None or advanced <= 0 or elapsed <= 0:
            return
        aim = min(advanced / elapsed * self.sliceSeconds, 4 * self.maxBytes)
        chunk = self.job.chunkSize
        self.maxBytes = max(chunk, int(aim) // chunk * chunk)

    def cancel(self, result: Deferred[Progress]) -> None:
        """Twisted's canceller: answer at once with the last finished slice; the thread stops
        at its next chunk and ``stopped`` fires once the files are closed."""
        self.cancelled = True
        self.job.stop()
        _log.info("Storage job cancelled at {progress}", progress=self.lastProgress.describe())
        result.errback(JobCancelled(self.lastState, self.lastProgress, self.stopped))

    def finish(self, failure: Failure | None) -> None:
        def closed(ignored: object) -> None:
            self.settle(failure)

        def closeFailed(problem: Failure) -> None:
            _log.failure("Closing a storage job's files failed", problem)
            self.settle(failure or problem)

        closing = deferToThreadPool(self.reactor, self.threadpool, self.job.close)
        closing.addCallbacks(closed, closeFailed)

    def settle(self, failure: Failure | None) -> None:
        if self.cancelled:
            if failure is not None:
                _log.failure("A cancelled storage job failed while stopping", failure)
            self.stopped.callback(self.job.progress)
        elif failure is not None:
            self.result.errback(failure)
        else:
            self.result.callback(self.job.progress)


_niced = threading.local()
#: How much lower than the server's other threads the disk threads run: a busy disk thread
#: spends long stretches in the kernel, and on two cores the reactor must not wait for them.
DISK_NICENESS = 10


def _yieldToTheReactor() -> None:
    """Once per disk thread: lower its CPU priority (Linux schedules threads one by one)."""
    if getattr(_niced, "done", False):
        return
    _niced.done = True
    with suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                       min(19, os.getpriority(os.PRIO_PROCESS, 0) + DISK_NICENESS))


def runJob(job: SlicedJob[StateT], reactor: IReactorFromThreads, threadpool: ThreadPool,
           checkpoint: Callable[[StateT, Progress], Deferred[None]],
           sliceSeconds: float = 0.25, *, sliceBytes: int | None = None) -> Deferred[Progress]:
    """Run ``job`` to the end in slices of about ``sliceSeconds`` of I/O in ``threadpool``.

    After each slice ``checkpoint(state, progress)`` is called (the scheduler stores the state
    and emits the progress) and the next slice waits for its Deferred, so the store never lags
    more than one slice behind the disk; a failing checkpoint stops the job.  ``sliceBytes``
    fixes the slice size instead of following the throughput.

    Fires with the final progress, or fails with the job's error, or with
    :class:`JobCancelled` when cancelled.  The job's files are closed before it fires.
    """
    runner = _Runner(job, reactor=reactor, threadpool=threadpool, checkpoint=checkpoint,
                     sliceSeconds=sliceSeconds, sliceBytes=sliceBytes)
    runner.next()
    return runner.result


def runErase(job: EraseJob, reactor: IReactorFromThreads, threadpool: ThreadPool,
             checkpoint: Callable[[EraseState, Progress], Deferred[None]],
             sliceSeconds: float = 0.25, *, sliceBytes: int | None = None) -> Deferred[Progress]:
    """:func:`runJob` for a secure erase; fails with :class:`VerificationFailed` if the last
    pass does not read back."""
    return runJob(job, reactor, threadpool, checkpoint, sliceSeconds, sliceBytes=sliceBytes)


__all__ = [
    "CHUNK_SIZE", "GIB", "Backup", "BackupJob", "CopyJob", "CopyState", "CorruptBackup",
    "DiskImages", "EraseJob", "EraseState", "ImageExists", "InvalidStorageArgument",
    "JobCancelled", "NoSuchBackup", "NoSuchImage", "Pattern", "Phase", "Progress",
    "RestoreJob", "SlicedJob", "StorageError", "VerificationFailed", "backupName", "bytesOf",
    "passFills", "runErase", "runJob",
]
