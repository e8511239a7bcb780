"""The upload form of a storage's page, against a real ``twistd occi``: what a browser sends
(``multipart/form-data`` to the signed URL the page names) becomes the image, streamed in
chunks however they fall; the browser is sent back to the page.  A form without its file, one
from another site, one too large, or the URL used for anything but a form, change nothing."""

from __future__ import annotations

import http.client
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ..conftest import RunningServer, call

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
OCTET = "application/octet-stream"
BOUNDARY = "----WebKitFormBoundary4tOxSWOqkEpHhX1C"
#: A storage of 0.001 GiB: what occi.storage.size holds, in bytes.
SIZE = 1_073_742


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningServer]:
    server = RunningServer(tmp_path / "data").start()
    yield server
    server.stop()


def _call(server: RunningServer, method: str, path: str, body: bytes | Iterator[bytes] = b"",
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    return call(server.port, method, path, body, headers)


def _storage(server: RunningServer) -> str:
    body = (f'Category: storage; scheme="{INFRA}"; class="kind"\n'
            "X-OCCI-Attribute: occi.storage.size=0.001\n")
    status, headers, answer = _call(server, "POST", "/storage/", body.encode(),
                                    {"Content-Type": "text/plain"})
    assert status == 201, answer
    return urlsplit(headers["location"]).path


def _page(server: RunningServer, storage: str) -> tuple[ET.Element, dict[str, str]]:
    status, headers, body = _call(server, "GET", storage, headers={"Accept": "text/html"})
    assert status == 200, body
    return ET.fromstring(body), headers


def _formAction(server: RunningServer, storage: str) -> str:
    root, headers = _page(server, storage)
    assert headers["cache-control"] == "no-store"  # it holds a signed URL that expires
    [form] = [e for e in root.iter("form") if e.get("id") == "upload"]
    return form.get("action") or ""


def _form(data: bytes, field: str = "image") -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"disk.img\"\r\nContent-Type: {OCTET}\r\n\r\n").encode() + data + \
        f"\r\n--{BOUNDARY}--\r\n".encode()


def _browser(server: RunningServer, origin: str | None = None) -> dict[str, str]:
    """What a browser's form POST says of itself."""
    return {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Origin": origin or server.url, "Accept": "text/html"}


def _image(server: RunningServer, storage: str) -> Path:
    return server.dataDir / "storage" / f"{storage.rpartition('/')[2]}.img"


def _leftovers(server: RunningServer) -> list[Path]:
    return list((server.dataDir / "storage").glob(".upload-*"))


def _settled(server: RunningServer) -> bool:
    """No upload file is left within a few seconds (removals run in a thread)."""
    deadline = time.monotonic() + 10
    while _leftovers(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _leftovers(server)


def _chunks(body: bytes, size: int) -> Iterator[bytes]:
    for at in range(0, len(body), size):
        yield body[at:at + size]


def test_the_pages_form_uploads_the_image_and_sends_the_browser_back(
        running: RunningServer) -> None:
    storage = _storage(running)
    action = _formAction(running, storage)
    assert urlsplit(action).path == f"/-/files{storage}"
    data = os.urandom(SIZE - 1000) + b"\r\n--" + BOUNDARY[:-1].encode() + b"\r\n"
    # Chunked in pieces of 4093 bytes: boundaries and line breaks fall across chunks.
    status, headers, body = _call(running, "POST", action, _chunks(_form(data), 4093),
                                  _browser(running))
    assert status == 303, body
    assert headers["location"] == f"{running.url}{storage}"
    image = _image(running, storage).read_bytes()
    assert image[:len(data)] == data and image[len(data):] == bytes(SIZE - len(data))
    # The page the browser is sent back to says what happened.
    root, _ = _page(running, storage)
    assert f"Image replaced by an upload of {len(data)} bytes" in "".join(root.itertext())
    assert _settled(running)


@pytest.mark.parametrize(("body", "code"), [
    (_form(b"data", field="other"), 400),  # no file field
    (_form(b"data")[:-20], 400),  # cut short of its last boundary
    (_form(b"x" * (SIZE + 1)), 413),  # more than the storage holds
], ids=["no-file-field", "cut-short", "larger-than-the-storage"])  # not the bodies: the id
# goes into the environment of the server the test starts, where a megabyte is too long
def test_a_form_that_cannot_be_the_image_changes_nothing(running: RunningServer, body: bytes,
                                                         code: int) -> None:
    storage = _storage(running)
    before = _image(running, storage).read_bytes()
    status, _, answer = _call(running, "POST", _formAction(running, storage), body,
                              _browser(running))
    assert status == code, answer
    assert _image(running, storage).read_bytes() == before
    assert _settled(running)


def test_a_form_larger_than_the_url_allows_is_refused_before_it_is_read(
        running: RunningServer) -> None:
    storage = _storage(running)
    action = _formAction(running, storage)
    connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=60)
    try:
        connection.putrequest("POST", action)
        for name, value in _browser(running).items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(100 * SIZE))
        connection.endheaders()  # and not a byte of the body
        assert connection.getresponse().status == 413
    finally:
        connection.close()


def test_a_form_from_another_site_is_refused(running: RunningServer) -> None:
    storage = _storage(running)
    before = _image(running, storage).read_bytes()
    status, _, body = _call(running, "POST", _formAction(running, storage), _form(b"evil"),
                            _browser(running, origin="http://evil.example"))
    assert status == 403, body
    assert _image(running, storage).read_bytes() == before
    assert _settled(running)


def test_the_forms_url_takes_a_form_and_nothing_else(running: RunningServer) -> None:
    storage = _storage(running)
    action = _formAction(running, storage)
    # Signed for POST: a PUT of the same URL is refused, as is a POST of raw bytes.
    status, _, body = _call(running, "PUT", action, b"raw", {"Content-Type": OCTET})
    assert status == 403, body
    status, _, body = _call(running, "POST", action, b"raw", {"Content-Type": OCTET})
    assert status == 415, body
    # And the API's upload URL, signed for PUT, takes no form.
    status, headers, _ = _call(running, "PUT", storage, b"", {"Content-Type": OCTET})
    assert status == 307
    put = urlsplit(headers["location"])
    status, _, body = _call(running, "POST", f"{put.path}?{put.query}", _form(b"x"),
                            _browser(running))
    assert status == 403, body


def test_a_storage_not_offline_offers_no_upload(running: RunningServer) -> None:
    storage = _storage(running)
    status, _, body = _call(running, "POST", f"{storage}?action=online", b"",
                            {"Content-Type": "text/plain"})
    assert status in (200, 202), body
    deadline = time.monotonic() + 10
    while True:
        root, headers = _page(running, storage)
        ids = {e.get("id") for e in root.iter()}
        if "upload" not in ids or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert "upload" not in ids and {"download", "no-upload"} <= ids
    assert "no-store" not in headers.get("cache-control", "")
