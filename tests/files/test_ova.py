"""The OVA export layout: a tar that ``tarfile`` and GNU tar read back member for member, laid
out without reading the images (every offset known, any slice readable on its own), with a
manifest of SHA-256 digests made only when a reader gets to it, the same bytes and ETag for
the same versions of the same files, and a pax header for a member beyond 8 GiB."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from occi_twisted.files import ova
from occi_twisted.files.body import Body, versionTag
from occi_twisted.files.ova import OVA_TYPE, OvaDisk, ovaBody, ovaParts, ovaTag

from .support import MIB, OVF, BodyFile, materialize, readAll, sparseImage

GIB = 1 << 30


@pytest.fixture
def disks(tmp_path: Path) -> list[OvaDisk]:
    """Two images: a small one with data at both ends and an odd-sized one that is mostly
    hole, both settled."""
    small = sparseImage(tmp_path / "a.img", 1000, {0: b"first", 990: b"last bytes"},
                        age=3600)
    odd = sparseImage(tmp_path / "b.img", 3 * MIB + 5, {MIB + 1: b"x" * 5000, 3 * MIB: b"end"},
                      age=3600)
    return [OvaDisk("disk-a.img", small), OvaDisk("disk-b.img", odd)]


@pytest.fixture
def body(disks: list[OvaDisk]) -> Iterator[Body]:
    made = ovaBody("vm.ovf", OVF, disks, filename="vm.ova")
    yield made
    made.close()


def manifestOf(disks: list[OvaDisk]) -> bytes:
    lines = [f"SHA256(vm.ovf)= {hashlib.sha256(OVF).hexdigest()}\n"]
    lines += [f"SHA256({disk.name})= {hashlib.sha256(disk.path.read_bytes()).hexdigest()}\n"
              for disk in disks]
    return "".join(lines).encode()


def test_tarfile_reads_back_every_member_in_the_ova_order(
        body: Body, disks: list[OvaDisk]) -> None:
    data = readAll(body)
    assert len(data) == body.length
    assert body.contentType == OVA_TYPE == "application/x-ova"
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["vm.ovf", "vm.mf", "disk-a.img", "disk-b.img"]
        contents = [tar.extractfile(m).read() for m in members]  # type: ignore[union-attr]
    assert contents == [OVF, manifestOf(disks), *(d.path.read_bytes() for d in disks)]
    newest = max(int(d.path.stat().st_mtime) for d in disks)
    assert [m.mtime for m in members] == [newest, newest,
                                          *(int(d.path.stat().st_mtime) for d in disks)]
    for member in members:
        assert (member.isreg(), member.mode, member.uid, member.gid) == (True, 0o644, 0, 0)
        assert member.pax_headers == {}  # plain ustar: no member needs more
        assert member.offset_data % 512 == 0
    assert data.endswith(bytes(1024))


def test_gnu_tar_lists_and_extracts_the_members_in_order(
        body: Body, disks: list[OvaDisk], tmp_path: Path) -> None:
    archive = tmp_path / "vm.ova"
    archive.write_bytes(readAll(body))
    listing = subprocess.run(["tar", "-tvf", str(archive)], capture_output=True, text=True,
                             check=True)
    assert listing.stderr == ""
    rows = [line.split() for line in listing.stdout.splitlines()]
    assert [row[-1] for row in rows] == ["vm.ovf", "vm.mf", "disk-a.img", "disk-b.img"]
    assert [row[0] for row in rows] == ["-rw-r--r--"] * 4
    assert [int(row[2]) for row in rows] == [len(OVF), len(manifestOf(disks)), 1000,
                                             3 * MIB + 5]
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(["tar", "-xf", str(archive), "-C", str(out)], check=True)
    for disk in disks:
        assert (out / disk.name).read_bytes() == disk.path.read_bytes()
    assert (out / "vm.mf").read_bytes() == manifestOf(disks)


def test_a_sparse_64_mib_image_reads_back_whole(tmp_path: Path) -> None:
    marks = {0: b"boot", 10 * MIB + 3: b"middle" * 1000, 64 * MIB - 5: b"tail!"}
    image = sparseImage(tmp_path / "big.img", 64 * MIB, marks)
    with closing(ovaBody("vm.ovf", OVF, [OvaDisk("big.img", image)])) as body:
        data = readAll(body)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.getmember("big.img")
        copied = tar.extractfile(member).read()  # type: ignore[union-attr]
        manifest = tar.extractfile("vm.mf").read()  # type: ignore[union-attr]
    expected = image.read_bytes()
    assert copied == expected
    assert f"SHA256(big.img)= {hashlib.sha256(expected).hexdigest()}\n".encode() in manifest


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Body, bytes]]:
    """A layout and all its bytes, for slices read on their own."""
    place = tmp_path_factory.mktemp("ranges")
    images = [OvaDisk("one.img", sparseImage(place / "1.img", 4099, {7: b"seven"})),
              OvaDisk("two.img", sparseImage(place / "2.img", 2 * MIB + 511,
                                             {MIB: os.urandom(70_000)}))]
    made = ovaBody("x.ovf", OVF, images)
    yield made, readAll(made)
    made.close()


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_slice_reads_as_the_same_bytes_of_the_whole(
        whole: tuple[Body, bytes], data: st.DataObject) -> None:
    body, everything = whole
    offset = data.draw(st.integers(0, body.length), label="offset")
    size = data.draw(st.integers(0, body.length - offset + 10), label="size")
    assert body.read(offset, size) == everything[offset:offset + size]


def test_two_layouts_of_the_same_files_are_the_same_bytes_and_etag(
        disks: list[OvaDisk]) -> None:
    with closing(ovaBody("vm.ovf", OVF, disks)) as first, \
            closing(ovaBody("vm.ovf", OVF, disks)) as second:
        assert readAll(first) == readAll(second)
        assert first.etag == second.etag
        assert first.etag.startswith('"') and first.etag.endswith('"')
    assert first.etag == ovaTag("vm.ovf", OVF, [(d.name, versionTag(d.path.stat()))
                                                for d in disks])
    assert ovaTag("vm.ovf", OVF + b" ", [(d.name, versionTag(d.path.stat()))
                                         for d in disks]) != first.etag
    with disks[1].path.open("r+b") as f:
        f.write(b"changed")
    with closing(ovaBody("vm.ovf", OVF, disks)) as third:
        assert third.etag != first.etag


def test_a_layout_keeps_the_version_it_opened(disks: list[OvaDisk], tmp_path: Path) -> None:
    before = disks[0].path.read_bytes()
    with closing(ovaBody("vm.ovf", OVF, disks)) as body:
        replacement = tmp_path / "new.img"
        replacement.write_bytes(b"n" * 1000)
        os.replace(replacement, disks[0].path)  # an upload renamed over the image
        with tarfile.open(fileobj=io.BytesIO(readAll(body))) as tar:
            assert tar.extractfile("disk-a.img").read() == before  # type: ignore[union-attr]
            manifest = tar.extractfile("vm.mf").read()  # type: ignore[union-attr]
    assert hashlib.sha256(before).hexdigest().encode() in manifest


def test_the_manifest_is_made_only_when_a_reader_reaches_it(
        disks: list[OvaDisk], monkeypatch: pytest.MonkeyPatch) -> None:
    hashed: list[Path] = []

    def recording(path: Path, fd: int | None = None, length: int | None = None) -> str:
        hashed.append(path)
        return "0" * 64

    monkeypatch.setattr(ova, "sha256Of", recording)
    with closing(ovaBody("vm.ovf", OVF, disks)) as body:
        assert body.read(512, len(OVF)) == OVF
        assert body.read(body.length - 2000, 2000)[-1024:] == bytes(1024)
        assert hashed == []
        readAll(body)
        readAll(body)
    assert hashed == [d.path for d in disks]  # once, for the first reader that got there


def test_names_an_ova_cannot_hold_are_refused(disks: list[OvaDisk]) -> None:
    for ovfName, name in [("vm.xml", "d.img"), ("vm.ovf", "../d.img"), ("vm.ovf", "a/b"),
                          ("vm.ovf", "vm.mf"), ("vm.ovf", "x" * 101), ("vm.ovf", ".hidden")]:
        with pytest.raises(ValueError):
            ovaParts(ovfName, OVF, [OvaDisk(name, disks[0].path)])


def test_a_missing_image_closes_what_was_opened(disks: list[OvaDisk], tmp_path: Path) -> None:
    opened = len(os.listdir("/proc/self/fd"))
    with pytest.raises(FileNotFoundError):
        ovaParts("vm.ovf", OVF, [disks[0], OvaDisk("gone.img", tmp_path / "gone.img")])
    assert len(os.listdir("/proc/self/fd")) == opened


def test_a_member_beyond_8_gib_gets_a_pax_size_and_reads_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 9 GiB sparse image costs no disk; nothing reads its 9 GiB (the manifest's digest is
    stubbed: hashing 9 GiB of zeros is seconds of CPU that prove nothing here)."""
    monkeypatch.setattr(ova, "sha256Of", lambda *_args: "0" * 64)
    size = 9 * GIB + 11
    image = sparseImage(tmp_path / "huge.img", size, {8 * GIB + 3: b"far"})
    small = sparseImage(tmp_path / "small.img", 512, {0: b"s"})
    with closing(ovaBody("vm.ovf", OVF, [OvaDisk("huge.img", image),
                                         OvaDisk("small.img", small)])) as body:
        source = BodyFile(body)
        with tarfile.open(fileobj=io.BufferedReader(source, 64 << 10)) as tar:
            huge, last = tar.getmember("huge.img"), tar.getmember("small.img")
            assert (huge.size, last.size) == (size, 512)
            assert huge.pax_headers == {"size": str(size)}
            assert last.pax_headers == {}
            stream = tar.extractfile(huge)
            assert stream is not None
            stream.seek(8 * GIB + 3)
            assert stream.read(3) == b"far"
            assert tar.extractfile(last).read(1) == b"s"  # type: ignore[union-attr]
        assert sum(n for _, n in source.reads) < 4 * MIB  # headers and a few offsets
        assert body.read(huge.offset_data + size - 3, 3) == bytes(3)
        archive = materialize(body, tmp_path / "huge.ova")  # the image a hole: no disk
    listing = subprocess.run(["tar", "-tvf", str(archive)], capture_output=True, text=True,
                             check=True)
    rows = [line.split() for line in listing.stdout.splitlines()]
    assert [(row[-1], int(row[2])) for row in rows][2:] == [("huge.img", size),
                                                           ("small.img", 512)]

