"""A storage's image through signed URLs, against a real ``twistd occi`` with real files:
uploaded and downloaded with curl (resumed, in ranges) and with treq, byte for byte; signed
URLs that are tampered with, expired, or outlive their storage; uploads cut off by the client
or by a killed server leave the old image whole."""

from __future__ import annotations

import email.parser
import hashlib
import http.client
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import pytest_twisted as pt
import treq

from ..conftest import RunningServer
from ..conftest import call as _call

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
MIB = 1 << 20
#: The images of these tests: 64 MiB (occi.storage.size is in GiB).
SIZE = 64 * MIB
OCTET = "application/octet-stream"


def _storage(port: int, sizeMiB: int = 64) -> str:
    body = (f'Category: storage; scheme="{INFRA}"; class="kind"\n'
            f"X-OCCI-Attribute: occi.storage.size={sizeMiB / 1024}\n")
    status, headers, answer = _call(port, "POST", "/storage/", body,
                                    {"Content-Type": "text/plain"})
    assert status == 201, answer
    return urlsplit(headers["location"]).path


def _signed(port: int, location: str, accept: str = OCTET) -> str:
    """The signed URL a GET of ``location`` as ``accept`` is sent to."""
    status, headers, body = _call(port, "GET", location, headers={"Accept": accept})
    assert status == 303, body
    return headers["location"]


def _curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["curl", "-sS", "--fail-with-body", *args], capture_output=True,
                          timeout=120, check=False)


def _randomFile(path: Path, size: int = SIZE) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


def _upload(server: RunningServer, storage: str, source: Path) -> None:
    put = _curl("-L", "-T", str(source), "-H", f"Content-Type: {OCTET}",
                f"{server.url}{storage}")
    assert put.returncode == 0, put.stderr + put.stdout


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningServer]:
    server = RunningServer(tmp_path / "data", "--url-validity", "30").start()
    yield server
    server.stop()


def test_curl_uploads_and_downloads_an_image_byte_for_byte(running: RunningServer,
                                                           tmp_path: Path) -> None:
    storage = _storage(running.port)
    data = _randomFile(tmp_path / "up.img")
    # PUT to the storage: 307 to the signed URL, which curl follows with the body.
    put = _curl("-L", "-T", str(tmp_path / "up.img"), "-H", f"Content-Type: {OCTET}",
                f"{running.url}{storage}")
    assert put.returncode == 0, put.stderr + put.stdout
    assert b"Stored 67108864 bytes" in put.stdout
    image = running.dataDir / "storage" / f"{storage.rpartition('/')[2]}.img"
    assert image.read_bytes() == data
    # GET as octet-stream: 303 to the signed URL, which needs no credentials.
    got = _curl("-L", "-H", f"Accept: {OCTET}", "-o", str(tmp_path / "down.img"),
                f"{running.url}{storage}")
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "down.img").read_bytes() == data
    # Its own URL variant works the same way.
    variant = _curl("-L", "-o", str(tmp_path / "variant.img"),
                    f"{running.url}{storage}?format=image")
    assert variant.returncode == 0, variant.stderr
    assert hashlib.sha256((tmp_path / "variant.img").read_bytes()).digest() == \
        hashlib.sha256(data).digest()
    # The upload is an event like any other.
    _, _, log = _call(running.port, "GET", f"{storage}/log/", headers={"Accept": "text/plain"})
    assert b"Image replaced by an upload of 67108864 bytes" in log or b"update" in log


def test_ranges_resume_and_validators(running: RunningServer, tmp_path: Path) -> None:
    storage = _storage(running.port)
    data = _randomFile(tmp_path / "up.img")
    _upload(running, storage, tmp_path / "up.img")
    signed = _signed(running.port, storage)
    # One range: 206 with exactly those bytes.
    one = _curl("-r", "1000-1999", signed)
    assert one.returncode == 0 and one.stdout == data[1000:2000]
    # Several: multipart/byteranges, read with Python's email parser.
    head = _curl("-D", "-", "-o", str(tmp_path / "multi"), "-r", "0-9,5000-5099,-10", signed)
    assert head.returncode == 0, head.stderr
    contentType = next(line.split(":", 1)[1].strip() for line in head.stdout.decode()
                       .splitlines() if line.lower().startswith("content-type:"))
    assert contentType.startswith("multipart/byteranges")
    message = email.parser.BytesParser().parsebytes(
        f"Content-Type: {contentType}\r\n\r\n".encode() + (tmp_path / "multi").read_bytes())
    bodies = [part.get_payload(decode=True) for part in message.get_payload()]
    assert bodies == [data[0:10], data[5000:5100], data[-10:]]
    # Resume: half a file on disk, curl -C - fetches the rest.
    partial = tmp_path / "partial.img"
    partial.write_bytes(data[:SIZE // 2 + 12345])
    resumed = _curl("-C", "-", "-o", str(partial), signed)
    assert resumed.returncode == 0, resumed.stderr
    assert partial.read_bytes() == data
    # Beyond the end: 416 with the length.
    path = signed[len(running.url):]
    status, headers, _ = _call(running.port, "GET", path, headers={"Range": "bytes=99999999-"})
    assert status == 416 and headers["content-range"] == f"bytes */{SIZE}"
    # If-Range with the ETag: a range; with another: the whole image.
    status, headers, _ = _call(running.port, "HEAD", path)
    assert status == 200 and headers["content-length"] == str(SIZE)
    assert headers["accept-ranges"] == "bytes"
    tag = headers["etag"]
    status, _, body = _call(running.port, "GET", path,
                            headers={"Range": "bytes=0-3", "If-Range": tag})
    assert (status, body) == (206, data[:4])
    status, _, body = _call(running.port, "GET", path,
                            headers={"Range": "bytes=0-3", "If-Range": '"other"'})
    assert status == 200 and len(body) == SIZE


@pt.ensureDeferred
async def test_treq_downloads_the_same_bytes(running: RunningServer, tmp_path: Path) -> None:
    storage = _storage(running.port)
    data = _randomFile(tmp_path / "up.img")
    _upload(running, storage, tmp_path / "up.img")
    response = await treq.get(f"{running.url}{storage}", headers={"Accept": OCTET})
    assert response.code == 200  # treq followed the 303
    assert await response.content() == data


def test_tampered_expired_and_orphaned_urls_are_refused(running: RunningServer,
                                                       tmp_path: Path) -> None:
    storage = _storage(running.port)
    signed = _signed(running.port, storage)[len(running.url):]
    assert _call(running.port, "HEAD", signed)[0] == 200
    tampered = signed.replace("owner=", "owner=x")
    flipped = signed[:-1] + ("A" if signed[-1] != "A" else "B")
    for path in (tampered, flipped, signed.partition("?")[0],
                 signed.replace("/storage/", "/storage/x")):
        status, _, body = _call(running.port, "GET", path)
        assert status == 403, (path, body)
        assert body.strip() and b"Traceback" not in body
    # Deleted: a URL signed before refers to nothing any more.
    assert _call(running.port, "DELETE", storage)[0] == 200
    status, _, body = _call(running.port, "GET", signed)
    assert status == 403 and b"no longer exists" in body
    # An expiry moved later is a changed URL: the signature no longer holds.
    other = _storage(running.port, 1)
    old = _signed(running.port, other)[len(running.url):]
    expires = int(old.split("expires=")[1].split("&")[0])
    status, _, body = _call(running.port, "GET", old.replace(f"expires={expires}",
                                                             f"expires={expires + 3600}"))
    assert status == 403


def test_a_signed_url_expires(tmp_path: Path) -> None:
    server = RunningServer(tmp_path / "data", "--url-validity", "1").start()
    try:
        storage = _storage(server.port, 1)
        signed = _signed(server.port, storage)[len(server.url):]
        assert _call(server.port, "HEAD", signed)[0] == 200
        time.sleep(2.1)
        status, _, body = _call(server.port, "GET", signed)
        assert status == 403 and b"expired" in body
    finally:
        server.stop()


def test_an_upload_larger_than_the_storage_is_413_before_it_is_read(
        running: RunningServer, tmp_path: Path) -> None:
    storage = _storage(running.port, 1)
    status, _, body = _call(running.port, "PUT", storage, b"x" * (MIB + 1),
                            {"Content-Type": OCTET})
    assert status == 413, body
    # A signed URL for 1 MiB refuses a declared 2 MiB at once, chunked or not.
    put = _curl("-i", "-X", "PUT", "-H", f"Content-Type: {OCTET}", f"{running.url}{storage}")
    signed = next(line.split(":", 1)[1].strip() for line in put.stdout.decode().splitlines()
                  if line.lower().startswith("location:"))
    status, _, body = _call(running.port, "PUT", signed[len(running.url):], b"y" * (2 * MIB),
                            {"Content-Type": OCTET})
    assert status == 413, body


def test_an_online_storage_takes_no_upload(running: RunningServer) -> None:
    storage = _storage(running.port, 1)
    status, _, body = _call(running.port, "POST", f"{storage}?action=online", "",
                            {"Content-Type": "text/plain"})
    assert status in (200, 202), body
    time.sleep(0.5)
    status, _, body = _call(running.port, "PUT", storage, b"z" * 10, {"Content-Type": OCTET})
    assert status == 409, body


def _slowUpload(url: str, source: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["curl", "-sS", "-L", "--limit-rate", "2M", "-T", str(source),
                             "-H", f"Content-Type: {OCTET}", url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _uploadsIn(dataDir: Path) -> list[Path]:
    return list((dataDir / "storage").glob(".upload-*"))


def _waitFor(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _uploadUnderWay(server: RunningServer, tmp_path: Path
                    ) -> tuple[bytes, Path, subprocess.Popen[bytes]]:
    """A storage with an image, and a slow upload of another under way (a megabyte of it
    written): the old image's bytes, the image and the uploading client."""
    storage = _storage(server.port)
    old = _randomFile(tmp_path / "old.img")
    _upload(server, storage, tmp_path / "old.img")
    _randomFile(tmp_path / "new.img")
    client = _slowUpload(f"{server.url}{storage}", tmp_path / "new.img")
    _waitFor(lambda: any(p.stat().st_size > MIB for p in _uploadsIn(server.dataDir)))
    return old, server.dataDir / "storage" / f"{storage.rpartition('/')[2]}.img", client


def test_an_upload_cut_off_by_the_client_leaves_the_old_image(
        running: RunningServer, tmp_path: Path) -> None:
    old, image, client = _uploadUnderWay(running, tmp_path)
    client.send_signal(signal.SIGKILL)
    client.wait()
    _waitFor(lambda: not _uploadsIn(running.dataDir))  # the partial upload is removed
    assert image.read_bytes() == old


def test_an_upload_cut_off_by_a_killed_server_leaves_the_old_image(
        running: RunningServer, tmp_path: Path) -> None:
    old, image, client = _uploadUnderWay(running, tmp_path)
    running.kill()
    client.wait(timeout=30)
    running.start()
    assert image.read_bytes() == old
    _waitFor(lambda: not _uploadsIn(running.dataDir))  # swept at start-up


def _ovf(server: RunningServer, compute: str) -> bytes:
    status, _, body = _call(server.port, "GET", compute,
                            headers={"Accept": "application/ovf+xml"})
    assert status == 200, body
    return body


def _importOVA(server: RunningServer, archive: Path) -> subprocess.CompletedProcess[bytes]:
    """POST the archive to /compute/: 307 to a signed URL, which curl follows with it."""
    return _curl("-L", "-i", "-X", "POST", "-T", str(archive), "-H",
                 "Content-Type: application/x-ova", f"{server.url}/compute")


def _imageDigests(server: RunningServer, compute: str) -> list[str]:
    from occi_twisted.renderings.ovf import parseOVF

    system = parseOVF(_ovf(server, compute))
    return [hashlib.sha256((server.dataDir / "storage" / f"{disk.diskId}.img")
                           .read_bytes()).hexdigest() for disk in system.disks]


def test_an_ova_exported_from_one_server_is_imported_by_another(
        tmp_path: Path, running: RunningServer) -> None:
    import tarfile

    from occi_twisted.renderings.ovf import parseOVF

    second = RunningServer(tmp_path / "second").start()
    try:
        storages = [_storage(running.port, 16), _storage(running.port, 8)]
        for index, storage in enumerate(storages):
            source = tmp_path / f"disk{index}.img"
            _randomFile(source, (4 + index) * MIB)
            _upload(running, storage, source)
        links = "".join(f'Link: <{s}>; rel="{INFRA}storage"; '
                        f'category="{INFRA}storagelink"\n' for s in storages)
        status, headers, body = _call(running.port, "POST", "/compute/", (
            f'Category: compute; scheme="{INFRA}"; class="kind"\n'
            "X-OCCI-Attribute: occi.compute.cores=3\nX-OCCI-Attribute: occi.compute.memory=2\n"
            'X-OCCI-Attribute: occi.core.title="exported"\n' + links),
            {"Content-Type": "text/plain"})
        assert status == 201, body
        compute = urlsplit(headers["location"]).path
        archive = tmp_path / "exported.ova"
        got = _curl("-L", "-H", "Accept: application/x-ova", "-o", str(archive),
                    f"{running.url}{compute}")
        assert got.returncode == 0, got.stderr
        # GNU tar and Python's tarfile read it: the OVF first, the manifest, the disks.
        listed = subprocess.run(["tar", "-tvf", str(archive)], capture_output=True,
                                check=True).stdout.decode().splitlines()
        names = [line.split()[-1] for line in listed]
        assert names == [f"{compute.rpartition('/')[2]}.ovf",
                         f"{compute.rpartition('/')[2]}.mf", "disk1.img", "disk2.img"]
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            manifest = tar.extractfile(members[1]).read().decode()  # type: ignore[union-attr]
            disk = tar.extractfile(members[2]).read()  # type: ignore[union-attr]
        assert f"SHA256(disk1.img)= {hashlib.sha256(disk).hexdigest()}" in manifest
        # A range of the archive is the same bytes as the whole's.
        signed = _signed(running.port, compute, "application/x-ova")
        piece = _curl("-r", "1000-600000", signed)
        assert piece.stdout == archive.read_bytes()[1000:600001]
        # Imported by a second server: the same hardware and equal images.
        imported = _importOVA(second, archive)
        assert imported.returncode == 0, imported.stderr + imported.stdout
        where = next(line.split(":", 1)[1].strip() for line in imported.stdout.decode()
                     .splitlines()[::-1] if line.lower().startswith("location:"))
        copy = urlsplit(where).path
        original, other = parseOVF(_ovf(running, compute)), parseOVF(_ovf(second, copy))
        assert (other.cores, other.memoryMiB, other.name) == (3, 2048, "exported")
        assert [d.capacity for d in other.disks] == [d.capacity for d in original.disks]
        assert _imageDigests(second, copy) == _imageDigests(running, compute)
    finally:
        second.stop()


def test_an_ova_whose_manifest_does_not_match_is_refused_and_nothing_kept(
        tmp_path: Path, running: RunningServer) -> None:
    storage = _storage(running.port, 1)
    _randomFile(tmp_path / "d.img", MIB)
    _upload(running, storage, tmp_path / "d.img")
    status, headers, body = _call(running.port, "POST", "/compute/", (
        f'Category: compute; scheme="{INFRA}"; class="kind"\n'
        f'Link: <{storage}>; rel="{INFRA}storage"; category="{INFRA}storagelink"\n'),
        {"Content-Type": "text/plain"})
    assert status == 201, body
    compute = urlsplit(headers["location"]).path
    archive = tmp_path / "a.ova"
    assert _curl("-L", "-H", "Accept: application/x-ova", "-o", str(archive),
                 f"{running.url}{compute}").returncode == 0
    data = bytearray(archive.read_bytes())
    data[-2048] ^= 0xFF  # a byte of the disk image, after the manifest
    archive.write_bytes(bytes(data))
    before = _call(running.port, "GET", "/compute/", headers={"Accept": "text/uri-list"})[2]
    refused = _importOVA(running, archive)
    assert b"422" in refused.stdout and b"digest" in refused.stdout.lower(), refused.stdout
    after = _call(running.port, "GET", "/compute/", headers={"Accept": "text/uri-list"})[2]
    assert after == before
    assert not _uploadsIn(running.dataDir)


def test_an_import_acts_for_its_signer_within_their_quota(
        tmp_path: Path, running: RunningServer) -> None:
    from ..identity.support import usersFile

    storage = _storage(running.port, 16)
    status, headers, body = _call(running.port, "POST", "/compute/", (
        f'Category: compute; scheme="{INFRA}"; class="kind"\n'
        f'Link: <{storage}>; rel="{INFRA}storage"; category="{INFRA}storagelink"\n'),
        {"Content-Type": "text/plain"})
    assert status == 201, body
    archive = tmp_path / "a.ova"
    assert _curl("-L", "-H", "Accept: application/x-ova", "-o", str(archive),
                 f"{running.url}{urlsplit(headers['location']).path}").returncode == 0
    config = tmp_path / "occi.toml"
    config.write_text("[users.alice.quota]\nstorage = 0.005\n")
    users = usersFile(tmp_path, alice="wonderland", bob="builder")
    cloud = RunningServer(tmp_path / "cloud", "--users", str(users), "--config",
                          str(config)).start()
    try:
        def importAs(user: str) -> subprocess.CompletedProcess[bytes]:
            return _curl("-L", "-i", "-u", user, "-X", "POST", "-T", str(archive), "-H",
                         "Content-Type: application/x-ova", f"{cloud.url}/compute")

        refused = importAs("alice:wonderland")
        assert b"403" in refused.stdout and b"quota" in refused.stdout.lower(), refused.stdout
        assert not _uploadsIn(cloud.dataDir)
        assert not list((cloud.dataDir / "storage").glob("*.img"))
        made = importAs("bob:builder")
        assert made.returncode == 0, made.stdout + made.stderr
        where = next(line.split(":", 1)[1].strip() for line in made.stdout.decode()
                     .splitlines()[::-1] if line.lower().startswith("location:"))
        compute = urlsplit(where).path
        ok = _curl("-u", "bob:builder", "-H", "Accept: text/plain", f"{cloud.url}{compute}")
        assert ok.returncode == 0, ok.stdout
        hidden = _curl("-u", "alice:wonderland", "-H", "Accept: text/plain",
                       f"{cloud.url}{compute}")
        assert b"404" in hidden.stderr, hidden.stdout + hidden.stderr
    finally:
        cloud.stop()


def test_a_storage_whose_image_is_missing_is_409_not_a_failure(
        running: RunningServer) -> None:
    storage = _storage(running.port, 1)
    image = running.dataDir / "storage" / f"{storage.rpartition('/')[2]}.img"
    _waitFor(image.exists)  # made once the create is answered, perhaps a moment after
    image.unlink()
    status, _, body = _call(running.port, "GET", _signed(running.port, storage)[
        len(running.url):])
    assert status == 409 and b"no image" in body, body
    assert b"Traceback" not in running.log.read_bytes()


def test_an_upload_sent_to_the_api_says_whether_the_connection_stays(
        running: RunningServer) -> None:
    """No body: the 307 keeps the connection for the next request.  A body (which is not
    read): the 307 says ``Connection: close``, and the connection ends."""
    storage = _storage(running.port, 1)
    connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=30)
    try:
        connection.request("PUT", storage, b"", {"Content-Type": OCTET})
        first = connection.getresponse()
        first.read()
        assert first.status == 307 and first.getheader("connection") != "close"
        connection.request("GET", storage, headers={"Accept": "text/plain"})
        second = connection.getresponse()
        second.read()
        assert second.status == 200
        connection.request("PUT", storage, b"x" * 1000, {"Content-Type": OCTET})
        third = connection.getresponse()
        third.read()
        assert third.status == 307 and third.getheader("connection") == "close"
    finally:
        connection.close()
