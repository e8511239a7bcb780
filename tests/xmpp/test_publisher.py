"""The publisher alone, on a memory store, its stanzas caught instead of sent: where it starts,
what it does while the component is away, and after."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred, fail
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from occi_twisted.model import Registry
from occi_twisted.model.events import Event, Subscription
from occi_twisted.store.memory import MemoryStore
from occi_twisted.xmpp import EventPublisher
from occi_twisted.xmpp.publisher import deleteNotification, itemsNotification

from .support import NS_EVENT_ITEMS, createStorage, entryOf, newEvents, shape, touch

SERVICE = "pubsub.example"


class Caught:
    """The stream manager, as far as a handler sees it: what is sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.writes = 0

    def send(self, data: str) -> None:
        # Several stanzas may come in one write: split them for the tests.
        self.writes += 1
        stream = ET.XMLPullParser(["end"])
        stream.feed(f"<stream>{data}</stream>")
        self.sent.extend(ET.tostring(element, encoding="unicode")
                         for _, element in stream.read_events() if element.tag == "message")

    def items(self) -> list[tuple[str, str, str]]:
        """(to, node, item id) of each items notification sent."""
        found = []
        for stanza in self.sent:
            message = ET.fromstring(stanza)
            items = message.find(NS_EVENT_ITEMS)
            if items is not None:
                for item in items:
                    found.append((message.get("to", ""), items.get("node", ""),
                                  item.get("id", "")))
        return found


@pytest.fixture
def store() -> Iterator[MemoryStore]:
    opened = MemoryStore(Registry.standard())
    pytest_twisted.blockon(opened.start())
    yield opened
    pytest_twisted.blockon(opened.stop())


def publisher(store: Any, **options: Any) -> tuple[EventPublisher, Caught, Clock]:
    clock = Clock()
    made = EventPublisher(store, SERVICE, entryOf, clock=clock, **options)
    caught = Caught()
    made.parent = caught
    return made, caught, clock


async def subscribe(store: MemoryStore, node: str, jid: str, **options: str) -> None:
    await store.subscribe(Subscription(node, jid, f"sub-{jid}", options))


@pytest_twisted.ensureDeferred
async def test_it_starts_at_the_newest_event(store: MemoryStore) -> None:
    entity = await createStorage(store, "s1")
    await subscribe(store, "/storage/s1", "alice@example")
    entity = await touch(store, entity, "before the start")
    made, caught, _ = publisher(store)
    await made.start()
    made.connectionInitialized()
    assert caught.sent == []
    await touch(store, entity, "after")
    [latest] = (await newEvents(store, 0))[-1:]
    assert caught.items() == [("alice@example", "/storage/s1", latest.id)]


@pytest_twisted.ensureDeferred
async def test_each_node_of_an_event_to_its_subscribers(store: MemoryStore) -> None:
    made, caught, _ = publisher(store)
    await made.start()
    made.connectionInitialized()
    await subscribe(store, "/", "root@example")
    await subscribe(store, "/storage/", "storages@example/phone")
    await subscribe(store, "/compute/", "computes@example")
    await subscribe(store, "/storage/", "quiet@example", **{"pubsub#deliver": "false"})
    await createStorage(store, "s1")
    [created] = await newEvents(store, 0)
    assert sorted(caught.items()) == [("root@example", "/", created.id),
                                      ("storages@example/phone", "/storage/", created.id)]


@pytest_twisted.ensureDeferred
async def test_while_away_nothing_is_sent_then_it_catches_up_in_order(
        store: MemoryStore) -> None:
    entity = await createStorage(store, "s1")
    await subscribe(store, "/storage/s1", "alice@example")
    made, caught, _ = publisher(store)
    await made.start()
    made.connectionInitialized()
    entity = await touch(store, entity, "one")
    made.connectionLost(Failure(ConnectionError("gone")))
    for n in range(3):
        entity = await touch(store, entity, f"away {n}")
    assert len(caught.sent) == 1
    made.connectionInitialized()
    events = (await newEvents(store, 0))[1:]
    assert [itemId for _, _, itemId in caught.items()] == [e.id for e in events]


@pytest_twisted.ensureDeferred
async def test_a_backlog_beyond_its_bound_is_skipped(store: MemoryStore) -> None:
    entity = await createStorage(store, "s1")
    await subscribe(store, "/storage/s1", "alice@example")
    made, caught, _ = publisher(store, backlog=2, batch=2)
    await made.start()
    for n in range(5):
        entity = await touch(store, entity, f"away {n}")
    made.connectionInitialized()
    events = await newEvents(store, 0)
    assert [itemId for _, _, itemId in caught.items()] == [e.id for e in events[-2:]]


@pytest_twisted.ensureDeferred
async def test_a_deleted_entity_deletes_its_node(store: MemoryStore) -> None:
    from occi_twisted.store.interface import Delete

    await createStorage(store, "s1")
    await subscribe(store, "/storage/s1", "alice@example")
    await subscribe(store, "/storage/", "bob@example")
    made, caught, _ = publisher(store)
    await made.start()
    made.connectionInitialized()
    await store.apply([Delete("s1")])
    assert shape(ET.fromstring(caught.sent[-1])) == shape(ET.fromstring(
        deleteNotification(SERVICE, "alice@example", "/storage/s1")))
    assert await store.subscriptions("/storage/s1") == []
    assert len(await store.subscriptions("/storage/")) == 1


class FailingOnce:
    """The memory store, but its first ``eventsAfter`` fails."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def eventsAfter(self, after: int, limit: int) -> Deferred[list[Event]]:
        if not self.failed:
            self.failed = True
            return fail(OSError("the store is away"))
        return self.store.eventsAfter(after, limit)


@pytest_twisted.ensureDeferred
async def test_a_store_failure_is_retried(store: MemoryStore) -> None:
    entity = await createStorage(store, "s1")
    await subscribe(store, "/storage/s1", "alice@example")
    made, caught, clock = publisher(FailingOnce(store))
    await made.start()
    await touch(store, entity, "sent once the store answers")
    made.connectionInitialized()
    assert caught.sent == []
    clock.advance(made.retryDelay)
    [latest] = (await newEvents(store, 0))[-1:]
    assert caught.items() == [("alice@example", "/storage/s1", latest.id)]
    await made.stop()
    assert not clock.getDelayedCalls()


def test_notifications_are_well_formed_whatever_the_names() -> None:
    odd = "/storage/a'b\"c<&>"
    stanza = itemsNotification(SERVICE, "o'neil@example/x\"y", odd, "id'1", "<x xmlns='y'/>")
    message = ET.fromstring(stanza)
    assert message.get("to") == "o'neil@example/x\"y" and message.get("type") == "headline"
    items = message.find(NS_EVENT_ITEMS)
    assert items is not None and items.get("node") == odd
    assert [item.get("id") for item in items] == ["id'1"]
    gone = ET.fromstring(deleteNotification(SERVICE, "a@example", odd))
    assert gone[0][0].get("node") == odd


@pytest_twisted.ensureDeferred
async def test_an_entry_that_cannot_be_made_holds_up_nothing(store: MemoryStore) -> None:
    entity = await createStorage(store, "s1")
    await subscribe(store, "/storage/s1", "alice@example")
    clock = Clock()
    bad: set[str] = set()

    def fragile(event: Event) -> str:
        if event.id in bad:
            raise ValueError("cannot render this one")
        return entryOf(event)

    made = EventPublisher(store, SERVICE, fragile, clock=clock)
    caught = Caught()
    made.parent = caught
    await made.start()
    entity = await touch(store, entity, "bad")
    bad.add((await newEvents(store, 0))[-1].id)
    made.connectionInitialized()
    entity = await touch(store, entity, "good")
    [good] = (await newEvents(store, 0))[-1:]
    assert caught.items() == [("alice@example", "/storage/s1", good.id)]
    assert not clock.getDelayedCalls()


@pytest_twisted.ensureDeferred
async def test_notifications_are_written_together(store: MemoryStore) -> None:
    entity = await createStorage(store, "s1")
    for n in range(10):
        await subscribe(store, "/storage/s1", f"user{n}@example")
    made, caught, _ = publisher(store)
    await made.start()
    for n in range(3):
        entity = await touch(store, entity, f"change {n}")
    made.connectionInitialized()
    assert (len(caught.sent), caught.writes) == (30, 1)
    made.writeSize = 1
    await touch(store, entity, "one write per event now")
    assert (len(caught.sent), caught.writes) == (40, 2)


class Transport:
    """A stream's transport, as far as flow control goes: the producer registered."""

    def __init__(self) -> None:
        self.producer: Any = None
        self.streaming: bool | None = None
        self.bufferSize = 1 << 16

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self.producer, self.streaming = producer, streaming


class Stream:
    def __init__(self) -> None:
        self.transport = Transport()


@pytest_twisted.ensureDeferred
async def test_a_full_transport_pauses_it_and_the_backlog_waits_in_the_store(
        store: MemoryStore) -> None:
    entity = await createStorage(store, "s1")
    await subscribe(store, "/storage/s1", "alice@example")
    made, caught, _ = publisher(store, batch=2)
    made.writeSize = 1  # one write per event
    stream = Stream()
    made.makeConnection(stream)
    await made.start()
    made.connectionInitialized()
    assert (stream.transport.producer, stream.transport.streaming) == (made, True)

    made.pauseProducing()
    for n in range(5):
        entity = await touch(store, entity, f"while paused {n}")
    assert caught.sent == []

    # The buffer fills again after the first write: the batch (of two) ends there, at a
    # whole event; the next write fills it again.
    send = caught.send

    def filling(data: str) -> None:
        send(data)
        if caught.writes in (1, 2):
            made.pauseProducing()

    caught.send = filling  # type: ignore[method-assign]
    made.resumeProducing()
    events = (await newEvents(store, 0))[1:]
    assert [itemId for _, _, itemId in caught.items()] == [e.id for e in events[:1]]
    made.resumeProducing()
    assert [itemId for _, _, itemId in caught.items()] == [e.id for e in events[:2]]
    made.resumeProducing()
    assert [itemId for _, _, itemId in caught.items()] == [e.id for e in events]
    entity = await touch(store, entity, "flowing again")
    assert len(caught.items()) == 6
    assert stream.transport.bufferSize == made.transportBuffer


class CountingReads:
    """The memory store, counting its ``subscriptions`` reads."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def subscriptions(self, node: str | None = None, jid: str | None = None
                      ) -> Deferred[list[Subscription]]:
        self.reads += 1
        return self.store.subscriptions(node, jid)


@pytest_twisted.ensureDeferred
async def test_subscribers_are_read_once_until_forgotten_or_stale(store: MemoryStore) -> None:
    entity = await createStorage(store, "s1")
    await subscribe(store, "/storage/s1", "alice@example")
    counting = CountingReads(store)
    made, caught, clock = publisher(counting)
    await made.start()
    made.connectionInitialized()
    entity = await touch(store, entity, "one")
    assert counting.reads == 3  # the entity's node, its collection's and "/"
    entity = await touch(store, entity, "two")
    assert counting.reads == 3
    assert [to for to, _, _ in caught.items()] == ["alice@example"] * 2

    # A subscription the resource stored, and said so.
    await subscribe(store, "/storage/s1", "bob@example")
    made.forget("/storage/s1")
    entity = await touch(store, entity, "three")
    assert counting.reads == 4
    assert [to for to, _, _ in caught.items()][-2:] == ["alice@example", "bob@example"]

    # One stored behind its back is seen once the kept list is stale.
    await subscribe(store, "/storage/s1", "carol@example")
    entity = await touch(store, entity, "four")
    assert "carol@example" not in {to for to, _, _ in caught.items()}
    clock.advance(made.subscribersTTL + 0.1)
    entity = await touch(store, entity, "five")
    assert [to for to, _, _ in caught.items()][-3:] == [
        "alice@example", "bob@example", "carol@example"]
    # A new stream reads everything afresh.
    made.connectionLost(Failure(ConnectionError("gone")))
    made.connectionInitialized()
    await touch(store, entity, "six")
    assert counting.reads == 4 + 3 + 3
