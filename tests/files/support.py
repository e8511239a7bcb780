"""What the tests of file representations share: images with a little data in holes, a
body read as a file (for ``tarfile``) or whole, and a client sending an upload's body from a
thread to a sink on the reactor's threads."""

from __future__ import annotations

import io
import os
import socket
import threading
from pathlib import Path

from occi_twisted.files.body import Body, FilePart
from occi_twisted.files.sink import UploadSink
from occi_twisted.files.splice import BodyCut, BodyStalled

MIB = 1 << 20
#: What the OVA tests pack as a descriptor (its content is not read here).
OVF = b'<?xml version="1.0"?>\n<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/2"/>\n'
#: An hour ago: an image this old has settled, so its digest is remembered.
SETTLED = 3600


def sparseImage(path: Path, size: int, marks: dict[int, bytes], *, age: float = 0) -> Path:
    """A sparse file of ``size`` bytes holding ``marks`` (offset -> bytes) and holes
    elsewhere, last changed ``age`` seconds ago."""
    with path.open("wb") as f:
        f.truncate(size)
    fd = os.open(path, os.O_WRONLY)
    try:
        for offset, data in marks.items():
            os.pwrite(fd, data, offset)
    finally:
        os.close(fd)
    if age:
        settle(path, age)
    return path


def settle(path: Path, age: float = SETTLED) -> None:
    """Make the file look last changed ``age`` seconds ago."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - int(age * 1e9)))


def readAll(body: Body, chunk: int = 3 * MIB + 17) -> bytes:
    """The whole body, read in odd slices as a server would."""
    out = bytearray()
    while len(out) < body.length:
        got = body.read(len(out), chunk)
        assert got, f"a read at {len(out)} of {body.length} gave nothing"
        out += got
    return bytes(out)


class BodyFile(io.RawIOBase):
    """A body as a read-only seekable file: ``tarfile`` reads headers and seeks over data,
    so a large archive is listed without reading its images."""

    def __init__(self, body: Body) -> None:
        self.body = body
        self.position = 0
        self.reads: list[tuple[int, int]] = []

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.body.length}
        self.position = base[whence] + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.body.read(self.position, len(buffer))
        self.reads.append((self.position, len(data)))
        buffer[:len(data)] = data
        self.position += len(data)
        return len(data)


def materialize(body: Body, path: Path) -> Path:
    """The archive as a file, its images left as holes (they must be all zeros: a 9 GiB
    member then costs no disk), for tools that read a file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        offset = 0
        for part in body.parts:
            if not isinstance(part, FilePart):
                os.pwrite(fd, part.read(0, part.length), offset)
            offset += part.length
        os.ftruncate(fd, offset)
    finally:
        os.close(fd)
    return path


def send(client: socket.socket, data: bytes, *, close: bool = False) -> threading.Thread:
    """Send ``data`` from a thread (a socket pair's buffers hold far less than a body), then
    shut the sending side if ``close``."""

    def run() -> None:
        client.sendall(data)
        if close:
            client.shutdown(socket.SHUT_WR)

    sender = threading.Thread(target=run, daemon=True)
    sender.start()
    return sender


def sinkAt(path: Path) -> UploadSink:
    """A sink writing with the reactor's own threads."""
    from twisted.internet import reactor

    return UploadSink(path, reactor.getThreadPool(), reactor, pause=lambda: None,
                      resume=lambda: None)


def assertReadOut(failure: BaseException, sender: threading.Thread, server: socket.socket,
                  after: bytes) -> None:
    """``failure`` is the file's, not the client's, and the body is gone from the socket
    all the same: ``after`` is what comes next, so the connection can carry the answer."""
    assert not isinstance(failure, (BodyCut, BodyStalled))
    sender.join()
    assert leftInSocket(server) == after


def leftInSocket(server: socket.socket) -> bytes:
    """What the client sent after the body (the next request's first bytes)."""
    server.setblocking(True)
    return server.recv(100)
