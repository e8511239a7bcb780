"""A log as a page, for those who do not read feeds: its entries, newest first, each linked
to its own Atom entry."""

from __future__ import annotations

from collections.abc import Sequence

from twisted.web.template import tags

from ...model.events import Event
from ..atom import timestamp
from ..document import RenderContext
from .layout import page, pagingNav
from .markup import flattened
from .words import uri


def logPage(entries: Sequence[tuple[Event, str]], log: str, title: str,
            context: RenderContext, links: Sequence[tuple[str, str]] = ()) -> bytes:
    """The ``entries`` (each event with its entry's URL) of the log at ``log``, and the
    feed's paging ``links`` (relation, URL)."""
    items = []
    for event, url in entries:
        when = timestamp(event.updated)
        items.append(tags.li(tags.a(event.title, href=uri(url)), " ",
                             tags.time(when, datetime=when)))
    return page(title, context, flattened([
        tags.h1(title, id="title"),
        tags.p(tags.a("Atom feed", href=f"{uri(log)}?format=atom")),
        tags.ol(items, id="entries"),
    ]), pagingNav(links, older=True))
