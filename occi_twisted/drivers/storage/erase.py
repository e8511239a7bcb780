"""Secure erase: every byte of an image overwritten, pass after pass, then the last pass read
back and checked."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from twisted.logger import Logger

from .errors import InvalidStorageArgument, NoSuchImage, StorageError, VerificationFailed
from .files import CHUNK_SIZE, ChunkWriter, adviseSequential, dropCache, readInto
from .patterns import FILL_BYTES, Keystream, Pattern, StreamKey, passFills
from .progress import Phase, Progress, count, dumpObject, loadObject, optionalCount

_log = Logger()


@dataclass(frozen=True)
class EraseState:
    """Where an erase is: pass ``passIndex`` (0-based; ``passes`` means verifying, more means
    done) at byte ``offset``.  ``size`` is the file's size once known (a resume refuses a file
    that changed size).  ``stream`` is the key of the random pass under way, or of the random
    last pass being verified: with it a resumed pass writes on the same keystream, and the
    verification regenerates it (see :class:`~.patterns.StreamKey` on keeping it)."""

    passIndex: int
    offset: int
    size: int | None = None
    stream: StreamKey | None = None

    def toJSON(self) -> str:
        value: dict[str, object] = {"passIndex": self.passIndex, "offset": self.offset,
                                    "size": self.size}
        if self.stream is not None:
            value.update(key=self.stream.key.hex(), nonce=self.stream.nonce.hex())
        return dumpObject(value)

    @classmethod
    def fromJSON(cls, text: str | bytes) -> EraseState:
        value = loadObject(text, "An erase checkpoint")
        return cls(count(value.get("passIndex"), "passIndex"),
                   count(value.get("offset"), "offset"),
                   optionalCount(value.get("size"), "size"),
                   StreamKey.fromHex(value.get("key"), value.get("nonce")))


#: Where an erase is, replaced as a whole so that other threads never see half an update:
#: (pass index, offset, the keystream of the pass whose bytes are written or verified).
_Position = tuple[int, int, Keystream | None]


class EraseJob:
    """Overwrites every byte of a file, pass after pass, then verifies the last pass.

    Every pass writes every byte (holes of a sparse file included: the file ends fully
    allocated) and ends with ``fsync``; then the file's cached pages are dropped and it is
    re-read and compared, chunk by chunk, with what the last pass wrote: the constant fill,
    or the random pass's keystream regenerated (:mod:`.patterns`).  So a failed verification
    names the first byte that differs.

    ``resumeFrom`` continues exactly from a checkpointed :class:`EraseState`; a random pass
    goes on with the stream it started.  A checkpoint inside a random pass that lacks its key
    (an older server's) writes that pass again from its start under a new key.

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
        self._position: _Position = self._resumed(start)
        self._size = start.size
        self._fd: int | None = None
        self._writer: ChunkWriter | None = None
        #: The fill ``self._writer.buffer`` holds, when it holds a constant one.
        self._holds: Pattern | None = None
        self._read = bytearray(0)
        self._stopping = threading.Event()

    @property
    def done(self) -> bool:
        return self._position[0] > self.passes

    @property
    def state(self) -> EraseState:
        passIndex, offset, stream = self._position
        return EraseState(passIndex, offset, self._size,
                          stream.key if stream is not None else None)

    @property
    def progress(self) -> Progress:
        passIndex, offset, _ = self._position
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
        """Let go of the file; a later step reopens it and carries on."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._holds = None
        self._read = bytearray(0)

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
            passIndex, offset, stream = self._position
            if offset >= size:
                self._endPhase(fd)  # which syncs what this step wrote
                dirty = False
                break
            if budget <= 0 or self._stopping.is_set():
                break
            n = min(self.chunkSize, size - offset, budget)
            if passIndex < self.passes:
                self._write(fd, self._fills[passIndex], offset, n)
                dirty = True
            else:
                self._verify(fd, offset, n)
            self._position = (passIndex, offset + n, stream)
            budget -= n
        if dirty:
            self._synced(fd, os.fdatasync)
        dropCache(fd)
        return self.progress

    # -- positions and streams ---------------------------------------------------------------

    def _resumed(self, start: EraseState) -> _Position:
        """The position to start from, with the keystream of its pass if that is random."""
        passIndex, offset = start.passIndex, start.offset
        streamed = min(passIndex, self.passes - 1)  # the pass written, or the one verified
        if passIndex > self.passes or self._fills[streamed] is not Pattern.RANDOM:
            return passIndex, offset, None
        if start.stream is not None:
            return passIndex, offset, Keystream(start.stream)
        if offset or passIndex == self.passes:
            _log.warn("Erase of {path}: the checkpoint has no key for random pass {n}; "
                      "writing that pass again", path=str(self.path), n=streamed + 1)
        return streamed, 0, Keystream(StreamKey.new())

    def _streamOf(self, passIndex: int) -> Keystream | None:
        """A new keystream for a random pass about to start, or none for a constant one."""
        if passIndex < self.passes and self._fills[passIndex] is Pattern.RANDOM:
            return Keystream(StreamKey.new())
        return None

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
        adviseSequential(fd)
        length = max(1, min(self.chunkSize, size))
        self._fd, self._size = fd, size
        self._writer = ChunkWriter(self.path, fd, length)
        self._read = bytearray(length)
        return fd

    def _make(self, fill: Pattern, offset: int, n: int) -> ChunkWriter:
        """Put the bytes ``fill`` has at ``offset .. offset + n`` in the writer's buffer."""
        writer = self._writer
        assert writer is not None
        if fill is Pattern.RANDOM:
            stream = self._position[2]
            assert stream is not None
            stream.makeInto(writer, offset, n)
            self._holds = None
        elif self._holds is not fill:
            writer.buffer[:] = bytes([FILL_BYTES[fill]]) * len(writer.buffer)
            self._holds = fill
        return writer

    def _write(self, fd: int, fill: Pattern, offset: int, n: int) -> None:
        writer = self._make(fill, offset, n)
        if fill is Pattern.RANDOM:
            writer.writeBehind(offset, n)  # the next chunk's stream is made meanwhile
        else:
            writer.write(offset, n)

    def _synced(self, fd: int, sync: Callable[[int], None]) -> None:
        """Sync the file once the chunk still being written is written."""
        assert self._writer is not None
        self._writer.wait()
        sync(fd)

    def _verify(self, fd: int, offset: int, n: int) -> None:
        fill = self._fills[-1]
        with memoryview(self._read) as whole, whole[:n] as view:
            if readInto(fd, view, offset) < n:
                raise VerificationFailed(f"{self.path} became shorter during the erase.")
            writer = self._make(fill, offset, n)
            with memoryview(writer.buffer) as written, written[:n] as expected:
                if self._read.startswith(expected):  # a memcmp; the buffer holds n bytes read
                    return
                at = _firstDifference(view, expected)
                found, wanted = view[at], expected[at]
        where = f"Byte {offset + at} of {self.path} is {found:#04x}"
        if fill is Pattern.RANDOM:
            raise VerificationFailed(
                f"{where}, not {wanted:#04x} as in the random bytes the last pass wrote.")
        raise VerificationFailed(f"{where} after the last pass wrote {fill} ({wanted:#04x}).")

    def _endPhase(self, fd: int) -> None:
        passIndex, _, stream = self._position
        if passIndex < self.passes:
            self._synced(fd, os.fsync)
            _log.info("Erase of {path}: pass {n} of {passes} ({fill}) written",
                      path=str(self.path), n=passIndex + 1, passes=self.passes,
                      fill=str(self._fills[passIndex]))
        else:
            _log.info("Erase of {path} verified", path=str(self.path))
        following = passIndex + 1
        # The last pass's stream stays for its verification.
        self._position = (following, 0,
                          stream if following == self.passes else self._streamOf(following))


def _firstDifference(found: memoryview, expected: memoryview) -> int:
    """The index of the first byte where two unequal views differ, by halving."""
    low, high = 0, len(found)  # found[:low] == expected[:low]; they differ before high
    while high - low > 1:
        middle = (low + high) // 2
        if found[low:middle] == expected[low:middle]:
            low = middle
        else:
            high = middle
    return low
