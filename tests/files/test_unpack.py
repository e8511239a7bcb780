"""Unpacking an OVA: read front to back from a stream that cannot seek, images copied sparse
and verified against the manifest; every archive that is damaged, cut short, names a path
outside itself, holds a link or a device, or exceeds a limit is refused in one line, and
leaves no file behind."""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from occi_twisted.files.ova import OvaDisk, OvaRefused, Unpacked, ovaBody, unpackOVA

from .support import MIB, OVF, readAll, sparseImage


class Trickle(io.RawIOBase):
    """A stream that cannot seek and gives at most ``most`` bytes a read, as a socket
    might: the unpacker must not rely on full reads or on going back."""

    def __init__(self, data: bytes, most: int = 100_003) -> None:
        self.data, self.most, self.position = data, most, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        got = self.data[self.position:self.position + min(len(buffer), self.most)]
        buffer[:len(got)] = got
        self.position += len(got)
        return len(got)


def unpack(data: bytes, into: Path, **limits: int) -> Unpacked:
    into.mkdir(exist_ok=True)
    return unpackOVA(Trickle(data), lambda name, size: into / f"{name}.part",  # type: ignore[arg-type]
                     **limits)


@pytest.fixture
def exported(tmp_path: Path) -> tuple[bytes, list[OvaDisk]]:
    disks = [OvaDisk("big.img", sparseImage(tmp_path / "big.img", 64 * MIB,
                                            {5: b"five", 40 * MIB: b"x" * MIB + b"y"})),
             OvaDisk("small.img", sparseImage(tmp_path / "small.img", 777, {0: b"s" * 777}))]
    with closing(ovaBody("vm.ovf", OVF, disks)) as body:
        return readAll(body), disks


def test_an_exported_ova_unpacks_to_equal_sparse_images(
        exported: tuple[bytes, list[OvaDisk]], tmp_path: Path) -> None:
    data, disks = exported
    unpacked = unpack(data, tmp_path / "in")
    assert (unpacked.ovfName, unpacked.ovf) == ("vm.ovf", OVF)
    assert [(d.name, d.path.name, d.size) for d in unpacked.disks] == [
        ("big.img", "big.img.part", 64 * MIB), ("small.img", "small.img.part", 777)]
    for got, disk in zip(unpacked.disks, disks, strict=True):
        expected = disk.path.read_bytes()
        assert got.path.read_bytes() == expected
        assert got.sha256 == hashlib.sha256(expected).hexdigest()
        assert got.path.stat().st_mode & 0o777 == 0o600
    # The zeros of the 64 MiB image were skipped, not written: about 1 MiB is on disk.
    assert unpacked.disks[0].path.stat().st_blocks * 512 <= 4 * MIB


def archive(*members: tuple[str, bytes] | tarfile.TarInfo,
            manifest: str | None = "SHA256", tail: bytes = bytes(1024)) -> bytes:
    """A tar of ``members`` (name and content, or a header of anything else), with a manifest
    of every regular member after the first when ``manifest`` names an algorithm."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        regular = [m for m in members if isinstance(m, tuple)]
        for position, member in enumerate(members):
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
                continue
            add(tar, *member)
            if position == 0 and manifest is not None:
                algorithm = manifest.replace("SHA", "sha")
                add(tar, "vm.mf", "".join(
                    f"{manifest}({name})= {hashlib.new(algorithm, content).hexdigest()}\n"
                    for name, content in regular).encode())
    data = out.getvalue()
    return data.rstrip(b"\0") + bytes(-len(data.rstrip(b"\0")) % 512) + tail


def add(tar: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    tar.addfile(info, io.BytesIO(content))


def special(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


def test_a_sha1_manifest_is_verified_too(tmp_path: Path) -> None:
    data = archive(("vm.ovf", OVF), ("d.img", b"disk" * 300), manifest="SHA1")
    assert [d.name for d in unpack(data, tmp_path / "in").disks] == ["d.img"]


def test_an_archive_without_a_manifest_is_taken_as_it_is(tmp_path: Path) -> None:
    data = archive(("vm.ovf", OVF), ("d.img", b"disk"), manifest=None)
    assert unpack(data, tmp_path / "in").disks[0].path.read_bytes() == b"disk"


def test_a_gnu_format_archive_is_read(tmp_path: Path) -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        add(tar, "vm.ovf", OVF)
        add(tar, "a-rather-long-name-" + "x" * 120 + ".img", b"long")
    unpacked = unpack(out.getvalue(), tmp_path / "in")
    assert unpacked.disks[0].path.read_bytes() == b"long"


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """An exported archive of two small images, to spoil."""
    place = tmp_path_factory.mktemp("small")
    disks = [OvaDisk("big.img", sparseImage(place / "big.img", 2 * MIB + 1, {MIB: b"b"})),
             OvaDisk("small.img", sparseImage(place / "small.img", 10, {0: b"s" * 10}))]
    with closing(ovaBody("vm.ovf", OVF, disks)) as body:
        return readAll(body)


def tampered(data: bytes) -> bytes:
    at = data.index(b"SHA256(small.img)= ") + len(b"SHA256(small.img)= ")
    return data[:at] + (b"0" if data[at:at + 1] != b"0" else b"1") + data[at + 1:]


def cut(data: bytes) -> bytes:
    return data[:len(data) // 2]


def endless(data: bytes) -> bytes:
    """Cut where the end-of-archive blocks begin: every member whole, no end."""
    return data[:-1024]


REFUSED: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "tampered digest": (tampered, "SHA256 digest of small.img is not"),
    "cut inside a member": (cut, "cut short: it ends inside big.img"),
    "cut before the end blocks": (endless, "cut short: it ends inside a header"),
    "traversal": (lambda _: archive(("vm.ovf", OVF), ("../evil.img", b"e")),
                  "'../evil.img' is not a plain file name"),
    "absolute": (lambda _: archive(("vm.ovf", OVF), ("/etc/evil", b"e")),
                 "'/etc/evil' is not a plain file name"),
    "directory part": (lambda _: archive(("vm.ovf", OVF), ("d/x.img", b"e")),
                       "'d/x.img' is not a plain file name"),
    "symbolic link": (lambda _: archive(("vm.ovf", OVF), ("d.img", b"d"),
                                        special("l.img", tarfile.SYMTYPE, "/etc/passwd")),
                      "'l.img' at byte"),
    "hard link": (lambda _: archive(("vm.ovf", OVF), special("h.img", tarfile.LNKTYPE, "vm.ovf")),
                  "is a hard link"),
    "device": (lambda _: archive(("vm.ovf", OVF), special("dev.img", tarfile.BLKTYPE)),
               "is a device"),
    "extra member": (lambda _: archive(("vm.ovf", OVF), ("d.img", b"d"))
                     .replace(b"SHA256(d.img)", b"SHA256(e.img)"),
                     "holds d.img, which its manifest does not list"),
    "listed but missing": (lambda _: archive(("vm.ovf", OVF), ("d.img", b"d"),
                                             ("e.img", b"e"))[:-1024 - 1024] + bytes(1024),
                           "lists e.img, which the archive does not hold"),
    "not an ovf first": (lambda _: archive(("d.img", b"d"), ("vm.ovf", OVF)),
                         "begins with d.img"),
    "empty": (lambda _: bytes(1024), "begins with nothing"),
    "duplicate": (lambda _: archive(("vm.ovf", OVF), ("d.img", b"d"), ("d.img", b"d"),
                                    manifest=None), "holds d.img twice"),
    "listed twice": (lambda _: archive(("vm.ovf", OVF), ("d.img", b"d"), ("d.img", b"d")),
                     "manifest lists d.img twice"),
    "two descriptors": (lambda _: archive(("vm.ovf", OVF), ("w.ovf", OVF), manifest=None),
                        "w.ovf is out of place"),
    "damaged header": (lambda _: archive(("vm.ovf", OVF), ("d.img", b"d")).replace(
        b"d.img\0", b"D.img\0", 1), "tar header at byte"),
    "not a manifest line": (lambda _: archive(("vm.ovf", OVF), ("d.img", b"d"),
                                              manifest="MD5"), "Line 1 of the manifest"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_bad_archive_is_refused_and_leaves_no_file(
        case: str, small: bytes, tmp_path: Path) -> None:
    make, words = REFUSED[case]
    into = tmp_path / "in"
    with pytest.raises(OvaRefused) as refused:
        unpack(make(small), into)
    assert words in refused.value.message
    assert "\n" not in refused.value.message
    assert list(into.iterdir()) == []


@pytest.mark.parametrize(("limits", "words"), [
    ({"maxMembers": 3}, "more than 3 members"),
    ({"ovfLimit": len(OVF) - 1}, "OVF descriptor vm.ovf is"),
    ({"ovfLimit": len(OVF)}, "The manifest vm.mf is"),
])
def test_an_archive_beyond_a_limit_is_refused(
        limits: dict[str, int], words: str, tmp_path: Path) -> None:
    data = archive(("vm.ovf", OVF), ("a.img", b"a"), ("b.img", b"b"))
    with pytest.raises(OvaRefused, match=words):
        unpack(data, tmp_path / "in", **limits)
    assert list((tmp_path / "in").iterdir()) == []


def test_a_member_the_caller_refuses_takes_the_others_with_it(tmp_path: Path) -> None:
    data = archive(("vm.ovf", OVF), ("a.img", b"a" * 5000), ("b.img", b"b" * 9000))
    into = tmp_path / "in"
    into.mkdir()

    def target(name: str, size: int) -> Path:
        if size > 8000:
            raise OvaRefused(f"{name} is larger than the quota left.")
        return into / name

    with pytest.raises(OvaRefused, match=r"b\.img is larger"):
        unpackOVA(io.BytesIO(data), target)
    assert list(into.iterdir()) == []


def test_pax_records_give_the_name_and_the_size(tmp_path: Path) -> None:
    """As for a member beyond 8 GiB, whose ustar size field holds 0 and whose pax header the
    size; and a name that is not ASCII."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add(tar, "vm.ovf", OVF)
    header = tarfile.TarInfo("disque-é.img")
    header.pax_headers = {"size": "5"}
    data = (out.getvalue()[:512 + 512 * (-(-len(OVF) // 512))]
            + header.tobuf(tarfile.PAX_FORMAT) + b"hello" + bytes(507) + bytes(1024))
    unpacked = unpack(data, tmp_path / "in")
    assert [(d.name, d.size) for d in unpacked.disks] == [("disque-é.img", 5)]
    assert unpacked.disks[0].path.read_bytes() == b"hello"
