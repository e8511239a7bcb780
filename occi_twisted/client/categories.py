"""The server's categories as its query interface describes them, and what a person types
resolved against them: ``compute`` for a kind, ``os_tpl#debian-12`` for a mixin,
``cores=2`` for ``occi.compute.cores`` with the number 2.

rOCCI-cli users name mixins ``SHORT_SCHEME#TERM`` (``resource_tpl#small``) and attributes
without a dot as ``occi.core.*`` (``title``); both forms are understood here, beside full
identifiers and full attribute names.  Pure: the query interface's :class:`Document` in,
values out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..renderings.document import CategoryRef, Document
from .errors import ClientError, UsageError

#: ``key=num(2)``, ``key=float(2)``, ``key=bool(true)``: rOCCI-cli's type casts.
_CASTS = ("num(", "float(", "bool(")


@dataclass(frozen=True)
class Categories:
    """Every kind, mixin and action of one server."""

    kinds: tuple[CategoryRef, ...]
    mixins: tuple[CategoryRef, ...]
    actions: tuple[CategoryRef, ...]

    @classmethod
    def fromDocument(cls, document: Document) -> Categories:
        def of(name: str) -> tuple[CategoryRef, ...]:
            return tuple(ref for ref in document.categories if ref.cls == name)

        return cls(of("kind"), of("mixin"), of("action"))

    def byIdentifier(self, identifier: str) -> CategoryRef | None:
        for ref in (*self.kinds, *self.mixins, *self.actions):
            if ref.identifier == identifier:
                return ref
        return None

    def kind(self, name: str) -> CategoryRef:
        """A kind by term (``compute``) or identifier."""
        return _one(name, self.kinds, "kind")

    def kindAt(self, location: str) -> CategoryRef | None:
        """The kind whose collection holds ``location`` (a path or URL of an entity)."""
        path = _path(location)
        for ref in self.kinds:
            if ref.location and path.startswith(_path(ref.location)):
                return ref
        return None

    def mixin(self, name: str) -> CategoryRef:
        """A mixin by identifier, by ``SHORT_SCHEME#TERM`` (the scheme's last word or the
        mixin it depends on: ``os_tpl#debian-12``), or by term alone."""
        if "#" in name and "://" not in name:
            short, _, term = name.partition("#")
            found = [ref for ref in self.mixins if ref.term == term and (
                ref.scheme.rstrip("#").rsplit("/", 1)[-1] == short
                or any(related.endswith("#" + short) for related in ref.rel))]
            return _single(name, found, "mixin")
        return _one(name, self.mixins, "mixin")

    def collection(self, name: str) -> CategoryRef:
        """A kind, or else a mixin: what has a collection to list."""
        if "#" in name and "://" not in name:
            return self.mixin(name)
        return _one(name, (*self.kinds, *self.mixins), "kind or mixin")

    def templatesOf(self, name: str) -> tuple[CategoryRef, ...]:
        """The mixins that depend on the mixin ``name`` (``os_tpl``: the OS templates)."""
        parent = _one(name, self.mixins, "mixin")
        return tuple(ref for ref in self.mixins if parent.identifier in ref.rel)

    def action(self, name: str, offered: Iterable[str] = ()) -> CategoryRef:
        """An action by identifier or term, among those ``offered`` when the entity says."""
        offers = tuple(offered)
        candidates = tuple(ref for ref in self.actions
                           if not offers or ref.identifier in offers)
        return _one(name, candidates, "action")

    def definitions(self, refs: Iterable[CategoryRef]) -> dict[str, CategoryRef.Attribute]:
        """The attributes ``refs`` define, a kind's with its parents'."""
        found: dict[str, CategoryRef.Attribute] = {}
        todo = list(refs)
        while todo:
            ref = todo.pop()
            for attribute in ref.attributes:
                found.setdefault(attribute.name, attribute)
            if ref.cls == "kind":
                todo.extend(parent for identifier in ref.rel
                            if (parent := self.byIdentifier(identifier)) is not None)
        return found


def attributeValues(pairs: Iterable[str], definitions: Mapping[str, CategoryRef.Attribute],
                    ) -> dict[str, object]:
    """``key=value`` words as attributes: each key the one attribute it names, each value
    of the type the attribute is defined with."""
    values: dict[str, object] = {}
    for pair in pairs:
        key, equals, raw = pair.partition("=")
        if not equals or not key:
            raise UsageError(f"attributes are written key=value, not {pair!r}")
        name = attributeName(key.strip(), definitions)
        definition = definitions.get(name)
        values[name] = typedValue(raw, definition.type if definition else None, name)
    return values


def attributeName(key: str, definitions: Mapping[str, CategoryRef.Attribute]) -> str:
    """The full name ``key`` stands for: itself, ``occi.`` + it (``compute.cores``), or the
    one defined name that ends with ``.key`` (``cores``); else ``key`` as written, for the
    server to judge."""
    if key in definitions:
        return key
    if "occi." + key in definitions:
        return "occi." + key
    endings = sorted(name for name in definitions if name.endswith("." + key))
    if len(endings) > 1:
        raise UsageError(f"{key} could be any of {', '.join(endings)}: write the full name")
    return endings[0] if endings else key


def typedValue(raw: str, type: str | None, name: str) -> object:
    """``raw`` as a value of GFD.225's ``type`` (``number``, ``boolean``, ``array``,
    ``object``, ``string``); rOCCI-cli's ``num()``, ``float()`` and ``bool()`` casts win."""
    for cast in _CASTS:
        if raw.startswith(cast) and raw.endswith(")"):
            type = "boolean" if cast == "bool(" else "number"
            raw = raw[len(cast):-1]
    try:
        if type == "number":
            number = float(raw)
            return int(number) if number.is_integer() and "." not in raw else number
        if type == "boolean":
            if raw.lower() in ("true", "yes", "1", "on"):
                return True
            if raw.lower() in ("false", "no", "0", "off"):
                return False
            raise ValueError(raw)
        if type in ("array", "object"):
            return json.loads(raw)
    except ValueError:
        raise UsageError(f"{name} takes a {type}, not {raw!r}") from None
    return raw


def _path(location: str) -> str:
    if "://" in location:
        location = "/" + location.split("://", 1)[1].partition("/")[2]
    return location


def _one(name: str, refs: Iterable[CategoryRef], what: str) -> CategoryRef:
    candidates = tuple(refs)
    exact = [ref for ref in candidates if ref.identifier == name]
    return _single(name, exact or [ref for ref in candidates if ref.term == name], what)


def _single(name: str, found: list[CategoryRef], what: str) -> CategoryRef:
    if not found:
        raise ClientError(f"the server knows no {what} {name!r}")
    if len(found) > 1:
        raise UsageError(f"{name!r} could be any of "
                         f"{', '.join(ref.identifier for ref in found)}: give the identifier")
    return found[0]
