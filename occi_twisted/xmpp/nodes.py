"""The pubsub nodes: ``/``, the kind collections, and one per entity, named by its path.

An event is an item of three nodes (:attr:`~occi_twisted.model.events.Event.nodes`): its
entity's location (``/storage/<id>``), that entity's kind collection (``/storage/``) and ``/``.
So the nodes form a tree -- ``/`` holds the collections, a collection its entities' nodes --
which service discovery shows, and a subscription to a collection or to ``/`` gets what is
published beneath it, as XEP-0248 collections do.

The root and the collections always exist; an entity's node exists while the entity does,
which only the caller can say: :class:`Nodes` asks its ``nodeExists``, and ``nodeOwner`` whose
entity a node is (what a user may read, see :mod:`.tenancy`).  :func:`storeNodes` answers both,
and lists a collection's entity nodes (all, or one owner's), from a store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

from twisted.internet.defer import Deferred, succeed

from ..identity import Principal
from ..model import Entity, Kind
from ..store.interface import IEntityStore, Query
from .tenancy import ownerSeenBy

ROOT = "/"
#: The kind collections of OCCI infrastructure (GFD.224).
COLLECTIONS = ("/compute/", "/network/", "/storage/", "/networkinterface/", "/storagelink/")

NodeExists = Callable[[str], Deferred[bool]]
#: The owner of an entity node's entity, ``None`` when there is no such entity.
NodeOwner = Callable[[str], Deferred["str | None"]]


class NodeChildren(Protocol):
    """The entity nodes of a kind collection: every one, or only ``owner``'s."""

    def __call__(self, collection: str, owner: str | None = None, /
                 ) -> Deferred[Sequence[str]]: ...


class Nodes:
    """Which nodes exist, and which are beneath which.

    ``nodeExists`` is asked about any node that is neither the root nor a collection, and
    ``nodeOwner``, when given, whose entity it is; ``children``, when given, lists the
    entity nodes of a collection (disco#items of it).
    """

    def __init__(self, nodeExists: NodeExists, children: NodeChildren | None = None, *,
                 nodeOwner: NodeOwner | None = None,
                 collections: Sequence[str] = COLLECTIONS) -> None:
        self._nodeExists = nodeExists
        self._nodeOwner = nodeOwner
        self._children = children
        self.collections = tuple(collections)

    @property
    def knowsOwners(self) -> bool:
        """Whether :meth:`ownerOf` can tell whose an entity node is."""
        return self._nodeOwner is not None

    def isCollection(self, node: str) -> bool:
        """Whether ``node`` holds other nodes: the root and the kind collections."""
        return node == ROOT or node in self.collections

    def _isShapedAsEntity(self, node: str) -> bool:
        """Whether ``node`` is shaped as an entity's node (only the caller can say whether
        that entity exists)."""
        return node.startswith("/") and not node.endswith("/")

    def exists(self, node: str) -> Deferred[bool]:
        if self.isCollection(node):
            return succeed(True)
        if not self._isShapedAsEntity(node):
            return succeed(False)
        return self._nodeExists(node)

    def ownerOf(self, node: str) -> Deferred[str | None]:
        """The owner of the entity whose node ``node`` is; ``None`` for the root, a
        collection, or a node that does not exist."""
        if self._nodeOwner is None:
            raise ValueError("these nodes were not given their owners")
        if self.isCollection(node) or not self._isShapedAsEntity(node):
            return succeed(None)
        return self._nodeOwner(node)

    def childrenOf(self, node: str, reader: Principal | None) -> Deferred[Sequence[str]]:
        """The nodes directly beneath ``node`` that ``reader`` may see; beneath the service
        itself (``""``), every node that always exists, so one query finds them all.
        Beneath a collection, its entity nodes: every one for an admin, a user's own, and
        none for nobody (``None``)."""
        if node == "":
            return succeed([ROOT, *self.collections])
        if node == ROOT:
            return succeed(list(self.collections))
        if node in self.collections and self._children is not None and reader is not None:
            return self._children(node, ownerSeenBy(reader))
        return succeed([])


class EntityNodes(NamedTuple):
    """The ``nodeExists``, ``children`` and ``nodeOwner`` of a :class:`Nodes`."""

    exists: NodeExists
    children: NodeChildren
    owner: NodeOwner


def storeNodes(store: IEntityStore, *, limit: int = 500) -> EntityNodes:
    """Entity nodes that are the entities in ``store``; a collection lists up to ``limit``
    of them (in creation order: wokkel's disco#items has no paging)."""

    def kindAt(collection: str) -> Kind | None:
        category = store.registry.atLocation(collection)
        return category if isinstance(category, Kind) else None

    async def entityAt(node: str) -> Entity | None:
        collection, _, entityId = node.rpartition("/")
        if kindAt(collection + "/") is None or not entityId:
            return None
        entity = await store.get(entityId)
        return entity if entity is not None and entity.location == node else None

    async def exists(node: str) -> bool:
        return await entityAt(node) is not None

    async def owner(node: str) -> str | None:
        entity = await entityAt(node)
        return None if entity is None else entity.owner

    async def children(collection: str, owner: str | None) -> Sequence[str]:
        kind = kindAt(collection)
        if kind is None:
            return []
        page = await store.page(Query(kinds=frozenset({kind.identifier}), owner=owner),
                                None, limit)
        return [entity.location for entity in page.entities]

    return EntityNodes(
        lambda node: Deferred.fromCoroutine(exists(node)),
        lambda collection, owner=None: Deferred.fromCoroutine(children(collection, owner)),
        lambda node: Deferred.fromCoroutine(owner(node)))
