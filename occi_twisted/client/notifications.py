"""Receiving a server's events over XMPP: the client logs in to the XMPP server as a user
(Twisted's jabber client), subscribes to a node of the server's pubsub service (wokkel's
pubsub client) and hands each notification over as a :class:`~.notices.Notice`.

As XMPP clients do, the stream is encrypted with STARTTLS and the server's certificate is
verified for the JID's domain (against ``--ca-file`` when given): a server that offers no TLS is
refused -- except on loopback, where a trial server without certificates is allowed, and the
password crosses no network.  Twisted authenticates with SASL PLAIN (or DIGEST-MD5).

Subscriptions are made with the full JID of this session, so that the notifications come to
this process alone, and are ended when the command ends: the server keeps subscriptions until
they are.  Every failure is an :class:`~.errors.XMPPUnavailable`, on which the commands go on
over HTTP.
"""

from __future__ import annotations

from ..xmpp import compat  # noqa: F401  (before wokkel)

# isort: split

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, DeferredQueue
from twisted.internet.endpoints import HostnameEndpoint
from twisted.python.failure import Failure
from twisted.words.protocols.jabber import client as jabber
from twisted.words.protocols.jabber import xmlstream
from twisted.words.protocols.jabber.error import StanzaError
from twisted.words.protocols.jabber.jid import JID, InvalidFormat
from twisted.words.xish import domish
from twisted.words.xish.xmlstream import STREAM_END_EVENT
from wokkel.pubsub import PubSubClient
from wokkel.subprotocols import StreamManager

from .config import XMPPAccount
from .errors import XMPPUnavailable
from .notices import Notice, noticeOf
from .session import trustedPolicy

#: Seconds to connect and log in, or for the service to answer.
TIMEOUT = 10.0


class _Authenticator(jabber.XMPPAuthenticator):
    """Twisted's client stream set-up, with TLS required unless the server is on loopback."""

    def __init__(self, me: JID, password: str, tls: Any, requireTLS: bool) -> None:
        super().__init__(me, password, configurationForTLS=tls)  # type: ignore[no-untyped-call]
        self.requireTLS = requireTLS

    def associateWithStream(self, xs: xmlstream.XmlStream) -> None:
        super().associateWithStream(xs)  # type: ignore[no-untyped-call]
        for step in xs.initializers:
            if isinstance(step, xmlstream.TLSInitiatingInitializer):
                step.required = self.requireTLS


class _Receiver(PubSubClient):  # type: ignore[misc]
    """The notifications of one node from one service, queued as notices; the queue ends
    with an :class:`XMPPUnavailable` when no more can come."""

    def __init__(self, service: JID, node: str) -> None:
        super().__init__()
        self.service, self.node = service, node
        self.queue: DeferredQueue[Notice | XMPPUnavailable] = DeferredQueue()

    def _ours(self, event: Any) -> bool:
        return bool(event.sender == self.service and event.nodeIdentifier == self.node)

    def itemsReceived(self, event: Any) -> None:
        if not self._ours(event):
            return
        for item in event.items:
            payload = item.firstChildElement() if item.name == "item" else None
            notice = noticeOf(payload) if payload is not None else None
            if notice is not None:
                self.queue.put(notice)

    def deleteReceived(self, event: Any) -> None:
        if self._ours(event):
            self.queue.put(XMPPUnavailable(f"the node {self.node} was deleted"))

    def connectionLost(self, reason: Failure) -> None:
        super().connectionLost(reason)
        self.queue.put(XMPPUnavailable("the XMPP connection was lost"))


@dataclass
class XMPPSubscription:
    """A subscription of this session's full JID to one node."""

    receiver: _Receiver
    manager: StreamManager
    me: JID
    subid: str | None
    reactor: Any

    async def next(self) -> Notice:
        got = await self.receiver.queue.get()
        if isinstance(got, XMPPUnavailable):
            self.receiver.queue.put(got)  # and for every later call
            raise got
        return got

    async def close(self) -> None:
        try:
            if self.manager.xmlstream is not None:
                await self.receiver.unsubscribe(
                    self.receiver.service, self.receiver.node, self.me,
                    subscriptionIdentifier=self.subid).addTimeout(TIMEOUT, self.reactor)
        except Exception:  # gone already, or refused: nothing is left to do
            pass
        finally:
            _disconnect(self.manager)


class XMPPNotices:
    """Subscriptions made with one XMPP account, a connection each."""

    def __init__(self, reactor: Any, account: XMPPAccount, caFile: Path | None) -> None:
        self.reactor, self.account, self.caFile = reactor, account, caFile

    def subscribe(self, node: str) -> Deferred[XMPPSubscription]:
        return Deferred.fromCoroutine(self._subscribe(node))

    async def _subscribe(self, node: str) -> XMPPSubscription:
        try:
            me, service = JID(self.account.jid), JID(self.account.service)
        except InvalidFormat as wrong:
            raise XMPPUnavailable(f"not a JID: {wrong}") from None
        receiver = _Receiver(service, node)
        manager, me = await self._connected(me, receiver)
        try:
            subscribed = await receiver.subscribe(service, node, me).addTimeout(
                TIMEOUT, self.reactor)
        except Exception as failed:
            _disconnect(manager)
            said = failed.condition if isinstance(failed, StanzaError) else _reason(failed)
            raise XMPPUnavailable(f"{service.full()} refused to subscribe {me.userhost()} to "
                                  f"{node}: {said}") from None
        return XMPPSubscription(receiver, manager, me, getattr(subscribed, "subscriptionIdentifier",
                                                               None), self.reactor)

    async def _connected(self, me: JID, receiver: _Receiver) -> tuple[StreamManager, JID]:
        """A stream logged in, with ``receiver`` on it and presence sent (notifications
        are headlines: servers give them to online resources only); the bound JID."""
        account = self.account
        tls = trustedPolicy(self.caFile).creatorForNetloc(me.host.encode("idna"), account.port)
        authenticator = _Authenticator(me, account.password, tls, not account.loopback)
        factory = xmlstream.XmlStreamFactory(authenticator)
        manager = StreamManager(factory, reactor=self.reactor)
        receiver.setHandlerParent(manager)
        ready: Deferred[None] = Deferred()

        def settle(outcome: Failure | None) -> None:
            if not ready.called:
                ready.errback(outcome) if outcome is not None else ready.callback(None)

        factory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, lambda _: settle(None))
        factory.addBootstrap(xmlstream.INIT_FAILED_EVENT, settle)
        factory.addBootstrap(STREAM_END_EVENT, lambda _: settle(Failure(XMPPUnavailable(
            "the XMPP server closed the stream"))))
        endpoint = HostnameEndpoint(self.reactor, account.host, account.port, timeout=TIMEOUT)
        where = f"{account.host}:{account.port}"
        try:
            await endpoint.connect(factory)
        except Exception as failed:
            raise XMPPUnavailable(f"cannot reach {where}: {_reason(failed)}") from None
        try:
            await ready.addTimeout(TIMEOUT, self.reactor)
        except Exception as failed:
            _disconnect(manager)
            raise XMPPUnavailable(f"cannot log in to {where} as {me.userhost()}: "
                                  f"{_reason(failed)}") from None
        manager.send(domish.Element((None, "presence")))
        return manager, authenticator.jid


def _disconnect(manager: StreamManager) -> None:
    stream = manager.xmlstream
    if stream is not None and stream.transport is not None:
        stream.sendFooter()
        stream.transport.loseConnection()


def _reason(failed: BaseException) -> str:
    """One line about a failure: its text, else the name of its kind."""
    text = " ".join(str(failed).split())
    return text or type(failed).__name__
