"""The referential rules of a change set, written once for every backend.

A backend shows the rules a :class:`View` of the store as the change set sees it (the committed
state with the set's earlier changes on top); the rules say whether the next change may
happen, raising the domain error a client will read.  Keeping them here means the memory store
used in tests cannot drift from the SQLite store that runs in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..model import Mixin, Registry
from ..model.errors import AlreadyExists, BadRequest, Conflict, NotFound, PreconditionFailed
from ..model.numbers import wholeNumber
from ._forwardrules import idForwarded
from .interface import CREATE
from .serial import EntityRecord, idAt


@dataclass(frozen=True)
class Stored:
    """What the rules need to know about an entity already in the store."""

    seq: int
    kind: str
    location: str
    revision: int
    isResource: bool


class View(Protocol):
    """The store as one change set sees it, inside its transaction."""

    def stored(self, entityId: str) -> Stored | None:
        """The entity with this id, if there is one."""

    def hasUserMixin(self, identifier: str) -> bool:
        """Whether this user-defined mixin exists."""

    def forwarded(self, entityId: str) -> bool:
        """Whether an entity with this id migrated from here (see :mod:`._forwardrules`)."""


def checkPut(view: View, record: EntityRecord, expect: int | None) -> Stored | None:
    """Check that ``record`` may be stored; returns what it replaces, if anything."""
    existing = view.stored(record.id)
    if expect == CREATE:
        if existing is not None:
            raise AlreadyExists(record.id)
    elif expect is not None:
        _checkRevision(record.id, existing, expect)
    if existing is None and view.forwarded(record.id):
        raise idForwarded(record.id)
    if existing is not None and existing.kind != record.kind:
        raise Conflict(
            f"The entity {record.id} is a {_term(existing.kind)}; it cannot become a "
            f"{_term(record.kind)}."
        )
    for identifier in record.userMixins:
        if not view.hasUserMixin(identifier):
            raise Conflict(f"The mixin {identifier} no longer exists.")
    if record.source is not None:
        source = _entityAt(view, record.source)
        if source is None:
            raise Conflict(f"The link's source {record.source} does not exist.")
        if not source.isResource:
            raise Conflict(f"The link's source {record.source} is not a resource.")
    target = record.target
    if target is not None and target.startswith("/") and _entityAt(view, target) is None:
        raise Conflict(f"The link's target {target} does not exist.")
    return existing


def checkDelete(view: View, entityId: str, expect: int | None) -> Stored:
    """Check that the entity ``entityId`` may be deleted; returns it."""
    existing = view.stored(entityId)
    if expect is not None and expect != CREATE:
        return _checkRevision(entityId, existing, expect)
    if existing is None:
        raise _notFound(entityId)
    return existing


def checkRemovable(registry: Registry, identifier: str) -> Mixin:
    """The user mixin ``identifier``, if it may be removed (before anything is written)."""
    found = registry.get(identifier)
    if found is None:
        raise NotFound(f"Category {identifier} is not known to this server.")
    if not isinstance(found, Mixin) or found.owner is None:
        raise Conflict(f"Category {identifier} is defined by the server and cannot be removed.")
    dependents = [
        mixin.identifier
        for mixin in registry.mixins()
        if mixin != found and any(dep == found for dep in mixin.depends)
    ]
    if dependents:
        raise Conflict(
            f"The mixin {identifier} cannot be removed: {', '.join(dependents)} depends on it."
        )
    return found


def _checkRevision(entityId: str, existing: Stored | None, expect: int) -> Stored:
    if existing is None:
        raise _notFound(entityId)
    if existing.revision != expect:
        raise PreconditionFailed(
            f"The entity {entityId} is at revision {existing.revision}, not {expect}: "
            "it changed since it was read."
        )
    return existing


def _entityAt(view: View, location: str) -> Stored | None:
    entityId = idAt(location)
    if entityId is None:
        return None
    found = view.stored(entityId)
    return found if found is not None and found.location == location else None


def _notFound(entityId: str) -> NotFound:
    return NotFound(f"There is no entity with the id {entityId}.")


def _term(identifier: str) -> str:
    return identifier.rpartition("#")[2] or identifier


def cursorAfter(after: str | None) -> int:
    """The creation sequence number a page cursor stands for (0: from the start); no
    cursor goes beyond what SQLite holds."""
    if after is None:
        return 0
    seq = wholeNumber(after)
    if seq is None:
        raise BadRequest(f"The page cursor {after[:40]!r} is not one this server gave out.")
    return seq


def checkLimit(limit: int) -> None:
    """A page holds at least one entity; how many at most is the HTTP layer's to say."""
    if limit < 1:
        raise BadRequest(f"A page holds at least one entity, not {limit}.")
