"""HTML form input (``application/x-www-form-urlencoded``): the walkthrough's way to create.

The walkthrough creates a compute with ``compute.cores=2&compute.memory=2048`` POSTed to
``/compute``, and browsers submit the HTML rendering's forms the same way.  Forms are written
by people, so the field names are forgiving:

* an attribute is named in full (``occi.compute.cores``) or without the ``occi.`` of an OCCI
  namespace (``compute.cores``); other names (``method``, an action's parameter) are kept;
* ``title``, ``summary`` and ``id`` are ``occi.core.title``, ``.summary``, ``.id``;
* ``kind``, ``mixin`` and ``category`` name categories, repeatable, by identifier
  (``scheme#term``) or by term alone (``small``), which the HTTP layer resolves;
* ``action`` names the action to trigger, by identifier or term;
* ``location`` lists entity locations (mixin association), repeatable.

Every value stays a string: the model coerces strings for every attribute type.  A field
left blank is left out, because a browser submits every input of a form, filled or not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import unquote_to_bytes

from ..model.errors import BadRequest
from .document import CategoryRef, Document
from .values import ATTRIBUTE_NAME, show

MEDIA_TYPE = "application/x-www-form-urlencoded"

#: Most fields read: forms are small.
MAX_FIELDS = 1000

#: The OCCI namespaces whose attributes may be written without ``occi.``.
SHORT_NAMESPACES = frozenset(
    {"core", "compute", "network", "storage", "networkinterface", "storagelink", "credentials"}
)

_CATEGORY_FIELDS: dict[str, str | None] = {"kind": "kind", "mixin": "mixin", "category": None}
_CORE_FIELDS = {
    "id": "occi.core.id",
    "title": "occi.core.title",
    "summary": "occi.core.summary",
}
_TERM = re.compile(r"[^\s#]{1,256}")


def parse(body: bytes, headers: Mapping[str, Sequence[str]] | None = None) -> Document:
    """Read a urlencoded form into a :class:`Document`."""
    categories: list[CategoryRef] = []
    attributes: dict[str, object] = {}
    locations: list[str] = []
    action: CategoryRef | None = None
    fields = [piece for piece in body.split(b"&") if piece.strip()]
    if len(fields) > MAX_FIELDS:
        raise BadRequest(f"The form has more than {MAX_FIELDS} fields.")
    for piece in fields:
        rawName, _, rawValue = piece.partition(b"=")
        name = _decode(rawName).strip()
        value = _decode(rawValue)
        if not value.strip():
            continue
        if not name:
            raise BadRequest("The form has a value without a field name.")
        if name.startswith("_"):
            continue  # the browser UI's own fields (``_method``), not the entity's
        if name in _CATEGORY_FIELDS:
            categories.append(_ref(value, _CATEGORY_FIELDS[name], name))
        elif name == "action":
            if action is not None:
                raise BadRequest("The form names more than one action.")
            action = _ref(value, "action", name)
        elif name == "location":
            locations.append(_location(value))
        else:
            attribute = attributeName(name)
            if attribute in attributes:
                raise BadRequest(f"The form gives the attribute {attribute} more than once.")
            attributes[attribute] = value
    return Document(
        categories=tuple(categories),
        attributes=attributes,
        locations=tuple(locations),
        action=action,
    )


def attributeName(name: str) -> str:
    """The full attribute name a form field stands for (``compute.cores`` →
    ``occi.compute.cores``), or BadRequest for a field that cannot be an attribute."""
    if name in _CORE_FIELDS:
        return _CORE_FIELDS[name]
    if not ATTRIBUTE_NAME.fullmatch(name):
        raise BadRequest(f"The form field {show(name)} is not an attribute name.")
    namespace = name.split(".", 1)[0]
    if namespace in SHORT_NAMESPACES and "." in name:
        return "occi." + name
    return name


def _decode(raw: bytes) -> str:
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The form is not valid UTF-8.") from None


def _ref(value: str, cls: str | None, field: str) -> CategoryRef:
    """A category by identifier (``scheme#term``) or, with an empty scheme, by term."""
    text = value.strip()
    scheme, hash_, term = text.rpartition("#")
    if hash_ and scheme and _TERM.fullmatch(term) and not any(c.isspace() for c in scheme):
        return CategoryRef(scheme + "#", term, cls=cls)
    if not hash_ and _TERM.fullmatch(text):
        return CategoryRef("", text, cls=cls)
    raise BadRequest(
        f"The form field {field} must name a category as scheme#term or by its term, "
        f"not {show(text)}."
    )


def _location(value: str) -> str:
    text = value.strip()
    if len(text) > 2048 or any(char.isspace() for char in text):
        raise BadRequest(f"The form field location is not a location: {show(text)}.")
    return text


#: The walkthrough's request vocabulary: ``state=shutdown&type=acpioff`` is action stop with
#: method acpioff.
WALKTHROUGH_STATES = {
    "shutdown": "stop",
    "stop": "stop",
    "stopped": "stop",
    "start": "start",
    "started": "start",
    "restart": "restart",
    "suspend": "suspend",
    "suspended": "suspend",
}


def walkthroughRequest(document: Document) -> Document:
    """Translate the walkthrough's ``state``/``type`` request shorthand into an action.

    ``POST {entity}/requests`` with ``state=shutdown&type=acpioff`` means "trigger stop with
    method acpioff".  A document that already names an action, or has no ``state``, passes
    unchanged; the remaining attributes stay the action's parameters.
    """
    state = document.attributes.get("state")
    if document.action is not None or not isinstance(state, str):
        return document
    term = WALKTHROUGH_STATES.get(state.strip().lower())
    if term is None:
        known = ", ".join(sorted(WALKTHROUGH_STATES))
        raise BadRequest(f"The request state {show(state)} is not one of {known}.")
    attributes = {k: v for k, v in document.attributes.items() if k not in ("state", "type")}
    method = document.attributes.get("type")
    if method is not None:
        attributes["method"] = method
    return Document(
        categories=document.categories,
        attributes=attributes,
        links=document.links,
        locations=document.locations,
        entities=document.entities,
        action=CategoryRef("", term, cls="action"),
    )
