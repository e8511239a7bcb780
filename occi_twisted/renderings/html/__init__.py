"""The HTML rendering (``text/html``): the server as a web site a person can use.

The walkthrough promises that "full blown browsers" use the API directly.  Every answer a
browser asks for is therefore a page: the landing page and the query interface, every
collection (a table, with a form to create), every entity (its attributes, its links to follow,
a form per action, a form to change it, to add or remove mixins and templates, and to delete
it; a storage's image to download and upload, :mod:`.transfers`), the requests of an entity
(state, a ``<progress>`` bar that moves as the request does, :mod:`.live`, a cancel button),
messages, notes and logs.

Plain semantic HTML with a small inline stylesheet, written as
:mod:`twisted.web.template` trees (:mod:`.markup` says how they are flattened and kept), so
that every value from the model is escaped by construction; links are followable only to this
server's paths and to http(s) URLs, never to ``javascript:`` and the like.
Nothing needs script: the one script, on the page of a request under way, only spares that
page its reloads.

Forms post ``application/x-www-form-urlencoded`` with the field names
:func:`occi_twisted.renderings.form.parse` reads: full attribute names, ``kind``, ``mixin``
(repeatable), ``action`` and ``location``.  Browsers only GET and POST, so the forms that delete
carry ``_method=DELETE``, and ``_next``, the page to show once the change is made (the HTTP
layer answers a form POST with 303 See Other); the parser skips fields that start with ``_``.

What a page needs beyond the model objects -- the registry (user mixins come and go), the path
asked for (which collection a listing is), whether an entity is a template's draft -- comes in
a :class:`PageContext`, a :class:`RenderContext` every other rendering accepts unchanged.  With
a plain :class:`RenderContext` the pages use the standard categories and generic headings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ...model import Category
from ..document import EntityView, RenderContext, Rendered
from . import listing
from .categories import categoriesPage
from .entity import entityPage
from .layout import CONTENT_TYPE, MEDIA_TYPE, PageContext, pageContext
from .messages import errorPage, locationsPage, messagePage
from .transfers import IMAGE_FIELD, Transfers

if TYPE_CHECKING:
    from ..negotiation import MediaTypes

__all__ = ["CONTENT_TYPE", "HTML", "IMAGE_FIELD", "MEDIA_TYPE", "HTMLRenderer", "PageContext",
           "Transfers", "pageContext", "register"]


class HTMLRenderer:
    """Writes ``text/html`` pages; listings stream row by row."""

    mediaType = MEDIA_TYPE
    contentType = CONTENT_TYPE
    streams = True

    def entity(self, view: EntityView, context: RenderContext) -> Rendered:
        return Rendered(CONTENT_TYPE, entityPage(view, context))

    def categories(self, categories: Sequence[Category], context: RenderContext) -> Rendered:
        return Rendered(CONTENT_TYPE, categoriesPage(categories, context))

    def locations(self, locations: Sequence[str], context: RenderContext) -> Rendered:
        return Rendered(CONTENT_TYPE, locationsPage(locations, context))

    def message(self, text: str, context: RenderContext) -> Rendered:
        return Rendered(CONTENT_TYPE, messagePage(text, context))

    def error(self, status: int, text: str, context: RenderContext) -> Rendered:
        """An error page (not part of the Renderer protocol): for browsers, instead of the
        text/plain sentence every other client gets."""
        return Rendered(CONTENT_TYPE, errorPage(status, text, context))

    def collectionStart(self, context: RenderContext) -> bytes:
        return listing.collectionStart(context)

    def collectionItem(self, view: EntityView, first: bool, context: RenderContext) -> bytes:
        return listing.collectionItem(view, first)

    def collectionEnd(self, context: RenderContext) -> bytes:
        return listing.collectionEnd(context)


HTML = HTMLRenderer()


def register(types: MediaTypes) -> None:
    """Add the HTML rendering to the server's media types (pages are written, never read:
    browsers send forms, which :mod:`..form` reads)."""
    types.add(MEDIA_TYPE, renderer=HTML)
