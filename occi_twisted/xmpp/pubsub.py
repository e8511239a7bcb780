"""The XMPP side of the server: a XEP-0060 pubsub service of the store's events, connected to
an XMPP server as a XEP-0114 external component.

One :class:`~.component.ReconnectingComponent` carries four handlers: wokkel's disco and
XEP-0199 ping handlers, wokkel's :class:`~wokkel.pubsub.PubSubService` answering requests
with an :class:`~.resource.EventPubSubResource`, and the :class:`~.publisher.EventPublisher`
that sends each new event to its nodes' subscribers.  With users, both ask ``whoIs`` who a JID is
(see :mod:`.tenancy`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import clientFromString
from twisted.logger import Logger
from twisted.python.failure import Failure
from wokkel.disco import DiscoHandler
from wokkel.ping import PingHandler
from wokkel.pubsub import PubSubService

from ..store.interface import IPubSubStore
from .component import ReconnectingComponent
from .nodes import NodeChildren, NodeExists, NodeOwner, Nodes
from .payload import EntryOf
from .publisher import EventPublisher
from .resource import EventPubSubResource
from .tenancy import WhoIs

log = Logger()


class XMPPPubSub(Service):
    """Starts following the store and connects; stops in the reverse order."""

    def __init__(self, component: ReconnectingComponent, publisher: EventPublisher,
                 resource: EventPubSubResource) -> None:
        self.component = component
        self.publisher = publisher
        self.resource = resource
        #: The publisher's start (tests wait for it).
        self.following: Deferred[None] | None = None

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        self.following = self.publisher.start()
        self.following.addErrback(_notFollowing)
        self.component.startService()

    def stopService(self) -> Deferred[None]:
        super().stopService()  # type: ignore[no-untyped-call]
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        await self.component.stopService()
        await self.publisher.stop()

    def usersChanged(self, names: Iterable[str] = ()) -> None:
        """The users were reloaded (a watcher of
        :meth:`~occi_twisted.identity.UserDirectory.whenChanged`): whoever a subscriber's JID
        is now, the next notifications go by it.  Every node's subscribers are read again,
        whichever ``names`` changed: a JID may have moved to another user without anyone's
        password changing."""
        self.publisher.forget()


def _notFollowing(failure: Failure) -> None:
    log.failure("The XMPP publisher could not read the store; no notifications", failure)


def makePubSubService(store: IPubSubStore, *, component: str, jid: str, secret: str,
                      nodeExists: NodeExists, entryOf: EntryOf, reactor: Any,
                      nodeChildren: NodeChildren | None = None,
                      nodeOwner: NodeOwner | None = None, whoIs: WhoIs | None = None,
                      maxRetryDelay: float = 5.0) -> XMPPPubSub:
    """The pubsub service of ``store``'s events, as the component ``jid`` with ``secret``,
    connecting to the endpoint string ``component`` (e.g. ``tcp:localhost:5347``).

    ``nodeExists`` says whether an entity node (``/storage/<id>``) exists, ``nodeChildren``
    lists a collection's entity nodes, ``nodeOwner`` says whose entity a node is (see
    :func:`.nodes.storeNodes` for the three), and ``entryOf`` renders an event's Atom entry
    (see :func:`.payload.atomEntries`).  ``whoIs`` maps a bare JID to its user's principal
    (:meth:`~occi_twisted.identity.UserDirectory.principalOfJID`); without it (single-user
    mode) every JID acts as the administrator; with it, ``nodeOwner`` is needed, and
    :meth:`XMPPPubSub.usersChanged` is to be called after each reload of the users.
    ``reactor`` provides the client endpoints' interfaces and the clock; the connection is
    retried after at most ``maxRetryDelay`` seconds.  The service must start once the store
    is open.
    """
    endpoint = clientFromString(reactor, component)
    connection = ReconnectingComponent(endpoint, jid, secret, clock=reactor,
                                       maxDelay=maxRetryDelay)
    publisher = EventPublisher(store, jid, entryOf, clock=reactor, whoIs=whoIs)
    resource = EventPubSubResource(store, Nodes(nodeExists, nodeChildren, nodeOwner=nodeOwner),
                                   entryOf, clock=reactor, changed=publisher.forget,
                                   whoIs=whoIs)
    DiscoHandler().setHandlerParent(connection)
    # Answers pings, its own among them: the publisher's confirmations (see .publisher).
    PingHandler().setHandlerParent(connection)
    PubSubService(resource).setHandlerParent(connection)
    publisher.setHandlerParent(connection)
    return XMPPPubSub(connection, publisher, resource)
