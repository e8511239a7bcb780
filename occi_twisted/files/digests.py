"""The SHA-256 of an image, remembered beside it so that an unchanged image is read once.

An OVA's manifest names every image's SHA-256; hashing a 1 GiB image for every export
would read it twice per download.  The digest is kept in a small *sidecar* file,
``<image>.sha256`` next to the image, together with the image's :func:`.body.versionTag`:
the sidecar counts only for the version it names, so an image written, resized or
replaced since is hashed again.  Holes are hashed as zeros from a shared buffer, without a
read (``SEEK_DATA``/``SEEK_HOLE``), so a mostly empty image costs what its data costs.

A sidecar is written durably (a temporary file of its own, fsync, rename) or not at all,
and only for an image that has *settled*: one whose last change is older than
:data:`SETTLED_NS` when hashing starts.  A file system stamps changes with a coarse clock
(a few milliseconds, whole seconds on some), so a write right after a change could leave
the version tag as it was; such a digest is used but not remembered.

Everything here blocks: call it in a thread.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

from twisted.logger import Logger

from ..drivers.storage.files import CHUNK_SIZE, readInto, sidecarOf, writeDurably
from .body import versionTag, zeros

if TYPE_CHECKING:
    from hashlib import _Hash

_log = Logger()

#: How long an image must have been left alone for its digest to be remembered.
SETTLED_NS = 2_000_000_000
_HEX64 = re.compile(r"[0-9a-f]{64}")
#: A sidecar is a line of JSON; anything longer is not one of ours.
_SIDECAR_LIMIT = 4096
#: Holes are hashed in blocks of the shared buffer of zeros (:func:`.body.zeros`).
_ZERO_BLOCK = 1 << 20
#: Errors of ``SEEK_DATA`` that mean the file system cannot say where holes are.
_NO_HOLES = frozenset({errno.EINVAL, errno.EOPNOTSUPP})


def sha256Of(path: Path, fd: int | None = None, length: int | None = None) -> str:
    """The SHA-256 (hex) of the image at ``path``, from its sidecar when that names the
    image's version, else hashed (and remembered if the image has settled).

    ``fd``, if given, is a descriptor of the image opened earlier (an archive's layout is of
    the version open then, even if ``path`` has been replaced since); ``length`` the number
    of bytes to hash (what was laid out: bytes beyond the end of the file are zeros, as
    :class:`.body.FilePart` reads them)."""
    own = fd is None
    if fd is None:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        before = os.fstat(fd)
        size = before.st_size if length is None else length
        whole = size == before.st_size
        tag = versionTag(before)
        if whole:
            remembered = _readSidecar(sidecarOf(path), tag)
            if remembered is not None:
                return remembered
        started = time.time_ns()
        digest = hashlib.sha256()
        hashRegion(fd, size, digest)
        hexDigest = digest.hexdigest()
        if (whole and started - before.st_mtime_ns >= SETTLED_NS
                and versionTag(os.fstat(fd)) == tag):
            _remember(path, tag, hexDigest)
        return hexDigest
    finally:
        if own:
            os.close(fd)


def hashRegion(fd: int, length: int, *hashers: _Hash) -> None:
    """Feed the first ``length`` bytes of ``fd`` to every hasher: holes (and whatever lies
    beyond the end of the file) as zeros without a read, data in large reads."""
    buffer = memoryview(bytearray(max(1, min(CHUNK_SIZE, length))))
    position = 0
    while position < length:
        data, hole = _extentAt(fd, position, length)
        _feedZeros(hashers, data - position)
        position = data
        while position < hole:
            with buffer[:min(len(buffer), hole - position)] as view:
                got = readInto(fd, view, position)
                if got == 0:  # the file is shorter than laid out: the rest reads as zeros
                    _feedZeros(hashers, length - position)
                    return
                with view[:got] as read:
                    for hasher in hashers:
                        hasher.update(read)
            position += got


def _extentAt(fd: int, position: int, length: int) -> tuple[int, int]:
    """The data extent at or after ``position``, clipped to ``length`` (both ends equal to
    ``length`` when only a hole is left)."""
    try:
        data = os.lseek(fd, position, os.SEEK_DATA)
        hole = os.lseek(fd, data, os.SEEK_HOLE)
    except OSError as problem:
        if problem.errno == errno.ENXIO:  # a hole to the end of the file
            return length, length
        if problem.errno in _NO_HOLES:
            return position, length
        raise
    return min(data, length), min(hole, length)


def _feedZeros(hashers: tuple[_Hash, ...], count: int) -> None:
    block = zeros(min(count, _ZERO_BLOCK))
    while count > 0:
        piece = block if count >= len(block) else block[:count]
        for hasher in hashers:
            hasher.update(piece)
        count -= len(piece)


def _readSidecar(sidecar: Path, tag: str) -> str | None:
    """The digest the sidecar remembers for version ``tag``; None when it has none (absent,
    of another version, or damaged: a damaged one is rewritten at the next hash)."""
    try:
        with sidecar.open("rb") as f:
            text = f.read(_SIDECAR_LIMIT + 1)
        value = json.loads(text)
    except (OSError, ValueError):
        return None
    if not isinstance(value, dict) or value.get("version") != tag:
        return None
    digest = value.get("sha256")
    return digest if isinstance(digest, str) and _HEX64.fullmatch(digest) else None


def _remember(path: Path, tag: str, digest: str) -> None:
    """Write the sidecar of ``path`` for version ``tag``, durably, if ``path`` still names that
    version (an image replaced meanwhile keeps its sidecar to itself).  A failure is logged
    and costs only a later hash."""
    data = json.dumps({"version": tag, "sha256": digest}).encode() + b"\n"
    try:
        if versionTag(os.stat(path)) == tag:
            writeDurably(sidecarOf(path), data, racing=True)
    except OSError as problem:
        _log.warn("The SHA-256 of {image} is not remembered: {problem}", image=str(path),
                  problem=problem.strerror or problem)
