"""Atom feeds of the events (RFC 4287, paged as RFC 5005 says): the whole server's at
``/log/``, a kind collection's at ``/compute/log/``, an entity's at ``{entity}/log/`` and a
request's own history at ``{entity}/requests/{id}/log/``.

Feeds are newest first, a page at a time (``?before=<seq>`` walks back); polling readers send
``If-None-Match`` or ``If-Modified-Since`` and get 304 for the price of one indexed read.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formatdate

from twisted.web.iweb import IRequest

from ..model import Registry
from ..model.errors import NotFound
from ..model.events import EventPage
from ..model.locations import ROOT, logOf, requestOfLog
from ..renderings import atom, logs
from ..renderings.document import RenderContext, Rendered
from ..store.interface import IStore
from . import access, parts
from .weblinks import webLink

ATOM = atom.MEDIA_TYPE
PAGE = 50
MAX_PAGE = 1000


@dataclass(frozen=True)
class FeedScope:
    """Which events a feed shows: a node's, or one request's."""

    node: str
    requestId: str | None
    title: str
    #: The path the feed lives at.
    path: str
    #: The entity the node names, if it names one (it must exist to be served).
    entityId: str | None = None


def scopeOf(prefix: str, registry: Registry) -> FeedScope | None:
    """The feed at ``{prefix}/log/``, or ``None`` if there is none there."""
    path = logOf(prefix or ROOT)
    if prefix == "":
        return FeedScope(ROOT, None, "Every change on this server", path)
    request = requestOfLog(prefix)
    if request is not None:
        location, requestId = request
        return FeedScope(location, requestId, f"Request {requestId} of {location}", path,
                         location.rpartition("/")[2])
    if registry.atLocation(prefix + "/") is not None:
        return FeedScope(prefix + "/", None, f"Changes in {prefix}/", path)
    head, _, entityId = prefix.rpartition("/")
    if entityId and registry.atLocation(head + "/") is not None:
        return FeedScope(prefix, None, f"Changes of {prefix}", path, entityId)
    return None


#: What a log is listed as: the Atom feed first, then for people and scripts.
LOG_TYPES = [ATOM, "text/html", "application/json", "text/plain"]


async def answer(request: IRequest, scope: FeedScope, store: IStore, registry: Registry,
                 context: RenderContext, *, mediaType: str = ATOM) -> bytes:
    """The feed page the request asks for, or 304 when the reader has it already; in Atom,
    or as a list of the entries (HTML, JSON, text) for those who do not read feeds."""
    before, number = parts.feedPaging(request, PAGE, MAX_PAGE)
    page = await store.events(scope.node, requestId=scope.requestId, before=before,
                              limit=number, owner=_ownerOf(request, scope))
    etag = _etag(page, before)
    newest = page.events[0].updated if page.events else None
    request.setHeader(b"ETag", etag.encode())
    request.setHeader(b"Vary", b"Accept")
    if newest is not None:
        request.setHeader(b"Last-Modified", formatdate(newest, usegmt=True).encode())
    if _unchanged(request, etag, newest):
        request.setResponseCode(304)
        return b""
    links = [("first", context.absolute(access.pagePath(request, scope.path)))]
    if page.more and page.events:
        links.append(("next", context.absolute(access.pagePath(
            request, scope.path, before=page.events[-1].seq, number=number))))
    if before is not None:
        links.append(("previous", context.absolute(access.pagePath(
            request, scope.path, before=before + number + 1, number=number))))
    for rel, url in links:
        webLink(request, mediaType, url, rel)
    if mediaType != ATOM:
        listed = logs.listing(page.events, scope.path, scope.title, mediaType, context,
                              links=links)
        request.setHeader(b"Content-Type", listed.contentType.encode())
        request.setHeader(b"Content-Length", str(len(listed.body)).encode())
        return listed.body
    selfPath = (access.pagePath(request, scope.path) if before is None
                else access.pagePath(request, scope.path, before=before, number=number))
    rendered: Rendered = atom.feed(
        page.events, context=context, registry=registry,
        feedId=context.absolute(scope.path), title=scope.title, selfPath=selfPath,
        updated=newest, links=links)
    request.setHeader(b"Content-Type", rendered.contentType.encode())
    request.setHeader(b"Content-Length", str(len(rendered.body)).encode())
    return rendered.body


async def entry(request: IRequest, scope: FeedScope, eventId: str, *, store: IStore,
                registry: Registry, context: RenderContext, mediaType: str = ATOM) -> bytes:
    """One event of the feed, as an Atom entry document or, negotiated as the log is, as
    one item of the log's other listings (the entry is the same resource, so it answers
    ``Accept`` as the log does, with ``Vary``)."""
    event = await store.event(eventId)
    owner = _ownerOf(request, scope)
    if event is None or not (scope.node in event.nodes and scope.requestId in (
            None, event.requestId)) or owner not in (None, event.owner):
        raise NotFound(f"{scope.path} has no entry {eventId[:60]}.")
    if mediaType == ATOM:
        rendered = Rendered(atom.ENTRY_CONTENT_TYPE, atom.entry(event, context, registry))
    else:
        rendered = logs.entry(event, parts.pathOf(request), mediaType, context, registry)
    # One validator per representation (RFC 7232 section 2.3.3).
    request.setHeader(b"ETag", f'"entry-{event.seq}-{mediaType.rpartition("/")[2]}"'.encode())
    request.setHeader(b"Last-Modified", formatdate(event.updated, usegmt=True).encode())
    request.setHeader(b"Vary", b"Accept")
    request.setHeader(b"Content-Type", rendered.contentType.encode())
    request.setHeader(b"Content-Length", str(len(rendered.body)).encode())
    return rendered.body




def _ownerOf(request: IRequest, scope: FeedScope) -> str | None:
    """Whose events the feed holds: an entity's feed (the entity visible, which the route
    checked) all of that entity's; a collection's or the server's, the request's owner's."""
    return None if scope.entityId is not None else access.ownerFilter(request)


def _etag(page: EventPage, before: int | None) -> str:
    newest = page.events[0].seq if page.events else 0
    return f'"log-{newest}-{before or 0}-{len(page.events)}"'


def _unchanged(request: IRequest, etag: str, newest: float | None) -> bool:
    match = parts.lastHeader(request, b"if-none-match")
    if match is not None:
        return etag in [tag.strip() for tag in match.split(",")] or match.strip() == "*"
    since = parts.modifiedSince(request)
    return since is not None and newest is not None and int(newest) <= since
