"""Fixtures: a real Prosody, a store, the pubsub service connected to them, subscribers.

pytest imports this before the test modules beside it, and with it :mod:`occi_twisted.xmpp`,
whose compatibility module must come before any wokkel import: test modules may import
wokkel directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor

from occi_twisted.model import Registry
from occi_twisted.renderings.document import RenderContext
from occi_twisted.store.memory import MemoryStore
from occi_twisted.xmpp import WhoIs, XMPPPubSub, atomEntries, makePubSubService, storeNodes

from .prosody import Prosody
from .subscriber import Subscriber

BASE = "http://occi.example"
PASSWORD = "subscriber-password"


@pytest.fixture
def prosody(tmp_path: Path) -> Iterator[Prosody]:
    server = Prosody(tmp_path / "prosody", debug=bool(os.environ.get("OCCI_PROSODY_DEBUG")))
    for name in ("alice", "bob", "carol", "mallory"):
        server.addUser(name, PASSWORD)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def store() -> Iterator[MemoryStore]:
    opened = MemoryStore(Registry.standard(), clock=reactor)
    pytest_twisted.blockon(opened.start())
    yield opened
    pytest_twisted.blockon(opened.stop())


@contextmanager
def connectedPubSub(prosody: Prosody, store: MemoryStore,
                    whoIs: WhoIs | None = None) -> Iterator[XMPPPubSub]:
    """The service under test, connected and following the store; with users if
    ``whoIs`` is given."""
    with startedPubSub(prosody, store, whoIs) as service:
        pytest_twisted.blockon(service.component.whenInitialized())
        yield service


@contextmanager
def startedPubSub(prosody: Prosody, store: MemoryStore,
                  whoIs: WhoIs | None = None) -> Iterator[XMPPPubSub]:
    """The service under test, following the store and connecting (or trying to: another
    node may hold the component)."""
    nodes = storeNodes(store)
    service = makePubSubService(
        store, component=prosody.componentEndpoint, jid=prosody.componentJID,
        secret=prosody.secret, nodeExists=nodes.exists, nodeChildren=nodes.children,
        nodeOwner=nodes.owner, whoIs=whoIs,
        entryOf=atomEntries(RenderContext(BASE), store.registry), reactor=reactor,
        maxRetryDelay=0.5)
    service.startService()
    assert service.following is not None
    pytest_twisted.blockon(service.following)
    try:
        yield service
    finally:
        pytest_twisted.blockon(service.stopService())


@pytest.fixture
def pubsub(prosody: Prosody, store: MemoryStore) -> Iterator[XMPPPubSub]:
    """The service under test in single-user mode."""
    with connectedPubSub(prosody, store) as service:
        yield service


@pytest.fixture
def subscribers(prosody: Prosody) -> Iterator[Callable[[str], Subscriber]]:
    """``subscribers(name)``: a connected subscriber of that account."""
    made: list[Subscriber] = []

    def subscriber(name: str) -> Subscriber:
        client = Subscriber(f"{name}@{prosody.domain}/test", PASSWORD,
                            ("127.0.0.1", prosody.c2sPort), prosody.componentJID)
        made.append(client)
        client.start().result(10)
        return client

    yield subscriber
    for client in made:
        client.close()
