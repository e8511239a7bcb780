"""Images and archives through ``occi`` against a real ``twistd -n occi``: an upload and a
download compared byte for byte, a download resumed from a partial file, an OVA read back by
GNU tar."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..conftest import RunningServer
from .support import occi, ok, refused, storage

MIB = 1 << 20
#: A 16 MiB storage (occi.storage.size is in GiB): its image is exactly this long.
SIZE = 16 * MIB


def test_upload_then_download_byte_for_byte(running: RunningServer, tmp_path: Path) -> None:
    disk = storage(tmp_path, running.url, SIZE / (1 << 30))
    data = os.urandom(SIZE)
    (tmp_path / "up.img").write_bytes(data)
    said = ok(occi(tmp_path, "upload", str(tmp_path / "up.img"), disk, endpoint=running.url))
    assert f"Stored {SIZE} bytes" in said
    # Not a terminal: plain progress lines, the last at 100 %.
    assert said.splitlines()[-2].startswith("up.img: 100.0 %"), said
    got = ok(occi(tmp_path, "download", disk, str(tmp_path / "down.img"),
                  endpoint=running.url))
    assert got.splitlines()[-1] == f"{tmp_path / 'down.img'}: {SIZE} bytes"
    assert (tmp_path / "down.img").read_bytes() == data


def test_a_download_resumes_from_the_partial_file(running: RunningServer,
                                                  tmp_path: Path) -> None:
    disk = storage(tmp_path, running.url, SIZE / (1 << 30))
    data = os.urandom(SIZE)
    (tmp_path / "up.img").write_bytes(data)
    ok(occi(tmp_path, "upload", str(tmp_path / "up.img"), disk, endpoint=running.url))
    partial = tmp_path / "partial.img"
    partial.write_bytes(data[:SIZE // 3])
    said = ok(occi(tmp_path, "download", disk, str(partial), endpoint=running.url))
    assert f"({SIZE - SIZE // 3} this time)" in said, said
    assert partial.read_bytes() == data
    # Complete already: nothing more is fetched.
    again = ok(occi(tmp_path, "download", disk, str(partial), "--json",
                    endpoint=running.url))
    assert '"written": 0' in again
    # A file longer than the image is not silently cut or appended to.
    partial.write_bytes(data + b"more")
    assert "is longer than" in refused(occi(tmp_path, "download", disk, str(partial),
                                            endpoint=running.url))


def test_an_upload_to_an_online_storage_is_refused(running: RunningServer,
                                                   tmp_path: Path) -> None:
    disk = storage(tmp_path, running.url, 0.001)
    ok(occi(tmp_path, "action", disk, "online", "--wait", endpoint=running.url))
    (tmp_path / "up.img").write_bytes(b"x" * 1000)
    line = refused(occi(tmp_path, "upload", str(tmp_path / "up.img"), disk,
                        endpoint=running.url))
    assert line.startswith("occi: 409 ")
    assert refused(occi(tmp_path, "upload", str(tmp_path / "missing.img"), disk,
                        endpoint=running.url)).endswith("is not a readable file")


def test_export_ova_read_by_tar(running: RunningServer, tmp_path: Path) -> None:
    url = running.url
    compute = ok(occi(tmp_path, "create", "compute", "title=exported", endpoint=url)).strip()
    disk = storage(tmp_path, url, 1 / 1024)
    ok(occi(tmp_path, "-e", url, "-a", "link", "-r", compute, "-j", disk,
            "-t", "occi.storagelink.deviceid=sda"))
    archive = tmp_path / "vm.ova"
    said = ok(occi(tmp_path, "export-ova", compute, str(archive), endpoint=url))
    assert said.splitlines()[-1] == f"{archive}: {archive.stat().st_size} bytes"
    names = subprocess.run(["tar", "-tf", str(archive)], capture_output=True, text=True,
                           check=True).stdout.split()
    computeId = compute.rpartition("/")[2]
    # OVF's order: the envelope first, then the manifest, then the disk.
    assert names[0] == f"{computeId}.ovf" and names[1] == f"{computeId}.mf", names
    assert len(names) == 3 and names[2] != names[0], names
