"""The tables and lines entity and request pages share: attributes, links, state."""

from __future__ import annotations

from collections.abc import Sequence

from twisted.web.template import slot, tags

from ...model import Entity
from .markup import NOTHING, Markup, around, compiled, escaped, flattened
from .shapes import KindInfo, Shape, attributeRow, kindInfo
from .words import TARGET, TARGET_KIND, code, link, termOf, titleOf, token, uri, valueText

_ATTRIBUTES_START, _ATTRIBUTES_END = around(tags.section(
    tags.h2("Attributes"),
    tags.table(
        tags.thead(tags.tr(tags.th("Attribute", scope="col"), tags.th("Value", scope="col"))),
        tags.tbody(slot("rows")),
        id="attributes"),
    id="attributes-section"), "rows")

_LINK_ROW = compiled(tags.tr(
    tags.td(tags.a(slot("title"), href=slot("location"))), slot("kind"),
    tags.td(slot("target")), tags.td(slot("state"), class_="state-cell")),
    "title", "location", "kind", "target", "state")

_LINKS_START, _LINKS_END = around(tags.section(
    tags.h2("Links"),
    tags.table(
        tags.thead(tags.tr([tags.th(name, scope="col")
                            for name in ("Link", "Kind", "Target", "State")])),
        tags.tbody(slot("rows")),
        id="links"),
    id="links-section"), "rows")

_STATE = compiled(tags.p("State: ", tags.span(slot("state"), id="state",
                                              class_=["state state-", slot("token")]),
                          slot("more")), "state", "token", "more")
_NOTE = compiled([" ", tags.span(slot("note"), class_="muted")], "note")

_NO_LINKS = flattened(tags.section(tags.h2("Links"), tags.p("No links.", class_="muted"),
                                   id="links-section"))


def attributesTable(entity: Entity, shape: Shape) -> Markup:
    """Every attribute with its value: URIs followable when safe, lists and hashes as JSON."""
    rows, uris = shape.rows, shape.uris
    parts: list[bytes] = [_ATTRIBUTES_START]
    for name, value in entity.attributes.items():
        head, tail = rows.get(name) or attributeRow(name)
        if name in uris and isinstance(value, str):
            shown: bytes = link(value)
        elif isinstance(value, (list, dict)):
            shown = code(valueText(value))
        else:
            shown = escaped(valueText(value))
        parts += (head, shown, tail)
    parts.append(_ATTRIBUTES_END)
    return Markup(b"".join(parts))


def stateLine(state: str, note: str | None = None) -> Markup:
    """``State: state`` as a badge coloured by the state, and a note after it."""
    return _STATE(state=state, token=token(state),
                  more=_NOTE(note=note) if note is not None else NOTHING)


def entityState(entity: Entity, info: KindInfo) -> Markup:
    state = entity.attributes.get(info.state) if info.state is not None else None
    if state is None:
        return NOTHING
    message = entity.attributes.get(f"{info.state}.message")
    return stateLine(valueText(state), valueText(message) if message else None)


def linksTable(links: Sequence[Entity]) -> Markup:
    if not links:
        return _NO_LINKS
    parts = [_LINKS_START]
    for one in links:
        info = kindInfo(one.kind)
        attributes = one.attributes
        target = attributes.get(TARGET)
        targetKind = attributes.get(TARGET_KIND)
        state = attributes.get(info.state) if info.state else None
        parts.append(_LINK_ROW(
            title=titleOf(one), location=uri(one.location), kind=info.cell,
            target=Markup((link(valueText(target)) if target is not None else b"")
                          + (escaped(f" ({termOf(valueText(targetKind))})") if targetKind
                             else b"")),
            state=valueText(state) if state is not None else ""))
    parts.append(_LINKS_END)
    return Markup(b"".join(parts))
