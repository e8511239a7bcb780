"""How every answer leaves: the rendering negotiated, the context its links are written in,
validators (ETag, Last-Modified, 304), the walkthrough's 300 Multiple Choices, 303 after a
browser's form, and -- in one place -- every failure turned into its status code.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from email.utils import formatdate, parsedate_to_datetime

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.iweb import IRequest

from .. import __version__
from ..model import Entity, Kind, Registry
from ..model.errors import (
    BadRequest,
    MethodNotAllowed,
    NotAcceptable,
    OCCIError,
    PreconditionFailed,
)
from ..model.locations import TEMPLATES
from ..renderings import negotiation, standard
from ..renderings.document import EntityView, RenderContext, Rendered, Renderer
from ..renderings.html import HTML, pageContext
from ..renderings.html import MEDIA_TYPE as HTML_TYPE
from ..store.interface import StoreUnavailable
from . import parts
from .errors import statusFor
from .representations import FORMATS, formatsOf, representations

log = Logger()

SERVER = f"occi-twisted/{__version__} OCCI/1.2"
_SERVER = SERVER.encode()
_hostName = re.compile(r"[A-Za-z0-9.\-_\[\]:]{1,255}").fullmatch
_READING = ("GET", "HEAD")
#: Renderings that list by reference, and answer a create with the new location rather
#: than the entity (text clients, pOCCI among them, look for it in the body).
BY_REFERENCE = frozenset({"text/plain", "text/occi", "text/uri-list",
                          "text/x-occi-descriptor"})

#: A route's work once the request is admitted: given the method the client means.
Handler = Callable[[str], Awaitable[bytes | None]]


class Answering:
    """Answers for one server: its registry (for pages) and its base URL, if configured."""

    def __init__(self, registry: Registry, baseURL: str | None, clock: IReactorTime) -> None:
        self.registry = registry
        self.clock = clock
        self._base = (RenderContext(baseURL, clock.seconds, kindAt=self.kindAt)
                      if baseURL is not None else None)
        self._contexts: dict[tuple[bool, str], RenderContext] = {}

    async def respond(self, request: IRequest, handler: Handler) -> bytes | None:
        """Run a route's ``handler``, mapping every domain error to its status code."""
        request.setHeader(b"Server", _SERVER)
        try:
            parts.checkVersion(request)
            method = parts.methodOf(request)
            if method not in _READING:
                # Refuse an unsatisfiable Accept before anything is written, not after.
                self.negotiate(request, listing=False)
            answer = await handler(method)
            return self.seeOther(request, parts.pathOf(request), answer)
        except OCCIError as error:
            return self.error(request, error)
        except StoreUnavailable as error:
            log.error("Store unavailable: {message}", message=error.message)
            request.setResponseCode(503)
            request.setHeader(b"Retry-After", b"5")
            return plain(request, "The store is unavailable right now; nothing was "
                                  "changed. Try again shortly.")
        except Exception:
            log.failure("Unexpected error answering {method} {path}",
                        method=request.method, path=request.path)
            request.setResponseCode(500)
            return plain(request, "The server failed to answer this request; "
                                  "the failure has been logged.")

    # -- choosing the rendering ----------------------------------------------------------------

    def negotiate(self, request: IRequest, *, listing: bool) -> Renderer:
        """The renderer ``?format=`` names, else the best ``Accept`` allows."""
        accept = parts.header(request, b"accept")
        available = standard.outputTypes(listing=listing)
        named = parts.argument(request, "format")
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
        base = self.baseContext(request)
        if not self.wantsPages(request):
            return base
        path = parts.pathOf(request)
        return pageContext(base, path=path, registry=self.registry,
                           draft=path.startswith(TEMPLATES))

    def baseContext(self, request: IRequest) -> RenderContext:
        """The absolute URL prefix of this request's answer, remembered per host name."""
        if self._base is not None:
            return self._base
        host = parts.header(request, b"host")
        if not host or not _hostName(host):
            host = f"127.0.0.1:{request.getHost().port}"
        key = (request.isSecure(), host)
        context = self._contexts.get(key)
        if context is None:
            if len(self._contexts) > 256:
                self._contexts.clear()  # many host names: a scan, not worth remembering
            context = self._contexts[key] = RenderContext(
                f"{'https' if key[0] else 'http'}://{host}", self.clock.seconds,
                kindAt=self.kindAt)
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

    def sendEntity(self, request: IRequest, renderer: Renderer, view: EntityView) -> bytes:
        """An entity with its validators."""
        validate(request, view.entity)
        return self.send(request, renderer.entity(view, self.context(request)))

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
        if self.wantsPages(request):
            # A person in a browser: the sentence on a page, with a way back.
            return self.send(request, HTML.error(status, error.message, self.context(request)))
        return plain(request, error.message)

    def seeOther(self, request: IRequest, path: str, answer: bytes | None) -> bytes | None:
        """After a browser's form POST went well: 303 to the page to see (Post/Redirect/Get),
        so that reloading does not post again."""
        if request.method != b"POST" or getattr(request, "code", 200) not in (200, 201, 202):
            return answer
        if not parts.isForm(request) or not self.wantsPages(request):
            return answer
        target = request.responseHeaders.getRawHeaders(b"location", [None])[0]
        if target is None:
            following = parts.formField(request, "_next")
            if following.startswith("/") and not following.startswith(("//", "/\\")):
                target = self.context(request).absolute(following).encode()
            else:
                target = self.context(request).absolute(path).encode()
        request.setResponseCode(303)
        request.setHeader(b"Location", target)
        body: bytes = b"See " + target + b"\n"
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        request.setHeader(b"Content-Length", str(len(body)).encode())
        return body

    def multipleChoices(self, request: IRequest, entity: Entity) -> bytes:
        """The walkthrough's answer to a client that stated no preference: 300, with the
        HTML rendering as the suggestion and every representation's own URL."""
        context = self.context(request)
        choices = representations(entity.location, standard.outputTypes(listing=False))
        request.setResponseCode(300)
        preferred = next((url for url, type in choices if type == HTML_TYPE), choices[0][0])
        request.setHeader(b"Location", context.absolute(preferred).encode())
        for url, type in choices:
            request.responseHeaders.addRawHeader(b"Link", (
                f'<{context.absolute(url)}>; rel="alternate"; type="{type}"').encode())
        validate(request, entity)
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


def etag(entity: Entity) -> str:
    """A strong validator that changes with every revision, also across delete and re-create."""
    return f'"{entity.revision}-{int(entity.updated * 1000)}"'


def validate(request: IRequest, entity: Entity) -> None:
    """The entity's validators on the answer."""
    request.setHeader(b"ETag", etag(entity).encode())
    request.setHeader(b"Last-Modified", httpDate(entity.updated))


def httpDate(when: float) -> bytes:
    return formatdate(when, usegmt=True).encode()


def notModified(request: IRequest, entity: Entity) -> bool:
    """A conditional GET the client's copy satisfies: 304, headers only."""
    tag = etag(entity)
    match = parts.header(request, b"if-none-match")
    since = parts.header(request, b"if-modified-since")
    if match is not None:
        fresh = match.strip() == "*" or tag in [t.strip() for t in match.split(",")]
    elif since is not None:
        try:
            fresh = int(entity.updated) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            fresh = False
    else:
        fresh = False
    if fresh:
        request.setResponseCode(304)
        validate(request, entity)
    return fresh


def checkIfMatch(request: IRequest, entity: Entity) -> None:
    """Refuse (412) a change made to a copy older than ``entity``."""
    wanted = parts.header(request, b"if-match")
    if wanted is None or wanted.strip() == "*":
        return
    if etag(entity) not in [tag.strip() for tag in wanted.split(",")]:
        raise PreconditionFailed(f"{entity.location} has changed since {wanted}; GET it "
                                 "again and retry.")


def collect(renderer: Renderer, views: Sequence[EntityView], context: RenderContext,
            *, ofLinks: bool = False) -> Rendered:
    """A whole listing as one rendering, for renderings that cannot stream (or one page).

    ``ofLinks``: the listing is of link kinds only, which says what it is when empty.
    """
    if not renderer.streams:
        return renderer.locations([v.entity.location for v in views], context)
    resources = [v for v in views if not v.entity.isLink]
    links = [v for v in views if v.entity.isLink]
    context = replace(context, linksOnly=not resources and (bool(links) or ofLinks))
    body = renderer.collectionStart(context) + b"".join(
        renderer.collectionItem(view, i == 0, context)
        for group in (resources, links) for i, view in enumerate(group)
    ) + renderer.collectionEnd(context)
    return Rendered(contentType(renderer), body)


def contentType(renderer: Renderer) -> str:
    """The Content-Type of a renderer's output (with its charset, where it has one)."""
    return str(getattr(renderer, "contentType", renderer.mediaType))
