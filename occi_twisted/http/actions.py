"""Actions and the requests they become: plan and submit through the desk, wait within the
client's budget (``Prefer``), and ``{entity}/requests/``: list, create, poll, long-poll and
cancel them.

An action is answered 200 when its request ends within the wait budget (the entity as it left
it), else 202 with the request's location to poll; 202 is never said before the request is
stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from twisted.web.iweb import IRequest

from ..drivers import IDriver
from ..identity.principal import Quota
from ..migration.target import checkTarget
from ..model import Entity, Kind
from ..model.errors import BadRequest, Conflict, NotFound
from ..model.infrastructure import MIGRATIONS
from ..model.locations import Requests, requestAt, requestsOf
from ..model.quotas import WithinQuota, resizeTo
from ..model.requests import PREFIX as REQUEST_PREFIX
from ..model.requests import RequestRecord, RequestState
from ..model.requestview import parseTimestamp, requestETag, requestView, requestViewAt
from ..operations import RequestDesk
from ..renderings.document import Document, EntityView
from ..renderings.form import walkthroughRequest
from ..renderings.resolve import describeInvocation
from ..store.interface import Change, Query
from . import parts
from .answering import collect
from .methods import Shape, allow
from .prefer import preferences
from .room import Room
from .weblinks import webLink

#: Seconds an action may take and still be answered 200 rather than 202 (see Prefer).
WAIT_BUDGET = 3.0
#: Attribute names under which a client asks for a request to wait until a time.
_NOT_BEFORE = ("not_before", f"{REQUEST_PREFIX}.not_before")


@dataclass(kw_only=True)
class Actions(Room):
    """Actions on entities, through the request desk."""

    driver: IDriver
    desk: RequestDesk
    #: Seconds an action may take and still be answered 200 (unless Prefer says otherwise).
    waitBudget: float
    #: The URLs of the endpoints a resource may migrate to (``--peer``).
    peers: frozenset[str] = frozenset()

    async def act(
        self, request: IRequest, entity: Entity, document: Document, term: str | None
    ) -> bytes | None:
        """An action: a request, answered 200 if it ends within the client's wait budget
        (the entity as it left it), else 202 with the request's location."""
        record = self._plan(request, entity, document, term)
        prefer = preferences(parts.headerLines(request, b"prefer"))
        budget = prefer.budget(self.waitBudget)
        if record.notBefore > self.now() + budget:
            budget = 0.0  # it waits for its time (a backup window): nothing to wait for here
        ended = await self.desk.submitAndWait(record, budget,
                                              self._requestQuota(request, [record]))
        applied = prefer.applied()
        if applied is not None:
            request.setHeader(b"Preference-Applied", applied.encode())
        context = self.answering.context(request)
        renderer = self.answering.negotiate(request, listing=False)
        webLink(request, renderer.mediaType,
                context.absolute(requestView(ended, entity).location), "monitor")
        if ended.state is RequestState.SUCCEEDED and ended.action in MIGRATIONS:
            return await self._moved(request, entity)
        if ended.state is RequestState.SUCCEEDED:
            return await self.show(request, renderer, await self.load(request, entity.kind,
                                                                      entity.id))
        if ended.state.isFinal:
            raise Conflict(ended.message or f"The action {ended.state.value}.")
        return self._accepted(request, ended, entity)

    async def actOnAll(
        self, request: IRequest, query: Query, offered: Sequence[str], document: Document,
        term: str | None,
    ) -> list[EntityView]:
        """Trigger an action on every entity of a collection that is in a state to take it
        (the others are passed over): one request each, stored together, waited for within
        the client's budget.  The requests still running then, each named in a ``monitor``
        link; the caller answers 200 with the collection when there are none, else 202 with
        them (:meth:`pendingAnswer`)."""
        # The action is checked once, so that a wrong one is 400 even on an empty collection.
        describeInvocation(_notBefore(document)[1], self.registry, term, offered)
        records: list[tuple[RequestRecord, Entity]] = []
        async for entity in self.entities(query):
            try:
                record = self._plan(request, entity, document, term)
            except (Conflict, BadRequest):
                continue
            records.append((record, entity))
        planned = [record for record, _ in records]
        await self.desk.submit(planned, self._requestQuota(request, planned))
        prefer = preferences(parts.headerLines(request, b"prefer"))
        deadline = self.now() + prefer.budget(self.waitBudget)
        pending: list[EntityView] = []
        for record, entity in records:
            ended = await self.desk.waitForEnd(record, max(0.0, deadline - self.now()))
            if not ended.state.isFinal:
                pending.append(EntityView(requestView(ended, entity)))
        context = self.answering.context(request)
        mediaType = self.answering.negotiate(request, listing=False).mediaType
        for view in pending[:parts.MAX_PAGE]:
            webLink(request, mediaType, context.absolute(view.entity.location), "monitor")
        return pending

    def pendingAnswer(self, request: IRequest, pending: Sequence[EntityView]) -> bytes:
        """202, and the requests still running as an entity collection (GFD.223 lets an
        action on a collection answer with one), as one action's 202 is its request."""
        request.setResponseCode(202)
        renderer = self.answering.negotiate(request, listing=True)
        return self.answering.send(request, collect(renderer, pending,
                                                    self.answering.context(request)))

    async def _moved(self, request: IRequest, entity: Entity) -> bytes:
        """A migration that ended within the wait budget: 303 to where the entity is now
        (its location here answers 301 from now on)."""
        forward = await self.store.forward(entity.location)
        target = forward.url if forward is not None and forward.url else None
        if target is None:
            raise NotFound(f"{entity.location} migrated from here.")
        request.setResponseCode(303)
        request.setHeader(b"Location", target.encode())
        return self.answering.ok(request, f"{entity.location} has moved to {target}.")

    def _plan(
        self, request: IRequest, entity: Entity, document: Document, term: str | None
    ) -> RequestRecord:
        """The request a client's action document asks for, checked with the driver (an
        invalid transition is refused now, before anything is stored)."""
        notBefore, document = _notBefore(walkthroughRequest(document))
        invocation = describeInvocation(document, self.registry, term, entity.actions())
        if invocation.action.identifier in MIGRATIONS:
            checkTarget(self.peers, invocation.attributes)
        else:
            self.driver.check(entity, invocation.action, invocation.attributes)
        return self.desk.plan(entity, invocation.action, invocation.attributes,
                              owner=parts.ownerOf(request), notBefore=notBefore)

    def _requestQuota(self, request: IRequest, records: Sequence[RequestRecord]
                      ) -> list[Change]:
        """The principal's quotas an action is held to (:func:`_heldTo`), for the store to
        check in the transaction that adds the requests: two concurrent actions cannot both
        slip under."""
        return _heldTo(self.withinQuota(request, []), records)

    def _accepted(self, request: IRequest, record: RequestRecord, entity: Entity) -> bytes:
        request.setResponseCode(202)
        view = requestView(record, entity)
        request.setHeader(b"Location", self.answering.context(request).absolute(view.location))
        return self._sendRequest(request, record, entity)

    def _sendRequest(self, request: IRequest, record: RequestRecord, entity: Entity) -> bytes:
        return self.sendRequestAt(request, record, entity.location)

    def sendRequestAt(self, request: IRequest, record: RequestRecord, location: str) -> bytes:
        """A request of the entity at ``location`` as the answer (the entity may have
        migrated: its requests are still read here)."""
        renderer = self.answering.negotiate(request, listing=False)
        request.setHeader(b"ETag", requestETag(record).encode())
        return self.answering.send(request, renderer.entity(
            EntityView(requestViewAt(record, location)), self.answering.context(request)))

    # -- {entity}/requests/ -------------------------------------------------------------------

    async def requests(self, request: IRequest, method: str, place: Requests) -> bytes | None:
        """The requests of an entity, or one of them."""
        kind = self.registry.atLocation(place.collection)
        if not isinstance(kind, Kind):
            raise NotFound(f"There is nothing at {parts.pathOf(request)}.")
        entity = await self.load(request, kind, place.entityId)
        if not place.requestId:
            allow(request, method, Shape.REQUESTS, requestsOf(entity.location))
            if method == "POST":
                return await self._newRequest(request, entity)
            return await self._listRequests(request, entity)
        allow(request, method, Shape.REQUEST, requestAt(entity.location, place.requestId))
        record = await self.store.getRequest(place.requestId)
        if record is None or record.entityId != entity.id:
            raise NotFound(f"{entity.location} has no request {place.requestId}.")
        if method == "DELETE":
            record = await self.desk.scheduler.cancel(record.id)
            return self._sendRequest(request, record, entity)
        prefer = preferences(parts.headerLines(request, b"prefer"))
        seen = parts.header(request, b"if-none-match")
        if prefer.wait is not None and seen in (None, requestETag(record)):
            # A long poll: answer when the request changes from what the client has (or
            # from what it is now), or when the wait is over.
            record = await self.desk.waitForChange(record, prefer.wait)
            request.setHeader(b"Preference-Applied", f"wait={prefer.wait:g}".encode())
        if parts.header(request, b"if-none-match") == requestETag(record):
            request.setResponseCode(304)
            request.setHeader(b"ETag", requestETag(record).encode())
            return b""
        return self._sendRequest(request, record, entity)

    async def _newRequest(self, request: IRequest, entity: Entity) -> bytes | None:
        once = await self.once(request)
        if isinstance(once, bytes):
            return once
        record = self._plan(request, entity, parts.document(request),
                            parts.argument(request, "action"))
        prefer = preferences(parts.headerLines(request, b"prefer"))
        if once is not None or prefer.wait is None:
            # Answered at once (a remembered answer is the one the commit makes).
            request.setResponseCode(202)
            view = requestView(record, entity)
            context = self.answering.context(request)
            request.setHeader(b"Location", context.absolute(view.location))
            request.setHeader(b"ETag", requestETag(record).encode())
            rendered = self.answering.negotiate(request, listing=False).entity(
                EntityView(view), self.answering.context(request))
            return await self.commitAnswer(
                request, once, [], rendered,
                commit=lambda changes: self.desk.submit([record], _heldTo(changes, [record])))
        ended = await self.desk.submitAndWait(record, prefer.wait,
                                              self._requestQuota(request, [record]))
        if ended.state.isFinal:
            request.setResponseCode(201)
            request.setHeader(b"Location", self.answering.context(request).absolute(
                requestView(ended, entity).location))
            return self._sendRequest(request, ended, entity)
        return self._accepted(request, ended, entity)

    async def _listRequests(self, request: IRequest, entity: Entity) -> bytes | None:
        renderer = self.answering.negotiate(request, listing=True)
        _, number = parts.paging(request)
        number = number or parts.MAX_PAGE
        after = parts.argument(request, "after")
        page = await self.store.listRequests(entity.id, after, number)
        context = self.answering.context(request)
        if page.cursor is not None:
            following = f"{requestsOf(entity.location)}?after={page.cursor}&number={number}"
            webLink(request, renderer.mediaType, context.absolute(following), "next")
        views = [EntityView(requestView(record, entity)) for record in page.requests]
        return self.answering.send(request, collect(renderer, views, context))


def _heldTo(changes: Sequence[Change], records: Sequence[RequestRecord]) -> list[Change]:
    """An action adds requests and changes no entity: of the principal's quotas, only the
    running requests' is its to pass -- and the storage quota for a resize, whose request
    counts at the size it asks for (see :mod:`occi_twisted.model.quotas`).  (A user beyond
    another limit -- the operator lowered it -- may still erase, back up or stop what they
    have.)"""
    resizing = any(resizeTo(record.action, record.attributes) is not None
                   for record in records)
    kept: list[Change] = []
    for change in changes:
        if not isinstance(change, WithinQuota):
            kept.append(change)
        elif change.limits.requests is not None or (resizing and change.limits.storage):
            kept.append(WithinQuota(change.owner, Quota(
                requests=change.limits.requests,
                storage=change.limits.storage if resizing else None)))
    return kept


def _notBefore(document: Document) -> tuple[float | None, Document]:
    """The time a client asked a request to wait for, and the document without it."""
    named = [name for name in document.attributes if name in _NOT_BEFORE]
    if not named:
        return None, document
    raw = document.attributes[named[0]]
    try:
        when = parseTimestamp(str(raw))
    except ValueError:
        raise BadRequest(f"not_before {str(raw)[:60]!r} is not an RFC 3339 time (e.g. "
                         "2026-11-27T03:00:00Z) nor epoch seconds.") from None
    rest = {k: v for k, v in document.attributes.items() if k not in _NOT_BEFORE}
    return when, replace(document, attributes=rest)
