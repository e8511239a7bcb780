"""The images on disk follow the store of a real ``twistd occi``, whatever its clients do.

- Clients that hang up right after sending a create or a delete: once the server is quiet,
  every storage the store has has its image, and no image is left of one it does not have.
- Start-up: images of storages the store no longer has are removed (and logged), missing
  ones are made, and a storage whose image cannot be made is marked ``error`` without
  holding back the others.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..conftest import RunningServer

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
STORAGE = (f'Category: storage; scheme="{INFRA}"; class="kind"\n'
           "X-OCCI-Attribute: occi.storage.size=0.001\n")
MIB = 1 << 20


def _hangUpAfter(port: int, method: str, path: str, body: str = "") -> None:
    """Send a request and reset the connection at once, without reading a byte."""
    raw = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
           f"Content-Length: {len(body.encode())}\r\n\r\n{body}").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        # A zero linger makes close() a reset: the server hears of it while it works.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.sendall(raw)


def _call(port: int, method: str, path: str, body: str = "",
          headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _stored(port: int) -> set[str]:
    """The ids of the storages the store has."""
    status, body = _call(port, "GET", "/storage/", headers={"Accept": "text/uri-list"})
    assert status == 200, body
    return {line.rpartition("/")[2] for line in body.decode().split()}


def _images(dataDir: Path) -> set[str]:
    return {path.stem for path in (dataDir / "storage").glob("*.img") if path.is_file()}


def _eventually(check: Callable[[], bool], seconds: float = 30.0) -> bool:
    """Whether ``check`` holds within ``seconds`` (a bound for a slow machine, not a
    measurement: the test asserts what holds, never how fast)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _create(port: int) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/storage/", STORAGE,
                           {"Content-Type": "text/plain", "Accept": "text/plain"})
        response = connection.getresponse()
        assert response.status == 201, response.read()
        return str(response.getheader("Location")).rpartition("/")[2]
    finally:
        connection.close()


@contextmanager
def _serving(dataDir: Path) -> Iterator[RunningServer]:
    server = RunningServer(dataDir).start()
    try:
        yield server
    finally:
        server.stop()


def test_clients_that_hang_up_do_not_stop_the_disk_work(tmp_path: Path) -> None:
    dataDir = tmp_path / "occi-data"
    with _serving(dataDir) as server:
        answered = {_create(server.port) for _ in range(30)}
        for _ in range(30):
            _hangUpAfter(server.port, "POST", "/storage/", STORAGE)
        for storageId in answered:
            _hangUpAfter(server.port, "DELETE", f"/storage/{storageId}")
        # The last commits may come after the last hang-up: once the store and the disk
        # agree, every storage the store kept has its image, and the deleted ones' data is
        # gone from the disk.
        assert _eventually(lambda: _images(dataDir) == _stored(server.port)), \
            sorted(_images(dataDir) ^ _stored(server.port))
        stored = _stored(server.port)
        assert stored - answered, "no create that was hung up on was kept"
        assert answered - stored, "no delete that was hung up on was done"


def test_start_up_brings_the_images_in_line_with_the_store(tmp_path: Path) -> None:
    dataDir = tmp_path / "occi-data"
    with _serving(dataDir) as server:
        broken, missing, kept = (_create(server.port) for _ in range(3))
        assert _eventually(lambda: _images(dataDir) == {broken, missing, kept})
    # What a crash (or an operator) may leave: an image gone, an image of a storage the
    # store does not have, and -- for the first storage start-up looks at -- a place where
    # no image can be made.
    storageDir = dataDir / "storage"
    (storageDir / f"{missing}.img").unlink()
    (storageDir / f"{broken}.img").unlink()
    (storageDir / f"{broken}.img").mkdir()
    (storageDir / "deleted-long-ago.img").write_bytes(b"somebody's data")
    with _serving(dataDir) as restarted:
        assert _eventually(lambda: _images(dataDir) == {missing, kept}), _images(dataDir)
        assert (storageDir / f"{missing}.img").stat().st_size == round(0.001 * (1 << 30))
        assert _eventually(lambda: _state(restarted.port, broken)[0] == "error")
        message = _state(restarted.port, broken)[1]
        assert "could not follow" in message and "Is a directory" in message
        assert _state(restarted.port, kept) == ("offline", "")
        log = restarted.log.read_text()
        assert "/storage/deleted-long-ago left on the infrastructure" in log
        assert f"/storage/{broken}" in log


def _state(port: int, storageId: str) -> tuple[str, str]:
    status, body = _call(port, "GET", f"/storage/{storageId}",
                         headers={"Accept": "application/json"})
    assert status == 200, body
    attributes = json.loads(body)["attributes"]
    return (attributes["occi.storage.state"], attributes.get("occi.storage.state.message", ""))
