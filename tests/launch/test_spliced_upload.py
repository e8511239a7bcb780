"""An image upload spliced from the socket to the file, against a real ``twistd occi`` on
plain TCP: a 64 MiB image of random blocks and holes arrives byte for byte and the connection
serves the next request; a client that resets its connection mid-body, or stops sending, leaves
the old image whole and no partial upload behind."""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from occi_twisted.files import splice

from ..conftest import RunningServer
from ..conftest import call as _call
from .test_files import MIB, OCTET, SIZE, _randomFile, _storage, _upload, _uploadsIn, _waitFor

pytestmark = pytest.mark.skipif(not splice.available(), reason="no splice(2) here")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningServer]:
    server = RunningServer(tmp_path / "data", "--idle-timeout", "2").start()
    yield server
    server.stop()


def _sparseish(path: Path) -> bytes:
    """64 MiB: a random MiB every 4 MiB (the first and last included), holes between."""
    with path.open("wb") as f:
        f.truncate(SIZE)
        for offset in (*range(0, SIZE, 4 * MIB), SIZE - MIB):
            f.seek(offset)
            f.write(os.urandom(MIB))
    return path.read_bytes()


def _uploadURL(server: RunningServer, storage: str) -> str:
    """The signed path (and query) the API sends an upload of ``storage`` to."""
    status, headers, body = _call(server.port, "PUT", storage, b"", {"Content-Type": OCTET})
    assert status == 307, body
    target = urlsplit(headers["location"])
    return f"{target.path}?{target.query}"


def _image(server: RunningServer, storage: str) -> Path:
    return server.dataDir / "storage" / f"{storage.rpartition('/')[2]}.img"


def test_a_sparse_image_arrives_byte_for_byte_and_the_connection_stays(
        running: RunningServer, tmp_path: Path) -> None:
    storage = _storage(running.port)
    data = _sparseish(tmp_path / "sparse.img")
    _upload(running, storage, tmp_path / "sparse.img")  # curl -L -T
    assert hashlib.sha256(_image(running, storage).read_bytes()).digest() == \
        hashlib.sha256(data).digest()
    # Another upload, then a request on the same connection.
    again = os.urandom(8 * MIB)
    connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=60)
    try:
        connection.request("PUT", _uploadURL(running, storage), again, {"Content-Type": OCTET})
        answer = connection.getresponse()
        assert answer.status == 200, answer.read()
        assert answer.read().rstrip() == \
            f"Stored {len(again)} bytes as the image of {storage}.".encode()
        connection.request("GET", storage, headers={"Accept": "text/plain"})
        after = connection.getresponse()
        assert after.status == 200 and b"Image replaced by an upload of 8388608 bytes" \
            in after.read()
    finally:
        connection.close()
    assert _image(running, storage).read_bytes() == again + bytes(SIZE - len(again))


def _startUpload(server: RunningServer, storage: str, sent: int) -> socket.socket:
    """A raw client that sends the head of a 64 MiB upload and ``sent`` bytes of its body."""
    client = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    client.sendall(f"PUT {_uploadURL(server, storage)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   f"Content-Type: {OCTET}\r\nContent-Length: {SIZE}\r\n\r\n".encode())
    client.sendall(os.urandom(sent))
    _waitFor(lambda: any(p.stat().st_size >= sent // 2 for p in _uploadsIn(server.dataDir)))
    return client


def _imageWith(server: RunningServer, storage: str, tmp_path: Path) -> bytes:
    old = _randomFile(tmp_path / "old.img")
    _upload(server, storage, tmp_path / "old.img")
    return old


def test_a_client_that_resets_mid_body_leaves_the_old_image(
        running: RunningServer, tmp_path: Path) -> None:
    storage = _storage(running.port)
    old = _imageWith(running, storage, tmp_path)
    client = _startUpload(running, storage, 8 * MIB)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()  # a reset, not a goodbye
    _waitFor(lambda: not _uploadsIn(running.dataDir))
    assert _image(running, storage).read_bytes() == old
    status, _, _ = _call(running.port, "GET", storage, headers={"Accept": "text/plain"})
    assert status == 200


def test_a_client_that_stops_sending_is_408_and_leaves_the_old_image(
        running: RunningServer, tmp_path: Path) -> None:
    storage = _storage(running.port)
    old = _imageWith(running, storage, tmp_path)
    client = _startUpload(running, storage, 4 * MIB)
    try:
        answer = client.recv(4096)  # nothing more is sent: within --idle-timeout, an answer
    finally:
        client.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"Nothing of the body came for 2 seconds" in answer
    _waitFor(lambda: not _uploadsIn(running.dataDir))
    assert _image(running, storage).read_bytes() == old
