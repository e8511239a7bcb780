"""Collections as pages: what the collection is, the form that adds to it, and a table of its
entities that streams a row at a time (resources first, then links, each in a body of its
own)."""

from __future__ import annotations

from collections.abc import Sequence

from twisted.web.template import Tag, slot, tags

from ...model import Kind, Mixin, Registry, attributeDefinitions
from ...model.core import ABSTRACT
from ...model.infrastructure import OS_TPL, RESOURCE_TPL
from ...model.locations import Requests, logOf, placeOf
from ..document import EntityView, RenderContext
from .fields import fieldTag, hidden
from .layout import DOT, pageEnd, pageStart, pagingNav, pagingOf, pathOf, registryOf
from .markup import NOTHING, Markup, Memo, compiled, dashed, flattened
from .shapes import kindInfo, kindLink, queryLink
from .words import (
    REQUEST_MESSAGE,
    SOURCE,
    SUMMARY,
    TARGET,
    link,
    linked,
    named,
    templateBase,
    titleOf,
    uri,
    valueText,
)

_LISTING = compiled(tags.section(
    tags.h2("Entities"),
    tags.table(
        tags.thead(tags.tr([tags.th(name, scope="col")
                            for name in ("Entity", "Kind", "State", "Mixins", "Details")])),
        tags.tbody(slot("resources"), class_="resources"),
        tags.tbody(slot("links"), class_="links"),
        id="entities"),
    id="listing"), "resources", "links")
_START, _AFTER_RESOURCES = _LISTING.split("resources")
_LISTING_START = _START.markup
#: Where the links begin; the end closes either body.
_LINKS_GROUP, _LISTING_END = (part.markup for part in _AFTER_RESOURCES.split("links"))

_ROW = compiled(tags.tr(
    tags.td(tags.a(slot("title"), href=slot("location"))), slot("kind"),
    tags.td(slot("state"), class_="state-cell"), tags.td(slot("mixins")), tags.td(slot("detail"))),
    "title", "location", "kind", "state", "mixins", "detail")


def collectionStart(context: RenderContext) -> bytes:
    """The page up to the first row: what the collection is, and the form that adds to it."""
    registry = registryOf(context)
    path = pathOf(context)
    collection = None
    if path:
        collection = registry.atLocation(path if path.endswith("/") else path + "/")
    place = placeOf(path) if path and collection is None else None
    form: Markup = NOTHING
    if isinstance(collection, Kind):
        heading = f"{collection.term} collection"
        intro: Tag | str = tags.p(
            "Every ", kindLink(collection), " on this server", DOT,
            tags.a("changes", href=logOf(uri(collection.location or "/"))), " (Atom feed)")
        form = _createForm(collection, registry)
    elif isinstance(collection, Mixin):
        heading = f"Entities with {collection.term}"
        intro = tags.p("Every entity with the mixin ", queryLink(collection),
                       f" ({collection.title})" if collection.title else "", ".")
        form = _associateByLocation(collection)
    elif isinstance(place, Requests) and place.requestId is None:
        heading = f"Requests of {place.entity}"
        intro = tags.p("The actions asked of ", linked(place.entity),
                       ", newest last. Ask for more on its page.")
    else:
        heading = f"Entities at {path}" if path else "Entities"
        intro = ""
    return b"".join((pageStart(heading, context),
                     flattened([tags.h1(heading, id="title"), intro]), form, _LISTING_START))


def collectionItem(view: EntityView, first: bool) -> bytes:
    """One row: the entity (linked), its kind, state, mixins, and a detail."""
    entity = view.entity
    info = kindInfo(entity.kind)
    attributes = entity.attributes
    state = attributes.get(info.state) if info.state is not None else None
    detail: str | Markup
    if info.isLink:
        source, target = attributes.get(SOURCE), attributes.get(TARGET)
        detail = Markup(link(valueText(source or "")) + " \u2192 ".encode()
                        + link(valueText(target or "")))
    else:
        summary = attributes.get(SUMMARY) or attributes.get(REQUEST_MESSAGE)
        detail = valueText(summary) if summary else ""
    row = _ROW(title=titleOf(entity), location=uri(entity.location), kind=info.cell,
               state=valueText(state) if state is not None else "",
               mixins=", ".join(m.term for m in entity.mixins), detail=detail)
    return _LINKS_GROUP + row if first and info.isLink else row


def collectionEnd(context: RenderContext) -> bytes:
    return _LISTING_END + pagingNav(pagingOf(context)) + pageEnd(context)


_createForms: Memo[Markup] = Memo()


def _createForm(kind: Kind, registry: Registry) -> Markup:
    """The form that creates an entity of ``kind``: its attributes left empty (defaults
    apply), a select for each sort of template, a checkbox for each other mixin."""
    available = registry.mixins()
    return _createForms.get((kind, *available), lambda: flattened(_creating(kind, available)))


def _creating(kind: Kind, available: Sequence[Mixin]) -> Tag | str:
    if not kind.location or kind.identifier in ABSTRACT:
        return ""
    templates: dict[Mixin, list[Mixin]] = {RESOURCE_TPL: [], OS_TPL: []}
    others: list[Mixin] = []
    for mixin in available:
        if mixin in (OS_TPL, RESOURCE_TPL) or not mixin.appliesTo(kind):
            continue
        base = templateBase(mixin)
        if base is None:
            others.append(mixin)
        else:
            templates[base].append(mixin)
    selects = [
        tags.p(tags.label(label, **dashed(for_=f"create-{base.term}")), " ",
               tags.select(tags.option("(none)", value=""),
                           [tags.option(named(m), value=m.identifier) for m in templates[base]],
                           name="mixin", id=f"create-{base.term}"), class_="field")
        for base, label in ((RESOURCE_TPL, "Resource template"), (OS_TPL, "OS template"))
        if templates[base]
    ]
    fields = [fieldTag(d, "create", None) for d in attributeDefinitions(kind).values()
              if d.mutable]
    boxes = [
        tags.p(tags.input(type="checkbox", name="mixin", id=f"create-mixin-{i}",
                          value=m.identifier), " ",
               tags.label(named(m), **dashed(for_=f"create-mixin-{i}")), class_="field")
        for i, m in enumerate(others)
    ]
    return tags.section(
        tags.h2(f"New {kind.term}"),
        tags.form(
            hidden("kind", kind.identifier),
            tags.fieldset(tags.legend("Templates"), selects) if selects else "",
            tags.fieldset(tags.legend("Attributes"),
                          tags.p("Leave a field empty for its default (or the template's).",
                                 class_="muted"), fields) if fields else "",
            tags.fieldset(tags.legend("Mixins"), boxes) if boxes else "",
            tags.p(tags.button(f"Create {kind.term}", type="submit")),
            id="create", method="post", action=uri(kind.location),
            **dashed(accept_charset="utf-8")),
        id="create-section")


def _associateByLocation(mixin: Mixin) -> Markup:
    """On a mixin's collection: the form that adds the mixin to an entity, by location."""
    if not mixin.location:
        return NOTHING
    return flattened(tags.section(
        tags.h2(f"Add {mixin.term} to an entity"),
        tags.form(tags.p(
            tags.label("Entity location", **dashed(for_="associate-location")), " ",
            tags.input(type="text", name="location", id="associate-location",
                       placeholder="/compute/...", required="required", value=""), " ",
            tags.button("Add", type="submit"), class_="field"),
            id="associate", method="post", action=uri(mixin.location),
            **dashed(accept_charset="utf-8")),
        id="associate-section"))
