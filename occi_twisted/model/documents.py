"""Entities and user mixins as JSON documents: the form every backend stores and every event
carries.

Categories are written by identifier, never by value: the code (and the plugins) own the
definitions, so a kind that gains an attribute in a later release applies to entities stored
before it.  Reading a document therefore resolves identifiers through a :class:`Registry`,
and a document that names a category the registry does not know cannot always be read: that
is :class:`UnreadableDocument`, which each reader turns into its own answer (the store into
``StoreUnavailable``, a feed into a line saying the state cannot be shown).

The JSON text is canonical (sorted keys, no spaces, ASCII only): equal values give equal text,
which is what lets the SQLite backend compare list and hash attributes inside SQL, and ASCII
keeps any Python string storable (SQLite refuses lone surrogates in UTF-8 text).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from .attributes import AttributeDefinition, AttributeType, Value
from .categories import Kind, Mixin
from .entity import Entity
from .registry import Registry

#: One JSON document as stored: what :func:`json.loads` gives back.
Document = dict[str, Any]


class UnreadableDocument(ValueError):
    """A document names a category this server does not know (typically an extension was
    removed from the server since it was written)."""


def canonical(value: object) -> str:
    """The canonical JSON text of ``value`` (raises ``ValueError`` for NaN and infinities)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def entityToDict(entity: Entity) -> dict[str, Value]:
    """The document of ``entity``: categories by identifier, everything else as is."""
    mixins: list[Value] = [mixin.identifier for mixin in entity.mixins]
    return {
        "kind": entity.kind.identifier,
        "mixins": mixins,
        "attributes": dict(entity.attributes),
        "owner": entity.owner,
        "revision": entity.revision,
        "created": entity.created,
        "updated": entity.updated,
    }


def entityFromDict(document: Mapping[str, Any], registry: Registry) -> Entity:
    """The entity a document describes, its categories resolved through ``registry``.

    An unknown kind makes the entity unusable: :class:`UnreadableDocument`.  An unknown mixin
    is left out (see :func:`unknownMixins`): the entity is still what it was, less a trait the
    server no longer offers.
    """
    kindId = document["kind"]
    kind = registry.get(kindId)
    if not isinstance(kind, Kind):
        raise UnreadableDocument(
            f"A stored entity has the kind {kindId}, which this server does not know "
            "(was an extension removed?)."
        )
    mixins: list[Mixin] = []
    for identifier in document["mixins"]:
        mixin = registry.get(identifier)
        if isinstance(mixin, Mixin):
            mixins.append(mixin)
    return Entity(
        kind=kind,
        mixins=tuple(mixins),
        attributes=dict(document["attributes"]),
        owner=document["owner"],
        revision=document["revision"],
        created=document["created"],
        updated=document["updated"],
    )


def unknownMixins(document: Mapping[str, Any], registry: Registry) -> list[str]:
    """The mixins of an entity's document that ``registry`` does not know, which
    :func:`entityFromDict` leaves out."""
    return [identifier for identifier in document["mixins"]
            if not isinstance(registry.get(identifier), Mixin)]


def mixinToDict(mixin: Mixin) -> dict[str, Value]:
    """The document of a user-defined mixin (a tag): its identity, location, relations and
    the attributes it defines (GFD.225 section 3.5.1: their defaults apply to the entities
    that take it).

    User mixins carry no actions of their own; what else they bring comes from the mixins
    they depend on, which are stored by identifier.
    """
    depends: list[Value] = [dep.identifier for dep in mixin.depends]
    applies: list[Value] = [kind.identifier for kind in mixin.applies]
    attributes: list[Value] = [definitionToDict(d) for d in mixin.attributes]
    return {
        "scheme": mixin.scheme,
        "term": mixin.term,
        "title": mixin.title,
        "location": mixin.location or "",
        "owner": mixin.owner or "",
        "depends": depends,
        "applies": applies,
        "attributes": attributes,
    }


def definitionToDict(definition: AttributeDefinition) -> dict[str, Value]:
    """An attribute definition as stored: what it says beyond the defaults."""
    found: dict[str, Value] = {"name": definition.name, "type": definition.type.value,
                               "mutable": definition.mutable, "required": definition.required}
    if definition.default is not None:
        found["default"] = definition.default
    if definition.description:
        found["description"] = definition.description
    if definition.pattern is not None:
        found["pattern"] = definition.pattern
    if definition.enum:
        found["enum"] = list(definition.enum)
    for bound in ("minimum", "maximum"):
        value = getattr(definition, bound)
        if value is not None:
            found[bound] = value
    return found


def definitionFromDict(document: Mapping[str, Any]) -> AttributeDefinition:
    return AttributeDefinition(
        document["name"], AttributeType(document["type"]), mutable=document["mutable"],
        required=document["required"], default=document.get("default"),
        description=document.get("description", ""), pattern=document.get("pattern"),
        enum=tuple(document.get("enum", ())), minimum=document.get("minimum"),
        maximum=document.get("maximum"))


def mixinFromDict(document: Mapping[str, Any], registry: Registry) -> Mixin:
    """The user mixin a document describes; :class:`UnreadableDocument` if a relation is
    unknown.

    Mixins a user mixin depends on must be in ``registry`` already: load user mixins in the
    order they were defined.
    """
    identifier = document["scheme"] + document["term"]
    depends = tuple(_resolve(registry, Mixin, name, identifier) for name in document["depends"])
    applies = tuple(_resolve(registry, Kind, name, identifier) for name in document["applies"])
    return Mixin(
        document["scheme"],
        document["term"],
        title=document["title"],
        depends=depends,
        applies=applies,
        location=document["location"] or None,
        owner=document["owner"] or None,
        # Mixins stored before they kept attribute definitions have none.
        attributes=tuple(definitionFromDict(d) for d in document.get("attributes", ())),
    )


_C = TypeVar("_C", Kind, Mixin)


def _resolve(registry: Registry, expected: type[_C], identifier: str, owner: str) -> _C:
    found = registry.get(identifier)
    if not isinstance(found, expected):
        raise UnreadableDocument(
            f"The user mixin {owner} refers to {identifier}, which is not a known "
            f"{expected.__name__.lower()}."
        )
    return found
