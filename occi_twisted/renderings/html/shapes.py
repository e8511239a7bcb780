"""What every entity page of one kind with the same mixins shares, flattened once.

Rendering an entity is on the hot path of every browser GET: the action forms, the shape of
the update form, the headings of the attribute rows, the way to other pages and the delete
form depend only on the kind and mixins, so they are built and flattened once per set of
categories, with a hole for the entity's location, and joined with the entity's values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from twisted.web.template import Flattenable, Tag, slot, tags

from ...model import (
    Action,
    AttributeDefinition,
    AttributeType,
    Entity,
    Kind,
    Mixin,
    Registry,
)
from ...model.categories import attributeDefinitions, availableActions
from ...model.core import LINK
from ...model.infrastructure import OS_TPL, RESOURCE_TPL
from ...model.locations import QUERY, ROOT
from .fields import Field, defaultText, fieldOf, fieldTag, hidden
from .markup import NOTHING, Fragment, Markup, Memo, around, compiled, dashed, flattened
from .words import named, slug, templateBase, token, uri

#: The hole for the entity's location in the fragments built once per kind and mixins.
_LOCATION = slot("location")


@dataclass(frozen=True)
class KindInfo:
    isLink: bool
    #: The attribute that holds the state of entities of the kind, if any.
    state: str | None
    #: The kind's cell in a listing.
    cell: Markup


_kinds: Memo[KindInfo] = Memo()


def kindInfo(kind: Kind) -> KindInfo:
    def build() -> KindInfo:
        state = next((name for name in attributeDefinitions(kind) if name.endswith(".state")),
                     None)
        cell = flattened(tags.td(kind.term, title=kind.identifier))
        return KindInfo(kind.isA(LINK), state, cell)
    return _kinds.get((kind,), build)


def queryLink(category: Kind | Mixin | Action, label: Flattenable | None = None) -> Tag:
    """A link to the category's definition on the query interface page."""
    return tags.a(category.term if label is None else label, href=f"{QUERY}#{slug(category)}")


def kindLink(kind: Kind) -> list[Flattenable]:
    """The kind's term, linked to its collection, and its title to its definition."""
    term: Flattenable = tags.a(kind.term, href=uri(kind.location)) if kind.location else kind.term
    return [term, " (", queryLink(kind, kind.title or kind.term), ")"]


@dataclass(frozen=True)
class Shape:
    """The parts of an entity page that depend only on the kind and mixins; fragments have a
    hole for the entity's location (``end`` also for its requests' and its log's)."""

    info: KindInfo
    definitions: Mapping[str, AttributeDefinition]
    #: Each attribute's row, before and after its value.
    rows: Mapping[str, tuple[Markup, Markup]]
    #: Attributes whose values are URIs (followable when safe).
    uris: frozenset[str]
    about: Fragment
    actions: Fragment
    #: The update form around its fields (empty without mutable attributes).
    updateStart: Fragment
    update: tuple[tuple[str, Field], ...]
    updateEnd: Markup
    draft: tuple[tuple[str, Field], ...]
    end: Fragment


_shapes: Memo[Shape] = Memo()


def shapeOf(entity: Entity) -> Shape:
    return _shapes.get((entity.kind, *entity.mixins),
                       lambda: _buildShape(entity.kind, entity.mixins))


def attributeRow(name: str, description: str | None = None) -> tuple[Markup, Markup]:
    """An attribute's row in a table, before and after its value."""
    heading = tags.th(name, scope="row")
    if description is not None:
        heading(title=description)
    return around(tags.tr(heading, tags.td(slot("value")), **dashed(data_attribute=name)),
                  "value")


def _buildShape(kind: Kind, mixins: Sequence[Mixin]) -> Shape:
    definitions = attributeDefinitions(kind, mixins)
    mutable = [d for d in definitions.values() if d.mutable]
    update = tuple((d.name, fieldOf(d, "update")) for d in mutable)
    updateStart, updateEnd = Fragment(()), NOTHING
    if update:
        form = tags.section(
            tags.h2("Change"),
            tags.form(tags.fieldset(
                tags.legend("Attributes you can change"),
                tags.p("Fields left empty keep their values.", class_="muted"),
                slot("fields"),
                tags.p(tags.button("Save", type="submit")),
            ), id="update", method="post", action=_LOCATION, **dashed(accept_charset="utf-8")),
            id="update-section")
        updateStart, after = compiled(form, "location", "fields").split("fields")
        updateEnd = after.markup
    return Shape(
        info=kindInfo(kind),
        definitions=definitions,
        rows={name: attributeRow(name, d.description) for name, d in definitions.items()},
        uris=frozenset(name for name, d in definitions.items() if d.type is AttributeType.URI),
        about=compiled(_about(kind, mixins), "location"),
        actions=compiled(_actionForms(availableActions(kind, mixins)), "location"),
        updateStart=updateStart,
        update=update,
        updateEnd=updateEnd,
        draft=tuple((d.name, fieldOf(d, "create")) for d in mutable),
        end=compiled(_entityEnd(kind), "location", "requests", "log"),
    )


def _removeForm(mixin: Mixin, location: Flattenable) -> Tag:
    """The button that takes ``mixin`` off the entity at ``location``."""
    return tags.form(
        hidden("_method", "DELETE"), hidden("location", location), hidden("_next", location),
        tags.button("Remove", type="submit", title=f"Remove {mixin.term}"),
        class_="inline remove-mixin", method="post", action=uri(mixin.location or ""),
        **dashed(accept_charset="utf-8"))


def _about(kind: Kind, mixins: Sequence[Mixin]) -> list[Tag]:
    """The kind, and the mixins each with a button that removes it."""
    kindLine = tags.p("A ", kindLink(kind), " at ",
                      tags.a(tags.code(_LOCATION), href=_LOCATION), ".", id="kind", class_="kind")
    if not mixins:
        return [kindLine, tags.p("No mixins.", id="mixins", class_="muted")]
    items = [
        tags.li(queryLink(mixin, "\u2139")(title=mixin.identifier), " ",
                tags.a(mixin.term, href=uri(mixin.location)) if mixin.location else mixin.term,
                f" \u2014 {mixin.title}" if mixin.title else "",
                _removeForm(mixin, _LOCATION) if mixin.location else "",
                **dashed(data_mixin=mixin.identifier))
        for mixin in mixins
    ]
    return [kindLine, tags.p("Mixins and templates:", class_="muted"),
            tags.ul(items, id="mixins")]


def _actionForms(actions: Sequence[Action]) -> Tag | str:
    """One form per action: posted to ``{location}?action=term`` with the action's
    attributes as fields, their defaults filled in.

    The body does not name the action again: Twisted merges a form body into the query
    arguments, the body's winning, so a field ``action`` would replace ``?action=term``.
    """
    if not actions:
        return ""
    forms = []
    for action in actions:
        formId = f"action-{action.term}"
        forms.append(tags.form(
            tags.fieldset(
                tags.legend(action.term),
                tags.p(action.title, class_="about") if action.title else "",
                [fieldTag(d, formId, defaultText(d)) for d in action.attributes],
                tags.p(tags.button(action.term.replace("_", " ").capitalize(),
                                   type="submit")),
            ),
            class_=f"action action-{token(action.term)}", id=formId, method="post",
            action=[_LOCATION, "?action=", quote(action.term, safe="")],
            **dashed(accept_charset="utf-8")))
    return tags.section(tags.h2("Actions"), tags.div(forms, class_="actions"), id="actions")


def _entityEnd(kind: Kind) -> list[Tag]:
    """Where to go from an entity (its requests, its log, its other representations), and the
    form that deletes it."""
    after = uri(kind.location) if kind.location else ROOT
    return [
        tags.section(tags.h2("More"), tags.ul(
            tags.li(tags.a("Requests", id="requests", href=slot("requests")),
                    ": the actions asked of it, running and done"),
            tags.li(tags.a("Change log", id="log", href=slot("log")), " (Atom feed)"),
            tags.li("As ", tags.a("text/plain", href=[_LOCATION, "?format=text"]), " or ",
                    tags.a("JSON", href=[_LOCATION, "?format=json"])),
        ), id="more"),
        tags.section(tags.h2("Delete"), tags.form(
            hidden("_method", "DELETE"), hidden("_next", after),
            tags.button("Delete ", _LOCATION, type="submit", class_="danger"),
            id="delete", method="post", action=_LOCATION, **dashed(accept_charset="utf-8")),
            id="delete-section"),
    ]


_associations: Memo[Fragment] = Memo()


def associateForm(entity: Entity, registry: Registry) -> Fragment:
    """The form that adds a mixin or template that applies and is not there yet: a partial
    update of the entity naming the mixin."""
    available = registry.mixins()
    holders = (entity.kind, *entity.mixins, None, *available)  # None: where the mixins end
    return _associations.get(holders, lambda: _associate(entity, available))


def _associate(entity: Entity, available: Sequence[Mixin]) -> Fragment:
    present = set(entity.mixins)
    taken = {templateBase(mixin) for mixin in entity.mixins}
    groups: dict[str, list[Tag]] = {"Resource templates": [], "OS templates": [], "Mixins": []}
    for mixin in available:
        if mixin in present or mixin in (OS_TPL, RESOURCE_TPL):
            continue
        if not mixin.appliesTo(entity.kind):
            continue
        base = templateBase(mixin)
        if base is not None and base in taken:
            continue  # one template of each sort: remove the one there first
        group = ("Resource templates" if base is RESOURCE_TPL else
                 "OS templates" if base is OS_TPL else "Mixins")
        groups[group].append(tags.option(named(mixin), value=mixin.identifier))
    options = [tags.optgroup(items, label=label) for label, items in groups.items() if items]
    form: Tag | str = ""
    if options:
        form = tags.form(tags.p(
            tags.label("Add a mixin or template", **dashed(for_="associate-mixin")), " ",
            tags.select(tags.option("(choose)", value=""), options, name="mixin",
                        id="associate-mixin", required="required"), " ",
            tags.button("Add", type="submit"), class_="field"),
            id="associate", method="post", action=_LOCATION, **dashed(accept_charset="utf-8"))
    return compiled(tags.section(tags.h2("Mixins and templates"), form, id="mixins-section"),
                    "location")
