"""Two tenants on a real Prosody: the service with users read from an htpasswd file and a
config, as ``--users`` reads them, and slixmpp subscribers for Alice, Bob, the admin Carol,
and Mallory, whose JID is nobody's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import bcrypt
import pytest
import pytest_twisted

from occi_twisted.identity import UserDirectory
from occi_twisted.model import Description, newEntity
from occi_twisted.model.events import Event
from occi_twisted.model.infrastructure import COMPUTE
from occi_twisted.store.interface import CREATE, Put
from occi_twisted.store.memory import MemoryStore
from occi_twisted.xmpp import XMPPPubSub

from .conftest import connectedPubSub
from .prosody import Prosody
from .subscriber import Subscriber
from .support import deferred, newEvents, sleep
from .test_pubsub import iqError

Subscribers = Callable[[str], Subscriber]
CONFIG = """\
[users.alice]
jid = "Alice@localhost"
[users.bob]
jid = "bob@localhost"
[users.carol]
role = "admin"
jid = "carol@localhost"
"""


@pytest.fixture
def directory(tmp_path: Path) -> UserDirectory:
    # The passwords are never checked here: the cheapest cost bcrypt has will do.
    hashed = bcrypt.hashpw(b"unused", bcrypt.gensalt(4)).decode()
    users = tmp_path / "users.htpasswd"
    users.write_text("".join(f"{name}:{hashed}\n" for name in ("alice", "bob", "carol")))
    config = tmp_path / "occi.toml"
    config.write_text(CONFIG)
    return UserDirectory(users, config)


@pytest.fixture
def tenanted(prosody: Prosody, store: MemoryStore,
             directory: UserDirectory) -> Iterator[XMPPPubSub]:
    with connectedPubSub(prosody, store, directory.principalOfJID) as service:
        directory.whenChanged(service.usersChanged)
        yield service


async def createComputes(store: MemoryStore, **owners: str) -> list[Event]:
    """A compute per ``id=owner``; their events."""
    for entityId, owner in owners.items():
        entity = newEntity(Description(kind=COMPUTE, attributes={}), entityId=entityId,
                           owner=owner, now=100.0)
        await store.apply([Put(entity, expect=CREATE)])
    return await newEvents(store, 0)


@pytest_twisted.ensureDeferred
async def test_each_user_receives_only_their_own_events_on_the_root(
        tenanted: XMPPPubSub, store: MemoryStore, subscribers: Subscribers) -> None:
    alice, bob, carol, mallory = (subscribers(name)
                                  for name in ("alice", "bob", "carol", "mallory"))
    for each in (alice, bob, carol):
        await deferred(each.subscribe("/"))
    assert (await iqError(mallory.subscribe("/"))).condition == "forbidden"

    events = await createComputes(store, a1="alice", b1="bob", a2="alice")
    expected = {alice: [e.id for e in events if e.owner == "alice"],
                bob: [e.id for e in events if e.owner == "bob"],
                carol: [e.id for e in events]}
    for each, ids in expected.items():
        await deferred(each.waitForNotifications(len(ids)))
    await sleep(0.3)  # time for anything else to arrive, that must not
    for each, ids in expected.items():
        assert [(n.node, n.itemId) for n in each.notifications] == [("/", i) for i in ids]
    assert mallory.notifications == []

    # Another user's entity node, and a JID that is nobody's.
    assert (await iqError(bob.subscribe("/compute/a1"))).condition == "forbidden"
    assert (await deferred(alice.subscribe("/compute/a1"))).get("subscription") == "subscribed"
    assert (await deferred(carol.subscribe("/compute/b1"))).get("subscription") == "subscribed"
    assert (await iqError(mallory.subscribe("/compute/a1"))).condition == "forbidden"
    assert (await iqError(mallory.items("/"))).condition == "forbidden"

    # The history and the node tree: each user's own, all of it for the admin.
    for each, ids in expected.items():
        items = await deferred(each.items("/"))
        assert [itemId for itemId, _ in items] == list(reversed(ids))
    assert await deferred(bob.discoItems("/compute/")) == ["/compute/b1"]
    assert sorted(await deferred(carol.discoItems("/compute/"))) == [
        "/compute/a1", "/compute/a2", "/compute/b1"]


@pytest_twisted.ensureDeferred
async def test_a_reload_of_the_users_changes_who_a_subscriber_is(
        tenanted: XMPPPubSub, store: MemoryStore, directory: UserDirectory,
        subscribers: Subscribers) -> None:
    bob = subscribers("bob")
    await deferred(bob.subscribe("/"))
    [first] = await createComputes(store, a1="alice")
    await createComputes(store, b1="bob")
    [heard] = await deferred(bob.waitForNotifications(1))
    assert heard.itemId != first.id

    assert directory.configFile is not None
    directory.configFile.write_text(CONFIG.replace('jid = "bob@localhost"\n', "")
                                    .replace("carol@localhost", "bob@localhost"))
    assert directory.reload()  # SIGHUP: bob@localhost is the admin Carol's JID now
    events = await createComputes(store, a2="alice")
    await deferred(bob.waitForNotifications(2))
    assert bob.notifications[-1].itemId == events[-1].id
