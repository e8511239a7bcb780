"""The page of a request: its state, how far it got, what it said last, and a button to
cancel it while it is under way (the page reloads itself meanwhile)."""

from __future__ import annotations

from collections.abc import Mapping

from twisted.web.template import Flattenable, Tag, tags

from ...model import Entity
from ...model.locations import logOf, requestsOf
from ..document import RenderContext
from .fields import hidden
from .layout import DOT, page
from .markup import NOTHING, dashed, flattened
from .shapes import shapeOf
from .tables import attributesTable, stateLine
from .words import (
    REQUEST_ACTION,
    REQUEST_MESSAGE,
    REQUEST_PERCENT,
    REQUEST_PROGRESS,
    REQUEST_STATE,
    REQUEST_TARGET,
    href,
    linked,
    number,
    termOf,
    uri,
    valueText,
)

#: Request states after which nothing more happens.
FINAL_STATES = frozenset({"succeeded", "failed", "cancelled"})
#: Seconds between reloads of the page of a request that is still under way.
REFRESH_SECONDS = 2


def requestPage(entity: Entity, context: RenderContext) -> bytes:
    attributes = entity.attributes
    state = valueText(attributes.get(REQUEST_STATE, ""))
    final = state in FINAL_STATES
    action = termOf(valueText(attributes.get(REQUEST_ACTION, "")))
    target = valueText(attributes.get(REQUEST_TARGET, ""))
    at = uri(entity.location)
    content: list[Flattenable] = []
    percent = attributes.get(REQUEST_PERCENT)
    if isinstance(percent, (int, float)) and not isinstance(percent, bool):
        shown = number(float(percent))
        content.append(tags.p(tags.progress(f"{shown}%", id="progress", max="100", value=shown),
                              " ", tags.span(f"{shown}%", id="percent"),
                              _progressNote(attributes)))
    message = attributes.get(REQUEST_MESSAGE)
    if message:
        content.append(tags.p(valueText(message), id="request-message"))
    if href(target):
        content.append(tags.p("On ", linked(target), DOT,
                              tags.a("its other requests", href=requestsOf(uri(target))), DOT,
                              tags.a("history", href=logOf(at)), " (Atom feed)"))
    table = attributesTable(entity, shapeOf(entity))
    cancel: Tag | str = ""
    if not final:
        cancel = tags.section(tags.h2("Cancel"), tags.form(
            hidden("_method", "DELETE"), hidden("_next", entity.location),
            tags.button("Cancel this request", type="submit", class_="danger"),
            id="cancel", method="post", action=at, **dashed(accept_charset="utf-8")),
            id="cancel-section")
    refresh = NOTHING if final else flattened(tags.meta(content=str(REFRESH_SECONDS),
                                                         **dashed(http_equiv="refresh")))
    return page(f"{action} {target}: {state}", context,
                flattened(tags.h1("Request: ", action, " on ", linked(target), id="title")),
                stateLine(state), flattened(content), table, flattened(cancel), head=refresh)


def _progressNote(attributes: Mapping[str, object]) -> list[Flattenable]:
    progress = attributes.get(REQUEST_PROGRESS)
    if not isinstance(progress, dict):
        return []
    notes = []
    if "pass" in progress and "passes" in progress:
        notes.append(f"pass {valueText(progress['pass'])} of {valueText(progress['passes'])}")
    if "bytes" in progress and "totalBytes" in progress:
        notes.append(f"{valueText(progress['bytes'])} of {valueText(progress['totalBytes'])} "
                     "bytes")
    return [" ", tags.span(", ".join(notes), class_="muted")] if notes else []
