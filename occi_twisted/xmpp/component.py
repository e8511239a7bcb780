"""A XEP-0114 external component that stays connected: the XMPP server may restart at will.

wokkel's :class:`~wokkel.component.Component` does reconnect by itself -- its stream factory
is a :class:`~twisted.internet.protocol.ReconnectingClientFactory` -- but on its defaults: a
first retry after about a second, each next one *e* (2.718) times later, up to an hour apart,
so an XMPP server down for a minute leaves the component away for minutes more.  It connects
with ``reactor.connectTCP`` to a host and port, on the global reactor, and it stops for good
the first time the handshake fails (a server that restarts may refuse it for a moment).

:class:`ReconnectingComponent` is that component with its connection made by a
:class:`~twisted.application.internet.ClientService` on any client endpoint (``tcp:``,
``tls:``, ``unix:`` strings), on the reactor it is given: a first retry after
``initialDelay`` (0.1 s), growing by half each time to at most ``maxDelay`` (5 s), and a
refused handshake only counts as one more failed attempt.  The delay goes back to the first
one once a stream is authenticated.

Several nodes serving one cloud connect with one JID; the XMPP server lets one in and answers
the others with a ``<conflict/>`` stream error.  Such a node is *standing by*
(:attr:`ReconnectingComponent.standingBy`): healthy, retrying at the longest delay, so that it
is let in within that delay of the holder's death.
"""

from __future__ import annotations

import random
from typing import Any

from twisted.application.internet import ClientService, backoffPolicy
from twisted.application.service import Service
from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.internet.interfaces import IStreamClientEndpoint, ITCPTransport
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.words.protocols.jabber.component import componentFactory
from twisted.words.protocols.jabber.error import StreamError
from twisted.words.protocols.jabber.xmlstream import STREAM_ERROR_EVENT
from wokkel.component import Component
from wokkel.subprotocols import StreamManager

log = Logger()


class ReconnectingComponent(Component):  # type: ignore[misc]  # wokkel is untyped
    """The XMPP stream manager of one external component (``jid``, shared ``secret``),
    connected through ``endpoint``; its handlers (``addHandler``) see each new stream.

    ``clock`` is the reactor: it times IQ requests and the retries.
    """

    def __init__(self, endpoint: IStreamClientEndpoint, jid: str, secret: str, *,
                 clock: Any, initialDelay: float = 0.1, maxDelay: float = 5.0) -> None:
        # Not Component.__init__: it only keeps a host and port, which an endpoint replaces,
        # and would leave IQ timeouts on the global reactor.
        StreamManager.__init__(self, componentFactory(jid, secret), reactor=clock)
        # Its "Starting factory" lines would come with every retry; we log what matters.
        self.factory.noisy = False
        self.jid = jid
        self.endpoint = endpoint
        self._clock = clock
        backoff = backoffPolicy(initialDelay, maxDelay, jitter=lambda: random.random()
                                * initialDelay)
        #: Streams in a row that closed before they were authenticated: a server that
        #: accepts connections but refuses the handshake must not be retried at full speed.
        self._refusals = 0
        self._policy = lambda attempt: backoff(attempt + self._refusals)
        self._client: ClientService | None = None
        self._waiting: list[Deferred[None]] = []
        #: How many streams were authenticated so far.
        self.connections = 0
        #: Whether the XMPP server said, last time, that another node holds the JID.
        self.standingBy = False
        self._conflict = False
        self.factory.addBootstrap(STREAM_ERROR_EVENT, self._streamError)

    @property
    def initialized(self) -> bool:
        """Whether a stream is up and authenticated now."""
        return bool(self._initialized)

    def whenInitialized(self) -> Deferred[None]:
        """Fires when a stream is authenticated: now if one is, else at the next one."""
        if self.initialized:
            return succeed(None)
        waiting: Deferred[None] = Deferred()
        self._waiting.append(waiting)
        return waiting

    def startService(self) -> None:
        Service.startService(self)
        self._client = ClientService(self.endpoint, self.factory, retryPolicy=self._policy,
                                     clock=self._clock)
        self._client.startService()

    def stopService(self) -> Deferred[None]:
        """Stop retrying and close the stream; fires once it is closed."""
        Service.stopService(self)
        waiting, self._waiting = self._waiting, []
        for each in waiting:
            each.errback(CancelledError("the component was stopped"))
        client, self._client = self._client, None
        if client is None:
            return succeed(None)
        return client.stopService()

    def _streamError(self, reason: Failure) -> None:
        """A ``<conflict/>``: another node holds the component; stand by (logged once)."""
        error = reason.value
        if isinstance(error, StreamError) and error.condition == "conflict":
            if not self.standingBy:
                log.info("XMPP component {jid} is held by another node; standing by",
                         jid=self.jid)
            self.standingBy = self._conflict = True

    def _authd(self, xs: Any) -> None:
        self._refusals = 0
        self.standingBy = False
        self.connections += 1
        if ITCPTransport.providedBy(xs.transport):
            # Notifications are written as soon as they are known, often one event at a
            # time: none should wait for the acknowledgement of the one before.
            xs.transport.setTcpNoDelay(True)
        log.info("XMPP component {jid} connected", jid=self.jid)
        super()._authd(xs)
        waiting, self._waiting = self._waiting, []
        for each in waiting:
            each.callback(None)

    def _disconnected(self, reason: Any) -> None:
        if self._initialized:
            if self.running:
                log.info("XMPP component {jid} disconnected; reconnecting", jid=self.jid)
        else:
            self._refusals += 1
            # Refused for another reason than a holder (the server restarting, say).
            self.standingBy, self._conflict = self._conflict, False
        super()._disconnected(reason)

    def initializationFailed(self, reason: Failure) -> None:
        """The server refused the handshake (a wrong secret, or another component with this
        JID is connected): close this stream and let the retries go on, more slowly."""
        log.warn("XMPP component {jid} refused by the server: {error}", jid=self.jid,
                 error=reason.getErrorMessage())
        stream = self.xmlstream
        if stream is not None and stream.transport is not None:
            stream.transport.loseConnection()
