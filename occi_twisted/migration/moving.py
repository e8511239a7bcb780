"""What a migration moves, and what must be at the peer for it to move.

A resource moves with its links (a compute's storage links and network interfaces).  The
storages a compute's storage links attach go with it, images and all: a disk belongs to its
machine.  Networks stay: a network is the kind of resource the walkthrough says "appears in
multiple places", and the peer must know it under the same ``occi.core.id`` -- a network
interface at the peer leads to ``/network/<id>`` there.  (A network is migrated on its own
first, when nothing here links to it any more.)  Nothing that stays may be left linking to
what moves: a storage attached to another compute, a network with interfaces of computes
that stay, are refused -- migrate or detach those first -- rather than have their links cut.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Entity
from ..model.errors import Conflict
from ..model.infrastructure import STORAGE, STORAGELINK
from ..store.interface import IEntityStore, Query
from ..store.serial import idAt

#: Links looked at per resource that moves: more than any machine has disks and interfaces.
_LINKS_MAX = 1000


@dataclass(frozen=True)
class Move:
    """The entities that move together, the one asked for first."""

    resource: Entity
    #: What goes along: storages a compute's storage links attach.
    storages: tuple[Entity, ...]
    #: The links from what moves, each to be made at the peer with its resource.
    links: tuple[Entity, ...]
    #: Locations that must be at the peer already (the networks of network interfaces).
    needed: tuple[str, ...]

    @property
    def resources(self) -> tuple[Entity, ...]:
        """What moves that is rendered with its links: storages first (a compute's links
        lead to them), the resource asked for last."""
        return (*self.storages, self.resource)

    @property
    def entities(self) -> tuple[Entity, ...]:
        return (*self.resources, *self.links)

    def linksOf(self, resource: Entity) -> list[Entity]:
        return [link for link in self.links if link.source == resource.location]


async def planMove(store: IEntityStore, resource: Entity) -> Move:
    """What moving ``resource`` moves; Conflict saying why it cannot move now."""
    if resource.isLink:
        raise Conflict(f"{resource.location} is a link: it moves with its resource "
                       f"({resource.source}).")
    links = (await store.linksFrom([resource.location]))[resource.location]
    storages: list[Entity] = []
    needed: list[str] = []
    for link in links:
        target = link.target or ""
        entity = await store.get(idAt(target) or "") if target.startswith("/") else None
        if entity is None or entity.location != target:
            continue  # a resource elsewhere: the link leads there from the peer too
        if link.kind.isA(STORAGELINK) and entity.kind.isA(STORAGE):
            storages.append(entity)
        else:
            needed.append(target)
    storageLinks = await store.linksFrom([storage.location for storage in storages])
    links += [link for each in storageLinks.values() for link in each]
    moving = {entity.location for entity in (resource, *storages, *links)}
    for entity in (resource, *storages):
        await _nothingStaysLinked(store, entity, moving)
    return Move(resource, tuple(storages), tuple(links), tuple(needed))


async def _nothingStaysLinked(store: IEntityStore, entity: Entity, moving: set[str]) -> None:
    page = await store.page(Query(attributes={"occi.core.target": entity.location}), None,
                            _LINKS_MAX)
    staying = sorted(link.source or "" for link in page.entities
                     if link.location not in moving)
    if staying:
        raise Conflict(f"{entity.location} cannot move while {', '.join(staying[:5])} "
                       "link to it from here: migrate or detach them first.")
