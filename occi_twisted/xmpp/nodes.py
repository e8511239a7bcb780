"""The pubsub nodes: ``/``, the kind collections, and one per entity, named by its path.

An event is an item of three nodes (:attr:`~occi_twisted.model.events.Event.nodes`): its
entity's location (``/storage/<id>``), that entity's kind collection (``/storage/``) and ``/``.
So the nodes form a tree -- ``/`` holds the collections, a collection its entities' nodes --
which service discovery shows, and a subscription to a collection or to ``/`` gets what is
published beneath it, as XEP-0248 collections do.

The root and the collections always exist; an entity's node exists while the entity does,
which only the caller can say: :class:`Nodes` asks its ``nodeExists``.  :func:`storeNodes`
answers that, and lists a collection's entity nodes, from a store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from twisted.internet.defer import Deferred, succeed

from ..model import Kind
from ..store.interface import IEntityStore, Query

ROOT = "/"
#: The kind collections of OCCI infrastructure (GFD.224).
COLLECTIONS = ("/compute/", "/network/", "/storage/", "/networkinterface/", "/storagelink/")

NodeExists = Callable[[str], Deferred[bool]]
NodeChildren = Callable[[str], Deferred[Sequence[str]]]


class Nodes:
    """Which nodes exist, and which are beneath which.

    ``nodeExists`` is asked about any node that is neither the root nor a collection;
    ``children``, when given, lists the entity nodes of a collection (disco#items of it).
    """

    def __init__(self, nodeExists: NodeExists, children: NodeChildren | None = None, *,
                 collections: Sequence[str] = COLLECTIONS) -> None:
        self._nodeExists = nodeExists
        self._children = children
        self.collections = tuple(collections)

    def isCollection(self, node: str) -> bool:
        """Whether ``node`` holds other nodes: the root and the kind collections."""
        return node == ROOT or node in self.collections

    def exists(self, node: str) -> Deferred[bool]:
        if self.isCollection(node):
            return succeed(True)
        if not node.startswith("/") or node.endswith("/"):
            return succeed(False)
        return self._nodeExists(node)

    def childrenOf(self, node: str) -> Deferred[Sequence[str]]:
        """The nodes directly beneath ``node``; beneath the service itself (``""``), every
        node that always exists, so one query finds them all."""
        if node == "":
            return succeed([ROOT, *self.collections])
        if node == ROOT:
            return succeed(list(self.collections))
        if node in self.collections and self._children is not None:
            return self._children(node)
        return succeed([])


class EntityNodes(NamedTuple):
    """The ``nodeExists`` and ``children`` of a :class:`Nodes`."""

    exists: NodeExists
    children: NodeChildren


def storeNodes(store: IEntityStore, *, limit: int = 500) -> EntityNodes:
    """Entity nodes that are the entities in ``store``; a collection lists up to ``limit``
    of them (in creation order: wokkel's disco#items has no paging)."""

    def kindAt(collection: str) -> Kind | None:
        category = store.registry.atLocation(collection)
        return category if isinstance(category, Kind) else None

    async def exists(node: str) -> bool:
        collection, _, entityId = node.rpartition("/")
        if kindAt(collection + "/") is None or not entityId:
            return False
        entity = await store.get(entityId)
        return entity is not None and entity.location == node

    async def children(collection: str) -> Sequence[str]:
        kind = kindAt(collection)
        if kind is None:
            return []
        page = await store.page(Query(kinds=frozenset({kind.identifier})), None, limit)
        return [entity.location for entity in page.entities]

    return EntityNodes(lambda node: Deferred.fromCoroutine(exists(node)),
                       lambda collection: Deferred.fromCoroutine(children(collection)))
