"""The XEP-0060 requests the service answers, on wokkel's :class:`PubSubResource`.

Discovery (the service's identity and features, the node tree, each node's type and payload
type), subscribe and unsubscribe, subscription options, the requester's subscriptions, and
items retrieval: a node's stored history, newest first.  Nothing is kept here: subscriptions
live in the store, shared by the servers of one cloud, and items are the store's events.
Nobody publishes, creates, configures or deletes nodes over XMPP: the server itself publishes
(see :mod:`.publisher`), and the nodes are the model's.

Who may do what is :mod:`.tenancy`'s: subscribing, a subscription's options and the items
of a node are for the JIDs of known users only (anyone else is ``<forbidden/>``), an entity's
node only for its owner and the admins (another user is ``<forbidden/>`` too), and the history
of the root and of a collection shows each reader only the events it may read.  Discovery
answers everyone, but a collection's items (its entity nodes) are only the requester's own.
Leaving a node, and listing one's own subscriptions, are never refused.  Without users
(single-user mode) everyone is the administrator: access is open, as XEP-0060's "open"
access model.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.words.protocols.jabber.error import StanzaError
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish
from wokkel import data_form, disco
from wokkel.pubsub import (
    NS_PUBSUB,
    NS_PUBSUB_SUBSCRIBE_OPTIONS,
    BadRequest,
    Item,
    PubSubError,
    PubSubResource,
)
from wokkel.pubsub import Subscription as WokkelSubscription

from ..model.events import Event, Subscription
from ..store.interface import IPubSubStore
from .nodes import ROOT, Nodes
from .payload import EntryOf, payloadXML
from .tenancy import Tenancy, WhoIs, mayRead, ownerSeenBy

#: The payload type of every node (XEP-0060 ``pubsub#type``): Atom entries.
ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
#: The subscription option that turns notifications off (XEP-0060 6.3.7).
DELIVER = "pubsub#deliver"


def delivers(options: Mapping[str, str]) -> bool:
    """Whether a subscription with these options is sent notifications."""
    return options.get(DELIVER, "1").strip().lower() not in ("0", "false")


def _notFound() -> StanzaError:
    return StanzaError("item-not-found")


def _forbidden() -> StanzaError:
    return StanzaError("forbidden")


def _notSubscribed() -> PubSubError:
    return PubSubError("unexpected-request", "not-subscribed")


def _invalidSubid() -> PubSubError:
    return PubSubError("not-acceptable", "invalid-subid")


class EventPubSubResource(PubSubResource):  # type: ignore[misc]  # wokkel is untyped
    """The pubsub service of the store's events (see the module's docstring).

    ``entryOf`` renders an event's payload; items retrieval answers at most ``historyLimit``
    items, and ``defaultItems`` when the request has no ``max_items``.  ``whoIs`` says who a
    JID is (see :mod:`.tenancy`; ``None``: everyone is the administrator), and then ``nodes``
    must know their owners.
    """

    features = [  # noqa: RUF012  (wokkel reads this class attribute)
        "access-open", "collections", "meta-data", "persistent-items", "retrieve-items",
        "retrieve-subscriptions", "subscribe", "subscription-options",
    ]
    discoIdentity = disco.DiscoIdentity("pubsub", "service", "OCCI events")
    #: Events looked at, at most, to find a user's history in the root or a collection.
    historyScan = 10_000

    def __init__(self, store: IPubSubStore, nodes: Nodes, entryOf: EntryOf, *,
                 clock: IReactorTime, defaultItems: int = 100,
                 historyLimit: int = 1000,
                 changed: Callable[[str], None] = lambda node: None,
                 whoIs: WhoIs | None = None) -> None:
        if whoIs is not None and not nodes.knowsOwners:
            raise ValueError("with users, the nodes must know their owners")
        #: Told each node whose subscriptions this resource changed, once stored (the
        #: publisher reads them again).
        self.changed = changed
        self.store = store
        self.nodes = nodes
        self.entryOf = entryOf
        self._clock = clock
        self.defaultItems = defaultItems
        self.historyLimit = historyLimit
        self.tenancy = Tenancy(whoIs)

    # -- discovery ------------------------------------------------------------------------

    def getInfo(self, requestor: JID, service: JID, nodeIdentifier: str
                ) -> Deferred[dict[str, Any] | None]:
        return Deferred.fromCoroutine(self._info(nodeIdentifier))

    async def _info(self, node: str) -> dict[str, Any] | None:
        if not node or not await self.nodes.exists(node):
            return None
        title = "Every event" if node == ROOT else f"Events of {node}"
        return {
            "type": "collection" if self.nodes.isCollection(node) else "leaf",
            "meta-data": [
                {"var": "pubsub#title", "label": "A short name for the node", "value": title},
                {"var": "pubsub#type", "label": "Payload type", "value": ATOM_NAMESPACE},
            ],
        }

    def getNodes(self, requestor: JID, service: JID, nodeIdentifier: str
                 ) -> Deferred[Sequence[str]]:
        return self.nodes.childrenOf(nodeIdentifier, self.tenancy.principalOf(requestor))

    # -- who reads what -------------------------------------------------------------------

    async def _ownerShownTo(self, node: str, requester: JID) -> str | None:
        """The only owner whose events ``requester`` is shown on ``node`` (``None``: every
        owner's).  Forbidden to a JID that is nobody's, and to a user on the node of an
        entity that is another's; whether ``node`` exists is the caller's to ask."""
        principal = self.tenancy.principalOf(requester)
        if principal is None:
            raise _forbidden()
        owner = ownerSeenBy(principal)
        if owner is not None and not self.nodes.isCollection(node):
            entityOwner = await self.nodes.ownerOf(node)
            if entityOwner is not None and entityOwner != owner:
                raise _forbidden()
        return owner

    # -- subscriptions --------------------------------------------------------------------

    def subscribe(self, request: Any) -> Deferred[WokkelSubscription]:
        return Deferred.fromCoroutine(self._subscribe(request))

    async def _subscribe(self, request: Any) -> WokkelSubscription:
        node, subscriber = self._checked(request)
        await self._ownerShownTo(node, request.sender)
        if not await self.nodes.exists(node):
            raise _notFound()
        if request.options is None:
            # Subscribing again without options keeps the subscription as it is.
            already = await self.store.subscriptions(node, subscriber.full())
            if already:
                return _wokkel(already[0])
        options = _optionsOf(request.options)
        kept = await self.store.subscribe(Subscription(
            node=node, jid=subscriber.full(), subid=str(uuid.uuid4()), options=options,
            created=self._clock.seconds()))
        self.changed(node)
        return _wokkel(kept)

    def unsubscribe(self, request: Any) -> Deferred[None]:
        return Deferred.fromCoroutine(self._unsubscribe(request))

    async def _unsubscribe(self, request: Any) -> None:
        # No check that the node exists first: an entity's node goes with it, and its
        # subscribers may still leave it.
        node, subscriber = self._checked(request)
        subid = request.subscriptionIdentifier
        if await self.store.unsubscribe(node, subscriber.full(), subid):
            self.changed(node)
            return
        if subid and await self.store.subscriptions(node, subscriber.full()):
            raise _invalidSubid()
        if not await self.nodes.exists(node):
            raise _notFound()
        raise _notSubscribed()

    def subscriptions(self, request: Any) -> Deferred[list[WokkelSubscription]]:
        return Deferred.fromCoroutine(self._subscriptions(request))

    async def _subscriptions(self, request: Any) -> list[WokkelSubscription]:
        requester: JID = request.sender
        found = await self.store.subscriptions(jid=requester.userhost())
        if requester.resource:
            found += await self.store.subscriptions(jid=requester.full())
        return [_wokkel(each) for each in found]

    def optionsGet(self, request: Any) -> Deferred[domish.Element]:
        return Deferred.fromCoroutine(self._optionsGet(request))

    async def _optionsGet(self, request: Any) -> domish.Element:
        subscription = await self._subscriptionOf(request)
        form = data_form.Form("form", formNamespace=NS_PUBSUB_SUBSCRIBE_OPTIONS)
        form.addField(data_form.Field(
            "boolean", var=DELIVER, value=delivers(subscription.options),
            label="Enable delivery?"))
        for name, value in sorted(subscription.options.items()):
            if name != DELIVER:
                form.addField(data_form.Field(
                    "text-multi" if "\n" in value else "text-single", var=name,
                    values=value.split("\n")))
        response = domish.Element((NS_PUBSUB, "pubsub"))
        options = response.addElement("options")
        options["node"] = subscription.node
        options["jid"] = subscription.jid
        options["subid"] = subscription.subid
        options.addChild(form.toElement())
        return response

    def optionsSet(self, request: Any) -> Deferred[None]:
        return Deferred.fromCoroutine(self._optionsSet(request))

    async def _optionsSet(self, request: Any) -> None:
        subscription = await self._subscriptionOf(request)
        if request.options.formType == "cancel":
            return
        options = {**subscription.options, **_optionsOf(request.options)}
        await self.store.subscribe(Subscription(
            node=subscription.node, jid=subscription.jid, subid=subscription.subid,
            options=options, created=subscription.created))
        self.changed(subscription.node)

    async def _subscriptionOf(self, request: Any) -> Subscription:
        node, subscriber = self._checked(request)
        await self._ownerShownTo(node, request.sender)
        found = await self.store.subscriptions(node, subscriber.full())
        if not found:
            if not await self.nodes.exists(node):
                raise _notFound()
            raise _notSubscribed()
        subid = request.subscriptionIdentifier
        if subid and found[0].subid != subid:
            raise _invalidSubid()
        return found[0]

    def _checked(self, request: Any) -> tuple[str, JID]:
        """The node and subscriber of a request that names them; only the subscriber's
        own bare JID may (un)subscribe it (XEP-0060 6.1.3.1)."""
        node: str = request.nodeIdentifier
        subscriber: JID = request.subscriber
        if not node:
            raise PubSubError("bad-request", "nodeid-required")
        if subscriber.userhost() != request.sender.userhost():
            raise BadRequest("invalid-jid")
        return node, subscriber

    # -- items ------------------------------------------------------------------------------

    def items(self, request: Any) -> Deferred[list[Item]]:
        return Deferred.fromCoroutine(self._items(request))

    async def _items(self, request: Any) -> list[Item]:
        node: str = request.nodeIdentifier
        owner = await self._ownerShownTo(node, request.sender)
        wanted: list[str] = request.itemIdentifiers or []
        events: list[Event]
        if wanted:
            found = [await self.store.event(itemId) for itemId in wanted[:self.historyLimit]]
            events = [e for e in found
                      if e is not None and node in e.nodes and mayRead(owner, e)]
        else:
            limit = request.maxItems if request.maxItems is not None else self.defaultItems
            if limit <= 0:
                raise BadRequest(text="max_items must be a positive integer")
            events = await self._history(node, min(limit, self.historyLimit), owner)
        if not events and not await self.nodes.exists(node):
            raise _notFound()
        return [Item(event.id, payloadXML(self.entryOf(event))) for event in events]

    async def _history(self, node: str, limit: int, owner: str | None) -> list[Event]:
        """The newest ``limit`` events of ``node`` that the reader of ``owner``'s events
        may read.  The store reads every owner's: a user's are picked out of pages of them,
        going back at most ``historyScan`` events (a user whose last events are older than
        that is answered fewer items, as XEP-0060 allows a service to)."""
        if owner is None:
            return list((await self.store.events(node, limit=limit)).events)
        found: list[Event] = []
        before: int | None = None
        scanned = 0
        size = min(self.historyLimit, max(4 * limit, 50))
        while len(found) < limit and scanned < self.historyScan:
            page = await self.store.events(node, before=before, limit=size)
            found.extend(e for e in page.events if mayRead(owner, e))
            scanned += len(page.events)
            if not page.more or not page.events:
                break
            before = page.events[-1].seq
        return found[:limit]


def _optionsOf(form: Any) -> dict[str, str]:
    """A subscribe options form's values, as strings (several values: one a line)."""
    if form is None:
        return {}
    return {name: "\n".join(str(value) for value in field.values)
            for name, field in form.fields.items()}


def _wokkel(subscription: Subscription) -> WokkelSubscription:
    return WokkelSubscription(subscription.node, JID(subscription.jid), "subscribed",
                              subscriptionIdentifier=subscription.subid)
