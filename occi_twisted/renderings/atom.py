"""Atom (RFC 4287) for events: one entry per event, feeds of them paged as RFC 5005 says.

An entry carries the event's new state as its content, in OCCI's text/plain rendering (a
``text/*`` type, which Atom carries inline): a feed reader shows it, an OCCI client parses it.
The same entry is the payload of the event's XMPP pubsub item.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from ..model import Registry
from ..store.events import Event, requestOfEvent
from ..store.serial import entityFromDict
from .document import EntityView, RenderContext, Rendered
from .text import PLAIN

MEDIA_TYPE = "application/atom+xml"
NAMESPACE = "http://www.w3.org/2005/Atom"
EVENT_SCHEME = "http://schemas.occi-twisted.org/occi/event#"
_CONTENT_TYPE = f"{MEDIA_TYPE}; type=feed; charset=utf-8"
#: Characters XML 1.0 does not allow, whatever the escaping.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def text(value: str) -> str:
    """``value`` as XML character data."""
    return escape(_NOT_XML.sub("\ufffd", value))


def attribute(value: str) -> str:
    """``value`` as a quoted XML attribute."""
    return quoteattr(_NOT_XML.sub("\ufffd", value))


def timestamp(when: float) -> str:
    """RFC 3339, as Atom's date constructs want it."""
    moment = datetime.fromtimestamp(when, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def content(event: Event, context: RenderContext, registry: Registry) -> str:
    """The event's new state in OCCI's text/plain rendering (one line once deleted)."""
    request = requestOfEvent(event)
    if request is not None:
        from ..operations.view import requestViewAt  # noqa: PLC0415 -- operations renders through us

        view = EntityView(requestViewAt(request, event.location))
    elif event.content:
        try:
            view = EntityView(entityFromDict(event.content, registry))
        except Exception:
            return f"{event.location} is of a kind this server no longer knows."
    else:
        return f"{event.location} was deleted."
    return PLAIN.entity(view, context).body.decode("utf-8")


def entryElement(event: Event, context: RenderContext, registry: Registry, *,
                 standalone: bool = True) -> str:
    """One ``<entry>`` (with the Atom namespace declared when ``standalone``)."""
    namespace = f" xmlns={attribute(NAMESPACE)}" if standalone else ""
    links = [f'<link rel="related" href={attribute(context.absolute(event.location))}/>']
    if event.requestId is not None:
        requestAt = f"{event.location}/requests/{event.requestId}"
        links.append(f'<link rel="alternate" href={attribute(context.absolute(requestAt))}/>')
    else:
        links.append(f'<link rel="alternate" href={attribute(context.absolute(event.location))}/>')
    return (
        f"<entry{namespace}>"
        f"<id>urn:uuid:{text(event.id)}</id>"
        f"<title>{text(event.title)}</title>"
        f"<updated>{timestamp(event.updated)}</updated>"
        f"<author><name>{text(event.owner)}</name></author>"
        f"{''.join(links)}"
        f"<category term={attribute(event.type.value)} scheme={attribute(EVENT_SCHEME)}/>"
        f'<content type="text">{text(content(event, context, registry))}</content>'
        "</entry>"
    )


def entry(event: Event, context: RenderContext, registry: Registry) -> bytes:
    """A standalone entry document."""
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            + entryElement(event, context, registry)).encode("utf-8")


def feed(events: Sequence[Event], *, context: RenderContext, registry: Registry, feedId: str,
         title: str, selfPath: str, updated: float | None,
         links: Iterable[tuple[str, str]] = ()) -> Rendered:
    """A feed of ``events`` (newest first, as given) with RFC 5005 paging ``links``
    (relation, absolute URL)."""
    newest = updated if updated is not None else (events[0].updated if events else 0.0)
    head = [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        f"<feed xmlns={attribute(NAMESPACE)}>",
        f"<id>{text(feedId)}</id>",
        f"<title>{text(title)}</title>",
        f"<updated>{timestamp(newest)}</updated>",
        "<author><name>occi-twisted</name></author>",
        f'<link rel="self" type="{MEDIA_TYPE}" href={attribute(context.absolute(selfPath))}/>',
    ]
    head += [f"<link rel={attribute(rel)} type=\"{MEDIA_TYPE}\" href={attribute(url)}/>"
             for rel, url in links]
    body = [entryElement(event, context, registry, standalone=False) for event in events]
    document = "".join([*head, *body, "</feed>"])
    return Rendered(_CONTENT_TYPE, document.encode("utf-8"))
