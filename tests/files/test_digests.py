"""An image's SHA-256: holes hashed without a read, remembered beside the image for the
version it was computed of (a second export of an unchanged image reads nothing), computed
again once the image changes, never remembered for an image still changing; and the
remembered digest goes with its image when the storage is deleted."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from occi_twisted.drivers.storage import DiskImages, NoSuchImage
from occi_twisted.drivers.storage.files import sidecarOf
from occi_twisted.files import digests
from occi_twisted.files.body import versionTag
from occi_twisted.files.digests import sha256Of

from .support import MIB, settle, sparseImage


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The lengths hashed from images (each a pass over one)."""
    passes: list[int] = []
    real = digests.hashRegion

    def counting(fd: int, length: int, *hashers: object) -> None:
        passes.append(length)
        real(fd, length, *hashers)  # type: ignore[arg-type]

    monkeypatch.setattr(digests, "hashRegion", counting)
    return passes


def test_the_digest_is_the_files_with_holes_as_zeros(tmp_path: Path) -> None:
    image = sparseImage(tmp_path / "i.img", 20 * MIB + 3,
                        {0: b"head", 9 * MIB: os.urandom(MIB + 7), 20 * MIB: b"end"})
    assert sha256Of(image) == hashlib.sha256(image.read_bytes()).hexdigest()
    empty = sparseImage(tmp_path / "e.img", 0, {})
    assert sha256Of(empty) == hashlib.sha256(b"").hexdigest()
    hole = sparseImage(tmp_path / "h.img", 3 * MIB, {})
    assert sha256Of(hole) == hashlib.sha256(bytes(3 * MIB)).hexdigest()


def test_beyond_the_end_of_the_file_reads_as_zeros(tmp_path: Path) -> None:
    """What was laid out is hashed: a file that shrank since reads as zeros to the length."""
    image = sparseImage(tmp_path / "i.img", 100, {0: b"x" * 100})
    fd = os.open(image, os.O_RDONLY)
    try:
        assert sha256Of(image, fd, 300) == hashlib.sha256(b"x" * 100 + bytes(200)).hexdigest()
    finally:
        os.close(fd)
    assert not sidecarOf(image).exists()  # not the file's digest: not remembered


def test_a_settled_images_digest_is_remembered_and_read_once(
        tmp_path: Path, hashed: list[int]) -> None:
    image = sparseImage(tmp_path / "i.img", 5 * MIB, {MIB: b"data"}, age=3600)
    first = sha256Of(image)
    assert json.loads(sidecarOf(image).read_text()) == {
        "version": versionTag(image.stat()), "sha256": first}
    assert sha256Of(image) == first
    assert hashed == [5 * MIB]  # the second time from the sidecar
    assert sorted(p.name for p in tmp_path.iterdir()) == ["i.img", "i.img.sha256"]


def test_a_changed_image_is_hashed_again(tmp_path: Path, hashed: list[int]) -> None:
    image = sparseImage(tmp_path / "i.img", MIB, {0: b"before"}, age=3600)
    sha256Of(image)
    with image.open("r+b") as f:
        f.write(b"after!")
    assert sha256Of(image) == hashlib.sha256(image.read_bytes()).hexdigest()
    assert len(hashed) == 2
    settle(image)
    assert sha256Of(image) == hashlib.sha256(image.read_bytes()).hexdigest()
    assert sha256Of(image) == hashlib.sha256(image.read_bytes()).hexdigest()
    assert len(hashed) == 3  # remembered once it settled


def test_an_image_still_changing_is_not_remembered(tmp_path: Path, hashed: list[int]) -> None:
    """Written just now: a write in the same tick of the file system's clock would leave its
    version tag as it is, so the digest is used but not kept."""
    image = sparseImage(tmp_path / "i.img", MIB, {0: b"fresh"})
    assert sha256Of(image) == sha256Of(image)
    assert len(hashed) == 2
    assert not sidecarOf(image).exists()


def test_a_replaced_image_keeps_the_sidecar_to_its_new_version(
        tmp_path: Path, hashed: list[int]) -> None:
    image = sparseImage(tmp_path / "i.img", MIB, {0: b"old"}, age=3600)
    fd = os.open(image, os.O_RDONLY)
    try:
        new = sparseImage(tmp_path / "new.img", MIB, {0: b"new"}, age=3600)
        os.replace(new, image)
        newDigest = sha256Of(image)
        assert sha256Of(image, fd) == hashlib.sha256(b"old" + bytes(MIB - 3)).hexdigest()
    finally:
        os.close(fd)
    assert json.loads(sidecarOf(image).read_text())["sha256"] == newDigest
    assert sha256Of(image) == newDigest
    assert len(hashed) == 2


def test_a_damaged_sidecar_is_hashed_over(tmp_path: Path, hashed: list[int]) -> None:
    image = sparseImage(tmp_path / "i.img", MIB, {0: b"d"}, age=3600)
    for damage in ["", "not json", json.dumps({"version": versionTag(image.stat()),
                                                "sha256": "0" * 63}), "[]"]:
        sidecarOf(image).write_text(damage)
        assert sha256Of(image) == hashlib.sha256(image.read_bytes()).hexdigest()
    assert len(hashed) == 4
    assert sha256Of(image) and len(hashed) == 4


def test_a_sidecar_that_cannot_be_written_costs_only_a_later_hash(
        tmp_path: Path, hashed: list[int]) -> None:
    image = sparseImage(tmp_path / "i.img", MIB, {0: b"d"}, age=3600)
    sidecarOf(image).mkdir()  # no file can be renamed there
    assert sha256Of(image) == sha256Of(image) == hashlib.sha256(image.read_bytes()).hexdigest()
    assert len(hashed) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["i.img", "i.img.sha256"]


def test_deleting_a_storage_removes_its_digest(tmp_path: Path) -> None:
    images = DiskImages(tmp_path)
    path = images.create("s1", 1 / 1024)
    other = images.create("s1.img", 1 / 1024)  # an id whose files begin like s1's
    for image in (path, other):
        settle(image)
        sha256Of(image)
    leftover = path.with_name(path.name + ".sha256.abcd_123.tmp")  # a crash while writing
    leftover.write_text("{}")
    assert images.storageIds() == ["s1", "s1.img"]
    images.delete("s1")
    assert sorted(p.name for p in path.parent.iterdir()) == ["s1.img.img",
                                                             "s1.img.img.sha256"]


def test_a_digest_without_its_image_is_listed_so_start_up_removes_it(tmp_path: Path) -> None:
    images = DiskImages(tmp_path)
    path = images.create("gone", 1 / 1024)
    sidecarOf(path).write_text("{}")
    path.unlink()  # the digest was written as the image was being deleted
    (path.parent / "notes.txt").write_text("not ours")
    assert images.storageIds() == ["gone"]
    with pytest.raises(NoSuchImage):
        images.delete("gone")
    assert images.storageIds() == []
    assert [p.name for p in path.parent.iterdir()] == ["notes.txt"]
