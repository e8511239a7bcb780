"""Writing a long answer without holding the reactor or the whole answer in memory.

A listing of 100,000 entities is produced page by page.  Between pages the writer gives the
reactor a turn (so the first bytes leave at once and other requests are served meanwhile),
and it registers as a push producer so that a slow reader pauses it instead of letting the
answer pile up in the transport's buffer.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IConsumer, IPushProducer, IReactorTime
from twisted.web.iweb import IRequest
from zope.interface import implementer


@implementer(IPushProducer)
class Stream:
    """A paced writer for one request's body."""

    def __init__(self, request: IRequest, clock: IReactorTime) -> None:
        self._request = request
        self._consumer = IConsumer(request)
        self._clock = clock
        self._resumed: Deferred[None] | None = None
        self.stopped = False
        self._consumer.registerProducer(self, True)

    def write(self, data: bytes) -> None:
        if data and not self.stopped:
            self._request.write(data)

    def turn(self) -> Deferred[None]:
        """Fires when the transport wants more: after a reactor turn, or after resume."""
        if self._resumed is not None:
            return self._resumed
        pause: Deferred[None] = Deferred()
        self._clock.callLater(0, pause.callback, None)
        return pause

    def finish(self) -> None:
        self._consumer.unregisterProducer()

    # IPushProducer

    def pauseProducing(self) -> None:
        if self._resumed is None:
            self._resumed = Deferred()

    def resumeProducing(self) -> None:
        resumed, self._resumed = self._resumed, None
        if resumed is not None:
            resumed.callback(None)

    def stopProducing(self) -> None:
        """The client went away: stop writing, and release a paused writer."""
        self.stopped = True
        self.resumeProducing()


