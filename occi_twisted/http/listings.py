"""Listing a collection: narrowed by the request's filters, answered whole when it fits one
page, paged (``?page=&number=``, or Atom's cursor ``?after=``), else streamed page by page.

Resources come before links (pass-by-value renderings group them), each group in creation
order, so every group is its own store query.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from twisted.web.iweb import IRequest

from ..model import Entity, Kind, Mixin
from ..model.core import LINK
from ..renderings.atomentities import ATOM as ATOM_ENTITIES
from ..renderings.atomentities import FeedContext
from ..renderings.document import EntityView, RenderContext
from ..renderings.html import PageContext
from ..renderings.resolve import filterCategories
from ..store.interface import Query
from . import access, parts
from .answering import BY_REFERENCE, collect, contentType, isLink, viewsOf
from .room import STREAM_BATCH, Room
from .stream import Stream
from .weblinks import webLink

#: Entities per page of a collection passed by value in Atom.
ATOM_PAGE = 500


@dataclass
class Listings(Room):
    """Collections as the store pages them."""

    #: The kinds of a query's resources and of its links, by the query's kinds.
    _split: dict[frozenset[str], tuple[frozenset[str], frozenset[str]]] = field(
        default_factory=dict, init=False)

    def filtered(self, request: IRequest, base: Query) -> Query:
        """Narrow a listing by the Category and X-OCCI-Attribute filters of the request."""
        if not parts.filtering(request):
            return replace(base, attributes={})
        document = parts.filters(request)
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

    async def answer(self, request: IRequest, query: Query) -> bytes | None:
        """Answer a listing: whole when it fits one page, else streamed page by page."""
        renderer = self.answering.negotiate(request, listing=True)
        context = self.answering.context(request)
        withLinks = renderer.mediaType not in BY_REFERENCE
        page, number = parts.paging(request)
        if renderer.mediaType == ATOM_ENTITIES.mediaType and \
                parts.argument(request, "page") is None:
            return await self._atom(request, query, number or ATOM_PAGE)
        if page is not None:
            entities = await self._pageAt(query, page, number)
            path = parts.pathOf(request)
            pages = [("first", 1)]
            if page > 1:
                pages.append(("prev", page - 1))
            if len(entities) == number:
                pages.append(("next", page + 1))
            paging = [(rel, context.absolute(access.pagePath(request, path, page=at,
                                                             number=number)))
                      for rel, at in pages]
            for rel, url in paging:  # RFC 5005's links, as headers
                webLink(request, renderer.mediaType, url, rel)
            if isinstance(context, PageContext):  # and on the page, for a person
                context = replace(context, paging=tuple(paging))
            views = await self.views(entities, withLinks)
            return self.answering.send(request, collect(renderer, views, context,
                                                        ofLinks=self._ofLinks(self._groups(query))))
        keptAs = await self._keptAs(request, renderer.mediaType, context)
        if keptAs is not None:
            standing = self.answering.sendStanding(request, *keptAs)
            if standing is not None:
                return standing
        groups = self._groups(query)
        firstPage = await self.store.page(groups[0], None, STREAM_BATCH) if groups else None
        if len(groups) == 2 and firstPage is not None and not firstPage.entities \
                and firstPage.cursor is None:
            # No resource: if there are links, the listing is of links (GFD.225 names a
            # collection by what it holds).
            linkPage = await self.store.page(groups[1], None, STREAM_BATCH)
            if linkPage.entities:
                groups, firstPage = groups[1:], linkPage
        ofLinks = self._ofLinks(groups)
        if firstPage is None or (firstPage.cursor is None and len(groups) == 1):
            whole = firstPage.entities if firstPage else []
            links = await self._linksOf(whole) if withLinks else {}
            return self.answering.sendListing(request, renderer, context, whole, links,
                                              ofLinks=ofLinks, keptAs=keptAs)
        if not renderer.streams:
            views = []
            for group in groups:
                views.extend(await self.views([e async for e in self.entities(group)],
                                              withLinks))
            return self.answering.send(request, collect(renderer, views, context))
        context = replace(context, linksOnly=ofLinks)
        request.setHeader(b"Content-Type", contentType(renderer).encode())
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
                views = await self.views(result.entities, withLinks)
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

    async def _atom(self, request: IRequest, query: Query, number: int) -> bytes:
        """A collection passed by value, a page at a time, with RFC 5005 paging links: one
        indexed read per page however deep (the cursor is the store's)."""
        after = parts.argument(request, "after")
        result = await self.store.page(query, after, number)
        views = await self.views(result.entities)
        base = self.answering.baseContext(request)
        path = parts.pathOf(request)
        links = [("first", base.absolute(access.pagePath(request, path, number=number)))]
        if result.cursor is not None:
            links.append(("next", base.absolute(access.pagePath(
                request, path, after=result.cursor, number=number))))
        here = (access.pagePath(request, path, after=after, number=number) if after
                else access.pagePath(request, path))
        context = FeedContext(base.base, base.clock, feedId=base.absolute(path),
                              title=f"Entities in {path}", selfURL=base.absolute(here),
                              links=tuple(links))
        return self.answering.send(request, collect(ATOM_ENTITIES, views, context))

    async def _keptAs(self, request: IRequest, mediaType: str, context: RenderContext
                      ) -> tuple[Hashable, int] | None:
        """The key a whole listing is kept under -- its path, media type, base URL and the
        owner it is narrowed to -- and the log's newest event now, read before the members
        (see :mod:`.renditions`); ``None`` for what is not kept: pages (HTML), queries and
        filters."""
        if type(context) is not RenderContext or request.args or parts.filtering(request):
            return None
        stamp = await self.store.newestSeq()
        return (parts.pathOf(request), mediaType, context, access.ownerFilter(request)), stamp

    def _groups(self, query: Query) -> list[Query]:
        """``query`` split into its resources and its links, in that order."""
        split = self._split.get(query.kinds)
        if split is None:  # kinds are fixed when the registry is made: worked out once
            kinds = query.kinds or frozenset(k.identifier for k in self.registry.kinds())
            resources = frozenset(k for k in kinds if not self._isLinkKind(k))
            split = self._split[query.kinds] = (resources, kinds - resources)
        return [replace(query, kinds=group) for group in split if group]

    def _ofLinks(self, groups: Sequence[Query]) -> bool:
        """Whether the groups of a listing (see :meth:`_groups`) are of links only."""
        return bool(groups) and self._isLinkKind(next(iter(groups[0].kinds)))

    def _isLinkKind(self, identifier: str) -> bool:
        kind = self.registry.get(identifier)
        return isinstance(kind, Kind) and kind.isA(LINK)

    async def _pageAt(self, query: Query, page: int, number: int) -> list[Entity]:
        after: str | None = None
        skip = (page - 1) * number
        while skip > 0:
            result = await self.store.page(query, after, min(skip, parts.MAX_PAGE))
            skip -= len(result.entities)
            after = result.cursor
            if after is None:
                return []
        result = await self.store.page(query, after, number)
        return list(result.entities)

    async def views(
        self, entities: Sequence[Entity], withLinks: bool = True
    ) -> list[EntityView]:
        """Entities paired with their links, fetched for the whole batch at once.

        Renderings that list by reference write locations only, and need no links.
        """
        return viewsOf(entities, await self._linksOf(entities) if withLinks else {})

    async def _linksOf(self, entities: Sequence[Entity]) -> dict[str, list[Entity]]:
        """The links of the resources among ``entities``, by source, in one read."""
        sources = [e.location for e in entities if not isLink(e)]
        return await self.store.linksFrom(sources) if sources else {}
