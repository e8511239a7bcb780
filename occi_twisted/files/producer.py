"""Writing a body to a request from a thread pool, at the pace the client reads it.

The answer is a row of steps -- bytes to write as they are (a multipart delimiter), then a
slice of the body to read -- decided before the first byte is sent, with the length already
promised in ``Content-Length``.  Each slice is read in the pool (the reactor thread never
touches the disk) while the slice before it is being written: double buffering, so the disk
and the socket work at once, and never more than two slices held (the one the transport is
sending and the one being read), whatever the client's speed.  The producer is a push
producer registered with the request: when the transport's buffer fills it is paused, and a
slice that arrives meanwhile waits, with no further read begun, until it is resumed.

A client that hangs up stops the reads at once (a read under way finishes in its thread and
is dropped); the body is closed exactly once, after its last read, however the answer ends.
A read that fails after the answer has begun cannot be told to the client in HTTP (the
length is promised): it is logged once, what was read goes out, and the connection is closed
short of the promised length -- the client sees a truncated body (which it can resume with a
``Range``) rather than a complete-looking wrong one.  A read that fails before anything was
sent is answered 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IConsumer, IPushProducer, IReactorFromThreads
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool
from twisted.web.iweb import IRequest
from zope.interface import implementer

from .body import Body

#: One step of an answer: bytes written as they are, then ``size`` bytes of the body read
#: from ``offset`` (none when ``size`` is 0).
Step = tuple[bytes, int, int]

_log = Logger()

#: Headers of the body's answer that say nothing true of a 500 answered instead.
_BODY_HEADERS = (b"ETag", b"Last-Modified", b"Accept-Ranges", b"Content-Range",
                 b"Content-Disposition")


@implementer(IPushProducer)
class BodyProducer:
    """Writes the steps of one answer to ``request``, reading the body in ``reader``."""

    #: The step read and waiting to be written, if any; whether one is being read.
    _ready: list[bytes] | None = None
    _reading = False
    #: Every step has been begun.
    _exhausted = False
    #: The transport's buffer is full; :meth:`_pump` is writing (a write may resume us).
    _paused = _pumping = False
    #: The request learnt that its connection is lost; the body is closed.
    _lost = _closed = False
    #: No more reads begin: the answer is complete, or the client gone, or it failed.
    stopped = False
    #: Steps begun and not yet written (the one being read, the one waiting to be written),
    #: now and at most: what this answer holds in memory besides the one step the transport
    #: may still be sending.
    held = peakHeld = 0
    #: How often the transport paused the producer, and how many reads were begun.
    pauses = reads = 0

    def __init__(self, request: IRequest, body: Body, steps: Iterator[Step],
                 reader: ThreadPool, reactor: IReactorFromThreads) -> None:
        self._request = request
        self._consumer = IConsumer(request)
        self._body, self._steps = body, steps
        self._reader, self._reactor = reader, reactor
        #: Fires (with None) when the answer is over: complete, or the client gone.
        self.done: Deferred[None] = Deferred(lambda _: self.stopProducing())

    def start(self) -> Deferred[None]:
        """Register with the request and begin; :attr:`done` is returned."""
        self._consumer.registerProducer(self, True)
        # twisted.web's requests tell when they end; IRequest does not declare it.
        ending: Deferred[None] = self._request.notifyFinish()  # type: ignore[attr-defined]
        ending.addErrback(self._connectionLost)
        self._next()
        self._pump()
        return self.done

    # -- IPushProducer -------------------------------------------------------------------------

    def pauseProducing(self) -> None:
        self._paused = True
        self.pauses += 1

    def resumeProducing(self) -> None:
        self._paused = False
        self._pump()

    def stopProducing(self) -> None:
        """No more: the client is gone, or whoever awaits :attr:`done` cancelled it.  The
        body is closed once the read under way, if any, is over; an answer that can no
        longer be completed is cut short (its length is promised)."""
        if self.stopped:
            return
        self.stopped = True
        if self._ready is not None:
            self._ready = None
            self.held -= 1
        if not self._reading:
            self._release()
        if self._lost:
            self._fire()
        else:
            self._abort()

    # -- the steps ----------------------------------------------------------------------------

    def _next(self) -> None:
        """Begin the next step, if none is begun and unwritten: its read goes to the pool."""
        if self.stopped or self._reading or self._ready is not None or self._exhausted:
            return
        step = next(self._steps, None)
        if step is None:
            self._exhausted = True
            return
        head, offset, size = step
        self.held += 1
        self.peakHeld = max(self.peakHeld, self.held)
        if size == 0:
            self._ready = [head]
            return
        self._reading = True
        self.reads += 1
        reading = deferToThreadPool(self._reactor, self._reader, self._body.read, offset, size)
        reading.addCallbacks(self._read, self._failed, callbackArgs=(head, offset, size),
                             errbackArgs=(offset,))
        reading.addErrback(self._broken)

    def _read(self, data: bytes, head: bytes, offset: int, size: int) -> None:
        self._reading = False
        if self.stopped:
            self.held -= 1
            self._release()
            return
        if len(data) != size:
            self._failed(Failure(OSError(f"{len(data)} bytes read where {size} were laid "
                                         "out")), offset)
            return
        self._ready = [head, data] if head else [data]
        self._pump()

    def _pump(self) -> None:
        """Write what is read while the transport wants more, beginning the next read before
        writing each step; once all is written, finish the answer."""
        if self._pumping:  # a write made the transport resume us: the loop below goes on
            return
        self._pumping = True
        try:
            while self._ready is not None and not self._paused and not self.stopped:
                out, self._ready = self._ready, None
                self._next()
                for data in out:
                    self._request.write(data)
                self.held -= 1
        finally:
            self._pumping = False
        if self._exhausted and self._ready is None and not self._reading and not self.stopped:
            self._complete()

    def _complete(self) -> None:
        self.stopped = True
        self._consumer.unregisterProducer()
        self._request.finish()
        self._release()
        self._fire()

    # -- endings ------------------------------------------------------------------------------

    def _failed(self, failure: Failure, offset: int) -> None:
        """A read failed: a 500 if nothing was sent yet, else the connection is closed short.
        Logged once, without the traceback of a mere I/O error."""
        self._reading = False
        if self.stopped:  # the client left meanwhile: nobody to tell
            self._release()
            return
        self.stopped = True
        self.held = 0
        self._release()
        _log.error("Sending {path}: reading from byte {offset} failed ({error}); "
                   "the answer is cut short", path=_path(self._request), offset=offset,
                   error=failure.getErrorMessage())
        if not getattr(self._request, "startedWriting", True):
            self._failedBeforeSending()
            return
        # What is sent so far is right: it goes out, then the connection is closed short of
        # the promised length, which is how the client tells (and resumes from there).
        loseConnection = getattr(self._request, "loseConnection", None)
        if loseConnection is not None:
            loseConnection()

    def _failedBeforeSending(self) -> None:
        request = self._request
        for name in _BODY_HEADERS:
            request.responseHeaders.removeHeader(name)
        message = b"The file could not be read; the failure has been logged.\n"
        request.setResponseCode(500)
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        request.setHeader(b"Content-Length", b"%d" % len(message))
        request.write(message)
        self._consumer.unregisterProducer()
        request.finish()
        self._fire()

    def _broken(self, failure: Failure) -> None:
        """Writing what was read failed (a bug, not the disk): logged, and the answer given
        up."""
        _log.failure("Sending {path} failed", failure, path=_path(self._request))
        self.stopProducing()

    def _connectionLost(self, reason: Failure) -> None:
        self._lost = True
        self.stopProducing()
        self._fire()

    def _abort(self) -> None:
        """Drop the connection at once (the answer is given up): :attr:`done` fires when
        the request learns it is lost."""
        transport: Any = getattr(self._request, "transport", None)
        if transport is not None:
            getattr(transport, "abortConnection", transport.loseConnection)()

    def _release(self) -> None:
        if not self._closed:
            self._closed = True
            self._body.close()

    def _fire(self) -> None:
        if not self.done.called:
            self.done.callback(None)


def _path(request: IRequest) -> str:
    """The path alone: the query of a signed URL is a credential until it expires."""
    path: bytes = request.path
    return path.decode("latin-1")[:200]
