"""Atom (RFC 4287) for events: one entry per event, feeds of them paged as RFC 5005 says.

An entry carries the event's new state as its content, in OCCI's text/plain rendering (a
``text/*`` type, which Atom carries inline): a feed reader shows it, an OCCI client parses it.
The same entry is the payload of the event's XMPP pubsub item.

Each entry has what RFC 4287 section 4.1.2 requires of it -- one ``id`` (``urn:uuid:`` and the
event's id), one ``title``, one ``updated`` (RFC 3339, UTC), an ``author`` (who made the change)
and, since it has content, no need of an alternate link -- and these links: ``related`` to the
entity, ``alternate`` to what the entry is about (the request for a request's step, the entity
otherwise; one of each, so never two alternates of one type and language).  A ``category``
in :data:`EVENT_SCHEME` names the event's type.  A feed (section 4.1.1) has one ``id``,
``title``, ``updated`` and ``author``, a ``self`` link, the RFC 5005 paging links it is given,
and its entries in the order given (newest first).

Everything written is XML 1.0 whatever the strings hold: text is escaped, and characters XML
1.0 cannot carry at all (most C0 controls, U+FFFE, U+FFFF, lone surrogates) become U+FFFD.
Carriage returns are written as ``&#13;`` so that a parser hands them back (XML turns a bare
CR into LF), and the content's CRLF line ends survive.

These are pure functions of their arguments: no I/O, nothing read from the store.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

from ..model import Registry
from ..model.documents import entityFromDict
from ..model.events import Event, EventType, requestOfEvent
from ..model.locations import requestAt
from ..model.requestview import requestViewAt
from .document import EntityView, RenderContext, Rendered
from .text import ATTRIBUTE, CATEGORY, EOL, LINK, entityValues
from .values import uriText, xmlChars

MEDIA_TYPE = "application/atom+xml"
NAMESPACE = "http://www.w3.org/2005/Atom"
#: The scheme of the ``category`` that names an entry's event type (``created``, ...).
EVENT_SCHEME = "http://schemas.occi-twisted.org/occi/event#"
FEED_CONTENT_TYPE = f"{MEDIA_TYPE}; type=feed; charset=utf-8"
ENTRY_CONTENT_TYPE = f"{MEDIA_TYPE}; type=entry; charset=utf-8"
#: The author of feeds: the server (each entry's author is the entity's owner).
AUTHOR = "occi-twisted"
PROLOG = '<?xml version="1.0" encoding="utf-8"?>\n'

_TEXT_ESCAPES = {"\r": "&#13;"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: The times RFC 3339 can write (years 0001 to 9999), as epoch seconds.
_EARLIEST = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds()
#: (The last is half a millisecond short of the end, which floats cannot hold exactly.)
_LATEST = (datetime(9999, 12, 31, 23, 59, 59, 999500, tzinfo=UTC) - _EPOCH).total_seconds()


def text(value: str) -> str:
    """``value`` as XML character data."""
    return escape(xmlChars(value), _TEXT_ESCAPES)


def attribute(value: str) -> str:
    """``value`` as a quoted XML attribute."""
    return quoteattr(xmlChars(value))


def timestamp(when: float) -> str:
    """RFC 3339 in UTC to the millisecond, as Atom's date constructs want it.  Times RFC 3339
    cannot write are clamped to years 1 and 9999; NaN is the epoch."""
    seconds = 0.0 if math.isnan(when) else min(max(when, _EARLIEST), _LATEST)
    moment = _EPOCH + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def content(event: Event, context: RenderContext, registry: Registry) -> str:
    """The event's new state in OCCI's text/plain rendering (one line once deleted).

    A request's step shows the request as a resource under its entity; any other event shows
    the entity, without the links to its actions: those are what may be done to the entity
    *now*, at URLs of the entity as it is now, and in an entry about a past state they would
    offer what that state allowed.  (They were also a third of every XMPP notification.)
    A stored state this server cannot read back (its kind was removed, say) is
    one line too: a feed never fails for one odd event.
    """
    if event.requestId is None and (event.type is EventType.DELETED or not event.content):
        return f"{event.location} was deleted.{EOL}"
    try:
        view = _view(event, registry)
        categories, links, attributes = entityValues(view, actions=False)
    except Exception:  # what the store kept is not what this server can render
        return f"{event.title}: this server cannot show the new state.{EOL}"
    lines = [f"{CATEGORY}: {value}" for value in categories]
    lines += [f"{LINK}: {value}" for value in links]
    lines += [f"{ATTRIBUTE}: {value}" for value in attributes]
    return "".join(line + EOL for line in lines)


def _view(event: Event, registry: Registry) -> EntityView:
    if event.requestId is None:
        return EntityView(entityFromDict(event.content, registry))
    record = requestOfEvent(event)
    if record is None:
        raise ValueError("a request's step without its request")
    return EntityView(requestViewAt(record, event.location))


def requestPath(event: Event) -> str | None:
    """The path of the request a step belongs to (``None`` for an entity's event)."""
    if event.requestId is None:
        return None
    return requestAt(event.location, event.requestId)


def _link(rel: str, url: str, mediaType: str | None = None) -> str:
    typed = f" type={attribute(mediaType)}" if mediaType else ""
    return f"<link rel={attribute(rel)}{typed} href={attribute(uriText(url))}/>"


def entryElement(event: Event, context: RenderContext, registry: Registry, *,
                 standalone: bool = True) -> str:
    """One ``<entry>`` (with the Atom namespace declared when ``standalone``)."""
    namespace = f" xmlns={attribute(NAMESPACE)}" if standalone else ""
    entity = context.absolute(event.location)
    request = requestPath(event)
    alternate = context.absolute(request) if request is not None else entity
    return (
        f"<entry{namespace}>"
        f"<id>urn:uuid:{text(event.id)}</id>"
        f"<title>{text(event.title)}</title>"
        f"<updated>{timestamp(event.updated)}</updated>"
        f"<author><name>{text(event.madeBy)}</name></author>"
        f"{_link('related', entity)}{_link('alternate', alternate)}"
        f"<category term={attribute(str(event.type))} scheme={attribute(EVENT_SCHEME)}/>"
        f'<content type="text">{text(content(event, context, registry))}</content>'
        "</entry>"
    )


def entry(event: Event, context: RenderContext, registry: Registry) -> bytes:
    """A standalone Atom Entry Document (:data:`ENTRY_CONTENT_TYPE`)."""
    return (PROLOG + entryElement(event, context, registry)).encode("utf-8")


def feedParts(events: Iterable[Event], *, context: RenderContext, registry: Registry,
              feedId: str, title: str, selfPath: str, updated: float | None = None,
              links: Iterable[tuple[str, str]] = ()) -> Iterator[bytes]:
    """The feed :func:`feed` renders, a piece at a time: the head, each entry, the end.

    Without ``updated`` the head needs the newest entry's time, so ``events`` is read before
    the first piece; with it, ``events`` may be a lazy iterable read as the pieces are.
    """
    if updated is None:
        events = list(events)
        updated = max((event.updated for event in events), default=0.0)
    head = [
        PROLOG,
        f"<feed xmlns={attribute(NAMESPACE)}>",
        f"<id>{text(feedId)}</id>",
        f"<title>{text(title)}</title>",
        f"<updated>{timestamp(updated)}</updated>",
        f"<author><name>{text(AUTHOR)}</name></author>",
        _link("self", context.absolute(selfPath), MEDIA_TYPE),
    ]
    head += [_link(rel, url, MEDIA_TYPE) for rel, url in links if rel != "self"]
    yield "".join(head).encode("utf-8")
    for event in events:
        yield entryElement(event, context, registry, standalone=False).encode("utf-8")
    yield b"</feed>"


def feed(events: Sequence[Event], *, context: RenderContext, registry: Registry, feedId: str,
         title: str, selfPath: str, updated: float | None = None,
         links: Iterable[tuple[str, str]] = ()) -> Rendered:
    """A feed of ``events`` (newest first, as given) with RFC 5005 paging ``links``
    (relation, absolute URL), e.g. ``[("first", url), ("next", url)]``.

    ``feedId`` is the feed's permanent IRI (its absolute URL, or a ``urn:``); ``selfPath``
    where this page is; ``updated`` the feed's time (by default its newest entry's; the epoch
    for an empty feed, unless given).
    """
    body = b"".join(feedParts(events, context=context, registry=registry, feedId=feedId,
                              title=title, selfPath=selfPath, updated=updated, links=links))
    return Rendered(FEED_CONTENT_TYPE, body)
