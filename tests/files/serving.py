"""A real Klein app on a real ``twisted.web.server.Site`` on loopback, serving bodies made of
real files with :func:`sendBody`, and parts that let a test watch how they are read."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from klein import Klein
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread, deferToThreadPool
from twisted.logger import LogEvent, LogLevel, globalLogPublisher
from twisted.python.threadpool import ThreadPool
from twisted.web.iweb import IRequest
from twisted.web.server import Request, Site

from occi_twisted.files.body import Body, FilePart, versionTag
from occi_twisted.files.serve import sendBody

MiB = 1 << 20


def fileBody(path: Path, filename: str | None = None) -> Body:
    """The file at ``path`` as a body, its ETag its content version (blocks: opens it)."""
    part = FilePart.open(path)
    stat = os.fstat(part.fd)
    return Body([part], "application/octet-stream", versionTag(stat), stat.st_mtime,
                filename)


@dataclass
class WatchedPart:
    """Bytes in memory that count their reads and closes; reads after the first ``free``
    wait for ``gate`` (so a test can hold a read under way), and a read at or beyond
    ``failAt`` fails as a disk would."""

    data: bytes
    free: int | None = None
    failAt: int | None = None
    gate: threading.Event = field(default_factory=threading.Event)
    reads: int = 0
    closes: int = 0
    #: Called in the reading thread before each read (with the read's offset).
    during: Callable[[int], None] | None = None

    @property
    def length(self) -> int:
        return len(self.data)

    def read(self, offset: int, size: int) -> bytes:
        self.reads += 1
        if self.free is not None and self.reads > self.free:
            self.gate.wait(30)
        if self.during is not None:
            self.during(offset)
        if self.failAt is not None and offset + size > self.failAt:
            raise OSError(errno.EIO, "Input/output error")
        return self.data[offset:offset + size]

    def close(self) -> None:
        self.closes += 1


class ShortPart(WatchedPart):
    """Says it has ten bytes more than it has."""

    @property
    def length(self) -> int:
        return len(self.data) + 10


class CountingRequest(Request):
    """A request that counts how often it is finished (Klein must not finish it again)."""

    finishes: list[int] = []  # noqa: RUF012 -- one list per test run, reset by the server

    def finish(self) -> Any:
        CountingRequest.finishes.append(1)
        return super().finish()


class Files:
    """Routes ``/<name>`` answering with the body ``bodies[name]()`` makes."""

    app = Klein()

    def __init__(self, pool: ThreadPool, bodies: dict[str, Callable[[], Body]]) -> None:
        self.pool = pool
        self.bodies = bodies

    @app.route("/<name>", methods=["GET", "HEAD", "POST"])
    async def serveBody(self, request: IRequest, name: str) -> bytes | None:
        make = self.bodies.get(name)
        if make is None:
            request.setResponseCode(404)
            return b"no such body\n"
        body = await deferToThreadPool(reactor, self.pool, make)
        return await sendBody(request, body, self.pool, reactor)  # type: ignore[arg-type]


class Server:
    """The app listening on a free loopback port."""

    def __init__(self, bodies: dict[str, Callable[[], Body]]) -> None:
        self.pool = ThreadPool(minthreads=0, maxthreads=4, name="test-files")
        self.pool.start()
        self.files = Files(self.pool, bodies)
        CountingRequest.finishes = []
        site = Site(self.files.app.resource(), requestFactory=CountingRequest)
        self.port = reactor.listenTCP(0, site, interface="127.0.0.1")  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.port.getHost().port}"

    def stop(self) -> Any:
        self.pool.stop()
        return self.port.stopListening()


def curl(*args: str) -> Any:
    """``curl ARGS`` in a thread (the reactor serves meanwhile); the completed process."""
    return deferToThread(subprocess.run, ["curl", "-sS", *args], capture_output=True,
                         check=True, timeout=60)


def headersOf(dump: bytes) -> tuple[int, dict[str, str]]:
    """The status and headers of the last answer in a ``curl -D`` dump."""
    blocks = [b for b in dump.decode("latin-1").split("\r\n\r\n") if b.strip()]
    lines = blocks[-1].split("\r\n")
    status = int(lines[0].split()[1])
    return status, {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}


def waitUntil(condition: Callable[[], bool], timeout: float = 20) -> Any:
    """Fires once ``condition()`` holds (checked on the reactor thread), or fails after
    ``timeout`` seconds: a bound on a hang, not a timing assertion."""
    async def wait() -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("the condition did not come true")
            await deferLater(reactor, 0.01, lambda: None)  # type: ignore[arg-type]

    return Deferred.fromCoroutine(wait())


@contextmanager
def loggedErrors() -> Iterator[list[LogEvent]]:
    """The events logged at error level or above meanwhile."""
    errors: list[LogEvent] = []

    def observe(event: LogEvent) -> None:
        if event["log_level"] >= LogLevel.error:
            errors.append(event)

    globalLogPublisher.addObserver(observe)
    try:
        yield errors
    finally:
        globalLogPublisher.removeObserver(observe)


def rawGet(port: int, path: str, *, keep: int | None = None, receiveBuffer: int | None = None,
           pace: float = 0.0) -> tuple[bytes, bytes]:
    """GET ``path`` over a plain socket (run in a thread): the head and the body read until
    the server closes -- or only ``keep`` bytes of body, then hang up; with a small
    ``receiveBuffer`` and a ``pace`` between reads it is a slow client."""
    with socket.socket() as client:
        if receiveBuffer:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receiveBuffer)
        client.connect(("127.0.0.1", port))
        client.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        received = b""
        while b"\r\n\r\n" not in received or keep is None or \
                len(received) - received.index(b"\r\n\r\n") - 4 < keep:
            try:
                chunk = client.recv(16384)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
            if pace:
                time.sleep(pace)
    head, _, body = received.partition(b"\r\n\r\n")
    return head, body
