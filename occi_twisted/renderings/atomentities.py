"""Entities in Atom (RFC 4287): pass-by-value collections, one entry per entity with its
whole state, and single entries.

Each entry's content is the entity in OCCI's text/plain rendering (links included), so a
collection is answered in one round trip however many entities it lists (the walkthrough's
O(1) pass-by-value), and an OCCI client can read every entry.  Feeds are paged as RFC 5005
says: the HTTP layer passes the ``first``/``next``/``previous`` links in a
:class:`FeedContext`.  A feed is as new as the answer: its ``updated`` is the render
context's clock, never the wall clock read here.

The XML and Atom spellings are the event feeds' (:mod:`occi_twisted.renderings.atom`).

An entry is read back too (:func:`parse`), so that "GET it, change it, PUT it back" holds in
Atom as in every rendering that carries an entity: what is read is the entry's content, the
OCCI text rendering it was written with; the Atom elements around it (title, updated,
author, links) are what the server says of the entity and are not read.  A feed of entries
reads as a collection of entities, as a JSON collection does.  The XML is parsed as
``application/occi+xml`` is, with its limits (no DTD, bounded depth and size).
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from ..model import Category
from ..model.errors import BadRequest, NotAcceptable
from .atom import AUTHOR, MEDIA_TYPE, NAMESPACE, PROLOG, attribute, timestamp
from .atom import ENTRY_CONTENT_TYPE as ENTRY_TYPE
from .atom import FEED_CONTENT_TYPE as FEED_TYPE
from .document import Document, EntityView, RenderContext, Rendered
from .text import PLAIN, parsePlain
from .values import xmlChars
from .xml import safeRoot


@dataclass(frozen=True)
class FeedContext(RenderContext):
    """A render context with what a feed page says about itself: its id and title, its own
    URL and the RFC 5005 paging links (relation, absolute URL)."""

    feedId: str = ""
    title: str = "Entities"
    selfURL: str = ""
    links: tuple[tuple[str, str], ...] = ()


def _text(value: str) -> str:
    # Carriage returns are left to the parser (unlike an event's entry): the content's lines
    # read back with LF ends, which every OCCI text parser takes.
    return escape(xmlChars(value))


def _entryId(view: EntityView, context: RenderContext) -> str:
    """``urn:uuid:`` for the UUIDs the server gives, else the entity's absolute URL (an IRI
    that never changes for the entity's life at this location)."""
    entityId = view.entity.id
    try:
        return f"urn:uuid:{uuid.UUID(entityId)}" if len(entityId) == 36 else \
            context.absolute(view.entity.location)
    except ValueError:
        return context.absolute(view.entity.location)


def entryElement(view: EntityView, context: RenderContext, *, standalone: bool) -> str:
    entity = view.entity
    title = entity.attributes.get("occi.core.title")
    href = context.absolute(entity.location)
    related = "".join(
        f"<link rel=\"related\" href={attribute(context.absolute(str(link.target)))}/>"
        for link in view.links if link.target)
    namespace = f" xmlns={attribute(NAMESPACE)}" if standalone else ""
    content = PLAIN.entity(view, context).body.decode("utf-8")
    return (f"<entry{namespace}><id>{_text(_entryId(view, context))}</id>"
            f"<title>{_text(str(title) if title else entity.location)}</title>"
            f"<updated>{timestamp(entity.updated)}</updated>"
            f"<author><name>{_text(entity.owner)}</name></author>"
            f"<link rel=\"alternate\" href={attribute(href)}/>{related}"
            f"<category term={attribute(entity.kind.term)} "
            f"scheme={attribute(entity.kind.scheme)}/>"
            f"<content type=\"text\">{_text(content)}</content></entry>")


class AtomRenderer:
    """Entities and collections of them in Atom; listings stream entry by entry."""

    mediaType = MEDIA_TYPE
    contentType = FEED_TYPE
    streams = True

    def entity(self, view: EntityView, context: RenderContext) -> Rendered:
        body = PROLOG + entryElement(view, context, standalone=True)
        return Rendered(ENTRY_TYPE, body.encode("utf-8"))

    def categories(self, categories: Sequence[Category], context: RenderContext) -> Rendered:
        raise NotAcceptable("The query interface is rendered in text, JSON and HTML, "
                            "not in Atom.")

    def locations(self, locations: Sequence[str], context: RenderContext) -> Rendered:
        entries = "".join(
            f"<entry><id>{_text(context.absolute(loc))}</id><title>{_text(loc)}</title>"
            f"<updated>{timestamp(0.0)}</updated>"
            f"<link rel=\"alternate\" href={attribute(context.absolute(loc))}/></entry>"
            for loc in locations)
        body = self.collectionStart(context).decode() + entries + "</feed>"
        return Rendered(FEED_TYPE, body.encode("utf-8"))

    def message(self, text: str, context: RenderContext) -> Rendered:
        raise NotAcceptable("This answer is a sentence; ask for text/plain or text/html.")

    def collectionStart(self, context: RenderContext) -> bytes:
        feed = context if isinstance(context, FeedContext) else FeedContext(context.base)
        selfURL = feed.selfURL or context.absolute("/")
        links = "".join(f"<link rel={attribute(rel)} type=\"{MEDIA_TYPE}\" "
                        f"href={attribute(url)}/>" for rel, url in feed.links)
        return (PROLOG
                + f"<feed xmlns={attribute(NAMESPACE)}>"
                f"<id>{_text(feed.feedId or selfURL)}</id><title>{_text(feed.title)}</title>"
                f"<updated>{timestamp(context.clock())}</updated>"
                f"<author><name>{_text(AUTHOR)}</name></author>"
                f"<link rel=\"self\" type=\"{MEDIA_TYPE}\" href={attribute(selfURL)}/>"
                f"{links}").encode()

    def collectionItem(self, view: EntityView, first: bool, context: RenderContext) -> bytes:
        return entryElement(view, context, standalone=False).encode("utf-8")

    def collectionEnd(self, context: RenderContext) -> bytes:
        return b"</feed>"


ATOM = AtomRenderer()

_ENTRY, _FEED, _CONTENT = (f"{{{NAMESPACE}}}{name}" for name in ("entry", "feed", "content"))


def parse(body: bytes, headers: Mapping[str, Sequence[str]] | None = None) -> Document:
    """Read an Atom entry (the entity in its content) or a feed of them (a collection); an
    empty body is an empty document."""
    root = safeRoot(body)
    if root is None:
        return Document()
    if root.tag == _ENTRY:
        return _entryDocument(root, "the entry")
    if root.tag == _FEED:
        entries = root.findall(_ENTRY)
        return Document(entities=tuple(_entryDocument(entry, f"entry {number}")
                                       for number, entry in enumerate(entries, 1)))
    raise BadRequest("An Atom body is an <entry> or a <feed> in the Atom namespace "
                     f"({NAMESPACE}).")


def _entryDocument(entry: ET.Element, where: str) -> Document:
    """The entity an entry's content renders in OCCI's text/plain."""
    content = entry.find(_CONTENT)
    if content is None:
        raise BadRequest(f"The Atom {where} has no <content>: the entity is written there, "
                         "in OCCI's text/plain rendering.")
    if content.get("type", "text") != "text" or len(content):
        raise BadRequest(f"The <content> of the Atom {where} must be text (type=\"text\"): "
                         "the entity in OCCI's text/plain rendering.")
    return parsePlain((content.text or "").encode("utf-8"), {})
