"""An OVA (DMTF DSP0243): a compute's OVF descriptor, a manifest and its disk images in a tar.

Exporting lays the archive out as parts (:mod:`.body`) without a temporary copy: tar headers
and padding are bytes and zeros, the images file regions, and the manifest -- whose SHA-256
digests need a pass over every image -- is made only when a reader gets that far.  Every
length is known up front (a digest is 64 hex digits whatever the image), so the archive's
length and every offset are too, and ``Range`` can be served anywhere in it.

The archive is a POSIX tar (ustar; a pax header only for a member beyond ustar's 8 GiB), in
the order DSP0243 gives an OVA: the ``.ovf`` first, the manifest ``<base>.mf`` second, then
the images.  Headers are deterministic -- owner 0, mode 0644, each image's modification time,
the OVF's and manifest's the newest of those -- so two layouts of the same versions of the
same files are the same bytes, which a strong ETag (:func:`ovaTag`) and ``If-Range`` need.

Importing is :mod:`.unpack` (:func:`unpackOVA`, also named here).  Everything here blocks:
call it in a thread.
"""

from __future__ import annotations

import hashlib
import os
import re
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .body import Body, BytesPart, Computed, FilePart, Part, ZerosPart, versionTag
from .digests import sha256Of
from .unpack import OvaRefused, Unpacked, UnpackedDisk, unpackOVA

__all__ = ["OVA_TYPE", "OvaDisk", "OvaRefused", "Unpacked", "UnpackedDisk", "manifestLine",
           "manifestNameOf", "ovaBody", "ovaParts", "ovaTag", "tarHeader", "unpackOVA"]

#: The media type of an OVA (what ``Accept`` asks for, and the body's ``Content-Type``).
OVA_TYPE = "application/x-ova"
BLOCK = tarfile.BLOCKSIZE
#: The names we write: one ustar name field (100 bytes), no directory, nothing a shell or a
#: file system would read as more than a name.
_MEMBER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
#: The largest time a ustar header holds (eleven octal digits).
_MAX_MTIME = 8 ** 11 - 1
#: Changes whenever the layout of the same files would change, so that no ETag outlives it.
_LAYOUT = 1


@dataclass(frozen=True)
class OvaDisk:
    """An image to pack, under the member name the OVF descriptor's ``File`` gives it."""

    name: str
    path: Path


def manifestNameOf(ovfName: str) -> str:
    """The manifest beside descriptor ``x.ovf`` is ``x.mf`` (DSP0243)."""
    return ovfName.removesuffix(".ovf") + ".mf"


def manifestLine(algorithm: str, name: str, hexDigest: str) -> bytes:
    """One line of a manifest, as OVF tools write it: ``SHA256(disk.img)= <hex>``."""
    return f"{algorithm}({name})= {hexDigest}\n".encode()


def ovaParts(ovfName: str, ovf: bytes, disks: Sequence[OvaDisk]) -> list[Part]:
    """The archive as parts.  Each image is opened now: the archive is of the versions open
    at this moment, whatever replaces them later (close the parts, or the :class:`Body`
    holding them, when done).  Nothing of an image is read here; its digest is computed
    (or found remembered, :func:`.digests.sha256Of`) when a reader reaches the manifest."""
    _checkNames(ovfName, [disk.name for disk in disks])
    files: list[FilePart] = []
    try:
        for disk in disks:
            files.append(FilePart.open(disk.path))
        mtimes = [_mtime(os.fstat(part.fd)) for part in files]
    except BaseException:
        for part in files:
            part.close()
        raise
    newest = max(mtimes, default=0)
    ovfLine = manifestLine("SHA256", ovfName, hashlib.sha256(ovf).hexdigest())

    def manifest() -> bytes:
        return ovfLine + b"".join(
            manifestLine("SHA256", disk.name, sha256Of(disk.path, part.fd, part.length))
            for disk, part in zip(disks, files, strict=True))

    manifestLength = len(ovfLine) + sum(len(manifestLine("SHA256", disk.name, "0" * 64))
                                        for disk in disks)
    parts: list[Part] = []
    _member(parts, ovfName, BytesPart(ovf), newest)
    _member(parts, manifestNameOf(ovfName), Computed(manifestLength, manifest), newest)
    for disk, part, mtime in zip(disks, files, mtimes, strict=True):
        _member(parts, disk.name, part, mtime)
    parts.append(ZerosPart(2 * BLOCK))  # the end of the archive
    return parts


def ovaTag(ovfName: str, ovf: bytes, versions: Sequence[tuple[str, str]]) -> str:
    """A strong ETag (quoted) for the archive of descriptor ``ovf`` and the images named in
    ``versions`` as ``(member name, versionTag of the image)``: the archive's bytes are a
    function of exactly these."""
    digest = hashlib.sha256(f"ova {_LAYOUT}\0{ovfName}\0".encode())
    digest.update(hashlib.sha256(ovf).digest())
    for name, version in versions:
        digest.update(f"{name}\0{version}\0".encode())
    return f'"ova-{digest.hexdigest()[:40]}"'


def ovaBody(ovfName: str, ovf: bytes, disks: Sequence[OvaDisk], *,
            filename: str | None = None) -> Body:
    """The archive as a :class:`Body` whose ETag and ``Last-Modified`` are those of the
    versions of the images it opened (not of whatever their paths name a moment later)."""
    parts = ovaParts(ovfName, ovf, disks)
    stats = [os.fstat(part.fd) for part in parts if isinstance(part, FilePart)]
    tag = ovaTag(ovfName, ovf, [(disk.name, versionTag(stat))
                                for disk, stat in zip(disks, stats, strict=True)])
    return Body(parts, OVA_TYPE, tag, max((s.st_mtime for s in stats), default=0.0),
                filename=filename)


def tarHeader(name: str, size: int, mtime: int) -> bytes:
    """The header block(s) of a regular file: ustar, preceded by a pax header only where a
    field does not fit ustar (a size of 8 GiB or more)."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = min(max(0, mtime), _MAX_MTIME)
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "strict")


def _member(parts: list[Part], name: str, content: Part, mtime: int) -> None:
    parts.append(BytesPart(tarHeader(name, content.length, mtime)))
    parts.append(content)
    padding = -content.length % BLOCK
    if padding:
        parts.append(ZerosPart(padding))


def _checkNames(ovfName: str, diskNames: Sequence[str]) -> None:
    if not ovfName.endswith(".ovf"):
        raise ValueError(f"an OVF descriptor's name ends in .ovf, not {ovfName!r}")
    names = [ovfName, manifestNameOf(ovfName), *diskNames]
    for name in names:
        if not _MEMBER_NAME.fullmatch(name):
            raise ValueError(f"{name!r} cannot be the name of a member of an OVA")
    if len(set(names)) != len(names):
        raise ValueError(f"an OVA's members have distinct names, not {names!r}")


def _mtime(stat: os.stat_result) -> int:
    return int(stat.st_mtime)
