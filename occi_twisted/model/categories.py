"""The OCCI type system: categories, kinds, mixins and actions (GFD.221 section 4).

These are immutable values.  A kind or mixin knows its own attribute definitions; the
attributes an entity may carry are the union over its kind's ancestry and its mixins (and what
those mixins depend on), which :func:`attributeDefinitions` computes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

from .attributes import AttributeDefinition


@dataclass(frozen=True, eq=False)
class Category:
    """A term in a scheme: the identity of every kind, mixin and action.

    Identity is the pair (scheme, term), i.e. :attr:`identifier`; two category objects with the
    same identifier are the same category.
    """

    scheme: str
    term: str
    title: str = ""
    attributes: tuple[AttributeDefinition, ...] = ()

    @property
    def identifier(self) -> str:
        """The category's full identifier, the scheme followed by the term."""
        return self.scheme + self.term

    @property
    def categoryClass(self) -> str:
        """The class name the text rendering writes in a Category line."""
        return "category"

    def attribute(self, name: str) -> AttributeDefinition | None:
        """This category's own definition of the attribute ``name``, if it has one."""
        for definition in self.attributes:
            if definition.name == name:
                return definition
        return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Category) and other.identifier == self.identifier

    def __hash__(self) -> int:
        return hash(self.identifier)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.identifier}>"


@dataclass(frozen=True, eq=False, repr=False)
class Action(Category):
    """An operation an entity offers; its attributes are the action's parameters."""

    @property
    def categoryClass(self) -> str:
        return "action"


@dataclass(frozen=True, eq=False, repr=False)
class Kind(Category):
    """The one immutable type of an entity, with its place in the type hierarchy."""

    parent: Kind | None = None
    actions: tuple[Action, ...] = ()
    location: str | None = None

    @property
    def categoryClass(self) -> str:
        return "kind"

    def ancestry(self) -> Iterator[Kind]:
        """This kind, then its parent, up to ``entity``."""
        kind: Kind | None = self
        while kind is not None:
            yield kind
            kind = kind.parent

    def isA(self, other: Kind) -> bool:
        """Whether this kind is ``other`` or derives from it."""
        return isinstance(other, Category) and other.identifier in self._lineage

    @cached_property
    def _lineage(self) -> frozenset[str]:
        """The identifiers of :meth:`ancestry`, worked out once: a kind never changes, and
        every create, listing and driver asks what its kinds derive from."""
        return frozenset(kind.identifier for kind in self.ancestry())


@dataclass(frozen=True, eq=False, repr=False)
class Mixin(Category):
    """Traits added to an entity at run time: attributes, actions, and a collection of its own.

    ``applies`` names the kinds the mixin may be associated with (empty: any), ``depends`` the
    mixins that come along with it.  ``owner`` is set on user-defined mixins (tags), which live
    in the store rather than in code.
    """

    depends: tuple[Mixin, ...] = ()
    applies: tuple[Kind, ...] = ()
    actions: tuple[Action, ...] = ()
    location: str | None = None
    owner: str | None = field(default=None, compare=False)

    @property
    def categoryClass(self) -> str:
        return "mixin"

    def closure(self) -> Iterator[Mixin]:
        """This mixin and, transitively, every mixin it depends on, each once."""
        seen: set[str] = set()
        stack: list[Mixin] = [self]
        while stack:
            mixin = stack.pop()
            if mixin.identifier in seen:
                continue
            seen.add(mixin.identifier)
            yield mixin
            stack.extend(mixin.depends)

    def isA(self, other: Mixin) -> bool:
        """Whether this mixin is ``other`` or depends on it (directly or not)."""
        return any(mixin == other for mixin in self.closure())

    def appliesTo(self, kind: Kind) -> bool:
        """Whether this mixin may be associated with an entity of ``kind``."""
        if not self.applies:
            return all(dep.appliesTo(kind) for dep in self.depends)
        return any(kind.isA(target) for target in self.applies)


def attributeDefinitions(
    kind: Kind, mixins: Iterable[Mixin] = ()
) -> dict[str, AttributeDefinition]:
    """Every attribute an entity of ``kind`` with ``mixins`` may carry, by name.

    A mixin's definition overrides the kind's for the same name: that is how templates give
    attributes new defaults.
    """
    definitions: dict[str, AttributeDefinition] = {}
    for ancestor in reversed(list(kind.ancestry())):
        for definition in ancestor.attributes:
            definitions[definition.name] = definition
    for mixin in mixins:
        for member in reversed(list(mixin.closure())):
            for definition in member.attributes:
                definitions[definition.name] = definition
    return definitions


def availableActions(kind: Kind, mixins: Iterable[Mixin] = ()) -> list[Action]:
    """The actions an entity of ``kind`` with ``mixins`` offers, kind's first."""
    actions: dict[str, Action] = {}
    for ancestor in kind.ancestry():
        for action in ancestor.actions:
            actions.setdefault(action.identifier, action)
    for mixin in mixins:
        for member in mixin.closure():
            for action in member.actions:
                actions.setdefault(action.identifier, action)
    return list(actions.values())
