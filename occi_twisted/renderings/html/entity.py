"""The page of one entity: its attributes, its links to follow, a form per action, a form to
change it, to add or remove mixins and templates, and to delete it.  A template's draft (not
stored yet) is a form that creates it instead."""

from __future__ import annotations

from twisted.web.template import Flattenable, slot, tags

from ...model import Entity
from ...model.core import ABSTRACT
from ...model.locations import logOf, requestsOf
from ...model.requests import REQUEST
from ..document import EntityView, RenderContext
from .fields import hidden
from .layout import PageContext, page, registryOf
from .markup import NOTHING, Markup, compiled, dashed, escaped, flattened
from .request import requestPage
from .screens import screensSection
from .shapes import Shape, associateForm, kindLink, shapeOf
from .tables import attributesTable, entityState, linksTable
from .transfers import transfersSection
from .words import ID, SOURCE, TARGET, link, titleOf, uri, valueText

_HEADING = compiled(tags.h1(slot("title"), id="title"), "title")
_CHANGES = compiled(tags.link(rel="alternate", type="application/atom+xml", href=slot("log"),
                              title="Changes of this entity"), "log")


def entityPage(view: EntityView, context: RenderContext) -> bytes:
    """The page of one entity (a request's page if it is one, a create form if a draft)."""
    entity = view.entity
    registry = registryOf(context)
    if entity.kind == REQUEST:
        return requestPage(entity, context)
    shape = shapeOf(entity)
    if isinstance(context, PageContext) and context.draft:
        return _draftPage(entity, shape, context)
    location = uri(entity.location)
    at = Markup(escaped(location))  # escaped once: it fills a dozen holes
    title = titleOf(entity)
    parts = [
        _HEADING(title=title),
        shape.about(location=at),
        entityState(entity, shape.info),
    ]
    if shape.info.isLink:
        parts.append(_ends(entity))
    parts.append(attributesTable(entity, shape))
    if not shape.info.isLink:
        parts.append(linksTable(view.links))
    if isinstance(context, PageContext) and context.transfers is not None:
        parts.append(transfersSection(context.transfers))
    if isinstance(context, PageContext) and context.shows:
        parts.append(screensSection(entity, context.shows))
    parts.append(shape.actions(location=at))
    if shape.update:
        values = entity.attributes
        parts.append(shape.updateStart(location=at))
        for name, field in shape.update:
            value = values.get(name)
            parts.append(field(valueText(value) if value is not None else None))
        parts.append(shape.updateEnd)
    parts.append(associateForm(entity, registry)(location=at))
    parts.append(shape.end(location=at, requests=requestsOf(location), log=logOf(location)))
    return page(f"{title} ({entity.kind.term})", context, *parts,
                head=_CHANGES(log=logOf(location)))


def _ends(entity: Entity) -> Markup:
    """For a link: where it comes from and goes to."""
    source, target = entity.attributes.get(SOURCE), entity.attributes.get(TARGET)
    if source is None and target is None:
        return NOTHING
    return _ENDS(source=link(valueText(source or "")), target=link(valueText(target or "")))


_ENDS = compiled(tags.p("From ", slot("source"), " to ", slot("target"), ".", id="ends"),
                 "source", "target")


def _draftPage(entity: Entity, shape: Shape, context: RenderContext) -> bytes:
    """A template's copy, not stored yet: the form that creates it, filled in.  The copy's id
    goes with it, so that submitting the form twice creates once (the second gets 409)."""
    kind = entity.kind
    terms = ", ".join(m.term for m in entity.mixins)
    where: list[Flattenable] = ["."]
    if kind.location:
        where = [" in ", tags.a(uri(kind.location), href=uri(kind.location)), "."]
    parts = [flattened([
        tags.h1(f"New {kind.term} from {terms or kind.term}", id="title"),
        tags.p("A ", kindLink(kind), " made from the template. Change what you like and "
               "create it", where),
    ])]
    if kind.location and kind.identifier not in ABSTRACT:
        values = entity.attributes
        fields = [field(valueText(values[name]) if values.get(name) is not None else None)
                  for name, field in shape.draft]
        form = tags.form(
            hidden("kind", kind.identifier), [hidden("mixin", m.identifier) for m in entity.mixins],
            hidden(ID, entity.id),
            tags.fieldset(tags.legend("Attributes"), slot("fields"),
                          tags.p(tags.button("Create", type="submit"))),
            id="create", method="post", action=uri(kind.location),
            **dashed(accept_charset="utf-8"))
        parts.append(compiled(form, "fields")(fields=Markup(b"".join(fields))))
    parts.append(attributesTable(entity, shape))
    return page(f"New {kind.term} from {terms or 'scratch'}", context, *parts)
