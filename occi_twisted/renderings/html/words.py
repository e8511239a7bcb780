"""How values read on a page: attribute values as a person types them, names as class names
and element ids, and links only where following them is safe."""

from __future__ import annotations

import json
import re

from twisted.web.template import Flattenable, Tag, slot, tags

from ...model import Category, Entity, Mixin
from ...model.infrastructure import OS_TPL, RESOURCE_TPL
from ...model.requests import PREFIX as REQUEST_PREFIX
from ..urilist import uriText
from .markup import NOT_XML, Markup, compiled

ID, TITLE, SUMMARY = "occi.core.id", "occi.core.title", "occi.core.summary"
SOURCE, TARGET, TARGET_KIND = "occi.core.source", "occi.core.target", "occi.core.target.kind"
REQUEST_STATE = f"{REQUEST_PREFIX}.state"
REQUEST_ACTION = f"{REQUEST_PREFIX}.action"
REQUEST_TARGET = f"{REQUEST_PREFIX}.target"
REQUEST_MESSAGE = f"{REQUEST_PREFIX}.message"
REQUEST_PERCENT = f"{REQUEST_PREFIX}.percent"
REQUEST_PROGRESS = f"{REQUEST_PREFIX}.progress"
REQUEST_STARTED = f"{REQUEST_PREFIX}.started"

_NOT_TOKEN = re.compile(r"[^A-Za-z0-9_-]+")


def valueText(value: object) -> str:
    """An attribute value as a person reads and types it: strings as they are, numbers as
    written, booleans as true/false, lists and hashes as JSON (which the model reads back)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def number(value: float) -> str:
    """A bound as a person writes it: 1048576, not 1048576.0."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def uri(location: str) -> str:
    """``location`` percent-encoded where a URI cannot hold a character."""
    return uriText(NOT_XML.sub("\ufffd", location))


def href(location: str) -> str | None:
    """``location`` ready for ``href`` if following it is safe: a path on this server, or an
    http(s) URL.  Anything else (``javascript:``, ``data:``, a URN) is shown, never linked."""
    if location.startswith("/") or location[:8].lower().startswith(("http://", "https://")):
        return uri(location)
    return None


def linked(location: str, label: Flattenable | None = None) -> Tag:
    """A link to ``location`` with ``label`` (the location itself by default), or the
    location as code if following it is not safe."""
    target = href(location)
    shown = location if label is None else label
    if target is None:
        return tags.code(shown)
    return tags.a(shown, href=target)


_LINK = compiled(tags.a(slot("label"), href=slot("href")), "label", "href")
_CODE = compiled(tags.code(slot("label")), "label")


def link(location: str, label: str | Markup | None = None) -> Markup:
    """:func:`linked`, flattened at once (for the rows of pages a browser asks for most)."""
    target = href(location)
    shown = location if label is None else label
    return _CODE(label=shown) if target is None else _LINK(label=shown, href=target)


def code(text: str) -> Markup:
    """``text`` as code (a value written as JSON)."""
    return _CODE(label=text)


def token(value: str) -> str:
    """``value`` as a class name: letters, digits, ``-`` and ``_`` only."""
    return _NOT_TOKEN.sub("-", value)[:64]


def slug(category: Category) -> str:
    """The element id of a category on the query interface page."""
    return "c-" + _NOT_TOKEN.sub("-", category.identifier).strip("-")


def titleOf(entity: Entity) -> str:
    title = entity.attributes.get(TITLE)
    return valueText(title) if title not in (None, "") else entity.id


def termOf(identifier: str) -> str:
    return identifier.rpartition("#")[2] or identifier


def named(mixin: Mixin) -> str:
    """A mixin as a choice reads: its term, and its title if it has one."""
    return f"{mixin.term}: {mixin.title}" if mixin.title else mixin.term


def templateBase(mixin: Mixin) -> Mixin | None:
    """``resource_tpl`` or ``os_tpl`` for a template (an entity takes one of each), else
    ``None``."""
    for base in (RESOURCE_TPL, OS_TPL):
        if mixin != base and mixin.isA(base):
            return base
    return None




def duration(seconds: float) -> str:
    """A stretch of time as a person reads it: ``45 s``, ``3 min 05 s``, ``10 min``,
    ``2 h 07 min`` (the script of a request's page writes the same, see :mod:`.live`)."""
    whole = max(0, round(seconds))
    if whole >= 3600:
        return f"{whole // 3600} h {whole // 60 % 60:02d} min"
    if whole >= 60:
        return f"{whole // 60} min {whole % 60:02d} s" if whole % 60 else f"{whole // 60} min"
    return f"{whole} s"
