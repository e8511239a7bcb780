"""A log's entries listed for those who do not read Atom feeds: as JSON, as text (a line per
entry) or as a page, newest first, each with the URL of its own Atom entry.  (The feed itself
is :func:`occi_twisted.renderings.atom.feed`.)"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..model.events import Event
from ..model.locations import ROOT, Log, logEntry, placeOf
from .atom import timestamp
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
            {"id": event.id, "url": url, "type": event.type.value, "title": event.title,
             "updated": timestamp(event.updated), "entity": context.absolute(event.location),
             "request": event.requestId}
            for event, url in rows]}).encode())
    if mediaType == "text/html":
        return Rendered(contentType, logPage(rows, log, title, context, links))
    return Rendered(contentType, "".join(f"{url} {timestamp(event.updated)} {event.title}\r\n"
                                         for event, url in rows).encode())
