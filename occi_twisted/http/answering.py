"""How every answer leaves: the rendering negotiated, the context its links are written in,
validators (ETag, Last-Modified, 304), the walkthrough's 300 Multiple Choices, 303 after a
browser's form, and -- in one place -- every failure turned into its status code.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import replace
from email.utils import formatdate

from twisted.internet.defer import CancelledError
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.iweb import IRequest

from .. import __version__
from ..files.types import fileTypesOf
from ..model import Entity, Kind, Registry
from ..model.core import LINK
from ..model.errors import (
    BadRequest,
    MethodNotAllowed,
    Moved,
    NotAcceptable,
    OCCIError,
    PreconditionFailed,
    Unauthorized,
    UnknownCategory,
)
from ..model.locations import TEMPLATES
from ..renderings import negotiation, standard
from ..renderings.document import EntityView, RenderContext, Rendered, Renderer
from ..renderings.html import HTML, PageContext, Transfers, pageContext
from ..renderings.html import MEDIA_TYPE as HTML_TYPE
from ..store.interface import StoreUnavailable
from . import parts
from .errors import statusFor
from .renditions import Prepared, Renditions
from .representations import FORMATS, formatsOf, representations

log = Logger()

SERVER = f"occi-twisted/{__version__} OCCI/1.2"
_SERVER = SERVER.encode()
_hostName = re.compile(r"[A-Za-z0-9.\-_\[\]:]{1,255}").fullmatch
_READING = ("GET", "HEAD")
#: Negotiations remembered at most (by Accept, ?format= and whether a listing is asked).
_REMEMBERED = 1024
#: Renderings that list by reference, and answer a create with the new location rather
#: than the entity (text clients, pOCCI among them, look for it in the body).
BY_REFERENCE = frozenset({"text/plain", "text/occi", "text/uri-list",
                          "text/x-occi-descriptor"})

#: The Basic challenge of a 401 (RFC 7617), the front door's too.
CHALLENGE = b'Basic realm="occi", charset="UTF-8"'
#: A route's work once the request is admitted: given the method the client means.
Handler = Callable[[str], Awaitable[bytes | None]]


class Answering:
    """Answers for one server: its registry (for pages) and its base URL, if configured."""

    def __init__(self, registry: Registry, baseURL: str | None, clock: IReactorTime) -> None:
        self.registry = registry
        self.clock = clock
        self._base = (RenderContext(baseURL, clock.seconds, kindAt=self.kindAt)
                      if baseURL is not None else None)
        self._contexts: dict[tuple[bool, str | None], RenderContext] = {}
        self._negotiated: dict[tuple[str | None, str | None, bool],
                               tuple[Renderer, bool]] = {}
        self._renditions = Renditions()
        #: What a storage's page offers to download and upload (set when the server hands
        #: out files, see :meth:`.files.Files.transfers`).
        self.transfers: Callable[[Entity], Transfers | None] | None = None
        #: Re-reads the user mixins other nodes defined (set when several nodes share the
        #: store, see :class:`~..store.interface.IFollowedRegistry`).
        self.followMixins: Callable[[], Awaitable[object]] | None = None
        #: Representations a driver adds to an entity's 300 (a compute's screen and serial
        #: console, see :meth:`.consoles.Consoles.alternates`): (path, media type).
        self.alternates: Callable[[Entity], list[tuple[str, str]]] = lambda entity: []

    async def respond(self, request: IRequest, handler: Handler) -> bytes | None:
        """Run a route's ``handler``, mapping every domain error to its status code."""
        try:
            answer = await self._handled(handler, self.admit(request))
            return self.seeOther(request, answer)
        except OCCIError as error:
            return self.error(request, error)
        except StoreUnavailable as error:
            log.error("Store unavailable: {message}", message=error.message)
            request.setResponseCode(503)
            request.setHeader(b"Retry-After", b"5")
            return plain(request, "The store is unavailable right now; nothing was "
                                  "changed. Try again shortly.")
        except CancelledError:
            # The client hung up and Klein cancelled the answer: nobody is left to tell,
            # and what was committed goes on without it (the realizer follows the store).
            log.info("{method} {path}: the client hung up before its answer",
                     method=request.method, path=request.path)
            return None
        except Exception:
            log.failure("Unexpected error answering {method} {path}",
                        method=request.method, path=request.path)
            request.setResponseCode(500)
            return plain(request, "The server failed to answer this request; "
                                  "the failure has been logged.")

    def admit(self, request: IRequest) -> str:
        """What every answer starts with: the Server header; then the method the client
        means, once its OCCI version is one spoken here and, for a change, its Accept one
        that can be answered (refused before anything is written, not after)."""
        request.setHeader(b"Server", _SERVER)
        parts.checkVersion(request)
        method = parts.methodOf(request)
        if method not in _READING:
            self.negotiate(request, listing=False)
        return method

    async def _handled(self, handler: Handler, method: str) -> bytes | None:
        """``handler``'s answer -- once more if it named a category unknown here, once the
        user mixins are read again: another node may have just defined it, and this one not
        heard yet (the refusal comes from reading the request, before anything changed).
        Asked again whatever the re-read found: another re-read may have brought the mixin
        meanwhile."""
        try:
            return await handler(method)
        except UnknownCategory:
            if self.followMixins is None:
                raise
            await self.followMixins()
        return await handler(method)

    # -- choosing the rendering ----------------------------------------------------------------

    def negotiate(self, request: IRequest, *, listing: bool) -> Renderer:
        """The renderer ``?format=`` names, else the best ``Accept`` allows."""
        return self._choice(request, listing)[0]

    def preferred(self, request: IRequest) -> Renderer | None:
        """For one entity: the renderer the client prefers, or ``None`` if it stated no
        preference (no ``?format=``, and no Accept or only ``*/*``: 300 Multiple Choices)."""
        renderer, stated = self._choice(request, False)
        return renderer if stated else None

    def _choice(self, request: IRequest, listing: bool) -> tuple[Renderer, bool]:
        """The renderer, and whether the client stated a preference, remembered by the
        request's Accept and ?format=: clients send the same few over and over."""
        accept = parts.header(request, b"accept")
        named = parts.argument(request, "format")
        key = (accept, named, listing)
        choice = self._negotiated.get(key)
        if choice is None:
            choice = (self._negotiate(accept, named, listing),
                      named is not None or not negotiation.acceptsAnything(accept))
            if len(self._negotiated) >= _REMEMBERED:
                self._negotiated.clear()
            self._negotiated[key] = choice
        return choice

    def _negotiate(self, accept: str | None, named: str | None, listing: bool) -> Renderer:
        available = standard.outputTypes(listing=listing)
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

    def wantsPages(self, request: IRequest) -> bool:
        """Whether the client would rather have HTML (a browser, or ``?format=html``)."""
        named = parts.argument(request, "format")
        if named is not None:
            return named == "html"
        accept = parts.header(request, b"accept")
        return bool(accept and HTML_TYPE in accept
                    and negotiation.choose(accept, standard.outputTypes(listing=True))
                    == HTML_TYPE)

    def context(self, request: IRequest) -> RenderContext:
        """Where rendered locations point: --base-url, else the host the client asked; and
        for pages, where the page is (a listing's kind, a message's way back)."""
        if not self.wantsPages(request):
            return self.baseContext(request)
        return self.pageContext(request)

    def pageContext(self, request: IRequest) -> RenderContext:
        """The context of a page: where it is, the registry, and who is signed in."""
        path = parts.pathOf(request)
        principal = parts.principalOf(request)
        return pageContext(self.baseContext(request), path=path, registry=self.registry,
                           draft=path.startswith(TEMPLATES), user=principal.name,
                           role=principal.role)

    def baseContext(self, request: IRequest) -> RenderContext:
        """The absolute URL prefix of this request's answer, remembered per host name."""
        if self._base is not None:
            return self._base
        host = parts.header(request, b"host")
        secure = request.isSecure()
        context = self._contexts.get((secure, host))
        if context is not None:
            return context
        scheme = "https" if secure else "http"
        if not host or not _hostName(host):
            # No usable name: the address it came to (not remembered, it has no name).
            return RenderContext(f"{scheme}://127.0.0.1:{request.getHost().port}",
                                 self.clock.seconds, kindAt=self.kindAt)
        if len(self._contexts) > 256:
            self._contexts.clear()  # many host names: a scan, not worth remembering
        context = self._contexts[secure, host] = RenderContext(
            f"{scheme}://{host}", self.clock.seconds, kindAt=self.kindAt)
        return context

    def kindAt(self, location: str) -> str | None:
        """The kind of the resource at ``location``: the kind whose collection holds it."""
        collection = location.rpartition("/")[0] + "/"
        kind = self.registry.atLocation(collection) if location.startswith("/") else None
        return kind.identifier if isinstance(kind, Kind) else None

    # -- sending -------------------------------------------------------------------------------

    def send(self, request: IRequest, rendered: Rendered) -> bytes:
        """A rendering as the answer, with its length."""
        request.setHeader(b"Content-Type", rendered.contentType.encode())
        request.setHeader(b"Vary", b"Accept")
        for name, value in rendered.headers:
            request.responseHeaders.addRawHeader(name.encode(), value.encode())
        body: bytes = rendered.body
        request.setHeader(b"Content-Length", str(len(body)).encode())
        return body

    def standingView(self, entityId: str, stamp: int) -> EntityView | None:
        """The entity ``entityId`` and its links as kept, if the store's log has not moved
        past ``stamp`` (see :mod:`.renditions`), or ``None``: read the store."""
        return self._renditions.standingView(entityId, stamp)

    def sendEntity(self, request: IRequest, renderer: Renderer, view: EntityView,
                   stamp: int | None = None) -> bytes:
        """An entity with its validators, rendered again only if it changed; ``stamp``: the
        store's newest event before ``view`` was read, if it was just read."""
        context = self.context(request)
        if type(context) is not RenderContext:  # a page: it shows more than the entity
            validate(request, view.entity, renderer.mediaType)
            offered = self.transfers(view.entity) if self.transfers is not None else None
            shows = self.alternates(view.entity)
            if isinstance(context, PageContext) and shows:
                context = replace(context, shows=tuple(shows))
            if isinstance(context, PageContext) and offered is not None:
                context = replace(context, transfers=offered)
                if offered.upload is not None:
                    # It holds a signed URL that expires: no copy may outlive it.
                    request.setHeader(b"Cache-Control", b"no-store")
            return self.send(request, renderer.entity(view, context))
        prepared = self._renditions.find(view, renderer.mediaType, context, stamp)
        if prepared is None:
            prepared = self._renditions.keep(view, renderer.mediaType, context, Prepared.of(
                renderer.entity(view, context), etag(view.entity, renderer.mediaType),
                httpDate(view.entity.updated)), stamp)
        headers = request.responseHeaders
        headers.setRawHeaders(b"ETag", [prepared.etag])
        headers.setRawHeaders(b"Last-Modified", [prepared.lastModified])
        headers.setRawHeaders(b"Content-Type", [prepared.contentType])
        headers.setRawHeaders(b"Vary", [b"Accept"])
        for name, value in prepared.headers:
            headers.addRawHeader(name, value)
        headers.setRawHeaders(b"Content-Length", [prepared.length])
        return prepared.body

    def sendStanding(self, request: IRequest, key: Hashable, stamp: int) -> bytes | None:
        """The listing kept under ``key`` if the store's log has not moved past ``stamp``
        (see :mod:`.renditions`), or ``None``: read the store."""
        rendered = self._renditions.standing(key, stamp)
        return None if rendered is None else self.send(request, rendered)

    def sendListing(self, request: IRequest, renderer: Renderer, context: RenderContext,
                    entities: Sequence[Entity], links: Mapping[str, Sequence[Entity]], *,
                    ofLinks: bool = False, keptAs: tuple[Hashable, int] | None = None
                    ) -> bytes:
        """A whole listing of ``entities`` (with their ``links``); with ``keptAs`` (its key
        and the log's stamp, see :meth:`sendStanding`), kept and rendered again only if one
        of them changed.  ``ofLinks`` as for :func:`collect`."""
        def render() -> Rendered:
            return collect(renderer, viewsOf(entities, links), context, ofLinks=ofLinks)

        if keptAs is None:
            return self.send(request, render())
        key, stamp = keptAs
        return self.send(request, self._renditions.listing(key, stamp, entities, links, render))

    def ok(self, request: IRequest, message: str) -> bytes:
        """A sentence saying what was done, in the client's rendering if it has one."""
        try:
            renderer = self.negotiate(request, listing=False)
        except OCCIError:
            return plain(request, message)
        return self.send(request, renderer.message(message, self.context(request)))

    def error(self, request: IRequest, error: OCCIError) -> bytes:
        """A domain error as its status code, and the sentence saying what to do."""
        status = statusFor(error)
        request.setResponseCode(status)
        if isinstance(error, MethodNotAllowed):
            request.setHeader(b"Allow", ", ".join(error.allowed).encode())
        if isinstance(error, Unauthorized):
            request.setHeader(b"WWW-Authenticate", CHALLENGE)
        if isinstance(error, Moved):
            request.setHeader(b"Location", error.location.encode())
        if self.wantsPages(request):
            # A person in a browser: the sentence on a page, with a way back.
            return self.send(request, HTML.error(status, error.message, self.context(request)))
        return plain(request, error.message)

    def refusalPage(self, request: IRequest, status: int, sentence: str) -> bytes | None:
        """The front door's refusal (no credentials, too many failed logins, a host it does
        not serve) as a page, for a person in a browser -- one who cancelled the browser's
        sign-in dialog reads why, with a way back; None for every other client, who gets
        the sentence as text.  Nobody is signed in on it, and its links are relative: the
        host the client named may be the very thing refused."""
        if not self.wantsPages(request):
            return None
        context = pageContext(RenderContext(""), path=parts.pathOf(request),
                              registry=self.registry)
        return self.send(request, HTML.error(status, sentence, context))

    def seeOther(self, request: IRequest, answer: bytes | None) -> bytes | None:
        """After a browser's form POST went well: 303 to the page to see (Post/Redirect/Get),
        so that reloading does not post again."""
        if request.method != b"POST" or getattr(request, "code", 200) not in (200, 201, 202):
            return answer
        if not self.fromPage(request):
            return answer
        target = request.responseHeaders.getRawHeaders(b"location", [None])[0]
        if target is None:
            following = parts.formField(request, "_next")
            if following.startswith("/") and not following.startswith(("//", "/\\")):
                target = self.context(request).absolute(following).encode()
            else:
                target = self.context(request).absolute(parts.pathOf(request)).encode()
        request.setResponseCode(303)
        request.setHeader(b"Location", target)
        body: bytes = b"See " + target + b"\n"
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        request.setHeader(b"Content-Length", str(len(body)).encode())
        return body

    def fromPage(self, request: IRequest) -> bool:
        """Whether the request is a browser's form from a page, which :meth:`seeOther`
        answers 303 whatever the route answered."""
        return parts.isForm(request) and self.wantsPages(request)

    def multipleChoices(self, request: IRequest, entity: Entity) -> bytes:
        """The walkthrough's answer to a client that stated no preference: 300, with the
        HTML rendering as the suggestion and every representation's own URL."""
        context = self.context(request)
        choices = representations(entity.location, (*standard.outputTypes(listing=False),
                                                    *fileTypesOf(entity.kind)))
        choices += self.alternates(entity)
        request.setResponseCode(300)
        preferred = next((url for url, type in choices if type == HTML_TYPE), choices[0][0])
        request.setHeader(b"Location", context.absolute(preferred).encode())
        for url, type in choices:
            request.responseHeaders.addRawHeader(b"Link", (
                f'<{context.absolute(url)}>; rel="alternate"; type="{type}"').encode())
        validate(request, entity, CHOICES)
        request.setHeader(b"Vary", b"Accept")
        lines = [f"{entity.location} is available as:"]
        lines += [f"{type}: {context.absolute(url)}" for url, type in choices]
        body = plain(request, "\n".join(lines))
        return b"" if request.method == b"HEAD" else body


def plain(request: IRequest, message: str) -> bytes:
    """A sentence as text/plain: what a client that negotiated nothing can read."""
    body = (message + "\n").encode("utf-8")
    request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
    request.setHeader(b"Content-Length", str(len(body)).encode())
    return body


def etag(entity: Entity, mediaType: str) -> str:
    """The strong validator of one representation of ``entity``: it changes with every
    revision (also across delete and re-create) and differs from one media type to another,
    since under ``Vary: Accept`` each representation has its own (RFC 7232 2.3.3: a JSON
    copy must not revalidate a text one)."""
    return f'{_stateTag(entity)}{mediaType}"'


def _stateTag(entity: Entity) -> str:
    """What every representation's ETag of ``entity`` as it is now starts with."""
    return f'"{entity.revision}-{int(entity.updated * 1000)}-'


def isCurrent(entity: Entity, tag: str) -> bool:
    """Whether ``tag`` is the ETag of a representation of ``entity`` as it is now: they all
    show the same state, so any of them names it."""
    return tag.startswith(_stateTag(entity))


#: The "media type" in the ETag of a 300 answer, a list of the representations.
CHOICES = "choices"


def validate(request: IRequest, entity: Entity, mediaType: str) -> None:
    """The validators of ``entity``'s representation in ``mediaType`` on the answer."""
    request.setHeader(b"ETag", etag(entity, mediaType).encode())
    request.setHeader(b"Last-Modified", httpDate(entity.updated))


def httpDate(when: float) -> bytes:
    return formatdate(when, usegmt=True).encode()


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",")]


def notModified(request: IRequest, entity: Entity, mediaType: str) -> bool:
    """A conditional GET the client's copy of the representation in ``mediaType``
    satisfies: 304, headers only."""
    match = parts.header(request, b"if-none-match")
    if match is not None:
        fresh = match.strip() == "*" or etag(entity, mediaType) in _tags(match)
    else:
        since = parts.modifiedSince(request)
        fresh = since is not None and int(entity.updated) <= since
    if fresh:
        request.setResponseCode(304)
        validate(request, entity, mediaType)
    return fresh


def checkIfMatch(request: IRequest, entity: Entity) -> None:
    """Refuse (412) a change made to a copy older than ``entity``: the ETag of any of its
    representations as it is now will do, since they all show the same state."""
    wanted = parts.header(request, b"if-match")
    if wanted is None or wanted.strip() == "*":
        return
    if not any(isCurrent(entity, tag) for tag in _tags(wanted)):
        raise PreconditionFailed(f"{entity.location} has changed since {wanted}; GET it "
                                 "again and retry.")


def collect(renderer: Renderer, views: Sequence[EntityView], context: RenderContext,
            *, ofLinks: bool = False) -> Rendered:
    """A whole listing as one rendering, for renderings that cannot stream (or one page).

    ``ofLinks``: the listing is of link kinds only, which says what it is when empty.
    """
    if not renderer.streams:
        return renderer.locations([v.entity.location for v in views], context)
    resources: list[EntityView] = []
    links: list[EntityView] = []
    for view in views:
        (links if isLink(view.entity) else resources).append(view)
    context = replace(context, linksOnly=not resources and (bool(links) or ofLinks))
    body = renderer.collectionStart(context) + b"".join(
        renderer.collectionItem(view, i == 0, context)
        for group in (resources, links) for i, view in enumerate(group)
    ) + renderer.collectionEnd(context)
    return Rendered(contentType(renderer), body)


def viewsOf(entities: Sequence[Entity],
            links: Mapping[str, Sequence[Entity]]) -> list[EntityView]:
    """Entities paired with their links (found by source location)."""
    if not links:
        return [EntityView(e) for e in entities]
    return [EntityView(e, links.get(e.location, ())) for e in entities]


def isLink(entity: Entity) -> bool:
    """``entity.isLink``, worked out once per kind: kinds are fixed when the registry is
    made, and a listing asks for every entity."""
    kind = entity.kind
    known = _linkKinds.get(id(kind))
    if known is None or known[0] is not kind:
        known = _linkKinds[id(kind)] = (kind, kind.isA(LINK))
    return known[1]


#: Whether a kind is a link's, by the kind's identity (the kind is held, so that its id is
#: not reused).
_linkKinds: dict[int, tuple[Kind, bool]] = {}


def contentType(renderer: Renderer) -> str:
    """The Content-Type of a renderer's output (with its charset, where it has one)."""
    return str(getattr(renderer, "contentType", renderer.mediaType))
