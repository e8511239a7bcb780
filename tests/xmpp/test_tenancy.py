"""Tenancy of the pubsub service, on a memory store with wokkel's request handling and the
publisher's stanzas caught: who may subscribe to, ask the options of and read which node,
what each subscriber of ``/`` and of a collection is sent, and who a JID is after a reload."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import pytest_twisted
from twisted.internet.task import Clock
from twisted.words.protocols.jabber.jid import JID
from wokkel.pubsub import NS_PUBSUB_EVENT

from occi_twisted.identity import ADMIN, Principal
from occi_twisted.model.events import Subscription
from occi_twisted.store.interface import Delete
from occi_twisted.store.memory import MemoryStore
from occi_twisted.xmpp import EventPubSubResource, Nodes, storeNodes

from .support import createStorage, entryOf, newEvents, touch
from .test_publisher import publisher
from .test_resource import SERVICE, Service, condition

FORBIDDEN = ("forbidden",)


class Users:
    """``whoIs`` over a table the test changes, as a reload of the users would; it counts
    how often it is asked."""

    def __init__(self) -> None:
        self.byJID = {
            "alice@example": Principal(name="alice", jid="alice@example"),
            "bob@example": Principal(name="bob", jid="bob@example"),
            "root@example": Principal(name="root", role=ADMIN, jid="root@example"),
        }
        self.asked = 0

    def whoIs(self, jid: str) -> Principal | None:
        self.asked += 1
        return self.byJID.get(jid.lower())


@pytest.fixture
def users() -> Users:
    return Users()


@pytest.fixture
def service(store: MemoryStore, users: Users) -> Service:
    return Service(store, users.whoIs)


async def twoTenants(store: MemoryStore) -> None:
    """Alice's storage ``a1`` and Bob's ``b1``, each changed once."""
    alices = await createStorage(store, "a1", owner="alice")
    bobs = await createStorage(store, "b1", owner="bob")
    await touch(store, alices, "alice's change")
    await touch(store, bobs, "bob's change")


def subscribing(service: Service, who: str, node: str) -> tuple[str, ...]:
    return condition(service.ask(f"{who}/x", f"<subscribe node='{node}' jid='{who}'/>"))


def itemIds(service: Service, who: str, node: str, extra: str = "") -> list[str]:
    answer = service.ask(f"{who}/x", f"<items node='{node}'{extra}/>", iqType="get")
    assert answer["type"] == "result", answer.toXml()
    return [item["id"] for item in answer.pubsub.items.elements()]


@pytest_twisted.ensureDeferred
async def test_entity_nodes_are_for_their_owner_and_admins(store: MemoryStore,
                                                           service: Service) -> None:
    await twoTenants(store)
    assert subscribing(service, "alice@example", "/storage/a1") == ()
    assert subscribing(service, "bob@example", "/storage/a1") == FORBIDDEN
    assert subscribing(service, "Root@Example", "/storage/a1") == ()
    assert subscribing(service, "bob@example", "/storage/nothing") == ("item-not-found",)
    for node in ("/", "/storage/", "/compute/"):
        assert subscribing(service, "bob@example", node) == ()
    assert sorted(s.jid for s in await store.subscriptions("/storage/a1")) == [
        "alice@example", "root@example"]


@pytest_twisted.ensureDeferred
async def test_a_jid_that_is_nobodys_is_forbidden_everything_but_disco(
        store: MemoryStore, service: Service) -> None:
    await twoTenants(store)
    for node in ("/", "/storage/", "/storage/a1", "/storage/nothing"):
        assert subscribing(service, "mallory@example", node) == FORBIDDEN
        items = service.ask("mallory@example/x", f"<items node='{node}'/>", iqType="get")
        assert condition(items) == FORBIDDEN
        options = service.ask("mallory@example/x",
                              f"<options node='{node}' jid='mallory@example'/>", iqType="get")
        assert condition(options) == FORBIDDEN
    assert await store.subscriptions(jid="mallory@example") == []
    info = await service.service.getDiscoInfo(JID("mallory@example/x"), JID(SERVICE), "/")
    assert info
    # Leaving is never refused (nothing to leave here).
    left = service.ask("mallory@example/x", "<unsubscribe node='/' jid='mallory@example'/>")
    assert condition(left) == ("unexpected-request", "not-subscribed")


@pytest_twisted.ensureDeferred
async def test_options_of_another_users_entity_node_are_forbidden(
        store: MemoryStore, service: Service, users: Users) -> None:
    await twoTenants(store)
    assert subscribing(service, "alice@example", "/storage/a1") == ()
    mine = service.ask("alice@example/x", "<options node='/storage/a1' jid='alice@example'/>",
                       iqType="get")
    assert condition(mine) == ()
    theirs = service.ask("bob@example/x", "<options node='/storage/a1' jid='bob@example'/>",
                         iqType="get")
    assert condition(theirs) == FORBIDDEN
    # Alice's JID is Bob's now: her subscription's options are no longer hers to see.
    users.byJID["alice@example"] = users.byJID["bob@example"]
    again = service.ask("alice@example/x", "<options node='/storage/a1' jid='alice@example'/>",
                        iqType="get")
    assert condition(again) == FORBIDDEN


@pytest_twisted.ensureDeferred
async def test_the_history_of_the_root_and_collections_is_each_readers_own(
        store: MemoryStore, service: Service) -> None:
    await twoTenants(store)
    events = await newEvents(store, 0)
    newestFirst = [e.id for e in reversed(events)]
    alices = [e.id for e in reversed(events) if e.owner == "alice"]
    bobs = [e.id for e in reversed(events) if e.owner == "bob"]
    for node in ("/", "/storage/"):
        assert itemIds(service, "alice@example", node) == alices
        assert itemIds(service, "bob@example", node) == bobs
        assert itemIds(service, "root@example", node) == newestFirst
        assert itemIds(service, "bob@example", node, " max_items='1'") == bobs[:1]
    assert itemIds(service, "alice@example", "/compute/") == []
    assert itemIds(service, "alice@example", "/storage/a1") == alices
    theirs = service.ask("bob@example/x", "<items node='/storage/a1'/>", iqType="get")
    assert condition(theirs) == FORBIDDEN
    # Items by id: only one's own, even when named.
    named = "".join(f"<item id='{itemId}'/>" for itemId in newestFirst)
    answer = service.ask("bob@example/x", f"<items node='/'>{named}</items>", iqType="get")
    assert [item["id"] for item in answer.pubsub.items.elements()] == bobs


@pytest_twisted.ensureDeferred
async def test_a_users_history_is_found_beneath_others_up_to_a_bound(
        store: MemoryStore, service: Service) -> None:
    await createStorage(store, "a1", owner="alice")
    bobs = await createStorage(store, "b1", owner="bob")
    for n in range(120):  # pages of 50 hold none of Alice's
        bobs = await touch(store, bobs, f"change {n}")
    [alices] = [e.id for e in await newEvents(store, 0) if e.owner == "alice"]
    assert itemIds(service, "alice@example", "/", " max_items='1'") == [alices]
    assert itemIds(service, "alice@example", "/storage/") == [alices]
    service.resource.historyScan = 100
    assert itemIds(service, "alice@example", "/", " max_items='1'") == []


@pytest_twisted.ensureDeferred
async def test_a_deleted_entitys_history_stays_its_owners(store: MemoryStore,
                                                          service: Service) -> None:
    await twoTenants(store)
    await store.apply([Delete("a1")])
    alices = [e.id for e in reversed(await newEvents(store, 0)) if e.location == "/storage/a1"]
    assert itemIds(service, "alice@example", "/storage/a1") == alices
    gone = service.ask("bob@example/x", "<items node='/storage/a1'/>", iqType="get")
    assert condition(gone) == ("item-not-found",)


@pytest_twisted.ensureDeferred
async def test_disco_items_list_only_the_requesters_entity_nodes(
        store: MemoryStore, service: Service) -> None:
    await twoTenants(store)

    async def listed(who: str, node: str) -> list[str]:
        found = await service.service.getDiscoItems(JID(f"{who}/x"), JID(SERVICE), node)
        return sorted(item.nodeIdentifier for item in found)

    assert await listed("alice@example", "/storage/") == ["/storage/a1"]
    assert await listed("bob@example", "/storage/") == ["/storage/b1"]
    assert await listed("root@example", "/storage/") == ["/storage/a1", "/storage/b1"]
    assert await listed("mallory@example", "/storage/") == []
    for who in ("alice@example", "mallory@example"):
        assert "/storage/" in await listed(who, "/")
        assert "/" in await listed(who, "")


def test_with_users_the_nodes_must_know_their_owners(store: MemoryStore, users: Users) -> None:
    nodes = storeNodes(store)
    with pytest.raises(ValueError, match="owners"):
        EventPubSubResource(store, Nodes(nodes.exists, nodes.children), entryOf,
                            clock=Clock(), whoIs=users.whoIs)


# -- the publisher ------------------------------------------------------------------------


async def subscribeAll(store: MemoryStore, node: str, *jids: str) -> None:
    for jid in jids:
        await store.subscribe(Subscription(node, jid, f"{node}-{jid}"))


EVERYONE = ("alice@example", "bob@example/phone", "root@example", "mallory@example")


@pytest_twisted.ensureDeferred
async def test_each_subscriber_of_the_root_is_sent_what_it_may_read(
        store: MemoryStore, users: Users) -> None:
    made, caught, _ = publisher(store, whoIs=users.whoIs)
    await made.start()
    made.connectionInitialized()
    await subscribeAll(store, "/", *EVERYONE)
    await subscribeAll(store, "/storage/", *EVERYONE)
    await twoTenants(store)
    events = await newEvents(store, 0)

    def sentTo(jid: str) -> list[tuple[str, str]]:
        return [(node, itemId) for to, node, itemId in caught.items() if to == jid]

    def expected(owners: set[str]) -> list[tuple[str, str]]:
        return [(node, e.id) for e in events if e.owner in owners
                for node in ("/storage/", "/")]

    assert sorted(sentTo("alice@example")) == sorted(expected({"alice"}))
    assert sorted(sentTo("bob@example/phone")) == sorted(expected({"bob"}))
    assert sorted(sentTo("root@example")) == sorted(expected({"alice", "bob"}))
    assert sentTo("mallory@example") == []


@pytest_twisted.ensureDeferred
async def test_who_a_subscriber_is_is_decided_once_until_forgotten(
        store: MemoryStore, users: Users) -> None:
    alices = await createStorage(store, "a1", owner="alice")
    made, caught, _ = publisher(store, whoIs=users.whoIs)
    await made.start()
    made.connectionInitialized()
    # Bob on Alice's node (stored behind the resource's back): sent nothing of it.
    await subscribeAll(store, "/storage/a1", "alice@example", "bob@example")
    users.asked = 0
    for n in range(5):
        alices = await touch(store, alices, f"change {n}")
    assert {to for to, _, _ in caught.items()} == {"alice@example"}
    assert users.asked == 2  # once per subscriber, not per event

    # A reload gave Alice's JID to Bob, and Bob's to Alice.
    users.byJID["alice@example"], users.byJID["bob@example"] = (
        users.byJID["bob@example"], users.byJID["alice@example"])
    made.forget()
    alices = await touch(store, alices, "after the reload")
    assert caught.items()[-1][0] == "bob@example"
    assert len(caught.items()) == 6


@pytest_twisted.ensureDeferred
async def test_a_deleted_node_is_told_to_those_who_may_read_it(
        store: MemoryStore, users: Users) -> None:
    await createStorage(store, "a1", owner="alice")
    await subscribeAll(store, "/storage/a1", "alice@example", "bob@example", "root@example")
    made, caught, _ = publisher(store, whoIs=users.whoIs)
    await made.start()
    made.connectionInitialized()
    await store.apply([Delete("a1")])
    deleted = f"{{{NS_PUBSUB_EVENT}}}event/{{{NS_PUBSUB_EVENT}}}delete"
    told = [ET.fromstring(stanza) for stanza in caught.sent]
    assert sorted(message.get("to", "") for message in told
                  if message.find(deleted) is not None) == ["alice@example", "root@example"]
    assert await store.subscriptions("/storage/a1") == []
