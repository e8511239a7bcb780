"""Entities and user mixins as the store writes and reads them.

The documents themselves (canonical JSON, categories by identifier) are the model's
(:mod:`occi_twisted.model.documents`), re-exported here for the backends; this module adds what
only a store needs: the record a backend writes, and reading documents back the store's way (a
kind the server no longer knows is :class:`StoreUnavailable`, a lost mixin a warning).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from twisted.logger import Logger

from ..model import Entity, Registry, documents
from ..model.core import LINK, RESOURCE
from ..model.documents import (
    Document,
    UnreadableDocument,
    canonical,
    entityToDict,
    mixinFromDict,
    mixinToDict,
    unknownMixins,
)
from ..model.errors import OCCIError
from .interface import StoreUnavailable

__all__ = [
    "Document",
    "EntityRecord",
    "canonical",
    "defineUserMixins",
    "entityFromDict",
    "entityToDict",
    "idAt",
    "mixinFromDict",
    "mixinToDict",
    "recordOf",
]

_log = Logger()


def entityFromDict(document: Mapping[str, Any], registry: Registry) -> Entity:
    """:func:`occi_twisted.model.documents.entityFromDict` as the store reads: an unknown kind
    is :class:`StoreUnavailable`, an unknown mixin is dropped with a warning."""
    try:
        entity = documents.entityFromDict(document, registry)
    except UnreadableDocument as problem:
        raise StoreUnavailable(str(problem)) from None
    if len(entity.mixins) != len(document["mixins"]):
        for identifier in unknownMixins(document, registry):
            _log.warn(
                "Dropping unknown mixin {mixin} from stored entity {entity}",
                mixin=identifier,
                entity=document["attributes"].get("occi.core.id"),
            )
    return entity


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
        except (UnreadableDocument, OCCIError) as problem:
            _log.warn(
                "Skipping stored user mixin {mixin}: {problem}",
                mixin=identifier,
                problem=getattr(problem, "message", str(problem)),
            )
