"""The Klein application: OCCI 1.2 over HTTP (GFD.223) for the model in the store.

One object holds the collaborators (store, driver, clock); one catch-all route dispatches by
path, because collections are defined at run time (a user mixin brings its own location);
one method turns domain errors into status codes.  Handlers parse with the renderings, decide
with the model, write through the store, and render by negotiation.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs

from klein import Klein
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource

from .. import __version__
from ..drivers import IDriver
from ..model import (
    ANONYMOUS,
    Category,
    Description,
    Entity,
    Kind,
    Mixin,
    newEntity,
    updatedEntity,
    withMixins,
    withState,
)
from ..model.answers import Answer, KeyTaken, RememberAnswer
from ..model.core import LINK
from ..model.errors import (
    BadRequest,
    Conflict,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    NotImplementedByServer,
    OCCIError,
    PreconditionFailed,
    TooLarge,
    UnsupportedMediaType,
)
from ..model.infrastructure import NETWORK, NETWORKINTERFACE, STORAGE, STORAGELINK
from ..model.requests import PREFIX as REQUEST_PREFIX
from ..model.requests import RequestRecord, RequestState
from ..operations import RequestDesk, parseTimestamp, requestETag, requestsPath, requestView
from ..renderings import negotiation, standard
from ..renderings.atomentities import ATOM as ATOM_ENTITIES
from ..renderings.atomentities import FeedContext
from ..renderings.document import Document, EntityView, RenderContext, Rendered, Renderer
from ..renderings.form import walkthroughRequest
from ..renderings.html import HTML, pageContext
from ..renderings.html import MEDIA_TYPE as HTML_TYPE
from ..renderings.resolve import (
    describeEntity,
    describeInvocation,
    describeMixins,
    filterCategories,
    localPath,
)
from ..store.interface import CREATE, Change, Delete, IStore, Put, Query, StoreUnavailable
from . import idempotency, templates
from .errors import statusFor
from .feeds import ATOM, ENTRY_PATH, LOG_PATH, LOG_TYPES, FeedScope, answer, entry, scopeOf
from .notes import NoteRoutes
from .prefer import preferences
from .representations import FORMATS, formatsOf, representations
from .stream import Stream

log = Logger()

QUERY_PATHS = ("/-/", "/.well-known/org/ogf/occi/-/")
#: Largest request body accepted; OCCI bodies are small, so anything larger is a mistake.
MAX_BODY = 1024 * 1024
#: Largest page a client may ask for with ?number=.
MAX_PAGE = 1000
#: Entities per page of a collection passed by value in Atom.
ATOM_PAGE = 500
#: Entities fetched from the store per step of a streamed listing.
STREAM_BATCH = 500
#: Seconds an action may take and still be answered 200 rather than 202 (see Prefer).
WAIT_BUDGET = 3.0
#: ``{entity}/requests``, ``{entity}/requests/`` and ``{entity}/requests/{id}``.
_REQUESTS_PATH = re.compile(r"(/.+/)([^/]+)/requests(?:/([^/]*))?")
#: ``{entity}/notes/`` and ``{entity}/notes/{id}``.
_NOTES_PATH = re.compile(r"(/.+/)([^/]+)/notes(?:/([^/]*))?")
#: Attribute names under which a client asks for a request to wait until a time.
_NOT_BEFORE = ("not_before", f"{REQUEST_PREFIX}.not_before")
SERVER = f"occi-twisted/{__version__} OCCI/1.2"
_SERVER = SERVER.encode()
_OCCI_VERSION = re.compile(rb"OCCI/(\d+)\.(\d+)")
_HOST = re.compile(r"[A-Za-z0-9.\-_\[\]:]{1,255}")
#: Renderings that answer a create with the new location rather than the entity.
_BY_REFERENCE = frozenset({"text/plain", "text/occi", "text/uri-list",
                           "text/x-occi-descriptor"})
_ENTITY_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
_COLLECTION_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE")


class OCCIServer:
    """The HTTP face of one OCCI service."""

    app = Klein()

    def __init__(
        self,
        store: IStore,
        driver: IDriver,
        clock: IReactorTime,
        desk: RequestDesk,
        *,
        baseURL: str | None = None,
        waitBudget: float = WAIT_BUDGET,
    ) -> None:
        self.store = store
        self.registry = store.registry
        self.driver = driver
        self.clock = clock
        self.desk = desk
        self.notes = NoteRoutes(store, self._owner, self._now, _body)
        self.baseURL = baseURL
        self.waitBudget = waitBudget
        self._base = RenderContext(baseURL, clock.seconds) if baseURL is not None else None
        self._contexts: dict[tuple[bool, str], RenderContext] = {}

    def resource(self) -> IResource:
        """The Twisted Web resource to serve."""
        return self.app.resource()

    # -- the one route ------------------------------------------------------------------------

    @app.route("/", branch=True)
    async def dispatch(self, request: IRequest) -> bytes | None:
        """Route by path, and map every domain error to its status code in one place."""
        request.setHeader(b"Server", _SERVER)
        try:
            _checkVersion(request)
            path = request.path.decode("utf-8", "replace")
            answer = await self._route(request, path)
            return self._seeOther(request, path, answer)
        except OCCIError as error:
            return self._error(request, error)
        except StoreUnavailable as error:
            log.error("Store unavailable: {message}", message=error.message)
            request.setResponseCode(503)
            request.setHeader(b"Retry-After", b"5")
            return self._plain(request, "The store is unavailable right now; nothing was "
                                        "changed. Try again shortly.")
        except Exception:
            log.failure("Unexpected error answering {method} {path}",
                        method=request.method, path=request.path)
            request.setResponseCode(500)
            return self._plain(request, "The server failed to answer this request; "
                                        "the failure has been logged.")

    async def _route(self, request: IRequest, path: str) -> bytes | None:
        method = _formMethod(request) or request.method.decode("ascii", "replace").upper()
        if method not in ("GET", "HEAD"):
            # Refuse an unsatisfiable Accept before anything is written, not after.
            self._negotiate(request, listing=False)
        if path == "/":
            _allow(method, ("GET", "HEAD"), "/")
            return self._landing(request)
        if path in QUERY_PATHS:
            return await self._queryInterface(request, method)
        log = LOG_PATH.fullmatch(path)
        scope = scopeOf(log.group(1), self.registry) if log is not None else None
        if scope is not None:
            _allow(method, ("GET", "HEAD"), scope.path)
            return await self._feed(request, scope)
        logged = ENTRY_PATH.fullmatch(path)
        scope = scopeOf(logged.group(1), self.registry) if logged is not None else None
        if logged is not None and scope is not None:
            _allow(method, ("GET", "HEAD"), path)
            return await self._feed(request, scope, logged.group(2))
        sub = _REQUESTS_PATH.fullmatch(path)
        if sub is not None:
            return await self._requests(request, method, *sub.groups())
        noted = _NOTES_PATH.fullmatch(path)
        if noted is not None:
            prefix, entityId, noteId = noted.groups()
            kind = self.registry.atLocation(prefix)
            if not isinstance(kind, Kind):
                raise NotFound(f"There is nothing at {path}.")
            entity = await self._load(kind, entityId)
            if noteId:
                return await self.notes.note(request, method, entity.id, entity.location,
                                             noteId=noteId, context=self._context(request))
            return await self.notes.collection(request, method, entity.id, entity.location,
                                               self._context(request))
        if path.startswith(templates.PATH):
            _allow(method, ("GET", "HEAD"), path)
            return await self._template(request, path[len(templates.PATH):])
        if not path.endswith("/") and self.registry.atLocation(path + "/") is not None:
            path += "/"  # the walkthrough's "POST /compute": the collection
        if path.endswith("/"):
            collection = self.registry.atLocation(path)
            if collection is None:
                raise NotFound(f"There is no collection at {path}.")
            _allow(method, _COLLECTION_METHODS, path)
            if isinstance(collection, Kind):
                return await self._kindCollection(request, method, collection)
            return await self._mixinCollection(request, method, collection)
        prefix, _, entityId = path.rpartition("/")
        kind = self.registry.atLocation(prefix + "/")
        if not isinstance(kind, Kind) or not entityId:
            raise NotFound(f"There is nothing at {path}.")
        _allow(method, _ENTITY_METHODS, path)
        return await self._entity(request, method, kind, entityId)

    # -- entities ------------------------------------------------------------------------------

    async def _entity(
        self, request: IRequest, method: str, kind: Kind, entityId: str
    ) -> bytes | None:
        if method == "PUT":
            return await self._putEntity(request, kind, entityId)
        entity = await self._load(kind, entityId)
        if method in ("GET", "HEAD"):
            if _query(request, "format") is None and negotiation.acceptsAnything(
                    _header(request, b"accept")):
                return self._multipleChoices(request, entity)
            renderer = self._negotiate(request, listing=False)
            if self._notModified(request, entity):
                return b""
            return await self._renderEntity(request, renderer, entity)
        if method == "DELETE":
            self._checkIfMatch(request, entity)
            await self.store.apply([Delete(entity.id, expect=entity.revision)])
            await self._realize(entity, None)
            return self._ok(request, f"Deleted {entity.location}.")
        # POST: an action, or a partial update.
        document = self._parse(request)
        actionTerm = _query(request, "action")
        if actionTerm is not None or document.action is not None or _onlyActions(document):
            return await self._act(request, entity, document, actionTerm)
        self._checkIfMatch(request, entity)
        description = describeEntity(document, self.registry)
        updated = self._admitted(updatedEntity(entity, description, now=self._now()))
        changes: list[Change] = [Put(updated, expect=entity.revision)]
        changes.extend(await self._newLinks(updated, description))
        await self.store.apply(changes)
        await self._realize(entity, updated)
        renderer = self._negotiate(request, listing=False)
        return await self._renderEntity(request, renderer, updated)

    async def _putEntity(self, request: IRequest, kind: Kind, entityId: str) -> bytes | None:
        document = self._parse(request)
        description = describeEntity(document, self.registry)
        existing = await self.store.get(entityId)
        if existing is not None and existing.kind.location != kind.location:
            raise Conflict(f"The id {entityId} is taken by {existing.location}.")
        if existing is None:
            if _header(request, b"if-match") is not None:
                raise PreconditionFailed(f"Nothing exists at {kind.location}{entityId} yet.")
            entity = self._provisioned(
                newEntity(description, owner=self._owner(request), entityId=entityId,
                          kind=kind, now=self._now())
            )
            changes: list[Change] = [Put(entity, expect=CREATE)]
            changes.extend(await self._newLinks(entity, description))
            await self.store.apply(changes)
            await self._realize(None, entity)
            request.setResponseCode(201)
            request.setHeader(b"Location", self._context(request).absolute(entity.location))
        else:
            self._checkIfMatch(request, existing)
            entity = self._admitted(
                updatedEntity(existing, description, now=self._now(), replaceAll=True))
            changes = [Put(entity, expect=existing.revision)]
            changes.extend(await self._newLinks(entity, description))
            await self.store.apply(changes)
            await self._realize(existing, entity)
        renderer = self._negotiate(request, listing=False)
        return await self._renderEntity(request, renderer, entity)

    async def _act(
        self, request: IRequest, entity: Entity, document: Document, term: str | None
    ) -> bytes | None:
        """An action: a request, answered 200 if it ends within the client's wait budget
        (the entity as it left it), else 202 with the request's location."""
        record = self._plan(request, entity, document, term)
        prefer = preferences(_allHeaders(request, b"prefer"))
        budget = prefer.budget(self.waitBudget)
        if record.notBefore > self._now() + budget:
            budget = 0.0  # it waits for its time (a backup window): nothing to wait for here
        ended = await self.desk.submitAndWait(record, budget)
        applied = prefer.applied()
        if applied is not None:
            request.setHeader(b"Preference-Applied", applied.encode())
        context = self._context(request)
        monitor = context.absolute(requestView(ended, entity).location)
        request.responseHeaders.addRawHeader(b"Link", f'<{monitor}>; rel="monitor"'.encode())
        if ended.state is RequestState.SUCCEEDED:
            renderer = self._negotiate(request, listing=False)
            return await self._renderEntity(request, renderer,
                                            await self._load(entity.kind, entity.id))
        if ended.state.isFinal:
            raise Conflict(ended.message or f"The action {ended.state.value}.")
        return self._accepted(request, ended, entity)

    def _plan(
        self, request: IRequest, entity: Entity, document: Document, term: str | None
    ) -> RequestRecord:
        """The request a client's action document asks for, checked with the driver (an
        invalid transition is refused now, before anything is stored)."""
        notBefore, document = _notBefore(walkthroughRequest(document))
        invocation = describeInvocation(document, self.registry, term, entity.actions())
        self.driver.check(entity, invocation.action, invocation.attributes)
        return self.desk.plan(entity, invocation.action, invocation.attributes,
                              owner=self._owner(request), notBefore=notBefore)

    def _accepted(self, request: IRequest, record: RequestRecord, entity: Entity) -> bytes:
        request.setResponseCode(202)
        view = requestView(record, entity)
        request.setHeader(b"Location", self._context(request).absolute(view.location))
        return self._sendRequest(request, record, entity)

    def _sendRequest(self, request: IRequest, record: RequestRecord, entity: Entity) -> bytes:
        renderer = self._negotiate(request, listing=False)
        request.setHeader(b"ETag", requestETag(record).encode())
        return self._send(request, renderer.entity(EntityView(requestView(record, entity)),
                                                   self._context(request)))

    # -- requests of an entity -------------------------------------------------------------------

    async def _requests(self, request: IRequest, method: str, prefix: str, entityId: str,
                        requestId: str | None) -> bytes | None:
        kind = self.registry.atLocation(prefix)
        if not isinstance(kind, Kind):
            raise NotFound(f"There is nothing at {request.path.decode('utf-8', 'replace')}.")
        entity = await self._load(kind, entityId)
        if not requestId:
            _allow(method, ("GET", "HEAD", "POST"), requestsPath(entity))
            if method == "POST":
                return await self._newRequest(request, entity)
            return await self._listRequests(request, entity)
        _allow(method, ("GET", "HEAD", "DELETE"), f"{requestsPath(entity)}{requestId}")
        record = await self.store.getRequest(requestId)
        if record is None or record.entityId != entity.id:
            raise NotFound(f"{entity.location} has no request {requestId}.")
        if method == "DELETE":
            record = await self.desk.scheduler.cancel(record.id)
            return self._sendRequest(request, record, entity)
        prefer = preferences(_allHeaders(request, b"prefer"))
        seen = _header(request, b"if-none-match")
        if prefer.wait is not None and seen in (None, requestETag(record)):
            # A long poll: answer when the request changes from what the client has (or
            # from what it is now), or when the wait is over.
            record = await self.desk.waitForChange(record, prefer.wait)
            request.setHeader(b"Preference-Applied", f"wait={prefer.wait:g}".encode())
        if _header(request, b"if-none-match") == requestETag(record):
            request.setResponseCode(304)
            request.setHeader(b"ETag", requestETag(record).encode())
            return b""
        return self._sendRequest(request, record, entity)

    async def _newRequest(self, request: IRequest, entity: Entity) -> bytes | None:
        once = await self._once(request)
        if isinstance(once, bytes):
            return once
        record = self._plan(request, entity, self._parse(request), _query(request, "action"))
        prefer = preferences(_allHeaders(request, b"prefer"))
        if once is not None or prefer.wait is None:
            # Answered at once (a remembered answer is the one the commit makes).
            request.setResponseCode(202)
            view = requestView(record, entity)
            request.setHeader(b"Location", self._context(request).absolute(view.location))
            request.setHeader(b"ETag", requestETag(record).encode())
            rendered = self._negotiate(request, listing=False).entity(
                EntityView(view), self._context(request))
            return await self._commitAnswer(
                request, once, [], rendered,
                commit=lambda changes: self.desk.scheduler.submitAll([record], changes))
        ended = await self.desk.submitAndWait(record, prefer.wait)
        if ended.state.isFinal:
            request.setResponseCode(201)
            request.setHeader(b"Location", self._context(request).absolute(
                requestView(ended, entity).location))
            return self._sendRequest(request, ended, entity)
        return self._accepted(request, ended, entity)

    async def _listRequests(self, request: IRequest, entity: Entity) -> bytes | None:
        renderer = self._negotiate(request, listing=True)
        _, number = _paging(request)
        number = number or MAX_PAGE
        after = _query(request, "after")
        page = await self.store.listRequests(entity.id, after, number)
        context = self._context(request)
        if page.cursor is not None:
            following = f"{requestsPath(entity)}?after={page.cursor}&number={number}"
            request.responseHeaders.addRawHeader(
                b"Link", f'<{context.absolute(following)}>; rel="next"'.encode())
        views = [EntityView(requestView(record, entity)) for record in page.requests]
        return self._send(request, _collect(renderer, views, context))

    async def _load(self, kind: Kind, entityId: str) -> Entity:
        entity = await self.store.get(entityId)
        if entity is None or entity.kind.location != kind.location:
            raise NotFound(f"There is no entity at {kind.location}{entityId}.")
        return entity

    async def _newLinks(self, source: Entity, description: Description) -> list[Change]:
        """Link entities for the inline links a resource's description carries."""
        if not description.links:
            return []
        if source.isLink:
            raise BadRequest("Links can only be attached to resources, not to links.")
        changes: list[Change] = []
        existing = (await self.store.linksFrom([source.location])).get(source.location, [])
        devices = {str(e.attributes.get("occi.storagelink.deviceid")) for e in existing}
        for link in description.links:
            if "?action=" in link.target:
                continue  # an action link, rendered for the client, not a link to create
            if link.location is not None and any(e.location == link.location
                                                 for e in existing):
                continue  # a link the resource already has, echoed back by a full PUT
            target = await self._targetOf(link.target)
            kind = link.kind or _linkKindFor(target)
            attributes: dict[str, object] = dict(link.attributes)
            attributes["occi.core.source"] = source.location
            attributes["occi.core.target"] = link.target
            if target is not None:
                attributes["occi.core.target.kind"] = target.kind.identifier
            if kind.isA(STORAGELINK) and "occi.storagelink.deviceid" not in attributes:
                device = _nextDevice(devices)
                devices.add(device)
                attributes["occi.storagelink.deviceid"] = device
            entityId = None
            if link.location is not None:
                prefix, _, entityId = link.location.rpartition("/")
                if kind.location != prefix + "/":
                    raise BadRequest(f"A {kind.term} link cannot live at {link.location}.")
            entity = self._provisioned(newEntity(
                Description(kind=kind, mixins=link.mixins, attributes=attributes),
                owner=source.owner, entityId=entityId or None, kind=kind, now=self._now(),
            ))
            changes.append(Put(entity, expect=CREATE))
        return changes

    async def _linkEnds(self, description: Description) -> Description:
        """A link's source and target as local paths, and its target's kind recorded.

        Clients name the ends with absolute URIs on whatever host name they used; the store
        checks that the source exists, this checks the target when it is one of ours.
        """
        attributes = dict(description.attributes)
        for name in ("occi.core.source", "occi.core.target"):
            value = attributes.get(name)
            if isinstance(value, str):
                attributes[name] = localPath(value, self.registry)
        target = attributes.get("occi.core.target")
        if isinstance(target, str):
            entity = await self._targetOf(target)
            if entity is not None:
                attributes["occi.core.target.kind"] = entity.kind.identifier
        return replace(description, attributes=attributes)

    async def _targetOf(self, location: str) -> Entity | None:
        if not location.startswith("/"):
            return None  # a resource elsewhere: nothing to check here
        prefix, _, entityId = location.rpartition("/")
        kind = self.registry.atLocation(prefix + "/")
        if not isinstance(kind, Kind):
            raise BadRequest(f"The link target {location} is not an entity location.")
        entity = await self.store.get(entityId)
        if entity is None or entity.kind.location != kind.location:
            raise BadRequest(f"The link target {location} does not exist.")
        return entity

    def _provisioned(self, entity: Entity) -> Entity:
        """The entity with the values the driver chooses for new entities."""
        changes = self.driver.provision(entity)
        if not changes:
            return entity
        return replace(withState(entity, changes, now=entity.created), revision=entity.revision)

    def _admitted(self, entity: Entity) -> Entity:
        """A changed entity, once the driver agrees the infrastructure can be so."""
        self.driver.provision(entity)
        return entity

    async def _realize(self, before: Entity | None, after: Entity | None) -> None:
        """Have the driver follow a stored change (create, resize, delete an image).

        The change stands either way: a failure is logged, and the driver is asked again
        for every entity when the server next starts."""
        changed = after or before
        try:
            await self.driver.realize(before, after)
        except Exception:
            log.failure("The driver could not follow the change of {location}",
                        location=changed.location if changed is not None else "?")

    # -- kind collections ----------------------------------------------------------------------

    async def _kindCollection(self, request: IRequest, method: str, kind: Kind) -> bytes | None:
        if method in ("GET", "HEAD"):
            return await self._listing(request, self._kindQuery(request, kind))
        if method == "PUT":
            raise MethodNotAllowed(f"The kind collection {kind.location} takes POST to create; "
                                   "PUT goes to an entity location.",
                                   ("GET", "HEAD", "POST", "DELETE"))
        if method == "DELETE":
            gone: list[Entity] = []

            def delete(entity: Entity) -> Delete:
                gone.append(entity)
                return Delete(entity.id, expect=entity.revision)

            deleted = await self._forEachEntity(self._kindQuery(request, kind), delete)
            for entity in gone:
                await self._realize(entity, None)
            return self._ok(request, f"Deleted {deleted} entities from {kind.location}.")
        document = self._parse(request)
        actionTerm = _query(request, "action")
        if actionTerm is not None or document.action is not None:
            offered = [a.identifier for k in kind.ancestry() for a in k.actions]
            return await self._actOnCollection(request, self._kindQuery(request, kind),
                                               offered, document, actionTerm)
        return await self._create(request, kind, document)

    async def _create(self, request: IRequest, kind: Kind, document: Document) -> bytes | None:
        once = await self._once(request)
        if isinstance(once, bytes):
            return once
        documents = document.entities or (document,)
        created: list[Entity] = []
        changes: list[Change] = []
        for item in documents:
            description = describeEntity(item, self.registry)
            if kind.isA(LINK):
                description = await self._linkEnds(description)
            entity = self._provisioned(
                newEntity(description, owner=self._owner(request), kind=kind, now=self._now())
            )
            created.append(entity)
            changes.append(Put(entity, expect=CREATE))
            changes.extend(await self._newLinks(entity, description))
        context = self._context(request)
        request.setResponseCode(201)
        request.setHeader(b"Location", context.absolute(created[0].location))
        renderer = self._negotiate(request, listing=len(created) > 1)
        if len(created) > 1 or renderer.mediaType in _BY_REFERENCE:
            # Text clients (pOCCI among them) look for the new location in the body.
            rendered = renderer.locations([e.location for e in created], context)
        else:
            # Rendered before the commit (a remembered answer commits with it), so its
            # links are the ones this change set makes.
            new = created[0]
            links = [c.entity for c in changes if isinstance(c, Put) and c.entity.isLink
                     and c.entity.source == new.location]
            request.setHeader(b"ETag", _etag(new).encode())
            rendered = renderer.entity(EntityView(new, links), context)
        return await self._commitAnswer(request, once, changes, rendered,
                                        after=lambda: self._realizeAll(created))

    async def _realizeAll(self, created: Sequence[Entity]) -> None:
        for entity in created:
            await self._realize(None, entity)

    async def _once(self, request: IRequest) -> bytes | tuple[str, str] | None:
        """For a POST with an ``Idempotency-Key``: the remembered answer to send again, or
        the key and the request's fingerprint to remember this answer under."""
        key = idempotency.keyOf(request)
        if key is None:
            return None
        printed = idempotency.fingerprint(request, _body(request))
        answer = await self.store.recall(self._owner(request), key)
        if answer is not None:
            return idempotency.replay(request, answer, printed)
        return key, printed

    async def _commitAnswer(
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
        if once is not None:
            key, printed = once
            body = self._send(request, rendered)
            status: int = getattr(request, "code", 200)
            answer = Answer(self._owner(request), key, printed, status,
                            idempotency.keptHeaders(request), body, self._now())
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
        return self._send(request, rendered)

    async def _actOnCollection(
        self, request: IRequest, query: Query, offered: Sequence[str], document: Document,
        term: str | None,
    ) -> bytes | None:
        """Trigger an action on every entity of a collection that is in a state to take it:
        one request each, stored together; 200 if all end within the wait budget, else 202
        with the requests' locations."""
        invocation = describeInvocation(_notBefore(document)[1], self.registry, term, offered)
        records: list[tuple[RequestRecord, Entity]] = []
        skipped = 0
        async for entity in self._entities(query):
            try:
                record = self._plan(request, entity, document, term)
            except (Conflict, BadRequest):
                skipped += 1
                continue
            records.append((record, entity))
        await self.desk.submit([record for record, _ in records])
        prefer = preferences(_allHeaders(request, b"prefer"))
        deadline = self._now() + prefer.budget(self.waitBudget)
        pending: list[str] = []
        done = failed = 0
        for record, entity in records:
            ended = await self.desk.waitForEnd(record, max(0.0, deadline - self._now()))
            if ended.state is RequestState.SUCCEEDED:
                done += 1
            elif ended.state.isFinal:
                failed += 1
            else:
                pending.append(requestView(ended, entity).location)
        message = f"{invocation.action.term}: done on {done} entities"
        if failed:
            message += f"; failed on {failed}"
        if skipped:
            message += (f"; skipped {skipped} that do not offer it or are not in a state "
                        "for it")
        if pending:
            request.setResponseCode(202)
            message += f"; {len(pending)} still running (their requests are listed)"
            context = self._context(request)
            for location in pending[:MAX_PAGE]:
                request.responseHeaders.addRawHeader(
                    b"Link", f'<{context.absolute(location)}>; rel="monitor"'.encode())
        return self._ok(request, message + ".")

    def _kindQuery(self, request: IRequest, kind: Kind) -> Query:
        kinds = frozenset(k.identifier for k in self.registry.kinds() if k.isA(kind))
        return self._filteredQuery(request, Query(kinds=kinds))

    # -- mixin collections ---------------------------------------------------------------------

    async def _mixinCollection(
        self, request: IRequest, method: str, mixin: Mixin
    ) -> bytes | None:
        related = frozenset(m.identifier for m in self.registry.mixins() if m.isA(mixin))
        query = self._filteredQuery(request, Query(mixins=related))
        if method in ("GET", "HEAD"):
            return await self._listing(request, query)
        document = self._parse(request)
        actionTerm = _query(request, "action")
        if method == "POST" and (actionTerm is not None or document.action is not None):
            offered = [a.identifier for k in self.registry.kinds() for a in k.actions]
            offered += [a.identifier for m in mixin.closure() for a in m.actions]
            return await self._actOnCollection(request, query, offered, document, actionTerm)
        targets = [await self._associable(loc, mixin) for loc in document.locations]
        changes: list[Change] = []
        now = self._now()
        if method == "DELETE":
            if not targets:
                targets = [e async for e in self._entities(Query(mixins=frozenset(
                    {mixin.identifier})))]
            for entity in targets:
                if mixin in entity.mixins:
                    kept = [m for m in entity.mixins if m != mixin]
                    changes.append(Put(withMixins(entity, kept, now=now),
                                       expect=entity.revision))
        else:
            chosen = {e.id for e in targets}
            for entity in targets:
                if mixin not in entity.mixins:
                    changes.append(Put(withMixins(entity, [*entity.mixins, mixin], now=now),
                                       expect=entity.revision))
            if method == "PUT":
                async for entity in self._entities(Query(mixins=frozenset({mixin.identifier}))):
                    if entity.id not in chosen:
                        kept = [m for m in entity.mixins if m != mixin]
                        changes.append(Put(withMixins(entity, kept, now=now),
                                           expect=entity.revision))
        await self.store.apply(changes)
        return self._ok(request, f"{len(changes)} entities changed in {mixin.location}.")

    async def _associable(self, location: str, mixin: Mixin) -> Entity:
        path = localPath(location, self.registry)
        prefix, _, entityId = path.rpartition("/")
        kind = self.registry.atLocation(prefix + "/")
        entity = await self.store.get(entityId) if isinstance(kind, Kind) else None
        if entity is None or not isinstance(kind, Kind) or entity.kind.location != kind.location:
            raise BadRequest(f"There is no entity at {location} to associate with "
                             f"{mixin.term}.")
        return entity

    # -- the query interface -------------------------------------------------------------------

    async def _queryInterface(self, request: IRequest, method: str) -> bytes | None:
        _allow(method, ("GET", "HEAD", "POST", "DELETE"), "/-/")
        if method in ("GET", "HEAD"):
            wanted = filterCategories(self._filters(request), self.registry)
            categories: Sequence[Category] = list(self.registry)
            if wanted:
                ids = {c.identifier for c in wanted}
                categories = [c for c in categories if c.identifier in ids]
            renderer = self._negotiate(request, listing=False)
            return self._send(request, renderer.categories(categories, self._context(request)))
        document = self._parse(request)
        if method == "POST":
            for mixin in describeMixins(document, self.registry, self._owner(request)):
                await self.store.defineMixin(mixin)
            return self._ok(request, "Mixin defined.")
        if not document.categories:
            raise BadRequest("Name the mixin to remove with a Category.")
        for ref in document.categories:
            await self.store.removeMixin(ref.identifier)
        return self._ok(request, "Mixin removed.")

    # -- listings ------------------------------------------------------------------------------

    def _filteredQuery(self, request: IRequest, base: Query) -> Query:
        """Narrow a listing by the Category and X-OCCI-Attribute filters of the request."""
        document = self._filters(request)
        kinds, mixins = set(base.kinds), set(base.mixins)
        for category in filterCategories(document, self.registry):
            if isinstance(category, Kind):
                narrowed = {k.identifier for k in self.registry.kinds() if k.isA(category)}
                kinds = kinds & narrowed if kinds else narrowed
            elif isinstance(category, Mixin):
                mixins.add(category.identifier)
        attributes: dict[str, Any] = {}
        raw = dict(document.attributes)
        for name, values in request.args.items():
            key = name.decode("utf-8", "replace")
            if key.startswith("occi.") and values:
                raw[key] = values[0].decode("utf-8", "replace")
        # Attribute filters are rare; the definitions are gathered only when one is given.
        definitions = {d.name: d for c in self.registry for d in c.attributes} if raw else {}
        for name, value in raw.items():
            definition = definitions.get(name)
            attributes[name] = definition.coerce(value) if definition else value
        return Query(kinds=frozenset(kinds), mixins=frozenset(mixins), attributes=attributes,
                     owner=base.owner)

    async def _listing(self, request: IRequest, query: Query) -> bytes | None:
        """Answer a listing: whole when it fits one page, else streamed page by page.

        Resources come before links (pass-by-value renderings group them), each group in
        creation order, so every group is its own store query.
        """
        renderer = self._negotiate(request, listing=True)
        context = self._context(request)
        withLinks = renderer.mediaType not in _BY_REFERENCE
        page, number = _paging(request)
        if renderer.mediaType == ATOM_ENTITIES.mediaType and _query(request, "page") is None:
            return await self._atomListing(request, query, number or ATOM_PAGE)
        if page is not None:
            entities = await self._pageAt(query, page, number)
            path = request.path.decode("utf-8", "replace")
            pages = [("first", 1)]
            if page > 1:
                pages.append(("prev", page - 1))
            if len(entities) == number:
                pages.append(("next", page + 1))
            for rel, at in pages:  # RFC 5005's links, as headers for every rendering
                url = context.absolute(f"{path}?page={at}&number={number}")
                request.responseHeaders.addRawHeader(b"Link", f'<{url}>; rel="{rel}"'.encode())
            views = await self._views(entities, withLinks)
            return self._send(request, _collect(renderer, views, context))
        groups = self._groups(query)
        firstPage = await self.store.page(groups[0], None, STREAM_BATCH) if groups else None
        if firstPage is None or (firstPage.cursor is None and len(groups) == 1):
            views = await self._views(firstPage.entities if firstPage else [], withLinks)
            return self._send(request, _collect(renderer, views, context))
        if not renderer.streams:
            views = []
            for group in groups:
                views.extend(await self._views([e async for e in self._entities(group)],
                                               withLinks))
            return self._send(request, _collect(renderer, views, context))
        request.setHeader(b"Content-Type", _contentType(renderer).encode())
        request.setHeader(b"Vary", b"Accept")
        if request.method == b"HEAD":
            return b""
        stream = Stream(request, self.clock)
        stream.write(renderer.collectionStart(context))
        for group in groups:
            first = True
            after: str | None = None
            while not stream.stopped:
                if firstPage is not None:
                    result, firstPage = firstPage, None
                else:
                    result = await self.store.page(group, after, STREAM_BATCH)
                views = await self._views(result.entities, withLinks)
                stream.write(b"".join(
                    renderer.collectionItem(view, first and i == 0, context)
                    for i, view in enumerate(views)
                ))
                first = first and not views
                if result.cursor is None:
                    break
                after = result.cursor
                await stream.turn()
        stream.write(renderer.collectionEnd(context))
        stream.finish()
        return None

    async def _atomListing(self, request: IRequest, query: Query, number: int) -> bytes:
        """A collection passed by value, a page at a time, with RFC 5005 paging links: one
        indexed read per page however deep (the cursor is the store's)."""
        after = _query(request, "after")
        result = await self.store.page(query, after, number)
        views = await self._views(result.entities)
        base = self._baseContext(request)
        path = request.path.decode("utf-8", "replace")
        links = [("first", base.absolute(f"{path}?number={number}"))]
        if result.cursor is not None:
            links.append(("next", base.absolute(
                f"{path}?after={result.cursor}&number={number}")))
        here = f"{path}?after={after}&number={number}" if after else path
        context = FeedContext(base.base, base.clock, feedId=base.absolute(path),
                              title=f"Entities in {path}", selfURL=base.absolute(here),
                              links=tuple(links))
        return self._send(request, _collect(ATOM_ENTITIES, views, context))

    def _groups(self, query: Query) -> list[Query]:
        """``query`` split into its resources and its links, in that order."""
        kinds = query.kinds or frozenset(k.identifier for k in self.registry.kinds())
        resources = frozenset(k for k in kinds if not self._isLinkKind(k))
        links = kinds - resources
        return [replace(query, kinds=group) for group in (resources, links) if group]

    def _isLinkKind(self, identifier: str) -> bool:
        kind = self.registry.get(identifier)
        return isinstance(kind, Kind) and kind.isA(LINK)

    async def _pageAt(self, query: Query, page: int, number: int) -> list[Entity]:
        after: str | None = None
        skip = (page - 1) * number
        while skip > 0:
            result = await self.store.page(query, after, min(skip, MAX_PAGE))
            skip -= len(result.entities)
            after = result.cursor
            if after is None:
                return []
        result = await self.store.page(query, after, number)
        return list(result.entities)

    async def _entities(self, query: Query) -> AsyncIterator[Entity]:
        after: str | None = None
        while True:
            result = await self.store.page(query, after, STREAM_BATCH)
            for entity in result.entities:
                yield entity
            if result.cursor is None:
                return
            after = result.cursor

    async def _forEachEntity(self, query: Query, change: Any) -> int:
        """Apply a change to every entity a query matches, one durable batch per page."""
        count = 0
        batch: list[Change] = []
        async for entity in self._entities(query):
            batch.append(change(entity))
        # Deleting a resource deletes its links too, so a link later in the batch may already
        # be gone: such a batch is retried change by change, skipping what is missing.
        for start in range(0, len(batch), STREAM_BATCH):
            part = batch[start:start + STREAM_BATCH]
            try:
                await self.store.apply(part)
                count += len(part)
            except NotFound:
                for single in part:
                    try:
                        await self.store.apply([single])
                        count += 1
                    except NotFound:
                        continue
        return count

    async def _views(
        self, entities: Sequence[Entity], withLinks: bool = True
    ) -> list[EntityView]:
        """Entities paired with their links, fetched for the whole batch at once.

        Renderings that list by reference write locations only, and need no links.
        """
        sources = [e.location for e in entities if not e.isLink] if withLinks else []
        links = await self.store.linksFrom(sources) if sources else {}
        return [EntityView(e, links.get(e.location, [])) for e in entities]

    # -- rendering -----------------------------------------------------------------------------

    async def _renderEntity(
        self, request: IRequest, renderer: Renderer, entity: Entity
    ) -> bytes | None:
        links: Sequence[Entity] = []
        if not entity.isLink:
            links = (await self.store.linksFrom([entity.location])).get(entity.location, [])
        request.setHeader(b"ETag", _etag(entity).encode())
        request.setHeader(b"Last-Modified", _httpDate(entity.updated))
        return self._send(request, renderer.entity(EntityView(entity, links),
                                                   self._context(request)))

    def _multipleChoices(self, request: IRequest, entity: Entity) -> bytes:
        """The walkthrough's answer to a client that stated no preference: 300, with the
        HTML rendering as the suggestion and every representation's own URL."""
        context = self._context(request)
        choices = representations(entity.location, standard.outputTypes(listing=False))
        request.setResponseCode(300)
        preferred = next((url for url, type in choices if type == HTML_TYPE), choices[0][0])
        request.setHeader(b"Location", context.absolute(preferred).encode())
        for url, type in choices:
            request.responseHeaders.addRawHeader(b"Link", (
                f'<{context.absolute(url)}>; rel="alternate"; type="{type}"').encode())
        request.setHeader(b"ETag", _etag(entity).encode())
        request.setHeader(b"Last-Modified", _httpDate(entity.updated))
        request.setHeader(b"Vary", b"Accept")
        lines = [f"{entity.location} is available as:"]
        lines += [f"{type}: {context.absolute(url)}" for url, type in choices]
        body = self._plain(request, "\n".join(lines))
        return b"" if request.method == b"HEAD" else body

    def _notModified(self, request: IRequest, entity: Entity) -> bool:
        """A conditional GET the client's copy satisfies: 304, headers only."""
        etag = _etag(entity)
        match = _header(request, b"if-none-match")
        since = _header(request, b"if-modified-since")
        if match is not None:
            fresh = match.strip() == "*" or etag in [t.strip() for t in match.split(",")]
        elif since is not None:
            try:
                fresh = int(entity.updated) <= parsedate_to_datetime(since).timestamp()
            except (TypeError, ValueError):
                fresh = False
        else:
            fresh = False
        if fresh:
            request.setResponseCode(304)
            request.setHeader(b"ETag", etag.encode())
            request.setHeader(b"Last-Modified", _httpDate(entity.updated))
        return fresh

    async def _template(self, request: IRequest, term: str) -> bytes | None:
        """``/templates/``: the templates; ``/templates/<term>``: a resource made from one,
        to POST back to its collection."""
        if not term:
            renderer = self._negotiate(request, listing=True)
            return self._send(request, renderer.locations(
                [templates.PATH + t.term for t in templates.templates(self.registry)],
                self._context(request)))
        template = templates.templateNamed(self.registry, term)
        if template is None:
            raise NotFound(f"There is no template called {term[:60]!r}.")
        entity = templates.instantiate(template, owner=self._owner(request), now=self._now())
        renderer = self._negotiate(request, listing=False)
        request.setHeader(b"Cache-Control", b"no-store")  # a new id each time
        return self._send(request, renderer.entity(EntityView(entity), self._context(request)))

    async def _feed(self, request: IRequest, scope: FeedScope,
                    eventId: str | None = None) -> bytes:
        named = _query(request, "format")
        chosen = FORMATS.get(named) if named is not None else negotiation.choose(
            _header(request, b"accept"), LOG_TYPES)
        if chosen not in LOG_TYPES:
            raise NotAcceptable(f"{scope.path} is listed as {', '.join(LOG_TYPES)}.")
        if scope.entityId is not None:
            entity = await self.store.get(scope.entityId)
            if entity is None or entity.location != scope.node:
                raise NotFound(f"There is nothing at {scope.node}.")
            if scope.requestId is not None:
                record = await self.store.getRequest(scope.requestId)
                if record is None or record.entityId != entity.id:
                    raise NotFound(f"{scope.node} has no request {scope.requestId}.")
        if eventId is not None:
            body = await entry(request, scope, eventId, store=self.store,
                               registry=self.registry, context=self._baseContext(request))
        else:
            body = await answer(request, scope, self.store, self.registry,
                                self._baseContext(request), mediaType=chosen or ATOM)
        return b"" if request.method == b"HEAD" else body

    def _landing(self, request: IRequest) -> bytes:
        renderer = self._negotiate(request, listing=True)
        context = self._context(request)
        locations = [QUERY_PATHS[0]] + [k.location for k in self.registry.kinds()
                                        if k.location] + [templates.PATH]
        for location in locations:
            request.responseHeaders.addRawHeader(
                b"Link", f'<{context.absolute(location)}>; rel="collection"'.encode())
        request.responseHeaders.addRawHeader(b"Link", (
            f'<{context.absolute("/log/")}>; rel="alternate"; type="{ATOM}"; '
            'title="Every change on this server"').encode())
        return self._send(request, renderer.locations([*locations, "/log/"], context))

    def _send(self, request: IRequest, rendered: Rendered) -> bytes:
        request.setHeader(b"Content-Type", rendered.contentType.encode())
        request.setHeader(b"Vary", b"Accept")
        for name, value in rendered.headers:
            request.responseHeaders.addRawHeader(name.encode(), value.encode())
        body: bytes = rendered.body
        request.setHeader(b"Content-Length", str(len(body)).encode())
        return body

    def _ok(self, request: IRequest, message: str) -> bytes:
        try:
            renderer = self._negotiate(request, listing=False)
        except OCCIError:
            return self._plain(request, message)
        return self._send(request, renderer.message(message, self._context(request)))

    def _error(self, request: IRequest, error: OCCIError) -> bytes:
        status = statusFor(error)
        request.setResponseCode(status)
        if isinstance(error, MethodNotAllowed):
            request.setHeader(b"Allow", ", ".join(error.allowed).encode())
        if self._wantsPages(request):
            # A person in a browser: the sentence on a page, with a way back.
            return self._send(request, HTML.error(status, error.message,
                                                  self._context(request)))
        return self._plain(request, error.message)

    def _wantsPages(self, request: IRequest) -> bool:
        """Whether the client would rather have HTML (a browser, or ``?format=html``)."""
        named = _query(request, "format")
        if named is not None:
            return named == "html"
        accept = _header(request, b"accept")
        return bool(accept and HTML_TYPE in accept
                    and negotiation.choose(accept, standard.outputTypes(listing=True))
                    == HTML_TYPE)

    def _seeOther(self, request: IRequest, path: str, answer: bytes | None) -> bytes | None:
        """After a browser's form POST went well: 303 to the page to see (Post/Redirect/Get),
        so that reloading does not post again."""
        if request.method != b"POST" or getattr(request, "code", 200) not in (200, 201, 202):
            return answer
        contentType = (_header(request, b"content-type") or "").lower()
        if not contentType.startswith("application/x-www-form-urlencoded") or \
                not self._wantsPages(request):
            return answer
        target = request.responseHeaders.getRawHeaders(b"location", [None])[0]
        if target is None:
            following = parse_qs(_body(request).decode("latin-1")).get("_next", [""])[-1]
            if following.startswith("/") and not following.startswith(("//", "/\\")):
                target = self._context(request).absolute(following).encode()
            else:
                target = self._context(request).absolute(path).encode()
        request.setResponseCode(303)
        request.setHeader(b"Location", target)
        body: bytes = b"See " + target + b"\n"
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        request.setHeader(b"Content-Length", str(len(body)).encode())
        return body

    def _plain(self, request: IRequest, message: str) -> bytes:
        body = (message + "\n").encode("utf-8")
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        request.setHeader(b"Content-Length", str(len(body)).encode())
        return body

    # -- request parts -------------------------------------------------------------------------

    def _negotiate(self, request: IRequest, *, listing: bool) -> Renderer:
        accept = _header(request, b"accept")
        available = standard.outputTypes(listing=listing)
        named = _query(request, "format")
        if named is not None:
            # The representation's own URL: ?format= wins over Accept.
            chosen = FORMATS.get(named)
            if chosen is None or chosen not in available:
                raise NotAcceptable(f"There is no {named[:40]!r} representation here; the "
                                    f"formats are {', '.join(formatsOf(available))}.")
            return standard.renderer(chosen)
        chosen = negotiation.choose(accept, available)
        if chosen is None and not listing and negotiation.choose(
            accept, standard.outputTypes(listing=True)
        ):
            raise BadRequest("That type renders listings only, and this is not a listing; "
                             "ask for another type.")
        if chosen is None:
            raise NotAcceptable(
                f"None of the requested types ({accept}) is available here; this server "
                f"renders {', '.join(available)}."
            )
        return standard.renderer(chosen)

    def _parse(self, request: IRequest) -> Document:
        contentType = _header(request, b"content-type")
        body = _body(request)
        parser = standard.parser(contentType or "text/plain")
        if parser is None:
            raise UnsupportedMediaType(
                f"This server cannot read {contentType}; send one of "
                f"{', '.join(standard.inputTypes())}."
            )
        return parser(body, _headers(request))

    def _filters(self, request: IRequest) -> Document:
        """Category and X-OCCI-Attribute filters, which GET requests carry as headers."""
        headers = _headers(request)
        if not any(name in headers for name in ("category", "x-occi-attribute")):
            return Document()
        parser = standard.parser("text/occi")
        assert parser is not None
        return parser(b"", headers)

    def _context(self, request: IRequest) -> RenderContext:
        """Where rendered locations point: --base-url, else the host the client asked; and
        for pages, where the page is (a listing's kind, a message's way back)."""
        base = self._baseContext(request)
        if not self._wantsPages(request):
            return base
        path = request.path.decode("utf-8", "replace")
        return pageContext(base, path=path, registry=self.registry,
                           draft=path.startswith(templates.PATH))

    def _baseContext(self, request: IRequest) -> RenderContext:
        if self._base is not None:
            return self._base
        host = _header(request, b"host")
        if not host or not _HOST.fullmatch(host):
            host = f"127.0.0.1:{request.getHost().port}"
        key = (request.isSecure(), host)
        context = self._contexts.get(key)
        if context is None:
            if len(self._contexts) > 256:
                self._contexts.clear()  # many host names: a scan, not worth remembering
            context = self._contexts[key] = RenderContext(
                f"{'https' if key[0] else 'http'}://{host}", self.clock.seconds)
        return context

    def _owner(self, request: IRequest) -> str:
        """Who the request acts for; the place authentication will fill in."""
        return ANONYMOUS

    def _now(self) -> float:
        return self.clock.seconds()

    def _checkIfMatch(self, request: IRequest, entity: Entity) -> None:
        wanted = _header(request, b"if-match")
        if wanted is None or wanted.strip() == "*":
            return
        if _etag(entity) not in [tag.strip() for tag in wanted.split(",")]:
            raise PreconditionFailed(f"{entity.location} has changed since {wanted}; GET it "
                                     "again and retry.")


def _collect(
    renderer: Renderer, views: Sequence[EntityView], context: RenderContext
) -> Rendered:
    """A whole listing as one rendering, for renderings that cannot stream (or one page)."""
    if not renderer.streams:
        return renderer.locations([v.entity.location for v in views], context)
    resources = [v for v in views if not v.entity.isLink]
    links = [v for v in views if v.entity.isLink]
    body = renderer.collectionStart(context) + b"".join(
        renderer.collectionItem(view, i == 0, context)
        for group in (resources, links) for i, view in enumerate(group)
    ) + renderer.collectionEnd(context)
    return Rendered(_contentType(renderer), body)


def _contentType(renderer: Renderer) -> str:
    """The Content-Type of a renderer's output (with its charset, where it has one)."""
    return str(getattr(renderer, "contentType", renderer.mediaType))


def _etag(entity: Entity) -> str:
    """A strong validator that changes with every revision, also across delete and re-create."""
    return f'"{entity.revision}-{int(entity.updated * 1000)}"'


def _nextDevice(taken: set[str]) -> str:
    """The first virtio disk name a compute's storage links do not use yet."""
    for letter in "bcdefghijklmnopqrstuvwxyz":
        if f"/dev/vd{letter}" not in taken:
            return f"/dev/vd{letter}"
    raise Conflict("This compute has no free device name left for another storage link.")


def _linkKindFor(target: Entity | None) -> Kind:
    if target is not None and target.kind.isA(NETWORK):
        return NETWORKINTERFACE
    if target is not None and target.kind.isA(STORAGE):
        return STORAGELINK
    return LINK


def _onlyActions(document: Document) -> bool:
    return bool(document.categories) and all(c.cls == "action" for c in document.categories)


def _checkVersion(request: IRequest) -> None:
    agent = request.getHeader(b"user-agent")
    if agent is None:
        return
    match = _OCCI_VERSION.search(agent if isinstance(agent, bytes) else agent.encode())
    if match and (int(match.group(1)), int(match.group(2))) > (1, 2):
        raise NotImplementedByServer(
            f"This server speaks OCCI/1.2; the client asked for "
            f"OCCI/{match.group(1).decode()}.{match.group(2).decode()}."
        )


def _allow(method: str, allowed: Sequence[str], path: str) -> None:
    if method not in allowed:
        raise MethodNotAllowed(f"The location {path} does not take {method}; it takes "
                               f"{', '.join(allowed)}.", tuple(allowed))


def _header(request: IRequest, name: bytes) -> str | None:
    values = request.requestHeaders.getRawHeaders(name)
    if not values:
        return None
    return ", ".join(v.decode("latin-1") for v in values)


def _headers(request: IRequest) -> Mapping[str, Sequence[str]]:
    return {
        name.decode("latin-1").lower(): [v.decode("latin-1") for v in values]
        for name, values in request.requestHeaders.getAllRawHeaders()
    }


async def _nothing() -> None:
    """Nothing to do after a commit."""


def _formMethod(request: IRequest) -> str | None:
    """An HTML form's ``_method`` field (forms only GET and POST): ``PUT`` or ``DELETE``."""
    if request.method != b"POST":
        return None
    contentType = _header(request, b"content-type") or ""
    if not contentType.lower().startswith("application/x-www-form-urlencoded"):
        return None
    body = _body(request)
    if b"_method=" not in body:
        return None
    named = parse_qs(body.decode("latin-1")).get("_method", [""])[-1].upper()
    return named if named in ("PUT", "DELETE") else None


def _httpDate(when: float) -> bytes:
    return formatdate(when, usegmt=True).encode()


def _allHeaders(request: IRequest, name: bytes) -> list[str]:
    values = request.requestHeaders.getRawHeaders(name) or []
    return [value.decode("latin-1") for value in values]


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


def _query(request: IRequest, name: str) -> str | None:
    values = request.args.get(name.encode())
    return values[0].decode("utf-8", "replace") if values else None


def _paging(request: IRequest) -> tuple[int | None, int]:
    page, number = _query(request, "page"), _query(request, "number")
    if page is None and number is None:
        return None, 0
    try:
        pageNo = int(page) if page is not None else 1
        size = int(number) if number is not None else 100
    except ValueError:
        raise BadRequest("The query parameters page and number must be whole numbers.") from None
    if pageNo < 1 or size < 1:
        raise BadRequest("The query parameters page and number start at 1.")
    if size > MAX_PAGE:
        raise TooLarge(f"A page holds at most {MAX_PAGE} entities; ask for more pages "
                       "instead.")
    return pageNo, size


def _body(request: IRequest) -> bytes:
    length = request.getHeader(b"content-length")
    if length is not None:
        try:
            if int(length) > MAX_BODY:
                raise TooLarge(f"Request bodies may be at most {MAX_BODY} bytes.")
        except ValueError:
            raise BadRequest("Content-Length is not a number.") from None
    content = request.content
    if content is None:
        return b""
    content.seek(0)
    body: bytes = content.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise TooLarge(f"Request bodies may be at most {MAX_BODY} bytes.")
    return body
