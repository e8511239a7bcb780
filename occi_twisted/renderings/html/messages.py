"""Short pages: the landing page and the templates (lists of locations), a message after a
change, and an error for a person."""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus

from twisted.web.template import Flattenable, tags

from ...model import Kind, Mixin, Registry
from ...model.locations import FEED, QUERY, ROOT, TEMPLATES, Template, placeOf
from ..document import RenderContext
from .layout import DOT, page, pathOf, registryOf
from .markup import flattened
from .words import linked, uri


def _label(location: str, registry: Registry) -> str:
    """What a location is, in words."""
    if location == QUERY:
        return "Query interface: every kind, mixin and action"
    if location == FEED:
        return "Event feed: every change on this server (Atom)"
    if location == TEMPLATES:
        return "Templates: ready-made resources to create"
    category = registry.atLocation(location) if location.endswith("/") else None
    if isinstance(category, Kind):
        return f"{category.term}: {category.title or category.term} collection"
    if isinstance(category, Mixin):
        return f"{category.term}: {category.title or category.term}"
    place = placeOf(location) if location.startswith("/") else None
    if isinstance(place, Template):
        for mixin in registry.mixins():
            if mixin.term == place.name and mixin.title:
                return f"{place.name}: {mixin.title}"
    return location


def locationsPage(locations: Sequence[str], context: RenderContext) -> bytes:
    registry = registryOf(context)
    path = pathOf(context)
    intro = ""
    if path == ROOT:
        heading = "OCCI server"
        intro = ("Everything this server offers is linked from here. Browse the collections "
                 "and create in them with the forms; programs use the same URLs with "
                 "text/plain, text/occi or application/occi+json.")
    elif path == TEMPLATES:
        heading = "Templates"
        intro = "Open a template for a ready-made resource, change it or not, and create it."
    else:
        heading = "Locations"
    content = flattened([
        tags.h1(heading, id="title"),
        tags.p(intro) if intro else "",
        tags.ul([tags.li(linked(location, _label(location, registry)))
                 for location in locations], id="locations"),
    ])
    return page(heading, context, content)


def messagePage(message: str, context: RenderContext, heading: str = "Done") -> bytes:
    """One sentence, and the way back: to the page asked for if it is a collection (or was
    an entity's), and home."""
    path = pathOf(context)
    back: list[Flattenable] = []
    if path and path.startswith("/") and path != ROOT:
        parent = uri(path if path.endswith("/") else path.rpartition("/")[0] + "/")
        back = [tags.a(f"Back to {parent}", id="back", href=parent), DOT]
    content = flattened([
        tags.h1(heading, id="title"),
        tags.p(message, id="message"),
        tags.p(back, tags.a("Home", href=ROOT)),
    ])
    return page(message[:80], context, content)


def errorPage(status: int, message: str, context: RenderContext) -> bytes:
    """What went wrong, for a person: the status, the server's sentence, the way back."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    return messagePage(message, context, heading=f"{status} {reason}")
