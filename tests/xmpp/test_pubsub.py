"""The pubsub service against a real Prosody, with slixmpp subscribers: discovery,
subscriptions and their options, notifications in order with the Atom entry as payload, the
stored history, and a Prosody restart in the middle of it all."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import pytest_twisted
from slixmpp.exceptions import IqError

from occi_twisted.model.events import Event, EventType
from occi_twisted.renderings.atom import entryElement
from occi_twisted.renderings.document import RenderContext
from occi_twisted.store.memory import MemoryStore
from occi_twisted.xmpp import COLLECTIONS, XMPPPubSub

from .conftest import BASE
from .prosody import Prosody
from .subscriber import Notification, Subscriber
from .support import (
    Erase,
    createStorage,
    deferred,
    lastSeq,
    newEvents,
    parsed,
    shape,
    sleep,
    touch,
    until,
)

Subscribers = Callable[[str], Subscriber]
ATOM = "http://www.w3.org/2005/Atom"


def entryShape(store: MemoryStore, event: Event) -> object:
    """The entry the feeds serve for ``event``, as :func:`.support.shape` sees it."""
    return shape(parsed(entryElement(event, RenderContext(BASE), store.registry)))


async def iqError(future: object) -> IqError:
    with pytest.raises(IqError) as caught:
        await deferred(future)  # type: ignore[arg-type]
    return caught.value


@pytest_twisted.ensureDeferred
async def test_disco_info_of_the_service_and_of_nodes(
        pubsub: XMPPPubSub, store: MemoryStore, subscribers: Subscribers) -> None:
    alice = subscribers("alice")
    info = await deferred(alice.discoInfo())
    assert ("pubsub", "service", "OCCI events") in info.identities
    pubsubFeatures = {f for f in info.features if f.startswith("http://jabber.org/protocol/pubsub")}
    assert {"http://jabber.org/protocol/pubsub#subscribe",
            "http://jabber.org/protocol/pubsub#retrieve-items",
            "http://jabber.org/protocol/pubsub#subscription-options"} <= pubsubFeatures
    assert "http://jabber.org/protocol/disco#items" in info.features

    root = await deferred(alice.discoInfo("/"))
    assert ("pubsub", "collection", None) in root.identities
    assert root.metaData["pubsub#type"] == ATOM

    await createStorage(store, "s1")
    leaf = await deferred(alice.discoInfo("/storage/s1"))
    assert ("pubsub", "leaf", None) in leaf.identities
    assert leaf.metaData["pubsub#title"] == "Events of /storage/s1"

    missing = await iqError(alice.discoInfo("/storage/nothing-here"))
    assert missing.condition == "item-not-found"


@pytest_twisted.ensureDeferred
async def test_disco_items_list_the_node_tree(
        pubsub: XMPPPubSub, store: MemoryStore, subscribers: Subscribers) -> None:
    await createStorage(store, "s1")
    await createStorage(store, "s2")
    alice = subscribers("alice")
    # (slixmpp keeps disco items in a set: their order is lost.)
    assert sorted(await deferred(alice.discoItems())) == sorted(["/", *COLLECTIONS])
    assert sorted(await deferred(alice.discoItems("/"))) == sorted(COLLECTIONS)
    assert sorted(await deferred(alice.discoItems("/storage/"))) == ["/storage/s1",
                                                                      "/storage/s2"]
    assert await deferred(alice.discoItems("/compute/")) == []
    assert await deferred(alice.discoItems("/storage/s1")) == []


@pytest_twisted.ensureDeferred
async def test_notifications_of_a_storage_in_order_with_their_atom_entries(
        pubsub: XMPPPubSub, store: MemoryStore, subscribers: Subscribers) -> None:
    entity = await createStorage(store, "s1")
    before = await lastSeq(store)
    alice = subscribers("alice")
    subscription = await deferred(alice.subscribe("/storage/s1"))
    assert subscription.get("subscription") == "subscribed"
    assert subscription.get("jid") == "alice@localhost" and subscription.get("subid")

    erase = Erase(store, "s1", passes=3)
    await erase.queue()
    await erase.start()
    for done in range(1, 4):
        await erase.progress(done)
    await erase.finish()
    entity = await touch(store, entity, "erased")
    events = await newEvents(store, before)
    assert [e.type for e in events] == [
        EventType.QUEUED, EventType.STARTED, EventType.PROGRESS, EventType.PROGRESS,
        EventType.PROGRESS, EventType.SUCCEEDED, EventType.UPDATED]

    received = await deferred(alice.waitForNotifications(len(events)))
    assert [(n.node, n.itemId) for n in received] == [("/storage/s1", e.id) for e in events]
    assert [shape(n.payload) for n in received] == [entryShape(store, e) for e in events]
    await sleep(0.2)
    assert len(alice.notifications) == len(events), "no duplicates"


@pytest_twisted.ensureDeferred
async def test_collections_and_root_get_what_is_published_beneath_them(
        pubsub: XMPPPubSub, store: MemoryStore, subscribers: Subscribers) -> None:
    alice, bob = subscribers("alice"), subscribers("bob")
    await deferred(alice.subscribe("/storage/"))
    await deferred(bob.subscribe("/"))
    await createStorage(store, "s1")
    await createStorage(store, "s2")
    events = await newEvents(store, 0)
    for who, node in ((alice, "/storage/"), (bob, "/")):
        received = await deferred(who.waitForNotifications(2))
        assert received == [Notification(node, e.id, received[i].payload)
                            for i, e in enumerate(events)]


@pytest_twisted.ensureDeferred
async def test_unsubscribe_stops_notifications(
        pubsub: XMPPPubSub, store: MemoryStore, subscribers: Subscribers) -> None:
    entity = await createStorage(store, "s1")
    alice = subscribers("alice")
    await deferred(alice.subscribe("/storage/s1"))
    entity = await touch(store, entity, "one")
    await deferred(alice.waitForNotifications(1))
    await deferred(alice.unsubscribe("/storage/s1"))
    assert await store.subscriptions("/storage/s1") == []
    await touch(store, entity, "two")
    await sleep(0.3)
    assert len(alice.notifications) == 1
    notSubscribed = await iqError(alice.unsubscribe("/storage/s1"))
    assert notSubscribed.condition == "unexpected-request"


@pytest_twisted.ensureDeferred
async def test_only_nodes_that_exist_can_be_subscribed(
        pubsub: XMPPPubSub, subscribers: Subscribers) -> None:
    alice = subscribers("alice")
    missing = await iqError(alice.subscribe("/storage/none"))
    assert missing.condition == "item-not-found"
    for node in ("/", "/compute/", "/networkinterface/"):
        assert (await deferred(alice.subscribe(node))).get("subscription") == "subscribed"


@pytest_twisted.ensureDeferred
async def test_subscription_options(
        pubsub: XMPPPubSub, store: MemoryStore, subscribers: Subscribers) -> None:
    entity = await createStorage(store, "s1")
    alice = subscribers("alice")
    await deferred(alice.subscribe("/storage/s1", {"pubsub#digest": "0"}))
    options = await deferred(alice.options("/storage/s1"))
    assert options["pubsub#deliver"] == ["true"]
    assert options["pubsub#digest"] == ["0"]

    await deferred(alice.setOptions("/storage/s1", {"pubsub#deliver": "0"}))
    [kept] = await store.subscriptions("/storage/s1")
    assert dict(kept.options) == {"pubsub#digest": "0", "pubsub#deliver": "0"}
    assert (await deferred(alice.options("/storage/s1")))["pubsub#deliver"] == ["false"]
    entity = await touch(store, entity, "quiet")
    await sleep(0.3)
    assert alice.notifications == []

    await deferred(alice.setOptions("/storage/s1", {"pubsub#deliver": "1"}))
    await touch(store, entity, "loud")
    [heard] = await deferred(alice.waitForNotifications(1))
    assert heard.itemId == (await newEvents(store, 0))[-1].id

    notSubscribed = await iqError(alice.options("/storage/"))
    assert notSubscribed.condition == "unexpected-request"


@pytest_twisted.ensureDeferred
async def test_items_retrieval_returns_the_history_newest_first(
        pubsub: XMPPPubSub, store: MemoryStore, subscribers: Subscribers) -> None:
    entity = await createStorage(store, "s1")
    other = await createStorage(store, "s2")
    for n in range(4):
        entity = await touch(store, entity, f"change {n}")
    await touch(store, other, "elsewhere")
    history = [e for e in await newEvents(store, 0) if e.location == "/storage/s1"]
    alice = subscribers("alice")

    items = await deferred(alice.items("/storage/s1"))
    assert [itemId for itemId, _ in items] == [e.id for e in reversed(history)]
    assert [shape(p) for _, p in items] == [entryShape(store, e) for e in reversed(history)]
    latest = await deferred(alice.items("/storage/s1", maxItems=2))
    assert [itemId for itemId, _ in latest] == [e.id for e in reversed(history)][:2]
    everything = await deferred(alice.items("/"))
    assert len(everything) == len(await newEvents(store, 0))
    assert await deferred(alice.items("/compute/")) == []
    missing = await iqError(alice.items("/storage/none"))
    assert missing.condition == "item-not-found"


@pytest_twisted.ensureDeferred
async def test_a_deleted_entity_takes_its_node_and_subscriptions(
        pubsub: XMPPPubSub, store: MemoryStore, subscribers: Subscribers) -> None:
    from occi_twisted.store.interface import Delete

    await createStorage(store, "s1")
    alice = subscribers("alice")
    await deferred(alice.subscribe("/storage/s1"))
    await store.apply([Delete("s1")])
    [deleted] = await deferred(alice.waitForNotifications(1))
    assert deleted.itemId == (await newEvents(store, 0))[-1].id
    await until(lambda: bool(alice.deletions))
    assert alice.deletions == ["/storage/s1"]
    assert await store.subscriptions("/storage/s1") == []
    # Its history stays readable.
    assert len(await deferred(alice.items("/storage/s1"))) == 2


@pytest_twisted.ensureDeferred
async def test_prosody_restart_mid_way(
        pubsub: XMPPPubSub, prosody: Prosody, store: MemoryStore,
        subscribers: Subscribers) -> None:
    """The component and the subscriber both reconnect by themselves; the events after
    that arrive, and the ones during the outage are in the history."""
    await createStorage(store, "s1")
    alice = subscribers("alice")
    await deferred(alice.subscribe("/storage/s1"))
    erase = Erase(store, "s1", passes=3)
    await erase.queue()
    await erase.start()
    await erase.progress(1)
    before = await deferred(alice.waitForNotifications(3))
    # Once the XMPP server has confirmed them, they are not sent again after its restart.
    await until(lambda: pubsub.publisher.confirmed == pubsub.publisher.cursor)

    prosody.stop()
    await until(lambda: not pubsub.component.initialized)
    await erase.progress(2)  # while the XMPP server is down
    outage = (await newEvents(store, 0))[-1]
    prosody.start()

    await pubsub.component.whenInitialized()
    await deferred(alice.waitOnline(sessions=2))
    await erase.progress(3)
    await erase.finish()
    history = await newEvents(store, 0)
    after = history[-2:]

    await deferred(alice.waitForNotifications(len(before) + 2))
    await until(lambda: alice.notifications[-1].itemId == after[-1].id)
    ids = [n.itemId for n in alice.notifications]
    # The outage's event may come too, if the subscriber was back before the component.
    earlier = [n.itemId for n in before]
    assert ids in (earlier + [e.id for e in after], earlier + [outage.id] + [e.id for e in after])
    items = await deferred(alice.items("/storage/s1"))
    assert [itemId for itemId, _ in items] == [e.id for e in reversed(history)
                                               if e.location == "/storage/s1"]
    assert outage.id in {itemId for itemId, _ in items}
