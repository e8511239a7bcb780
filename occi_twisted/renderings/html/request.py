"""The page of a request: its state, how far it got (moving as it goes, see :mod:`.live`),
what it said last, and a button to cancel it while it is under way."""

from __future__ import annotations

from twisted.web.template import Flattenable, Tag, tags

from ...model import Entity
from ...model.locations import logOf, requestsOf
from ..document import RenderContext
from .fields import hidden
from .layout import DOT, page
from .live import liveScript, progressSection, refreshHead
from .markup import dashed, flattened
from .shapes import shapeOf
from .tables import attributesTable, stateLine
from .words import (
    REQUEST_ACTION,
    REQUEST_MESSAGE,
    REQUEST_STATE,
    REQUEST_TARGET,
    href,
    linked,
    termOf,
    uri,
    valueText,
)

#: Request states after which nothing more happens.
FINAL_STATES = frozenset({"succeeded", "failed", "cancelled"})


def requestPage(entity: Entity, context: RenderContext) -> bytes:
    attributes = entity.attributes
    state = valueText(attributes.get(REQUEST_STATE, ""))
    live = state not in FINAL_STATES
    action = termOf(valueText(attributes.get(REQUEST_ACTION, "")))
    target = valueText(attributes.get(REQUEST_TARGET, ""))
    at = uri(entity.location)
    content: list[Flattenable] = []
    message = attributes.get(REQUEST_MESSAGE)
    if message or live:  # under way, a place for what it will say
        content.append(tags.p(valueText(message or ""), id="request-message"))
    if href(target):
        content.append(tags.p("On ", linked(target), DOT,
                              tags.a("its other requests", href=requestsOf(uri(target))), DOT,
                              tags.a("history", href=logOf(at)), " (Atom feed)"))
    table = attributesTable(entity, shapeOf(entity))
    cancel: Tag | str = ""
    if live:
        cancel = tags.section(tags.h2("Cancel"), tags.form(
            hidden("_method", "DELETE"), hidden("_next", entity.location),
            tags.button("Cancel this request", type="submit", class_="danger"),
            id="cancel", method="post", action=at, **dashed(accept_charset="utf-8")),
            id="cancel-section")
    return page(f"{action} {target}: {state}", context,
                flattened(tags.h1("Request: ", action, " on ", linked(target), id="title")),
                stateLine(state), progressSection(entity, live), flattened(content), table,
                flattened(cancel), liveScript(live), head=refreshHead(live))
