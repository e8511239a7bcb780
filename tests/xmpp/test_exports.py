"""The XMPP package's public names: what the launcher imports from ``occi_twisted.xmpp``."""

from __future__ import annotations

from twisted.application.service import IService

from occi_twisted import xmpp
from occi_twisted.model import Registry
from occi_twisted.store.memory import MemoryStore
from occi_twisted.xmpp import component, nodes, payload, publisher, pubsub, resource


def test_exports() -> None:
    assert sorted(xmpp.__all__) == sorted([
        "COLLECTIONS", "ROOT", "EntityNodes", "EntryOf", "EventPubSubResource",
        "EventPublisher", "Nodes", "ReconnectingComponent", "XMPPPubSub", "atomEntries",
        "makePubSubService", "payloadXML", "storeNodes",
    ])
    assert xmpp.makePubSubService is pubsub.makePubSubService
    assert xmpp.ReconnectingComponent is component.ReconnectingComponent
    assert xmpp.EventPublisher is publisher.EventPublisher
    assert xmpp.EventPubSubResource is resource.EventPubSubResource
    assert xmpp.storeNodes is nodes.storeNodes
    assert xmpp.atomEntries is payload.atomEntries


def test_the_service_is_made_without_connecting() -> None:
    """What the launcher does with the options: a service, nothing started yet."""
    from twisted.internet import reactor

    store = MemoryStore(Registry.standard())
    entityNodes = xmpp.storeNodes(store)
    made = xmpp.makePubSubService(
        store, component="tcp:127.0.0.1:5347", jid="pubsub.example", secret="s",
        nodeExists=entityNodes.exists, nodeChildren=entityNodes.children,
        entryOf=lambda event: "<entry xmlns='http://www.w3.org/2005/Atom'/>", reactor=reactor)
    assert IService.providedBy(made) and not made.running
