"""One client's HTTP/1.1 connection, guarded against clients that cost more than they ask.

Twisted's channel spools any body to a temporary file before the application sees it, sends
``100 Continue`` to whoever asks, and lets a client trickle a request head one byte at a
time for as long as it likes.  The channel here keeps Twisted's parsing and adds:

- a body declared larger than its limit is refused with 413 from its ``Content-Length``,
  before a byte of it is read and without ``100 Continue``; a chunked body is cut off with
  413 as soon as it passes the limit.  The limit depends on the method and path
  (:data:`BodyLimit`), so that routes which stream large bodies to disk can lift it;
- a request head must be complete within ``headerTimeout`` seconds of its first byte (of the
  connection, for a new one): a slow head is answered 408, a silent new connection closed;
- the listener learns when a connection waits for a head and when it is being served, so
  that near the descriptor limit it can displace the connection that has waited longest.

Some bodies are not the application's to read (:data:`BodyPlan`, asked of the listener when
the head is complete): an image upload is written to its file as it arrives
(:class:`Spool`, through an :class:`~occi_twisted.files.sink.UploadSink`), refused at once
(:class:`Refuse`, e.g. a signed URL that does not hold), or not read at all (:class:`Unread`:
the route answers with where to send it, and the connection closes after the answer).  On a
plain TCP connection, the rest of a spooled body with a ``Content-Length`` is not read by the
reactor at all: the channel stops reading and the kernel moves it to the file
(:mod:`occi_twisted.files.splice`), then the channel reads again and the request is served.

Refusals are written by the channel itself (the application never sees the request), then
the connection is closed *lingering*: the answer and a FIN go out, and what the client is
still sending is read and dropped for a moment, so that its kernel does not discard our
answer on a reset before the client reads it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from twisted.internet.interfaces import (
    IAddress,
    IConsumer,
    IDelayedCall,
    ISSLTransport,
    ITCPTransport,
    ITransport,
)
from twisted.internet.protocol import Protocol as WireProtocol
from twisted.internet.protocol import connectionDone
from twisted.internet.tcp import Connection
from twisted.python.failure import Failure
from twisted.web import http, server
from twisted.web.http_headers import Headers

from ..files import splice
from ..files.sink import UploadSink
from .limits import Limits

#: The body a request may send, by method and path: a number of bytes, or ``None`` for no
#: limit (a route that streams what it receives to disk, such as an image upload).
BodyLimit = Callable[[bytes, bytes], int | None]

@dataclass(frozen=True)
class Spool:
    """Write the body, of at most ``limit`` bytes, to the sink ``sink(request)`` makes."""

    sink: Callable[[LimitedRequest], UploadSink]
    limit: int


@dataclass(frozen=True)
class Unread:
    """Serve the request without reading its body (no ``100 Continue``); the connection
    closes after the answer, the body dropped as it comes."""


@dataclass(frozen=True)
class Refuse:
    """Answer ``code`` with ``message`` before the body is read."""

    code: int
    message: str


#: What becomes of a request's body (None: the application reads it, within the limit).
BodyPlan = Spool | Unread | Refuse

#: How long a refused client is read (and ignored) before its connection is dropped.
LINGER = 2.0


class Connections(Protocol):
    """What a channel tells its listener (see :class:`.listener.GuardedSite`)."""

    limits: Limits

    def bodyLimit(self, method: bytes, path: bytes) -> int | None: ...

    def planBody(self, method: bytes, path: bytes, headers: Headers) -> BodyPlan | None: ...

    def waitingForHead(self, channel: GuardedChannel) -> None: ...

    def serving(self, channel: GuardedChannel) -> None: ...

    def gone(self, channel: GuardedChannel) -> None: ...


def bareAnswer(code: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> bytes:
    """A complete ``Connection: close`` answer written without the application: a plain
    text sentence saying what was wrong, as every 4xx of the server does."""
    body = f"{message}\n".encode()
    reason = http.RESPONSES.get(code, b"Error")
    lines = [f"Content-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
             "Connection: close\r\n".encode()]
    lines.extend(f"{name}: {value}\r\n".encode() for name, value in headers)
    return b"HTTP/1.1 %d %s\r\n%s\r\n%s" % (code, reason, b"".join(lines), body)


class Lingering:
    """Writes a last answer, half-closes, and drops the connection ``LINGER`` seconds later
    unless the client closes first (then :meth:`cancel`)."""

    def __init__(self, transport: ITransport, answer: bytes,
                 callLater: Callable[..., IDelayedCall], seconds: float = LINGER) -> None:
        transport.write(answer)
        self._drop: IDelayedCall | None = None
        if ITCPTransport.providedBy(transport) and not ISSLTransport.providedBy(transport):
            transport.loseWriteConnection()
            self._drop = callLater(seconds, transport.abortConnection)
        else:
            # No half-close here (TLS, pipes): the answer goes out, then the connection.
            transport.loseConnection()

    def cancel(self) -> None:
        if self._drop is not None and self._drop.active():
            self._drop.cancel()
        self._drop = None


class LimitedRequest(server.Request):
    """A request that counts its body as it arrives and stops at its limit (for chunked
    bodies; a declared length is checked by the channel before the body is read)."""

    #: Set by the channel when the head is complete; ``None``: no limit.
    bodyLimit: int | None = None
    #: Where the body goes when it is not the application's to read (see :class:`Spool`).
    sink: UploadSink | None = None
    _received = 0
    _cut = False

    def gotLength(self, length: int | None) -> None:
        if self.sink is None:
            super().gotLength(length)  # type: ignore[no-untyped-call]
        else:
            self.content = self.sink

    def connectionLost(self, reason: Failure) -> None:
        # A body not wholly received is no upload: its file goes (the image stays).
        if self.sink is not None and not self.finished and not self.queued:
            self.sink.abort()
        super().connectionLost(reason)  # type: ignore[no-untyped-call]

    def handleContentChunk(self, data: bytes) -> None:
        if self._cut:
            return
        self._received += len(data)
        if self.bodyLimit is not None and self._received > self.bodyLimit:
            self._cut = True
            channel = self.channel
            if isinstance(channel, GuardedChannel):
                channel.refuseBody(self.bodyLimit)
                return
        super().handleContentChunk(data)  # type: ignore[no-untyped-call]


class GuardedChannel(http.HTTPChannel):
    """Twisted's HTTP/1.1 channel with body limits and a deadline for request heads."""

    site: Connections
    requestFactory = LimitedRequest

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._awaitingHead = True
        self._headStarted = False
        self._deadline: IDelayedCall | None = None
        self._lingering: Lingering | None = None
        #: The request being served is answered without its body (:class:`Unread`).
        self._unread = False
        #: The rest of the body is to be spliced once what came with the head is written.
        self._splicePending = False
        #: Set to stop the splice under way (the connection is gone).
        self._spliceStopped: threading.Event | None = None
        #: Whether the transport is TLS, and the address it came to: asked once per
        #: connection (its transport stays the same), not by every layer of every request.
        self._secure: bool | None = None
        self._host: IAddress | None = None

    def isSecure(self) -> bool:
        if self._secure is None:
            self._secure = bool(super().isSecure())  # type: ignore[no-untyped-call]
        return self._secure

    def getHost(self) -> IAddress:
        if self._host is None:
            self._host = super().getHost()  # type: ignore[no-untyped-call]
        return self._host

    # -- heads ---------------------------------------------------------------------------------

    def connectionMade(self) -> None:
        super().connectionMade()  # type: ignore[no-untyped-call]
        self._startDeadline()
        self.site.waitingForHead(self)

    def dataReceived(self, data: bytes) -> None:
        if self._lingering is not None or self._unread:
            return  # refused or unread: read and dropped until the connection goes
        if self._awaitingHead and not self._headStarted:
            self._headStarted = True
            if self._deadline is None:
                self._startDeadline()
        super().dataReceived(data)  # type: ignore[no-untyped-call]
        if self._splicePending:
            self._splicePending = False
            request = self.requests[-1] if self.requests else None
            # Still receiving the body (what came with the head may have been all of it).
            if isinstance(request, LimitedRequest) and request.sink is not None \
                    and self._transferDecoder is not None and self._lingering is None:
                self._spliceBody(request.sink)

    def allHeadersReceived(self) -> None:
        self._awaitingHead = False
        self._stopDeadline()
        self.site.serving(self)
        request = self.requests[-1]
        plan = self.site.planBody(self._command, self._path, request.requestHeaders)
        if isinstance(plan, Refuse):
            self.refuse(plan.code, plan.message)
            return
        limit = plan.limit if isinstance(plan, Spool) else \
            self.site.bodyLimit(self._command, self._path)
        # self.length: the declared Content-Length, None when chunked, 0 without a body.
        if limit is not None and self.length is not None and self.length > limit \
                and not isinstance(plan, Unread):
            self.refuseBody(limit)
            return
        if isinstance(plan, Spool) and isinstance(request, LimitedRequest):
            request.sink = plan.sink(request)
            self._splicePending = self._splices(request.sink)
        if isinstance(request, LimitedRequest):
            request.bodyLimit = limit
        if isinstance(plan, Unread):
            request.requestHeaders.removeHeader(b"expect")  # no 100 Continue: do not send it
            super().allHeadersReceived()  # type: ignore[no-untyped-call]
            if self.length != 0:
                # A body is (or may be) on its way: it is dropped, and the connection ends
                # with the answer, which says so.
                self.persistent = False
                self._unread = True
                request.responseHeaders.setRawHeaders(b"connection", [b"close"])
            self.length = 0  # served now
            return
        super().allHeadersReceived()  # type: ignore[no-untyped-call]

    # -- bodies spliced --------------------------------------------------------------------------

    def _splices(self, sink: UploadSink) -> bool:
        """Whether the rest of the body goes to ``sink`` straight from the socket (written
        past the page cache, or spliced): a length to count down and a socket whose bytes
        are the body's (TLS wraps its transport in a protocol)."""
        return sink.takesSplice and bool(self.length) and splice.available() \
            and isinstance(self.transport, Connection)

    def _spliceBody(self, sink: UploadSink) -> None:
        """Stop reading, and serve the request once the kernel moved the rest of the body
        to the sink's file; a client that hangs up or stalls loses its upload."""
        transport = self.transport
        assert isinstance(transport, Connection)
        transport.pauseProducing()
        # The splice has its own deadline for a silent client; the channel's would fire for
        # a client sending all the while, since the reactor sees none of it.
        idle = self.setTimeout(None)
        stopped = self._spliceStopped = threading.Event()
        spliced = sink.receiveFrom(os.dup(transport.fileno()), self.length - sink.received,
                                   stall=self.site.limits.idleTimeout, stopped=stopped)

        def received(_: object) -> None:
            self._spliceStopped = None
            if stopped.is_set():
                return
            self.setTimeout(idle)
            self.allContentReceived()
            transport.resumeProducing()  # after: what comes now is the next request

        def failed(failure: Failure) -> None:
            self._spliceStopped = None
            if stopped.is_set():
                return
            if failure.check(splice.BodyStalled):
                transport.resumeProducing()
                self.refuse(408, str(failure.value))
            else:
                transport.abortConnection()  # the upload goes with the request

        spliced.addCallbacks(received, failed)

    def requestDone(self, request: Any) -> None:
        # Before Twisted's: it may parse a pipelined head at once, which is then served.
        if self.persistent and self._lingering is None:
            self._awaitingHead, self._headStarted = True, False
            self.site.waitingForHead(self)
        super().requestDone(request)  # type: ignore[no-untyped-call]

    def lineLengthExceeded(self, line: bytes) -> None:
        # Twisted closes without a word; RFC 6585 has a status for it.
        self.refuse(431, f"A request line or header is longer than {self.MAX_LENGTH} bytes.")

    def _startDeadline(self) -> None:
        self._deadline = self.callLater(self.site.limits.headerTimeout, self._headTooSlow)  # type: ignore[no-untyped-call]

    def _stopDeadline(self) -> None:
        if self._deadline is not None and self._deadline.active():
            self._deadline.cancel()
        self._deadline = None

    def _headTooSlow(self) -> None:
        self._deadline = None
        if not self._headStarted:
            # Nothing asked: nothing to answer.
            self.loseConnection()
            return
        self.refuse(408, f"The request head did not arrive within "
                         f"{self.site.limits.headerTimeout:g} seconds.")

    # -- bodies and refusals -------------------------------------------------------------------

    def refuseBody(self, limit: int) -> None:
        """413: the body is (or is declared) larger than ``limit``."""
        self.refuse(413, f"Request bodies may be at most {limit} bytes here.")

    def refuse(self, code: int, message: str) -> None:
        """Answer ``code`` without the application and close, lingering."""
        if self._lingering is not None or self.transport is None:
            return
        self._stopDeadline()
        self.setTimeout(None)  # type: ignore[no-untyped-call]
        for request in self.requests:
            if request.content is not None:
                request.content.close()
        self.requests = []
        IConsumer(self.transport).unregisterProducer()  # as Twisted's loseConnection does
        self._lingering = Lingering(self.transport, bareAnswer(code, message), self.callLater)

    def rawDataReceived(self, data: bytes) -> None:
        if self._lingering is None and not self._unread:
            super().rawDataReceived(data)

    def loseConnection(self) -> None:
        if self._unread and self._lingering is None and self.transport is not None:
            # The client may still be sending the body it was told to send elsewhere: the
            # answer and a FIN go out, and what comes is dropped, as for a refusal.
            IConsumer(self.transport).unregisterProducer()
            self._lingering = Lingering(self.transport, b"", self.callLater)
            return
        super().loseConnection()  # type: ignore[no-untyped-call]

    def allContentReceived(self) -> None:
        if self._lingering is None:
            super().allContentReceived()  # type: ignore[no-untyped-call]

    def connectionLost(self, reason: Failure) -> None:  # type: ignore[override]
        self._stopDeadline()
        if self._spliceStopped is not None:
            self._spliceStopped.set()
        if self._lingering is not None:
            self._lingering.cancel()
        super().connectionLost(reason)  # type: ignore[no-untyped-call]
        self.site.gone(self)


@dataclass(eq=False)  # connections are told apart by identity
class Refusal(WireProtocol):
    """A connection answered before it asks: 503 with ``Retry-After``, then closed
    (lingering when ``linger`` is true, at once when descriptors are scarce); ``gone`` is
    told when it is."""

    message: str
    callLater: Callable[..., IDelayedCall]
    linger: bool
    gone: Callable[[Refusal], None]
    retryAfter: int = 5
    _lingering: Lingering | None = field(default=None, init=False)

    def connectionMade(self) -> None:
        assert self.transport is not None
        answer = bareAnswer(503, self.message, (("Retry-After", str(self.retryAfter)),))
        if self.linger:
            self._lingering = Lingering(self.transport, answer, self.callLater, LINGER / 2)
        else:
            self.transport.write(answer)
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._lingering is not None:
            self._lingering.cancel()
        self.gone(self)
