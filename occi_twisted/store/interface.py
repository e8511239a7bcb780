"""The store: the one place where state shared by every node of a cloud lives.

Every backend (memory for tests, SQLite embedded, PostgreSQL for several nodes) implements
:class:`IStore` and passes the same contract tests (``tests/store/contract.py``).

Writes are *change sets*: a list of :class:`Put` and :class:`Delete` applied atomically, and
durable before the returned Deferred fires -- the HTTP layer answers 2xx only after that, which
is what makes every 2xx survive ``kill -9``.  Referential rules that must hold however requests
interleave (a link's source must exist; deleting a resource deletes its links; ids are unique)
are enforced inside the change set's transaction, never by a read-then-write in the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from twisted.internet.defer import Deferred
from zope.interface import Attribute, Interface

from ..model import Entity, Mixin, Value

#: ``Put.expect`` for "this must be a new entity".
CREATE = -1


@dataclass(frozen=True)
class Put:
    """Store ``entity`` (under its id).

    ``expect`` guards against lost updates: ``None`` writes unconditionally, :data:`CREATE`
    requires that no entity has the id (else :class:`~occi_twisted.model.errors.Conflict`), and
    a revision number requires the stored entity to be at exactly that revision (else
    :class:`~occi_twisted.model.errors.PreconditionFailed`; a missing one is
    :class:`~occi_twisted.model.errors.NotFound`).  The entity's ``revision`` field is stored as
    given: callers bump it (the model's update functions do).
    """

    entity: Entity
    expect: int | None = None


@dataclass(frozen=True)
class Delete:
    """Delete the entity with id ``entityId`` and every link whose source or target it is.

    ``expect`` as for :class:`Put` (``CREATE`` is meaningless here); a missing entity is
    :class:`~occi_twisted.model.errors.NotFound`.
    """

    entityId: str
    expect: int | None = None


Change = Put | Delete


@dataclass(frozen=True)
class Query:
    """Which entities a listing wants.

    ``kinds``: identifiers of acceptable kinds (the caller expands a kind to its descendants);
    empty means any.  ``mixins``: identifiers, an entity matches if it carries any of them.
    ``attributes``: exact values (already coerced to the attribute's type).  ``owner``: only
    that owner's entities, when set.
    """

    kinds: frozenset[str] = frozenset()
    mixins: frozenset[str] = frozenset()
    attributes: Mapping[str, Value] = field(default_factory=dict)
    owner: str | None = None


@dataclass(frozen=True)
class Page:
    """One page of a listing, in a stable order (creation order).

    ``cursor`` is opaque: pass it back as ``after`` for the next page; ``None`` means done.
    """

    entities: Sequence[Entity]
    cursor: str | None


class IStore(Interface):
    """Durable storage of entities and user-defined mixins."""

    registry = Attribute("The model registry the store resolves categories with.")

    def start() -> Deferred[None]:
        """Open the store, creating its schema if needed; loads user mixins into the registry."""

    def stop() -> Deferred[None]:
        """Finish pending writes and close."""

    def get(entityId: str) -> Deferred[Entity | None]:
        """The entity with this id, or ``None``."""

    def apply(changes: Sequence[Change]) -> Deferred[None]:
        """Apply the changes atomically; fires once they are durable, or fails with a domain
        error (Conflict, NotFound, PreconditionFailed) having changed nothing."""

    def page(query: Query, after: str | None, limit: int) -> Deferred[Page]:
        """Up to ``limit`` entities matching ``query`` after the cursor ``after``."""

    def count(query: Query) -> Deferred[int]:
        """How many entities match ``query``."""

    def linksFrom(sources: Sequence[str]) -> Deferred[dict[str, list[Entity]]]:
        """The links whose ``occi.core.source`` is one of the locations ``sources``, by source.

        Resources render with their links, so listings ask for a page's worth at once."""

    def defineMixin(mixin: Mixin) -> Deferred[Mixin]:
        """Durably add a user-defined mixin (to the store and the registry).  Defining the same
        mixin again is harmless; a clash with another category is a Conflict."""

    def removeMixin(identifier: str) -> Deferred[None]:
        """Durably remove a user-defined mixin and its association with every entity."""
