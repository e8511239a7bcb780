"""XMPP publish-subscribe (XEP-0060) of the store's events, as an external component
(XEP-0114) of an XMPP server.

:mod:`.compat` comes first: it makes wokkel importable on current Twisted, and every module of
this package may then import wokkel (a package's ``__init__`` runs before its modules).
"""

from . import compat  # noqa: F401  (first: see above)
from .component import ReconnectingComponent
from .nodes import COLLECTIONS, ROOT, EntityNodes, Nodes, storeNodes
from .payload import EntryOf, atomEntries, payloadXML
from .publisher import EventPublisher
from .pubsub import XMPPPubSub, makePubSubService
from .resource import EventPubSubResource
from .tenancy import Tenancy, WhoIs

__all__ = [
    "COLLECTIONS",
    "ROOT",
    "EntityNodes",
    "EntryOf",
    "EventPubSubResource",
    "EventPublisher",
    "Nodes",
    "ReconnectingComponent",
    "Tenancy",
    "WhoIs",
    "XMPPPubSub",
    "atomEntries",
    "makePubSubService",
    "payloadXML",
    "storeNodes",
]
