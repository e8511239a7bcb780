"""What every room of the HTTP face shares: the store and its registry, the clock, how answers
leave, reading entities, and committing a change together with its remembered answer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

from twisted.internet.interfaces import IReactorTime
from twisted.web.iweb import IRequest

from ..identity.principal import UNLIMITED
from ..model import Entity, Kind, Registry
from ..model.answers import Answer, KeyTaken, RememberAnswer
from ..model.errors import NotFound
from ..model.quotas import WithinQuota
from ..renderings.document import EntityView, Rendered, Renderer
from ..store.interface import Change, Delete, IStore, Put, Query
from . import access, idempotency, parts
from .answering import Answering, isLink

#: Entities fetched from the store per step of a walk through a collection.
STREAM_BATCH = 500


@dataclass
class Room:
    """The collaborators every room needs; rooms add their own."""

    store: IStore
    clock: IReactorTime
    answering: Answering
    registry: Registry = field(init=False)

    def __post_init__(self) -> None:
        self.registry = self.store.registry

    def now(self) -> float:
        return self.clock.seconds()

    async def visible(self, request: IRequest, entityId: str) -> Entity | None:
        """The entity ``entityId`` if the request may see it: every entity a room reads
        comes through here, so another user's is absent for all of them alike."""
        entity = await self.store.get(entityId)
        return entity if entity is not None and access.sees(request, entity) else None

    async def load(self, request: IRequest, kind: Kind, entityId: str) -> Entity:
        """The entity ``entityId`` of ``kind``'s collection, or 404."""
        entity = await self.visible(request, entityId)
        if entity is None or entity.kind.location != kind.location:
            raise NotFound(f"There is no entity at {kind.location}{entityId}.")
        return entity

    def query(self, request: IRequest, *, kinds: frozenset[str] = frozenset(),
              mixins: frozenset[str] = frozenset()) -> Query:
        """A listing's query, narrowed to what the request may see: every listing, bulk
        action and bulk delete starts here."""
        return Query(kinds=kinds, mixins=mixins, owner=access.ownerFilter(request))

    def withinQuota(self, request: IRequest, changes: list[Change]) -> list[Change]:
        """``changes``, made by the request's principal (:func:`authored`), refused by the
        store in their own transaction if they take the principal beyond its quota (so
        concurrent creates cannot both slip under)."""
        principal = parts.principalOf(request)
        changes = authored(request, changes)
        if principal.quota == UNLIMITED:
            return changes
        return [*changes, WithinQuota(principal.name, principal.quota)]

    async def show(self, request: IRequest, renderer: Renderer, entity: Entity) -> bytes:
        """An entity as the answer, with its outgoing links if it is a resource."""
        return self.answering.sendEntity(request, renderer, await self.viewOf(entity))

    async def viewOf(self, entity: Entity) -> EntityView:
        """An entity with its outgoing links if it is a resource."""
        links: list[Entity] = []
        if not isLink(entity):
            location = entity.location
            links = (await self.store.linksFrom([location])).get(location, [])
        return EntityView(entity, links)

    async def entities(self, query: Query) -> AsyncIterator[Entity]:
        """Every entity ``query`` matches, a page from the store at a time."""
        after: str | None = None
        while True:
            result = await self.store.page(query, after, STREAM_BATCH)
            for entity in result.entities:
                yield entity
            if result.cursor is None:
                return
            after = result.cursor

    async def once(self, request: IRequest) -> bytes | tuple[str, str] | None:
        """For a POST with an ``Idempotency-Key``: the remembered answer to send again, or
        the key and the request's fingerprint to remember this answer under."""
        key = idempotency.keyOf(request)
        if key is None:
            return None
        printed = idempotency.fingerprint(request, parts.body(request))
        answer = await self.store.recall(parts.ownerOf(request), key)
        if answer is not None:
            return idempotency.replay(request, answer, printed)
        return key, printed

    async def commitAnswer(
        self, request: IRequest, once: tuple[str, str] | None, changes: list[Change],
        rendered: Rendered, *, after: Callable[[], Awaitable[None]] | None = None,
        commit: Callable[[list[Change]], Awaitable[None]] | None = None,
    ) -> bytes | None:
        """Commit ``changes`` (with ``commit``, the store's ``apply`` unless given) -- with
        the answer, under the request's Idempotency-Key -- then run ``after`` and send the
        answer.  A concurrent POST with the same key that committed first makes this one
        replay its answer instead."""
        commit = commit or self.store.apply
        after = after or _nothing
        changes = self.withinQuota(request, changes)
        if once is not None:
            key, printed = once
            body = self.answering.send(request, rendered)
            status: int = getattr(request, "code", 200)
            answer = Answer(parts.ownerOf(request), key, printed, status,
                            idempotency.keptHeaders(request), body, self.now())
            try:
                await commit([*changes, RememberAnswer(answer)])
            except KeyTaken:
                first = await self.store.recall(answer.owner, key)
                if first is None:
                    raise
                return idempotency.replay(request, first, printed)
            await after()
            return body
        await commit(changes)
        await after()
        return self.answering.send(request, rendered)


def authored(request: IRequest, changes: Sequence[Change]) -> list[Change]:
    """``changes`` with the request's principal as the author of each entity change, so that
    its events say who made it (an administrator may change a user's entity)."""
    author = parts.principalOf(request).name
    return [replace(change, author=author)
            if isinstance(change, (Put, Delete)) and change.author is None else change
            for change in changes]


async def _nothing() -> None:
    """Nothing to do after a commit."""
