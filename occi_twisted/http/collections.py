"""Collections: a kind's (``/compute/``) and a mixin's (``/os_tpl/``, a user's ``/my_tags/``),
and the query interface (``/-/``) where the categories are listed and user mixins defined.

A kind's collection lists, creates (``POST``), triggers an action on every member and deletes
what its filters select; a mixin's lists its members and associates (``POST``/``PUT``) or
dissociates (``DELETE``) entities with the mixin, and answers with the collection as it is
then: GFD.223 asks for "an entity collection rendering" after POST and PUT, and allows one
after DELETE, so the three answer alike (a browser's form is sent on with 303, as ever).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from twisted.web.iweb import IRequest

from ..model import Category, Entity, Kind, Mixin, withMixins
from ..model.errors import BadRequest, NotFound, PreconditionFailed
from ..renderings.document import Document
from ..renderings.resolve import describeMixins, filterCategories, localPath
from ..store.interface import Change, Delete, Put, Query
from . import access, parts
from .actions import Actions
from .entities import Entities
from .listings import Listings
from .methods import Shape, allow
from .preconditions import applyUnlessBeaten, lastWriterWins
from .room import STREAM_BATCH, Room, authored


@dataclass(kw_only=True)
class Collections(Room):
    """Kind and mixin collections, and the query interface."""

    #: Where a kind's collection creates its members and tells the driver of deletes.
    members: Entities
    actions: Actions
    listings: Listings
    #: The kinds in each kind's collection (itself and those derived from it).
    _kinds: dict[str, frozenset[str]] = field(default_factory=dict, init=False)

    async def answer(self, request: IRequest, method: str, path: str) -> bytes | None:
        """The collection at ``path``, as ``method`` asks."""
        collection = self.registry.atLocation(path)
        if collection is None or (isinstance(collection, Mixin)
                                  and not access.seesMixin(request, collection)):
            raise NotFound(f"There is no collection at {path}.")
        if isinstance(collection, Kind):
            allow(request, method, Shape.KIND_COLLECTION, path)
            return await self._kind(request, method, collection)
        allow(request, method, Shape.MIXIN_COLLECTION, path)
        return await self._mixin(request, method, collection)

    # -- kinds ---------------------------------------------------------------------------------

    async def _kind(self, request: IRequest, method: str, kind: Kind) -> bytes | None:
        if method in ("GET", "HEAD"):
            return await self.listings.answer(request, self._kindQuery(request, kind))
        if method == "DELETE":
            author = parts.principalOf(request).name
            gone = await self._forEachEntity(
                self._kindQuery(request, kind),
                lambda entity: Delete(entity.id, expect=entity.revision, author=author))
            for entity in gone:
                await self.members.realize(entity, None)
            return self.answering.ok(request, f"Deleted {len(gone)} entities from "
                                              f"{kind.location}.")
        document = parts.document(request)
        actionTerm = parts.argument(request, "action")
        if actionTerm is not None or document.action is not None:
            offered = [a.identifier for k in kind.ancestry() for a in k.actions]
            return await self._actOnAll(request, self._kindQuery(request, kind), offered,
                                        document, actionTerm)
        return await self.members.create(request, kind, document)

    def _kindQuery(self, request: IRequest, kind: Kind) -> Query:
        kinds = self._kinds.get(kind.identifier)
        if kinds is None:  # kinds are fixed when the registry is made: worked out once
            kinds = self._kinds[kind.identifier] = frozenset(
                k.identifier for k in self.registry.kinds() if k.isA(kind))
        return self.listings.filtered(request, self.query(request, kinds=kinds))

    async def _forEachEntity(self, query: Query,
                             change: Callable[[Entity], Change]) -> list[Entity]:
        """Apply a change to every entity a query matches, one durable batch per page; the
        entities changed, as they were when their change was made."""
        done: list[Entity] = []
        matched = [entity async for entity in self.entities(query)]
        # Deleting a resource deletes its links too, so a link later in the batch may already
        # be gone; and any entity may have been changed by another writer since it was
        # listed.  Such a batch is made change by change, each on the entity as it is then.
        for start in range(0, len(matched), STREAM_BATCH):
            part = matched[start:start + STREAM_BATCH]
            try:
                await self.store.apply([change(entity) for entity in part])
            except (NotFound, PreconditionFailed):
                for entity in part:
                    made = await self._madeOnLatest(entity, change)
                    done.extend([made] if made is not None else [])
            else:
                done.extend(part)
        return done

    async def _madeOnLatest(self, entity: Entity,
                            change: Callable[[Entity], Change]) -> Entity | None:
        """The entity ``change`` was applied to, as it is now (another writer may have
        changed it since it was listed: last writer wins), or ``None`` if it is gone."""
        async def attempt() -> Entity | None:
            latest = await self.store.get(entity.id)
            if latest is not None:
                await applyUnlessBeaten(self.store, [change(latest)])
            return latest

        return await lastWriterWins(entity.location, attempt)

    # -- mixins --------------------------------------------------------------------------------

    async def _mixin(self, request: IRequest, method: str, mixin: Mixin) -> bytes | None:
        related = frozenset(m.identifier for m in self.registry.mixins() if m.isA(mixin))
        query = self.listings.filtered(request, self.query(request, mixins=related))
        if method in ("GET", "HEAD"):
            return await self.listings.answer(request, query)
        document = parts.document(request)
        actionTerm = parts.argument(request, "action")
        if method == "POST" and (actionTerm is not None or document.action is not None):
            offered = [a.identifier for k in self.registry.kinds() for a in k.actions]
            offered += [a.identifier for m in mixin.closure() for a in m.actions]
            return await self._actOnAll(request, query, offered, document, actionTerm)
        changed = await lastWriterWins(
            mixin.location or mixin.identifier,
            lambda: self._associate(request, method, mixin, document.locations))
        return await self._changed(request, query, f"{changed} entities changed in "
                                                   f"{mixin.location}.")

    async def _associate(self, request: IRequest, method: str, mixin: Mixin,
                         locations: Sequence[str]) -> int:
        """Associate (POST, PUT) or dissociate (DELETE) the entities at ``locations`` and the
        mixin, as they are now: :class:`.Raced` if another writer changes one first."""
        targets = [await self._associable(request, loc, mixin) for loc in locations]
        changes: list[Change] = []
        now = self.now()
        members = self.query(request, mixins=frozenset({mixin.identifier}))
        if method == "DELETE":
            if not targets:
                targets = [e async for e in self.entities(members)]
            changes.extend(_without(targets, mixin, now))
        else:
            chosen = {e.id for e in targets}
            for entity in targets:
                if mixin not in entity.mixins:
                    changes.append(Put(withMixins(entity, [*entity.mixins, mixin], now=now),
                                       expect=entity.revision))
            if method == "PUT":
                changes.extend(_without([e async for e in self.entities(members)
                                         if e.id not in chosen], mixin, now))
        await applyUnlessBeaten(self.store, authored(request, changes))
        return len(changes)

    async def _actOnAll(self, request: IRequest, query: Query, offered: Sequence[str],
                        document: Document, actionTerm: str | None) -> bytes | None:
        """An action on every entity ``query`` selects; answered with the collection once
        every request ended, else 202 with the requests still running.  GFD.223 lets an
        action on a collection answer with an entity collection, a category collection or
        nothing; the entities, as the action left them, are what a client looks at next."""
        pending = await self.actions.actOnAll(request, query, offered, document, actionTerm)
        if pending and not self.answering.fromPage(request):
            return self.actions.pendingAnswer(request, pending)
        return await self._changed(request, query, f"Triggered on {parts.pathOf(request)}.")

    async def _changed(self, request: IRequest, query: Query, sentence: str) -> bytes | None:
        """The collection ``query`` lists, as it is after a change; for a browser's form,
        which is sent on to a page (303), the ``sentence`` alone."""
        if self.answering.fromPage(request):
            return self.answering.ok(request, sentence)
        return await self.listings.answer(request, query)

    async def _associable(self, request: IRequest, location: str, mixin: Mixin) -> Entity:
        path = localPath(location, self.registry)
        prefix, _, entityId = path.rpartition("/")
        kind = self.registry.atLocation(prefix + "/")
        entity = await self.visible(request, entityId) if isinstance(kind, Kind) else None
        if entity is None or not isinstance(kind, Kind) or entity.kind.location != kind.location:
            raise BadRequest(f"There is no entity at {location} to associate with "
                             f"{mixin.term}.")
        return entity

    # -- the query interface -------------------------------------------------------------------

    async def queryInterface(self, request: IRequest, method: str) -> bytes | None:
        """``/-/``: the categories (filtered as GET's headers ask); POST defines a user
        mixin, DELETE removes one."""
        allow(request, method, Shape.QUERY, parts.pathOf(request))
        if method in ("GET", "HEAD"):
            wanted = filterCategories(parts.filters(request), self.registry)
            categories: Sequence[Category] = [
                c for c in self.registry
                if not isinstance(c, Mixin) or access.seesMixin(request, c)]
            if wanted:
                ids = {r.identifier for c in wanted for r in self.registry.related(c)}
                categories = [c for c in categories if c.identifier in ids]
            renderer = self.answering.negotiate(request, listing=False)
            return self.answering.send(request, renderer.categories(
                categories, self.answering.context(request)))
        document = parts.document(request)
        if method == "POST":
            for mixin in describeMixins(document, self.registry, parts.ownerOf(request)):
                await self.store.defineMixin(mixin)
            return self.answering.ok(request, "Mixin defined.")
        if not document.categories:
            raise BadRequest("Name the mixin to remove with a Category.")
        for ref in document.categories:
            found = self.registry.get(ref.identifier)
            if isinstance(found, Mixin) and not access.seesMixin(request, found):
                raise NotFound(f"Category {ref.identifier} is not known to this server.")
            await self.store.removeMixin(ref.identifier)
        return self.answering.ok(request, "Mixin removed.")


def _without(entities: Sequence[Entity], mixin: Mixin, now: float) -> list[Change]:
    """Changes that take ``mixin`` off those of ``entities`` that have it."""
    return [Put(withMixins(entity, [m for m in entity.mixins if m != mixin], now=now),
                expect=entity.revision)
            for entity in entities if mixin in entity.mixins]
