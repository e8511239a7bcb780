"""The Klein application: OCCI 1.2 over HTTP (GFD.223) for the model in the store.

One object holds the collaborators (store, driver, clock, request desk) and the rooms that
answer: :mod:`.entities` (one entity), :mod:`.collections` (kinds, mixins, the query
interface) with :mod:`.listings`, :mod:`.actions` (actions and their requests), the notes and
the feeds.  The fixed part of the URL space (:mod:`occi_twisted.model.locations`) has routes of
its own; collections come and go at run time (a user mixin brings its own location), so every
other path goes through one route that resolves it with the registry.  Whatever the route,
:meth:`.Answering.respond` admits the request and turns every failure into its status code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from klein import Klein
from twisted.internet.interfaces import IReactorFromThreads, IReactorTime
from twisted.python.threadpool import ThreadPool
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource

from ..drivers import IConsoles, IDriver, IImages
from ..files.signing import KeyRing
from ..files.types import OVA, OVF
from ..identity import SINGLE_USER, Principal
from ..model import Kind
from ..model import locations as loc
from ..model.errors import MethodNotAllowed, NotAcceptable, NotFound
from ..monitoring import Health, Metrics
from ..monitoring.health import always
from ..operations import RequestDesk
from ..renderings import negotiation
from ..renderings.document import EntityView
from ..renderings.html import MEDIA_TYPE as HTML_TYPE
from ..store.interface import IFollowedRegistry, IStore
from . import access, parts, templates
from .actions import WAIT_BUDGET, Actions
from .answering import Answering
from .collections import Collections
from .consoles import Consoles
from .entities import Entities
from .envelopes import Envelopes
from .feeds import ATOM, LOG_TYPES, FeedScope, answer, entry, scopeOf
from .files import Files
from .forwarding import Forwarding
from .listings import Listings
from .methods import Shape, allow
from .monitoring import Measured, MonitoringRoutes
from .notes import NoteRoutes
from .paths import UTF8Paths
from .representations import FORMATS
from .weblinks import webLink

#: The methods :meth:`OCCIServer.atOnce` may answer.
_READS = (b"GET", b"HEAD")
#: A room's answer to a request, given the method the client means.
_Route = Callable[[IRequest, str], Awaitable[bytes | None]]


def _singleUser(name: str) -> Principal:
    """Who a signed URL acts for without users: the one user there is."""
    return SINGLE_USER


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
        keys: KeyRing | None = None,
        threads: IReactorFromThreads | None = None,
        principalOf: Callable[[str], Principal] | None = None,
        metrics: Metrics | None = None,
        peers: Collection[str] = (),
    ) -> None:
        """``keys`` sign the URLs of files (none: no file is handed out); file transfers
        run in a thread pool of their own, through ``threads``; a signed URL acts for the
        owner it was signed for, whom ``principalOf`` names (single-user mode's by
        default).  ``metrics`` count what the server does (its own by default); its
        health is that the store answers and the scheduler runs, and whatever else is
        added to :attr:`health`.  ``peers`` are the URLs of the endpoints resources may
        migrate to."""
        self.store = store
        self.registry = store.registry
        self.driver = driver
        self.clock = clock
        self.desk = desk
        self.answering = Answering(store.registry, baseURL, clock)
        self.actions = Actions(store, clock, self.answering, driver=driver, desk=desk,
                               waitBudget=waitBudget, peers=frozenset(peers))
        self.forwarding = Forwarding(store, clock, self.answering, actions=self.actions)
        self.entities = Entities(store, clock, self.answering, driver=driver,
                                 actions=self.actions)
        self.listings = Listings(store, clock, self.answering)
        self.collections = Collections(store, clock, self.answering, members=self.entities,
                                       actions=self.actions, listings=self.listings)
        self.notes = NoteRoutes(store, clock.seconds)
        principals = principalOf or _singleUser
        self.files = None if keys is None else Files(
            store=store, clock=clock, answering=self.answering, keys=keys,
            images=IImages(driver, None), reactor=threads or clock, principalOf=principals,
            pool=ThreadPool(minthreads=0, maxthreads=4, name="occi-files"))
        self.envelopes = None if self.files is None else Envelopes(
            store=store, clock=clock, answering=self.answering, driver=driver,
            files=self.files, principalOf=principals)
        if self.files is not None:
            self.answering.transfers = self.files.transfers
        shared = IFollowedRegistry(store, None)
        if shared is not None:
            self.answering.followMixins = shared.followMixins
        self.consoles = None if self.files is None else Consoles(
            store=store, clock=clock, answering=self.answering,
            driver=IConsoles(driver, None), pool=self.files.pool, reactor=self.files.reactor)
        if self.consoles is not None:
            self.answering.alternates = self.consoles.alternates
        self.metrics = metrics or Metrics()
        self.health = Health(clock)
        # Any id will do: what is probed is that the store answers a real query.
        self.health.add("store", lambda: store.get("health-probe").addCallback(
            lambda _: True))
        self.health.add("scheduler", always(lambda: desk.scheduler.running))
        self.monitoring = MonitoringRoutes(store, self.metrics, self.health)

    def resource(self) -> IResource:
        """The Twisted Web resource to serve: the routes, each request measured."""
        return self.measured(self.routes())

    def routes(self) -> IResource:
        """The routes alone, for a front door to stand in front of (see :meth:`measured`)."""
        return UTF8Paths(self.app.resource(), self)

    def measured(self, inner: IResource) -> IResource:
        """``inner`` (the routes, or a door in front of them) with every request through
        it counted in :attr:`metrics`."""
        return Measured(inner, self.metrics)

    # -- the fixed paths -----------------------------------------------------------------------

    @app.route(loc.ROOT)
    async def landingPage(self, request: IRequest) -> bytes | None:
        """The front page: links to the query interface, the collections, the feed."""
        return await self._fixed(request, loc.ROOT, self._landing)

    @app.route(loc.QUERY, strict_slashes=False)
    async def queryInterface(self, request: IRequest) -> bytes | None:
        """The query interface (GFD.223 3.4): categories; user mixins defined, removed."""
        return await self._fixed(request, loc.QUERY, self.collections.queryInterface)

    @app.route(loc.QUERY_WELL_KNOWN, strict_slashes=False)
    async def wellKnownQueryInterface(self, request: IRequest) -> bytes | None:
        """The query interface at its well-known path, answering as ``/-/`` does."""
        return await self._fixed(request, loc.QUERY_WELL_KNOWN,
                                 self.collections.queryInterface)

    @app.route(loc.FEED, strict_slashes=False)
    async def serverLog(self, request: IRequest) -> bytes | None:
        """Every change on the server the reader may see, newest first."""
        return await self._fixed(request, loc.FEED,
                                 lambda request, method: self._log(request, method, loc.Log("")))

    @app.route(loc.FEED + "<eventId>")
    async def serverLogEntry(self, request: IRequest, eventId: str) -> bytes | None:
        """One entry of the server-wide feed."""
        return await self._fixed(request, loc.logEntry(loc.ROOT, eventId),
                                 lambda request, method: self._log(request, method,
                                                                   loc.Log("", eventId)))

    @app.route(loc.TEMPLATES, strict_slashes=False)
    async def templateList(self, request: IRequest) -> bytes | None:
        """The templates offered: ready-made resources to GET and POST back."""
        return await self._fixed(request, loc.TEMPLATES, self._template)

    @app.route(loc.TEMPLATES + "<name>")
    async def template(self, request: IRequest, name: str) -> bytes | None:
        """A new entity made from a template, with a fresh id each time."""
        return await self._fixed(request, loc.templateAt(name), self._template)

    @app.route(loc.FILES + "<path:rest>")
    async def signedFile(self, request: IRequest, rest: str) -> bytes | None:
        """A signed URL: no principal (the front door lets it through); the signature is
        what admits it."""
        files = self.files
        if files is None or not parts.pathOf(request).startswith(loc.FILES):
            return await self.runTime(request)
        return await self.answering.respond(
            request, lambda method: files.signedURL(request, method, self.envelopes))

    @app.route(loc.HEALTH)
    async def healthCheck(self, request: IRequest) -> bytes | None:
        """Open to anyone: a load balancer probes without credentials."""
        if parts.pathOf(request) != loc.HEALTH:
            return await self.runTime(request)
        return await self.answering.respond(
            request, lambda method: self.monitoring.healthOf(request, method))

    @app.route(loc.METRICS)
    async def metricsPage(self, request: IRequest) -> bytes | None:
        return await self._fixed(request, loc.METRICS, self.monitoring.metricsOf)

    @app.route(loc.FORWARDS, strict_slashes=False)
    async def forwards(self, request: IRequest) -> bytes | None:
        """Where migrated entities went, for administrators."""
        return await self._fixed(request, loc.FORWARDS, self.forwarding.administer)

    @app.route(loc.FORWARDS + "<path:rest>")
    async def forward(self, request: IRequest, rest: str) -> bytes | None:
        """Where one migrated entity went; DELETE forgets it (410 from then on)."""
        return await self._fixed(request, parts.pathOf(request), self.forwarding.administer)

    @app.route(loc.SELF)
    async def introspectedSelf(self, request: IRequest) -> bytes | None:
        """A compute asking from its own address is sent to its location."""
        return await self._fixed(request, loc.SELF, self._self)

    async def _fixed(self, request: IRequest, path: str, route: _Route) -> bytes | None:
        """Answer at a fixed path -- unless the path as sent is only one Klein reads as it
        (``//log/``, ``/-``), which is resolved like any other."""
        if parts.pathOf(request) != path:
            return await self.runTime(request)
        return await self._admitted(request, route)

    async def _admitted(self, request: IRequest, route: _Route) -> bytes | None:
        """Every route's answer: an introspection principal is turned away first from all
        but its own compute's places."""
        async def admitted(method: str) -> bytes | None:
            await access.admitIntrospector(request, method, self.store)
            return await route(request, method)

        return await self.answering.respond(request, admitted)

    # -- locations made at run time ------------------------------------------------------------

    @app.route("/<path:location>", strict_slashes=False)
    async def runTimeLocation(self, request: IRequest, location: str) -> bytes | None:
        """Any other path: collections, entities and what is below them (the registry's)."""
        return await self.runTime(request)

    def atOnce(self, request: IRequest) -> bytes | None:
        """:meth:`runTime`'s answer to a GET or HEAD of an entity kept as it is (see
        :meth:`.Entities.atOnce`), through the same steps but Klein's routing (which could
        only lead there) and without a turn through Deferreds; ``None`` for any other
        request, and whenever something is not as usual -- a failure, a file or a screen
        asked for, an introspector, a path Klein would read otherwise -- which the routes
        then answer."""
        if request.method not in _READS or parts.principalOf(request).isIntrospector:
            return None
        try:
            path = parts.pathOf(request)
            place = next(iter(loc.placesOf(path)), None)
            if not isinstance(place, loc.EntityAt):
                return None
            kind = self._entityKind(place, path)
            if kind is None:
                return None
            method = self.answering.admit(request)
            allow(request, method, Shape.ENTITY, path)
            if self.files is not None and self.files.fileType(request, kind) is not None:
                return None
            if self.consoles is not None and self.consoles.wantsScreen(request, kind):
                return None
            return self.entities.atOnce(request, kind, place.entityId)
        except Exception:
            return None  # the way through Deferreds meets it again, and answers it

    async def runTime(self, request: IRequest) -> bytes | None:
        """Collections, entities and what lies below them, resolved with the registry."""
        return await self._admitted(request, self._resolve)

    async def _resolve(self, request: IRequest, method: str) -> bytes | None:
        """What is here; else, if it migrated, 301 to where it went (or 410, or its
        request), checked first for a PUT, which would otherwise make it anew here."""
        if method == "PUT":
            await self.forwarding.answer(request, method)
        try:
            return await self._here(request, method)
        except (NotFound, MethodNotAllowed):  # a log takes no POST here, nor at the peer
            answered = await self.forwarding.answer(request, method)
            if answered is None:
                raise
            return answered

    async def _here(self, request: IRequest, method: str) -> bytes | None:
        path = parts.pathOf(request)
        for place in loc.placesOf(path):
            if isinstance(place, loc.EntityAt):
                kind = self._entityKind(place, path)
                if kind is None:
                    return await self._collection(request, method, place.path + "/")
                allow(request, method, Shape.ENTITY, path)
                if self.consoles is not None and self.consoles.wantsScreen(request, kind):
                    return await self.consoles.screen(request, kind, place.entityId)
                if self.files is not None:
                    asFile = await self._asFile(request, method, kind, place.entityId)
                    if asFile is not None:
                        return asFile
                return await self.entities.answer(request, method, kind, place.entityId)
            if isinstance(place, loc.Collection):
                return await self._collection(request, method, place.path)
            if isinstance(place, loc.Log):
                logged = await self._log(request, method, place)
                if logged is None:
                    continue  # no such owner: the path means what it says without "log"
                return logged
            if isinstance(place, loc.Requests):
                return await self.actions.requests(request, method, place)
            if isinstance(place, loc.Notes):
                return await self._notes(request, method, place)
            if isinstance(place, loc.Template):
                return await self._template(request, method)
            if isinstance(place, loc.Console) and self.consoles is not None:
                return await self.consoles.console(request, method, place)
        # "/" and the query interface have their own routes, which Klein always picks.
        raise NotFound(f"There is nothing at {path}.")

    def _entityKind(self, place: loc.EntityAt, path: str) -> Kind | None:
        """The kind of the entity at ``place``; ``None`` if it is a collection's path without
        its slash (the walkthrough's "POST /compute"); 404 if no entity can be there."""
        if self.registry.atLocation(place.path + "/") is not None:
            return None
        kind = self.registry.atLocation(place.collection)
        if not isinstance(kind, Kind) or not place.entityId:
            raise NotFound(f"There is nothing at {path}.")
        return kind

    async def _asFile(self, request: IRequest, method: str, kind: Kind,
                      entityId: str) -> bytes | None:
        """An entity asked for, or sent, as a file (see :mod:`.files`); None otherwise."""
        assert self.files is not None and self.envelopes is not None
        if method in ("GET", "HEAD"):
            mediaType = self.files.fileType(request, kind)
            if mediaType is None:
                return None
            entity = await self.entities.load(request, kind, entityId)
            if mediaType == OVF:
                return await self.envelopes.envelope(request, entity)
            return await self.files.answerEntity(request, entity, mediaType)
        if method == "PUT" and parts.isImage(request):
            return await self.files.uploadTo(request, kind, entityId)
        return None

    async def _collection(self, request: IRequest, method: str, path: str) -> bytes | None:
        """A collection; a kind's takes an OVF envelope or an OVA archive too."""
        kind = self.registry.atLocation(path)
        if isinstance(kind, Kind) and method == "POST" and self.envelopes is not None:
            packed = await self._packed(request, kind)
            if packed is not None:
                return packed
        return await self.collections.answer(request, method, path)

    async def _packed(self, request: IRequest, kind: Kind) -> bytes | None:
        """A POST of an OVF envelope or an OVA archive to a kind's collection; None for any
        other body."""
        assert self.envelopes is not None
        contentType = (parts.lastHeader(request, b"content-type") or "").lower()
        if contentType.startswith(OVF):
            return await self.envelopes.createFromEnvelope(request, kind)
        if contentType.startswith(OVA):
            return await self.envelopes.importRedirect(request, kind)
        return None

    # -- what the rooms do not hold ------------------------------------------------------------

    async def _landing(self, request: IRequest, method: str) -> bytes:
        allow(request, method, Shape.LANDING, loc.ROOT)
        renderer = self.answering.negotiate(request, listing=True)
        context = self.answering.context(request)
        locations = [loc.QUERY] + [k.location for k in self.registry.kinds()
                                   if k.location] + [loc.TEMPLATES]
        for location in locations:
            webLink(request, renderer.mediaType, context.absolute(location), "collection")
        webLink(request, renderer.mediaType, context.absolute(loc.FEED), "alternate",
                f'; type="{ATOM}"; title="Every change on this server"')
        return self.answering.send(request, renderer.locations([*locations, loc.FEED],
                                                               context))

    async def _self(self, request: IRequest, method: str) -> bytes:
        """``/-/self``: an introspection request is sent to its compute; for anyone else
        there is nothing here."""
        allow(request, method, Shape.SELF, loc.SELF)
        computeId = parts.principalOf(request).compute
        compute = await self.entities.visible(request, computeId) if computeId else None
        if compute is None:
            raise NotFound(f"There is nothing at {loc.SELF}.")
        request.setResponseCode(303)
        request.setHeader(b"Location", self.answering.context(request).absolute(
            compute.location))
        return f"See {compute.location}\n".encode()

    async def _template(self, request: IRequest, method: str) -> bytes:
        """``/templates/``: the templates; ``/templates/<name>``: a resource made from one,
        to POST back to its collection."""
        path = parts.pathOf(request)
        name = path[len(loc.TEMPLATES):]
        allow(request, method, Shape.TEMPLATE if name else Shape.TEMPLATES, path)
        context = self.answering.context(request)
        if not name:
            renderer = self.answering.negotiate(request, listing=True)
            return self.answering.send(request, renderer.locations(
                [loc.templateAt(t.term) for t in templates.templates(self.registry)
                 if access.seesMixin(request, t)], context))
        template = templates.templateNamed(self.registry, name)
        if template is None or not access.seesMixin(request, template):
            raise NotFound(f"There is no template called {name[:60]!r}.")
        entity = templates.instantiate(template, owner=parts.ownerOf(request),
                                       now=self.clock.seconds())
        renderer = self.answering.negotiate(request, listing=False)
        request.setHeader(b"Cache-Control", b"no-store")  # a new id each time
        return self.answering.send(request, renderer.entity(EntityView(entity), context))

    async def _notes(self, request: IRequest, method: str, place: loc.Notes) -> bytes:
        kind = self.registry.atLocation(place.collection)
        if not isinstance(kind, Kind):
            raise NotFound(f"There is nothing at {parts.pathOf(request)}.")
        entity = await self.entities.load(request, kind, place.entityId)
        # Notes negotiate their own types, HTML among them: a page's context either way.
        context = self.answering.pageContext(request)
        if place.noteId:
            return await self.notes.note(request, method, entity.id, entity.location,
                                         noteId=place.noteId, context=context)
        return await self.notes.collection(request, method, entity.id, entity.location,
                                           context)

    async def _log(self, request: IRequest, method: str, place: loc.Log) -> bytes | None:
        """A log or one of its entries; ``None`` if the log's owner does not exist."""
        scope = scopeOf(place.owner, self.registry)
        if scope is None:
            return None
        if place.entryId is None:
            allow(request, method, Shape.LOG, scope.path)
        else:
            allow(request, method, Shape.LOG_ENTRY, parts.pathOf(request))
        return await self._feed(request, scope, place.entryId)

    async def _feed(self, request: IRequest, scope: FeedScope,
                    eventId: str | None = None) -> bytes:
        named = parts.argument(request, "format")
        chosen = FORMATS.get(named) if named is not None else negotiation.choose(
            parts.header(request, b"accept"), LOG_TYPES)
        if chosen not in LOG_TYPES:
            raise NotAcceptable(f"{scope.path} is listed as {', '.join(LOG_TYPES)}.")
        if scope.entityId is not None:
            entity = await self.entities.visible(request, scope.entityId)
            if entity is None or entity.location != scope.node:
                raise NotFound(f"There is nothing at {scope.node}.")
            if scope.requestId is not None:
                record = await self.store.getRequest(scope.requestId)
                if record is None or record.entityId != entity.id:
                    raise NotFound(f"{scope.node} has no request {scope.requestId}.")
        context = (self.answering.pageContext(request) if chosen == HTML_TYPE
                   else self.answering.baseContext(request))
        if eventId is not None:
            body = await entry(request, scope, eventId, store=self.store,
                               registry=self.registry, context=context,
                               mediaType=chosen or ATOM)
        else:
            body = await answer(request, scope, self.store, self.registry, context,
                                mediaType=chosen or ATOM)
        return b"" if request.method == b"HEAD" else body
