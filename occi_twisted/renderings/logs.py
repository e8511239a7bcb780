"""A log's entries listed for those who do not read Atom feeds: as JSON, as text (a line per
entry) or as a page, newest first, each with the URL of its own entry; and one entry alone in
the same types.  (The feed and the Atom entry are :mod:`occi_twisted.renderings.atom`'s.)"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..model import Registry
from ..model.events import Event
from ..model.locations import ROOT, Log, logEntry, placeOf
from .atom import content, timestamp
from .document import RenderContext, Rendered
from .html.logs import logPage


def listing(events: Sequence[Event], log: str, title: str, mediaType: str,
            context: RenderContext, *, links: Sequence[tuple[str, str]] = ()) -> Rendered:
    """The ``events`` of the log at ``log`` (called ``title``) as ``mediaType``:
    ``application/json``, ``text/html`` or ``text/plain``; the page links to the feed's
    other pages (``links``: relation, URL), which the others find in Link headers."""
    place = placeOf(log)
    owner = (place.owner if isinstance(place, Log) else "") or ROOT
    rows = [(event, context.absolute(logEntry(owner, event.id))) for event in events]
    contentType = f"{mediaType}; charset=utf-8"
    if mediaType == "application/json":
        return Rendered(contentType, json.dumps({"entries": [
            _item(event, url, context) for event, url in rows]}).encode())
    if mediaType == "text/html":
        return Rendered(contentType, logPage(rows, log, title, context, links))
    return Rendered(contentType, "".join(_line(event, url) for event, url in rows).encode())


def entry(event: Event, path: str, mediaType: str, context: RenderContext,
          registry: Registry) -> Rendered:
    """The entry of ``event`` at ``path`` as ``mediaType`` (``application/json``,
    ``text/html`` or ``text/plain``): what the listing says of it and, as the Atom entry
    has it, the state the event left (:func:`~occi_twisted.renderings.atom.content`)."""
    url = context.absolute(path)
    contentType = f"{mediaType}; charset=utf-8"
    state = content(event, context, registry)
    if mediaType == "application/json":
        return Rendered(contentType, json.dumps(
            {**_item(event, url, context), "content": state}).encode())
    if mediaType == "text/html":
        return Rendered(contentType, logPage([(event, url)], path, event.title, context))
    return Rendered(contentType, (_line(event, url) + state).encode())


def _item(event: Event, url: str, context: RenderContext) -> dict[str, object]:
    return {"id": event.id, "url": url, "type": event.type.value, "title": event.title,
            "updated": timestamp(event.updated), "entity": context.absolute(event.location),
            "request": event.requestId}


def _line(event: Event, url: str) -> str:
    return f"{url} {timestamp(event.updated)} {event.title}\r\n"
