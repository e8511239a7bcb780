"""Two nodes on one store and one component JID: the XMPP server lets one in, and when it
dies the other takes over from the position the first had confirmed -- against a real
Prosody, with a slixmpp subscriber counting what it receives."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import pytest_twisted
from twisted.internet import reactor

from occi_twisted.store.memory import MemoryStore
from occi_twisted.xmpp import XMPPPubSub

from .conftest import startedPubSub
from .prosody import Prosody
from .subscriber import Subscriber
from .support import createStorage, deferred, newEvents, sleep, touch, until


@pytest.fixture
def standby(pubsub: XMPPPubSub, prosody: Prosody, store: MemoryStore
            ) -> Iterator[XMPPPubSub]:
    """A second node, started once ``pubsub`` holds the component."""
    with startedPubSub(prosody, store) as service:
        yield service


def die(node: XMPPPubSub) -> None:
    """The node's process is gone: its connection drops without a word, it never retries."""
    stream = node.component.xmlstream
    assert stream is not None and stream.transport is not None
    stream.transport.abortConnection()  # no closing stanza: a reset
    client, node.component._client = node.component._client, None
    assert client is not None
    client.stopService()  # and no more retries


@pytest_twisted.ensureDeferred
async def test_the_standby_node_takes_over_where_the_holder_left_off(
        pubsub: XMPPPubSub, standby: XMPPPubSub, store: MemoryStore,
        subscribers: Callable[[str], Subscriber]) -> None:
    holder = pubsub
    entity = await createStorage(store, "s1")
    alice = subscribers("alice")
    await sleep(1.0)  # the standby has tried: the server let one in
    assert holder.component.initialized and not standby.component.initialized
    assert standby.component.standingBy and not holder.component.standingBy
    await deferred(alice.subscribe("/storage/s1"))
    for n in range(3):
        entity = await touch(store, entity, f"before {n}")
    await deferred(alice.waitForNotifications(3))
    await until(lambda: holder.publisher.confirmed == holder.publisher.cursor)

    died = reactor.seconds()
    die(holder)
    entity = await touch(store, entity, "while nobody holds the component")
    await standby.component.whenInitialized()
    took = reactor.seconds() - died
    assert not standby.component.standingBy
    for n in range(3):
        entity = await touch(store, entity, f"after {n}")
    await deferred(alice.waitForNotifications(7))
    await sleep(0.5)  # room for a notification sent twice to arrive

    events = [e.id for e in await newEvents(store, 1)]  # after the storage's creation
    assert [n.itemId for n in alice.notifications] == events
    assert took < 10.0


@pytest_twisted.ensureDeferred
async def test_what_the_holder_sent_unconfirmed_is_sent_again_not_lost(
        pubsub: XMPPPubSub, standby: XMPPPubSub, store: MemoryStore,
        subscribers: Callable[[str], Subscriber]) -> None:
    """The holder dies with notifications whose confirmation has not come back: the next
    holder cannot know whether the XMPP server took them, and sends them again, with the
    same item ids."""
    entity = await createStorage(store, "s1")
    alice = subscribers("alice")
    await deferred(alice.subscribe("/storage/s1"))
    await until(lambda: pubsub.publisher.confirmed == pubsub.publisher.cursor)
    pubsub.publisher._confirming = True  # its pings are still on their way when it dies
    entity = await touch(store, entity, "unconfirmed")
    await deferred(alice.waitForNotifications(1))

    die(pubsub)
    await standby.component.whenInitialized()
    entity = await touch(store, entity, "after")
    await deferred(alice.waitForNotifications(3))

    unconfirmed, after = [e.id for e in await newEvents(store, 1)]
    assert [n.itemId for n in alice.notifications] == [unconfirmed, unconfirmed, after]
