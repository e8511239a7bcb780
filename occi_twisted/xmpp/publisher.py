"""Following the store: a notification to each subscriber for each new event.

The publisher keeps a cursor, the ``seq`` of the last event it has notified.  When the store
says it has appended events, the publisher reads what came after its cursor, in batches,
looks up the subscribers of the batch's nodes (one store query per node per batch), and sends
one notification per event and subscription, in the order of the events: every subscriber
sees them in commit order.
They are written as text, several in one write.

It publishes only while the component is connected.  A JID can only be connected once as a
component, so of several nodes that share one store and one component JID, the XMPP server
elects the one it let in; the others stand by, retrying, and one of them is let in within
seconds of the holder's death.  Where the holder has got to is kept in the store: after each
run of notifications the publisher pings itself through the XMPP server (XEP-0199) -- the
server handles a component's stanzas in order, so the answer means it has taken every
notification sent before -- and then saves the cursor (``savePublished``).  A node that takes
the component over starts from the saved position: when the holder dies, nothing that was not
confirmed is lost.  The holder itself, reconnecting after the XMPP server restarted, carries on
from its own cursor, as a single server always has.  What was sent but not confirmed yet
when the holder died is sent again, with the same item ids; that window is one ping's round
trip.  With nothing saved yet (a new cloud), it starts at the newest event.  A backlog longer
than ``backlog`` events is skipped (the older ones are in the history and the feeds).

When an entity is deleted its node goes too: after the deletion's notification, the node's
subscribers are told (XEP-0060 ``<delete/>``) and their subscriptions removed.

Notifications are ``headline`` messages, written as text: a subscriber that is offline misses
them (the server keeps no offline copies to flood it with later) and reads the history instead.

Each node's subscribers are read from the store once and kept, for at most
``subscribersTTL`` seconds: the pubsub resource tells the publisher (:meth:`forget`) as soon as
it has stored a change to a node's subscriptions, and a new stream starts afresh (another
server may have served the component meanwhile).  Who each subscriber is (``whoIs``, see
:mod:`.tenancy`) is decided then too, and kept with them: each event goes to the subscribers
that may read it, and to no JID that is nobody's.  A reload of the users changes who a JID
is: :meth:`forget` every node then.

The publisher is a streaming producer of the stream's transport: when the XMPP server reads
more slowly than events come, the transport's buffer fills, Twisted pauses the publisher, and
it stops reading events until the buffer has drained.  The backlog then waits in the store --
durable, and read in order once the server catches up -- not in this process's memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any
from xml.sax.saxutils import quoteattr

from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.internet.interfaces import IDelayedCall, IPushProducer, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.words.protocols.jabber.error import StanzaError
from twisted.words.protocols.jabber.jid import JID
from wokkel.generic import Request
from wokkel.ping import NS_PING
from wokkel.pubsub import NS_PUBSUB_EVENT
from wokkel.subprotocols import XMPPHandler
from zope.interface import implementer

from ..model.events import Event, EventType, Subscription
from ..monitoring import Metrics
from ..store.interface import IPubSubStore
from .payload import EntryOf, payloadXML
from .resource import delivers
from .tenancy import Reader, Tenancy, WhoIs

log = Logger()


def itemsNotification(sender: str, recipient: str, node: str, itemId: str,
                      payload: str) -> str:
    """A XEP-0060 notification (7.1.2.1) of one item with its payload, as XML text."""
    return (
        f"<message from={quoteattr(sender)} to={quoteattr(recipient)} type='headline'>"
        f"<event xmlns='{NS_PUBSUB_EVENT}'><items node={quoteattr(node)}>"
        f"<item id={quoteattr(itemId)}>{payload}</item></items></event></message>"
    )


def deleteNotification(sender: str, recipient: str, node: str) -> str:
    """A XEP-0060 notification (8.4.2) that ``node`` is gone."""
    return (
        f"<message from={quoteattr(sender)} to={quoteattr(recipient)} type='headline'>"
        f"<event xmlns='{NS_PUBSUB_EVENT}'><delete node={quoteattr(node)}/></event>"
        "</message>"
    )


class _Ping(Request):  # type: ignore[misc]  # wokkel is untyped
    """A XEP-0199 ping, from and to ``jid``: the component asking itself, through the XMPP
    server, whether the server has handled everything sent before."""

    timeout = 30.0

    def __init__(self, jid: str) -> None:
        super().__init__(JID(jid), JID(jid))

    def toElement(self) -> Any:
        element = super().toElement()
        element.addElement((NS_PING, "ping"))
        return element


@implementer(IPushProducer)
class EventPublisher(XMPPHandler):  # type: ignore[misc]  # wokkel is untyped
    """Sends the store's new events to their nodes' subscribers, as the service ``sender``
    (see the module's docstring), each to those ``whoIs`` says may read it (``None``:
    everyone).  A handler of the component's stream manager."""

    #: Seconds before trying again after the store failed.
    retryDelay = 1.0
    #: Notifications are written to the stream together, up to about this many characters
    #: at a time: one write per batch costs much less than one per stanza.
    writeSize = 1 << 16
    #: Seconds a node's subscribers, once read, are used without reading them again: a
    #: bound on what a change made behind the resource's back (it calls :meth:`forget`) goes
    #: unseen.
    subscribersTTL = 5.0
    #: Nodes whose subscribers are kept at most; beyond, the oldest reads are dropped.
    subscribersKept = 4096
    #: Bytes the transport may hold before it pauses us: enough that the XMPP server always
    #: has the next notifications to read while the next events are read from the store.
    transportBuffer = 1 << 20

    def __init__(self, store: IPubSubStore, sender: str, entryOf: EntryOf, *,
                 clock: IReactorTime, batch: int = 200, backlog: int = 1000,
                 whoIs: WhoIs | None = None) -> None:
        super().__init__()
        self.store = store
        self.tenancy = Tenancy(whoIs)
        self.sender = sender
        self.entryOf = entryOf
        self._clock = clock
        self.batch = batch
        self.backlog = backlog
        #: The ``seq`` of the last event notified (or skipped); ``None`` before :meth:`start`.
        self.cursor: int | None = None
        self._online = False
        self._wanted = False
        #: Whether the stream is new: a backlog may have piled up meanwhile.
        self._reconnected = False
        #: Whether :meth:`_pump` runs; and its Deferred while it waits for the store.
        self._busy = False
        self._pumping: Deferred[None] | None = None
        self._retry: IDelayedCall | None = None
        #: Whether the transport asked us to wait until its buffer drains.
        self._paused = False
        #: Each node's subscribers that receive notifications, and when they were read.
        self._subscribers: dict[str, tuple[float, Sequence[Reader]]] = {}
        #: Counts :meth:`forget` calls: subscribers read across one are not kept.
        self._forgotten = 0
        #: What is left of a batch that a pause interrupted: its events, their nodes'
        #: subscribers as they were when it was read, and whether the batch was full.
        self._ahead: tuple[list[Event], dict[str, Sequence[Reader]], bool] | None = None
        #: Where notifications and their lag are counted, if anywhere.
        self.metrics: Metrics | None = None
        #: The cursor saved in the store as confirmed; whether a confirmation is under way.
        self.confirmed: int | None = None
        self._confirming = False

    @property
    def subscribersKnown(self) -> int:
        """The subscribers notified, of the nodes whose subscribers are kept now (those
        notified lately): what the publisher knows without asking the store."""
        return sum(len(readers) for _, readers in self._subscribers.values())

    def start(self) -> Deferred[None]:
        """Start from the position saved in the store (else the newest event) and follow."""
        return Deferred.fromCoroutine(self._start())

    async def _start(self) -> None:
        self.confirmed = await self.store.publishedUpTo()
        if self.confirmed is None:
            newest = await self.store.events("/", limit=1)
            self.cursor = newest.events[0].seq if newest.events else 0
        else:
            self.cursor = self.confirmed
        self.store.addEventListener(self.wake)
        self.wake()

    def stop(self) -> Deferred[None]:
        """Stop following the store; fires once the batch in progress is sent."""
        self.store.removeEventListener(self.wake)
        self.cursor = None
        self._ahead = None
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        pumping = self._pumping
        if pumping is None:
            return succeed(None)
        done: Deferred[None] = Deferred()
        pumping.addBoth(lambda _: done.callback(None))
        return done

    # -- the stream (XMPPHandler) -----------------------------------------------------------

    def connectionInitialized(self) -> None:
        self.forget()
        self._online = True
        self._reconnected = True
        self._paused = False
        self._ahead = None
        transport = getattr(self.xmlstream, "transport", None)
        if transport is not None:
            if getattr(transport, "bufferSize", self.transportBuffer) < self.transportBuffer:
                transport.bufferSize = self.transportBuffer
            transport.registerProducer(self, True)
        self.wake()

    def connectionLost(self, reason: Failure) -> None:
        self._online = False
        self._paused = False
        self._ahead = None

    # -- flow control (IPushProducer, registered with the stream's transport) ---------------

    def pauseProducing(self) -> None:
        """The transport's buffer is full: read no more events for now."""
        self._paused = True

    def resumeProducing(self) -> None:
        """It has drained: carry on from the cursor."""
        self._paused = False
        self.wake()

    def stopProducing(self) -> None:
        """The connection is going; :meth:`connectionLost` follows."""
        self._online = False

    # -- following the store ----------------------------------------------------------------

    def wake(self) -> None:
        """There may be new events (the store's listener)."""
        self._wanted = True
        if not self._busy and self._online and self.cursor is not None:
            self._busy = True
            pumping = Deferred.fromCoroutine(self._pump())
            # A store that answers at once (the memory store) has finished it already.
            self._pumping = None if pumping.called else pumping

    async def _pump(self) -> None:
        try:
            if self._reconnected:
                await self._resume()
                self._reconnected = False
            while self._wanted and self._online and self.cursor is not None:
                if self._paused:
                    return  # resumeProducing wakes us; _wanted stays set
                self._wanted = False
                while await self._publishBatch():
                    pass
                self._confirm()
        except Exception:
            log.failure("Could not publish the store's events over XMPP; trying again")
            self._retry = self._clock.callLater(self.retryDelay, self.wake)
        finally:
            self._busy = False
            self._pumping = None

    async def _resume(self) -> None:
        """A new stream: carry on from this node's own cursor, unless another node has
        published beyond it meanwhile (it held the component): then from where that holder's
        notifications were confirmed.  Skip what is beyond the backlog: a long outage is
        read in the history."""
        saved = await self.store.publishedUpTo()
        if saved is not None and self.cursor is not None and saved > self.cursor:
            self.cursor = self.confirmed = saved
        if self.cursor is None:
            return
        newest = await self.store.events("/", limit=1)
        if newest.events and newest.events[0].seq - self.cursor > self.backlog:
            skipped = newest.events[0].seq - self.backlog
            log.warn("XMPP notifications of events {first} to {last} skipped (a backlog)",
                     first=self.cursor + 1, last=skipped)
            self.cursor = skipped

    async def _publishBatch(self) -> bool:
        """Notify the next batch of events; whether there may be more to read at once (a full
        batch was sent and the transport still takes more).  The cursor moves event by event:
        when the transport pauses us, the batch ends at a whole event."""
        if self.cursor is None or not self._online:
            return False
        if self._ahead is not None:
            (events, subscribers, full), self._ahead = self._ahead, None
        else:
            events = await self.store.eventsAfter(self.cursor, self.batch)
            if not events:
                return False
            full = len(events) == self.batch
            subscribers = await self._subscribersOf({n for e in events for n in e.nodes})
        if not self._online or self.cursor is None:
            return False
        gone: list[Event] = []
        pending: list[str] = []
        size = 0
        now, metrics = self._clock.seconds(), self.metrics
        for index, event in enumerate(events):
            if event.type is EventType.DELETED:
                gone.append(event)
            targets = [(node, reader.jid) for node in event.nodes
                       for reader in subscribers.get(node, ()) if reader.reads(event)]
            payload = self._payloadOf(event) if targets else None
            if payload is not None:
                for node, jid in targets:
                    stanza = itemsNotification(self.sender, jid, node, event.id, payload)
                    pending.append(stanza)
                    size += len(stanza)
                if metrics is not None:
                    metrics.notifications.inc(len(targets))
                    metrics.publishLag.observe(max(0.0, now - event.updated))
            self.cursor = event.seq
            if size >= self.writeSize:
                self.send("".join(pending))
                pending, size = [], 0
                if self._paused:  # the rest of the batch goes on resuming
                    if index + 1 < len(events):
                        self._ahead = (events[index + 1:], subscribers, full)
                    break
        if pending:
            self.send("".join(pending))
        if gone:
            await self._deleteNodes(gone)
        return full and not self._paused

    def _confirm(self) -> None:
        """Save the cursor once the XMPP server has confirmed it took everything up to it
        (one confirmation at a time; the next one covers what was sent meanwhile)."""
        if (self._confirming or not self._online or self.cursor is None
                or (self.confirmed is not None and self.cursor <= self.confirmed)):
            return
        self._confirming = True
        Deferred.fromCoroutine(self._confirmUpTo(self.cursor))

    async def _confirmUpTo(self, cursor: int) -> None:
        try:
            await self.request(_Ping(self.sender))
            await self.store.savePublished(cursor)
            self.confirmed = max(cursor, self.confirmed or 0)
        except StanzaError as error:
            log.warn("The XMPP server did not confirm the notifications: {error}",
                     error=error)
        except Exception:
            if self._online:
                log.failure("Could not confirm the XMPP notifications up to event {seq}",
                            seq=cursor)
            return  # a stream that went is resumed from the saved position
        finally:
            self._confirming = False
        self._confirm()

    def _payloadOf(self, event: Event) -> str | None:
        """The event's entry; ``None`` (and a log) if it cannot be rendered: one bad event
        must not hold up the ones after it."""
        try:
            return payloadXML(self.entryOf(event))
        except Exception:
            log.failure("No XMPP notification of event {seq}: its entry could not be made",
                        seq=event.seq)
            return None

    def forget(self, node: str | None = None) -> None:
        """The subscriptions of ``node`` (of every node if ``None``) have changed in the
        store, or who their JIDs are: read them again before the next notification."""
        self._forgotten += 1
        if node is None:
            self._subscribers.clear()
        else:
            self._subscribers.pop(node, None)

    async def _subscribersOf(self, nodes: Iterable[str]) -> dict[str, Sequence[Reader]]:
        now = self._clock.seconds()
        kept: dict[str, Sequence[Reader]] = {}
        missing: list[str] = []
        for node in sorted(set(nodes)):
            found = self._subscribers.get(node)
            if found is not None and now - found[0] <= self.subscribersTTL:
                kept[node] = found[1]
            else:
                missing.append(node)
        forgotten = self._forgotten
        read = await gatherResults([self.store.subscriptions(node) for node in missing],
                                   consumeErrors=True)
        fresh = {node: self._readersOf(subs) for node, subs in zip(missing, read, strict=True)}
        if forgotten == self._forgotten:  # nothing changed while reading
            if len(self._subscribers) + len(fresh) > self.subscribersKept:
                self._subscribers.clear()
            self._subscribers.update((node, (now, subs)) for node, subs in fresh.items())
        return {**kept, **fresh}

    def _readersOf(self, subscriptions: Iterable[Subscription]) -> list[Reader]:
        """The subscribers that are sent notifications: those that asked for them, and
        whose JIDs are someone's."""
        readers = (self.tenancy.readerOf(s.jid) for s in subscriptions if delivers(s.options))
        return [reader for reader in readers if reader is not None]

    async def _deleteNodes(self, deletions: Sequence[Event]) -> None:
        """Tell the subscribers of each deleted entity's node that it is gone (those that
        may read the deletion), and remove every subscription to it."""
        everyone: defaultdict[str, list[Subscription]] = defaultdict(list)
        last = {event.location: event for event in deletions}
        for node in last:
            for subscription in await self.store.subscriptions(node):
                everyone[node].append(subscription)
        for node, subscriptions in everyone.items():
            for reader in self._readersOf(subscriptions):
                if reader.reads(last[node]):
                    self.send(deleteNotification(self.sender, reader.jid, node))
            for subscription in subscriptions:
                await self.store.unsubscribe(node, subscription.jid, subscription.subid)
            self.forget(node)
