"""A representation too large to hold: a row of parts read in slices, each from where it lives.

An image is read from its file (holes are found with ``SEEK_DATA`` and answered as zeros
without a read); an OVA is its OVF document (bytes), tar headers and padding (bytes, zeros)
and the images (file regions), with a manifest whose digests are only computed when a client
reads that far (:class:`Deferred` work would be wrong here: parts are read in a thread, so a
:class:`Computed` part simply blocks that thread).  Every method that reads blocks: call it
from a thread pool, never the reactor.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

#: A block of zeros served for holes and padding without allocating per read.
_ZEROS = bytes(1 << 20)


def zeros(size: int) -> bytes:
    """``size`` zero bytes (shared up to 1 MiB)."""
    return _ZEROS[:size] if size <= len(_ZEROS) else bytes(size)


class Part(Protocol):
    """One contiguous piece of a body."""

    @property
    def length(self) -> int: ...

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes from ``offset`` within the part (fewer only at its end); blocks."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class BytesPart:
    """Bytes held in memory: a document, a tar header."""

    data: bytes

    @property
    def length(self) -> int:
        return len(self.data)

    def read(self, offset: int, size: int) -> bytes:
        return self.data[offset:offset + size]

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class ZerosPart:
    """Zeros that are never stored: tar padding, the end-of-archive blocks."""

    length: int

    def read(self, offset: int, size: int) -> bytes:
        return zeros(max(0, min(size, self.length - offset)))

    def close(self) -> None:
        pass


@dataclass
class FilePart:
    """``length`` bytes of an open file from ``start``.

    The descriptor is opened once, when the body is made, so that a file replaced meanwhile
    (an upload renames a new image over the old) is read as it was when the client asked --
    the body's ETag names that version.  Holes read as zeros without touching the disk."""

    fd: int
    start: int
    length: int
    _closed: bool = field(default=False, init=False)

    @classmethod
    def open(cls, path: str | os.PathLike[str], start: int = 0,
             length: int | None = None) -> FilePart:
        """The file at ``path`` (all of it from ``start`` when ``length`` is None); blocks."""
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            size = os.fstat(fd).st_size
            return cls(fd, start, size - start if length is None else length)
        except BaseException:
            os.close(fd)
            raise

    def read(self, offset: int, size: int) -> bytes:
        size = max(0, min(size, self.length - offset))
        position = self.start + offset
        end = position + size
        chunks: list[bytes] = []
        while position < end:
            try:
                data = os.lseek(self.fd, position, os.SEEK_DATA)
            except OSError:  # ENXIO: nothing but a hole to the end of the file
                data = end
            if data > position:  # a hole: zeros, no read
                hole = min(data, end) - position
                chunks.append(zeros(hole))
                position += hole
                continue
            got = os.pread(self.fd, end - position, position)
            if not got:  # the file shrank: what is gone reads as zeros
                chunks.append(zeros(end - position))
                break
            chunks.append(got)
            position += len(got)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self.fd)


@dataclass
class Computed:
    """Bytes of a known length made on first read (an OVA's manifest, whose digests need a
    pass over every image): ``make`` runs once, in the reading thread."""

    length: int
    make: Callable[[], bytes]
    _made: bytes | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def read(self, offset: int, size: int) -> bytes:
        with self._lock:
            if self._made is None:
                made = self.make()
                if len(made) != self.length:
                    raise ValueError(f"made {len(made)} bytes where {self.length} were laid out")
                self._made = made
        return self._made[offset:offset + size]

    def close(self) -> None:
        pass


@dataclass
class Body:
    """A representation as parts: its media type, its strong ETag (quoted) and when it last
    changed (for ``Last-Modified``)."""

    parts: Sequence[Part]
    contentType: str
    etag: str
    lastModified: float
    #: Offered as the file name to save as (``Content-Disposition``), if any.
    filename: str | None = None

    @property
    def length(self) -> int:
        return sum(p.length for p in self.parts)

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes from ``offset`` (fewer only at the end); blocks."""
        out: list[bytes] = []
        start = 0
        for part in self.parts:
            end = start + part.length
            if offset < end and size > 0:
                wanted = min(size, end - offset)
                got = part.read(offset - start, wanted)
                out.append(got)
                offset += len(got)
                size -= len(got)
                if len(got) < wanted:  # shorter than it said: no later part fills the gap
                    break
            start = end
            if size <= 0:
                break
        return out[0] if len(out) == 1 else b"".join(out)

    def close(self) -> None:
        for part in self.parts:
            part.close()


def versionTag(stat: os.stat_result) -> str:
    """A strong ETag for a file's content version: its inode, size and modification time in
    nanoseconds change whenever its bytes may have (a write, a truncate, a rename over it)."""
    return f'"{stat.st_ino:x}-{stat.st_size:x}-{stat.st_mtime_ns:x}"'
