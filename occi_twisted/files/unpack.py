"""Unpacking an OVA sent by a client: read once, front to back, verified against its manifest.

The archive arrives as a request body (spooled to a file by the server): it is read
sequentially, never backwards, and nothing is held in memory but the OVF descriptor and the
manifest, both bounded.  Each disk image is copied in large chunks to the file the caller
names (a temporary file beside where the image will go), hashed on the way; a chunk of
zeros is skipped rather than written, so a sparse image stays sparse.

Headers are parsed by :mod:`tarfile` (``TarInfo.frombuf``: checksum, ustar and GNU number
fields); the walk over them is ours because ``tarfile``'s streaming mode takes a damaged or
missing header after the first member for the end of the archive, so an archive cut short
at a member's end would pass.  Here it ends only at a zero block.

Anything wrong with the archive -- a digest that differs, a member missing from the manifest
or the manifest's member missing, an archive cut short, a name with a directory in it (``../``,
an absolute path), a link, a device, a member beyond a limit -- raises :class:`OvaRefused`
with one line saying what, after every file this call created is removed.  An archive with no
manifest is taken as it is: there is nothing to verify it against.  A certificate after the
manifest is passed over (its signature is not checked).
"""

from __future__ import annotations

import hashlib
import os
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..drivers.storage.files import CHUNK_SIZE, writeAll
from .body import zeros

if TYPE_CHECKING:
    from hashlib import _Hash

BLOCK = tarfile.BLOCKSIZE
#: A manifest's algorithms, by the name its lines give, with the length of their hex digests.
ALGORITHMS = {"SHA1": ("sha1", 40), "SHA256": ("sha256", 64), "SHA512": ("sha512", 128)}
#: Zero runs are found (and skipped) in pieces of this size.
_PIECE = 1 << 20
_ZERO_PIECE = zeros(_PIECE)
#: An extended (pax) header is a few records; a larger one is not an OVA's.
_PAX_LIMIT = 64 << 10
_MANIFEST_LINE = re.compile(
    r"(?P<algorithm>[A-Z0-9]+)\s*\((?P<name>[^()]+)\)\s*=\s*(?P<digest>[0-9a-fA-F]+)")
#: Regular files (``tarfile`` counts GNU sparse members among them; we do not).
_REGULAR = frozenset({tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE})
_KINDS = {tarfile.LNKTYPE: "a hard link", tarfile.SYMTYPE: "a symbolic link",
          tarfile.CHRTYPE: "a device", tarfile.BLKTYPE: "a device", tarfile.DIRTYPE:
          "a directory", tarfile.FIFOTYPE: "a FIFO", tarfile.GNUTYPE_SPARSE: "a sparse member"}


class OvaRefused(Exception):
    """The archive cannot be taken; ``message`` (one line) says why, for the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class UnpackedDisk:
    """A member copied out: its name in the archive, the file it is in, its size and
    SHA-256 (hex)."""

    name: str
    path: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class Unpacked:
    """What an archive held: its OVF descriptor (name and bytes) and the files copied out,
    in the archive's order."""

    ovfName: str
    ovf: bytes
    disks: tuple[UnpackedDisk, ...]


def unpackOVA(source: BinaryIO, target: Callable[[str, int], Path], *, maxMembers: int = 64,
              ovfLimit: int = 1 << 20, chunkSize: int = CHUNK_SIZE) -> Unpacked:
    """Read the archive from ``source``; copy each member after the descriptor, manifest and
    certificate to the path ``target(name, size)`` gives (created here, so it must not exist;
    ``target`` may raise :class:`OvaRefused` to refuse a member, for a quota say), synced
    before this returns -- renaming it into place is the caller's.  ``maxMembers`` bounds the
    members, ``ovfLimit`` the descriptor, the manifest and a certificate."""
    unpacking = _Unpacking(_TarReader(source), target, maxMembers=maxMembers,
                           ovfLimit=ovfLimit, chunkSize=chunkSize)
    try:
        return unpacking.run()
    except BaseException:
        for path in unpacking.created:
            path.unlink(missing_ok=True)
        raise


@dataclass
class _Member:
    name: str
    size: int


@dataclass
class _Unpacking:
    reader: _TarReader
    target: Callable[[str, int], Path]
    maxMembers: int
    ovfLimit: int
    chunkSize: int
    #: The files made so far: removed if the archive is refused.
    created: list[Path] = field(default_factory=list)
    #: The names of the members read so far.
    seen: list[str] = field(default_factory=list)
    #: name -> (algorithm of the manifest, hex digest); None without a manifest.
    listed: dict[str, tuple[str, str]] | None = None

    def run(self) -> Unpacked:
        first = self._next()
        if first is None or not first.name.endswith(".ovf"):
            raise OvaRefused("An OVA begins with its OVF descriptor (a .ovf file); this "
                             f"archive begins with {_named(first)}.")
        ovf = self._small(first, "The OVF descriptor")
        disks: list[UnpackedDisk] = []
        member = self._next()
        if member is not None and member.name.endswith(".mf"):
            self.listed = _parseManifest(self._small(member, "The manifest"))
            algorithm = self.listed.get(first.name, ("sha256", ""))[0]
            self._verify(first.name, {algorithm: hashlib.new(algorithm, ovf)})
            member = self._next()
            if member is not None and member.name.endswith(".cert"):
                self._small(member, "The certificate")
                member = self._next()
        while member is not None:
            disks.append(self._copy(member))
            member = self._next()
        if self.listed is not None:
            missing = sorted(set(self.listed) - set(self.seen))
            if missing:
                raise OvaRefused(f"The manifest lists {', '.join(missing)}, which the archive "
                                 "does not hold.")
        return Unpacked(first.name, ovf, tuple(disks))

    def _next(self) -> _Member | None:
        member = self.reader.next()
        if member is None:
            return None
        if len(self.seen) >= self.maxMembers:
            raise OvaRefused(f"The archive has more than {self.maxMembers} members.")
        if member.name in self.seen:
            raise OvaRefused(f"The archive holds {member.name} twice.")
        self.seen.append(member.name)
        return member

    def _small(self, member: _Member, what: str) -> bytes:
        if member.size > self.ovfLimit:
            raise OvaRefused(f"{what} {member.name} is {member.size} bytes; at most "
                             f"{self.ovfLimit} are taken.")
        data = self.reader.read(member.size, member.name)
        self.reader.skipPadding(member.size, member.name)
        return data

    def _copy(self, member: _Member) -> UnpackedDisk:
        if member.name.endswith((".ovf", ".mf")):
            raise OvaRefused(f"{member.name} is out of place: an OVA has one descriptor, "
                             "first, and its manifest second.")
        listed = None if self.listed is None else self.listed.get(member.name)
        if self.listed is not None and listed is None:
            raise OvaRefused(f"The archive holds {member.name}, which its manifest does not "
                             "list.")
        hashers = {"sha256": hashlib.sha256()}
        if listed is not None:
            hashers.setdefault(listed[0], hashlib.new(listed[0]))
        path = self.target(member.name, member.size)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        self.created.append(path)
        try:
            self._copyData(member, fd, tuple(hashers.values()))
            os.ftruncate(fd, member.size)  # holes at the end, and the size
            os.fsync(fd)
        finally:
            os.close(fd)
        self.reader.skipPadding(member.size, member.name)
        self._verify(member.name, hashers)
        return UnpackedDisk(member.name, path, member.size, hashers["sha256"].hexdigest())

    def _copyData(self, member: _Member, fd: int, hashers: tuple[_Hash, ...]) -> None:
        offset = 0
        while offset < member.size:
            data = self.reader.read(min(self.chunkSize, member.size - offset), member.name)
            for hasher in hashers:
                hasher.update(data)
            _writeData(fd, data, offset)
            offset += len(data)

    def _verify(self, name: str, hashers: dict[str, _Hash]) -> None:
        if self.listed is None:
            return
        if name not in self.listed:
            raise OvaRefused(f"The manifest does not list {name}.")
        algorithm, expected = self.listed[name]
        if hashers[algorithm].hexdigest() != expected:
            raise OvaRefused(f"The {algorithm.upper()} digest of {name} is not the one its "
                             "manifest gives: the archive was damaged or changed.")


def _parseManifest(data: bytes) -> dict[str, tuple[str, str]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise OvaRefused("The manifest is not UTF-8 text.") from None
    listed: dict[str, tuple[str, str]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _MANIFEST_LINE.fullmatch(line.strip())
        known = ALGORITHMS.get(match.group("algorithm")) if match else None
        if match is None or known is None or len(match.group("digest")) != known[1]:
            raise OvaRefused(f"Line {number} of the manifest is not 'SHA256(file)= digest' "
                             "(SHA1 and SHA512 are taken too).")
        name = match.group("name")
        if name in listed:
            raise OvaRefused(f"The manifest lists {name} twice.")
        listed[name] = (known[0], match.group("digest").lower())
    return listed


def _writeData(fd: int, data: bytes, offset: int) -> None:
    """Write the pieces of ``data`` that are not all zeros (the file keeps holes for the
    rest): each run of non-zero pieces in one write, without a copy."""
    start: int | None = None  # where the current run of data began
    with memoryview(data) as view:

        def flush(end: int) -> None:
            assert start is not None
            with view[start:end] as run:
                writeAll(fd, run, offset + start)

        for piece in range(0, len(data), _PIECE):
            end = min(piece + _PIECE, len(data))
            if end - piece == _PIECE:  # compared in place, no copy
                zero = data.startswith(_ZERO_PIECE, piece)
            else:
                zero = data[piece:end] == zeros(end - piece)
            if zero and start is not None:
                flush(piece)
                start = None
            elif not zero and start is None:
                start = piece
        if start is not None:
            flush(len(data))


def _named(member: _Member | None) -> str:
    return "nothing" if member is None else member.name


class _TarReader:
    """The members of a tar read from a stream front to back: header, data, padding."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self.offset = 0

    def read(self, size: int, within: str) -> bytes:
        """Exactly ``size`` bytes (refused if the archive ends first)."""
        chunks: list[bytes] = []
        wanted = size
        while wanted > 0:
            got = self._source.read(wanted)
            if not got:
                raise OvaRefused(f"The archive is cut short: it ends inside {within}.")
            chunks.append(got)
            wanted -= len(got)
        self.offset += size
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def skipPadding(self, size: int, within: str) -> None:
        self.read(-size % BLOCK, within)

    def next(self) -> _Member | None:
        """The next member's header (extended headers applied); None at the end of the
        archive (a zero block)."""
        extended: dict[str, str] = {}
        while True:
            where = self.offset
            block = self.read(BLOCK, "a header")
            if block == zeros(BLOCK):
                if extended:
                    raise OvaRefused(f"The archive ends after an extended header (at byte "
                                     f"{where}).")
                return None
            try:
                info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
            except tarfile.HeaderError as problem:
                raise OvaRefused(f"The tar header at byte {where} is damaged ({problem}).") \
                    from None
            if info.type in (tarfile.XHDTYPE, tarfile.XGLTYPE):
                records = self._pax(info.size)
                if info.type == tarfile.XHDTYPE:
                    extended.update(records)
                elif {"path", "size"} & records.keys():
                    raise OvaRefused("A global pax header sets a name or a size.")
                continue
            if info.type == tarfile.GNUTYPE_LONGNAME:
                extended["path"] = self._long(info.size).rstrip(b"\0").decode(
                    "utf-8", "surrogateescape")
                continue
            return self._checked(info, extended, where)

    def _checked(self, info: tarfile.TarInfo, extended: dict[str, str],
                 where: int) -> _Member:
        name = extended.get("path", info.name)
        kind = _KINDS.get(info.type, "not a regular file")
        if info.type not in _REGULAR or any(key.startswith("GNU.sparse") for key in extended):
            raise OvaRefused(f"The member {name!r} at byte {where} is {kind}; an OVA holds "
                             "regular files only.")
        if ("/" in name or "\\" in name or name in {"", ".", ".."} or len(name) > 255
                or not name.isprintable() or _surrogates(name)):
            raise OvaRefused(f"The member name {name!r} is not a plain file name; an OVA's "
                             "files are all at its top, with printable UTF-8 names.")
        size = info.size
        if "size" in extended:
            if not extended["size"].isdigit():
                raise OvaRefused(f"The pax size of {name!r} is not a number.")
            size = int(extended["size"])
        return _Member(name, size)

    def _pax(self, size: int) -> dict[str, str]:
        """The records of a pax header: ``"<length> <key>=<value>\\n"`` each."""
        data = self._long(size)
        records: dict[str, str] = {}
        position = 0
        while position < len(data) and data[position] != 0:
            space = data.find(b" ", position)
            digits = data[position:space] if space > position else b""
            length = int(digits) if digits.isdigit() else 0
            record = data[space + 1:position + length]
            if length <= 0 or not record.endswith(b"\n") or b"=" not in record:
                raise OvaRefused(f"A pax header (before byte {self.offset}) is damaged.")
            key, value = record[:-1].split(b"=", 1)
            records[key.decode("utf-8", "surrogateescape")] = value.decode(
                "utf-8", "surrogateescape")
            position += length
        return records

    def _long(self, size: int) -> bytes:
        """The data of an extended header (pax records, a GNU long name), bounded."""
        if size > _PAX_LIMIT:
            raise OvaRefused(f"An extended header of {size} bytes is larger than an OVA needs.")
        data = self.read(size, "an extended header")
        self.skipPadding(size, "an extended header")
        return data


def _surrogates(name: str) -> bool:
    """Whether ``name`` held bytes that are not UTF-8 (kept as surrogates)."""
    return any(0xDC80 <= ord(c) <= 0xDCFF for c in name)
