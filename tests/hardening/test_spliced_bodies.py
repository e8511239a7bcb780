"""Spooled bodies spliced from the socket, through a guarded site on a real loopback port: the
rest of a body with a Content-Length skips the reactor and the connection serves the next
request; a chunked body takes the reactor's path; a client that hangs up or stalls mid-body
loses its upload (and a stalled one is told 408)."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted as pt
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.interfaces import IPushProducer
from twisted.internet.threads import deferToThread
from twisted.python.threadpool import ThreadPool
from twisted.web.http_headers import Headers
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from occi_twisted.files import splice
from occi_twisted.files.sink import UploadSink
from occi_twisted.http.channel import BodyPlan, LimitedRequest, Spool
from occi_twisted.http.limits import Limits
from occi_twisted.http.listener import GuardedSite

pytestmark = pytest.mark.skipif(not splice.available(), reason="no splice(2) here")

MIB = 1 << 20
#: How long the site lets a body stay silent.
IDLE = 0.5


class CountingSink(UploadSink):
    """An upload sink that counts the bodies spliced into it."""

    spliced = 0

    def receiveFrom(self, *args: Any, **kwargs: Any) -> Deferred[None]:
        CountingSink.spliced += 1
        return super().receiveFrom(*args, **kwargs)


class Digests(Resource):
    """Answers a PUT with the size and SHA-256 of what its sink holds; anything else 200."""

    isLeaf = True

    def render(self, request: Request) -> bytes | int:
        if not isinstance(request, LimitedRequest) or request.sink is None:
            return b"no body"
        sink = request.sink

        async def answer() -> None:
            size = await sink.finished()
            digest = hashlib.sha256(sink.path.read_bytes()).hexdigest().encode()
            said = b"%d %s" % (size, digest)
            request.setHeader(b"content-length", b"%d" % len(said))
            request.write(said)
            request.finish()

        ensureDeferred(answer())
        return NOT_DONE_YET


@pt.async_yield_fixture
async def site(tmp_path: Path) -> AsyncIterator[int]:
    """A guarded site spooling every PUT to ``tmp_path/upload-N``; its port."""
    from twisted.internet import reactor

    pool = ThreadPool(minthreads=0, maxthreads=2, name="test-uploads")
    pool.start()
    names = iter(range(1000))

    def sink(request: LimitedRequest) -> UploadSink:
        transport = IPushProducer(request.channel.transport)
        return CountingSink(tmp_path / f"upload-{next(names)}", pool, reactor,
                            pause=transport.pauseProducing, resume=transport.resumeProducing)

    def plan(method: bytes, path: bytes, headers: Headers) -> BodyPlan | None:
        return Spool(sink, 1 << 30) if method == b"PUT" else None

    guarded = GuardedSite(Digests(), limits=Limits(idleTimeout=IDLE), reactor=reactor)
    guarded.planBodies(plan)
    port = reactor.listenTCP(0, guarded, interface="127.0.0.1")
    CountingSink.spliced = 0
    yield port.getHost().port
    await port.stopListening()
    pool.stop()


def _answer(client: socket.socket) -> tuple[int, bytes]:
    """The status and body of the next answer on ``client``."""
    data = b""
    while b"\r\n\r\n" not in data:
        got = client.recv(65536)
        assert got, f"closed before an answer: {data!r}"
        data += got
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += client.recv(65536)
    return int(head.split(b" ")[1]), body


def _put(body: bytes, *, chunked: bool = False) -> bytes:
    if chunked:
        framed = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + MIB]), body[i:i + MIB])
                          for i in range(0, len(body), MIB))
        return b"PUT /image HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + \
            framed + b"0\r\n\r\n"
    return b"PUT /image HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def _expect(body: bytes) -> bytes:
    return b"%d %s" % (len(body), hashlib.sha256(body).hexdigest().encode())


def _client(port: int, talk: Callable[[socket.socket], object]) -> Deferred[Any]:
    """``talk`` over a connection to the site, in a thread (it blocks)."""

    def run() -> object:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as client:
            return talk(client)

    return deferToThread(run)


def _gone(path: Path) -> bool:
    """Whether ``path`` is removed within a few seconds."""
    deadline = time.monotonic() + 10
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return not path.exists()


@pt.ensureDeferred
async def test_bodies_are_spliced_and_the_connection_serves_the_next_request(
        site: int, tmp_path: Path) -> None:
    first, second = os.urandom(3 * MIB + 5), os.urandom(2 * MIB)

    def talk(client: socket.socket) -> list[tuple[int, bytes]]:
        answers = []
        for body in (first, second):
            request = _put(body)
            client.sendall(request[:len(request) - len(body) + 1000])  # head and a little
            client.sendall(request[len(request) - len(body) + 1000:])
            answers.append(_answer(client))
        client.sendall(b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
        answers.append(_answer(client))
        return answers

    assert await _client(site, talk) == [(200, _expect(first)), (200, _expect(second)),
                                         (200, b"no body")]
    assert CountingSink.spliced == 2
    assert (tmp_path / "upload-0").read_bytes() == first


@pt.ensureDeferred
async def test_a_body_that_came_with_its_head_is_not_spliced(site: int) -> None:
    body = b"small" * 100
    assert await _client(site, lambda client: (client.sendall(_put(body)),
                                                _answer(client))[1]) == (200, _expect(body))


@pt.ensureDeferred
async def test_a_chunked_body_takes_the_reactors_path(site: int) -> None:
    body = os.urandom(3 * MIB)
    assert await _client(site, lambda client: (client.sendall(_put(body, chunked=True)),
                                                _answer(client))[1]) == (200, _expect(body))
    assert CountingSink.spliced == 0


@pt.ensureDeferred
async def test_a_client_that_hangs_up_mid_body_loses_its_upload(
        site: int, tmp_path: Path) -> None:
    def talk(client: socket.socket) -> bytes:
        client.sendall(b"PUT /image HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % MIB)
        client.sendall(b"x" * (MIB // 2))
        while not (tmp_path / "upload-0").exists():
            time.sleep(0.01)
        client.shutdown(socket.SHUT_WR)
        try:
            return client.recv(100)
        except ConnectionResetError:  # the connection aborted, as it may be
            return b""

    assert await _client(site, talk) == b""  # closed, unanswered
    assert CountingSink.spliced == 1
    assert await deferToThread(_gone, tmp_path / "upload-0")


@pt.ensureDeferred
async def test_a_client_that_stalls_mid_body_is_told_408_and_loses_its_upload(
        site: int, tmp_path: Path) -> None:
    def talk(client: socket.socket) -> tuple[int, bytes]:
        client.sendall(b"PUT /image HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % MIB)
        client.sendall(b"x" * 1000)
        return _answer(client)  # and nothing more is sent

    status, body = await _client(site, talk)
    assert status == 408
    assert f"for {IDLE:g} seconds".encode() in body
    assert await deferToThread(_gone, tmp_path / "upload-0")
