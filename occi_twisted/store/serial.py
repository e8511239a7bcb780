"""Entities and user mixins as JSON documents, the form every backend stores.

Categories are stored by identifier, never by value: the code (and the plugins) own the
definitions, so a kind that gains an attribute in a later release applies to entities stored
before it.  Reading a document therefore resolves identifiers through a
:class:`~occi_twisted.model.Registry`.

The JSON text is canonical (sorted keys, no spaces, ASCII only): equal values give equal text,
which is what lets the SQLite backend compare list and hash attributes inside SQL, and ASCII
keeps any Python string storable (SQLite refuses lone surrogates in UTF-8 text).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from twisted.logger import Logger

from ..model import Entity, Kind, Mixin, Registry, Value
from ..model.core import LINK, RESOURCE
from ..model.errors import OCCIError
from .interface import StoreUnavailable

_log = Logger()

#: One JSON document as stored: what :func:`json.loads` gives back.
Document = dict[str, Any]


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

    An unknown kind makes the entity unusable, so it is :class:`StoreUnavailable` (typically an
    extension was removed from the server).  An unknown mixin is dropped with a warning: the
    entity is still what it was, less a trait the server no longer offers.
    """
    kindId = document["kind"]
    kind = registry.get(kindId)
    if not isinstance(kind, Kind):
        raise StoreUnavailable(
            f"A stored entity has the kind {kindId}, which this server does not know "
            "(was an extension removed?)."
        )
    mixins: list[Mixin] = []
    for identifier in document["mixins"]:
        mixin = registry.get(identifier)
        if isinstance(mixin, Mixin):
            mixins.append(mixin)
        else:
            _log.warn(
                "Dropping unknown mixin {mixin} from stored entity {entity}",
                mixin=identifier,
                entity=document["attributes"].get("occi.core.id"),
            )
    return Entity(
        kind=kind,
        mixins=tuple(mixins),
        attributes=dict(document["attributes"]),
        owner=document["owner"],
        revision=document["revision"],
        created=document["created"],
        updated=document["updated"],
    )


def mixinToDict(mixin: Mixin) -> dict[str, Value]:
    """The document of a user-defined mixin (a tag): its identity, location and relations.

    User mixins carry no attribute definitions or actions of their own; what they bring comes
    from the mixins they depend on, which are stored by identifier.
    """
    depends: list[Value] = [dep.identifier for dep in mixin.depends]
    applies: list[Value] = [kind.identifier for kind in mixin.applies]
    return {
        "scheme": mixin.scheme,
        "term": mixin.term,
        "title": mixin.title,
        "location": mixin.location or "",
        "owner": mixin.owner or "",
        "depends": depends,
        "applies": applies,
    }


def mixinFromDict(document: Mapping[str, Any], registry: Registry) -> Mixin:
    """The user mixin a document describes; :class:`StoreUnavailable` if a relation is unknown.

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
    )


_C = TypeVar("_C", Kind, Mixin)


def _resolve(registry: Registry, expected: type[_C], identifier: str, owner: str) -> _C:
    found = registry.get(identifier)
    if not isinstance(found, expected):
        raise StoreUnavailable(
            f"The user mixin {owner} refers to {identifier}, which is not a known "
            f"{expected.__name__.lower()}."
        )
    return found


@dataclass(frozen=True)
class EntityRecord:
    """An entity ready to be written: the columns a backend indexes, and the JSON document.

    Built on the reactor thread (:func:`recordOf`), so that backends writing on another thread
    handle only plain strings and numbers, never model objects or the registry.
    """

    id: str
    kind: str
    location: str
    owner: str
    revision: int
    isResource: bool
    #: For links: ``occi.core.source`` and ``occi.core.target``; ``None`` for resources.
    source: str | None
    target: str | None
    mixins: tuple[str, ...]
    #: The user-defined mixins among ``mixins``: these must still exist when it is written.
    userMixins: tuple[str, ...]
    document: str


def recordOf(entity: Entity) -> EntityRecord:
    """The record of ``entity``; ``ValueError`` if an attribute value is not JSON-like."""
    isLink = entity.kind.isA(LINK)
    return EntityRecord(
        id=entity.id,
        kind=entity.kind.identifier,
        location=entity.location,
        owner=entity.owner,
        revision=entity.revision,
        isResource=entity.kind.isA(RESOURCE),
        source=entity.source if isLink else None,
        target=entity.target if isLink else None,
        mixins=tuple(mixin.identifier for mixin in entity.mixins),
        userMixins=tuple(m.identifier for m in entity.mixins if m.owner is not None),
        document=canonical(entityToDict(entity)),
    )


def idAt(location: str) -> str | None:
    """The id of the entity at a local ``location`` (its last path segment), if it is local.

    Entity ids never contain ``/`` (see ``occi.core.id``'s pattern), so the last segment of an
    entity's location is its id; callers still compare the whole location with the stored one.
    """
    if not location.startswith("/"):
        return None
    return location.rpartition("/")[2] or None


def defineUserMixins(registry: Registry, documents: Iterable[Mapping[str, Any]]) -> None:
    """Put stored user mixins (in the order they were defined) into ``registry``.

    A mixin that no longer fits (it depends on a category an extension took away, or the
    server now defines the same identifier itself) is skipped with a warning rather than
    keeping the server from starting; entities lose it when they are read.
    """
    for document in documents:
        identifier = f"{document['scheme']}{document['term']}"
        try:
            registry.defineUserMixin(mixinFromDict(document, registry))
        except (StoreUnavailable, OCCIError) as problem:
            _log.warn(
                "Skipping stored user mixin {mixin}: {problem}",
                mixin=identifier,
                problem=getattr(problem, "message", str(problem)),
            )
