"""XEP-0060 requests the subscriber tests do not reach, through wokkel's request handling and
our resource, on a memory store: who may (un)subscribe whom, subscription ids, re-subscribing,
the requester's subscriptions, items by id."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
import pytest_twisted
from twisted.internet.task import Clock
from wokkel.generic import parseXml
from wokkel.pubsub import NS_PUBSUB, PubSubService

from occi_twisted.model import Registry
from occi_twisted.store.interface import Delete
from occi_twisted.store.memory import MemoryStore
from occi_twisted.xmpp import EventPubSubResource, Nodes, WhoIs, storeNodes

from .support import createStorage, entryOf, newEvents, touch

SERVICE = "pubsub.example"


@pytest.fixture
def store() -> Iterator[MemoryStore]:
    opened = MemoryStore(Registry.standard())
    pytest_twisted.blockon(opened.start())
    yield opened
    pytest_twisted.blockon(opened.stop())


class Service:
    """wokkel's pubsub service with our resource; each request's answer is caught."""

    def __init__(self, store: MemoryStore, whoIs: WhoIs | None = None) -> None:
        nodes = storeNodes(store)
        self.resource = EventPubSubResource(
            store, Nodes(nodes.exists, nodes.children, nodeOwner=nodes.owner), entryOf,
            clock=Clock(), whoIs=whoIs)
        #: The nodes the resource said it changed the subscriptions of.
        self.changed: list[str] = []
        self.resource.changed = self.changed.append
        self.service = PubSubService(self.resource)
        self.sent: list[Any] = []
        self.service.send = self.sent.append

    def ask(self, sender: str, verb: str, *, iqType: str = "set", extra: str = "") -> Any:
        self.service.handleRequest(parseXml(
            f"<iq type='{iqType}' to='{SERVICE}' from='{sender}' id='q1'>"
            f"<pubsub xmlns='{NS_PUBSUB}'>{verb}</pubsub>{extra}</iq>"))
        return self.sent.pop()


def condition(answer: Any) -> tuple[str, ...]:
    """The error conditions of an answer, ``()`` for a result."""
    if answer["type"] == "result":
        return ()
    return tuple(child.name for child in answer.error.elements() if child.name != "text")


def subscriptionOf(answer: Any) -> Any:
    assert answer["type"] == "result", answer.toXml()
    return answer.pubsub.subscription


@pytest.fixture
def service(store: MemoryStore) -> Service:
    return Service(store)


@pytest_twisted.ensureDeferred
async def test_only_ones_own_jid_may_be_subscribed(store: MemoryStore, service: Service) -> None:
    await createStorage(store, "s1")
    refused = service.ask("mallory@example/x",
                          "<subscribe node='/storage/s1' jid='alice@example'/>")
    assert condition(refused) == ("bad-request", "invalid-jid")
    full = subscriptionOf(service.ask("alice@example/phone",
                                      "<subscribe node='/storage/s1' jid='alice@example/phone'/>"))
    assert full["jid"] == "alice@example/phone"
    [kept] = await store.subscriptions("/storage/s1")
    assert kept.jid == "alice@example/phone" and kept.subid == full["subid"]
    missing = service.ask("alice@example/phone", "<subscribe jid='alice@example'/>")
    assert condition(missing) == ("bad-request", "nodeid-required")


@pytest_twisted.ensureDeferred
async def test_subscribing_again_keeps_the_subscription(store: MemoryStore,
                                                        service: Service) -> None:
    first = subscriptionOf(service.ask(
        "alice@example/x", "<subscribe node='/' jid='alice@example'/>",
        extra=""))
    options = ("<options><x xmlns='jabber:x:data' type='submit'>"
               "<field var='FORM_TYPE' type='hidden'>"
               "<value>http://jabber.org/protocol/pubsub#subscribe_options</value></field>"
               "<field var='pubsub#deliver'><value>0</value></field></x></options>")
    withOptions = subscriptionOf(service.ask(
        "alice@example/x", f"<subscribe node='/' jid='alice@example'/>{options}"))
    again = subscriptionOf(service.ask("alice@example/x",
                                       "<subscribe node='/' jid='alice@example'/>"))
    assert first["subid"] == withOptions["subid"] == again["subid"]
    [kept] = await store.subscriptions("/")
    assert dict(kept.options) == {"pubsub#deliver": "0"}


@pytest_twisted.ensureDeferred
async def test_unsubscribe_checks_the_subid_and_outlives_the_node(
        store: MemoryStore, service: Service) -> None:
    await createStorage(store, "s1")
    subid = subscriptionOf(service.ask(
        "alice@example/x", "<subscribe node='/storage/s1' jid='alice@example'/>"))["subid"]
    wrong = service.ask("alice@example/x",
                        "<unsubscribe node='/storage/s1' jid='alice@example' subid='nope'/>")
    assert condition(wrong) == ("not-acceptable", "invalid-subid")
    other = service.ask("bob@example/x", "<unsubscribe node='/storage/s1' jid='alice@example'/>")
    assert condition(other) == ("bad-request", "invalid-jid")
    await store.apply([Delete("s1")])  # (no publisher here: the subscription stays)
    gone = service.ask("alice@example/x",
                       f"<unsubscribe node='/storage/s1' jid='alice@example' subid='{subid}'/>")
    assert condition(gone) == ()
    again = service.ask("alice@example/x",
                        "<unsubscribe node='/storage/s1' jid='alice@example'/>")
    assert condition(again) == ("item-not-found",)


@pytest_twisted.ensureDeferred
async def test_the_requesters_subscriptions(store: MemoryStore, service: Service) -> None:
    await createStorage(store, "s1")
    service.ask("alice@example/x", "<subscribe node='/storage/s1' jid='alice@example'/>")
    service.ask("alice@example/x", "<subscribe node='/' jid='alice@example/x'/>")
    service.ask("bob@example/y", "<subscribe node='/' jid='bob@example'/>")
    answer = service.ask("alice@example/x", "<subscriptions/>", iqType="get")
    listed = sorted((s["node"], s["jid"]) for s in answer.pubsub.subscriptions.elements())
    assert listed == [("/", "alice@example/x"), ("/storage/s1", "alice@example")]


@pytest_twisted.ensureDeferred
async def test_items_by_id_only_from_that_node(store: MemoryStore, service: Service) -> None:
    entity = await createStorage(store, "s1")
    await createStorage(store, "s2")
    await touch(store, entity, "changed")
    created1, created2, changed1 = await newEvents(store, 0)
    answer = service.ask(
        "alice@example/x", f"<items node='/storage/s1'><item id='{changed1.id}'/>"
        f"<item id='{created2.id}'/><item id='{created1.id}'/></items>", iqType="get")
    items = [item["id"] for item in answer.pubsub.items.elements()]
    assert items == [changed1.id, created1.id]
    # The entry is written as text (once per event, however many get it).
    first = ET.fromstring(next(answer.pubsub.items.elements()).toXml())
    assert [child.tag for child in first] == ["{http://www.w3.org/2005/Atom}entry"]
    zero = service.ask("alice@example/x", "<items node='/' max_items='0'/>", iqType="get")
    assert condition(zero) == ("bad-request",)


def test_nobody_publishes_or_creates_over_xmpp(service: Service) -> None:
    for verb in ("<publish node='/'><item/></publish>", "<create node='/mine'/>"):
        refused = service.ask("alice@example/x", verb)
        assert condition(refused) == ("feature-not-implemented", "unsupported")


@pytest_twisted.ensureDeferred
async def test_each_stored_change_of_subscriptions_is_told(store: MemoryStore,
                                                          service: Service) -> None:
    """The publisher keeps each node's subscribers: it must hear of every change."""
    await createStorage(store, "s1")
    subid = subscriptionOf(service.ask(
        "alice@example/x", "<subscribe node='/storage/s1' jid='alice@example'/>"))["subid"]
    assert service.changed == ["/storage/s1"]
    refused = service.ask("bob@example/x", "<subscribe node='/storage/s1' jid='alice@example'/>")
    assert condition(refused) and service.changed == ["/storage/s1"]
    answer = service.ask("alice@example/x", "<options node='/storage/s1' jid='alice@example'/>",
                         iqType="get")
    assert condition(answer) == () and service.changed == ["/storage/s1"]
    form = ("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>"
            "<value>http://jabber.org/protocol/pubsub#subscribe_options</value></field>"
            "<field var='pubsub#deliver'><value>0</value></field></x>")
    answer = service.ask("alice@example/x",
                         f"<options node='/storage/s1' jid='alice@example'>{form}</options>")
    assert condition(answer) == ()
    assert service.changed == ["/storage/s1"] * 2
    service.ask("alice@example/x",
                f"<unsubscribe node='/storage/s1' jid='alice@example' subid='{subid}'/>")
    assert service.changed == ["/storage/s1"] * 3
    assert await store.subscriptions("/storage/s1") == []
