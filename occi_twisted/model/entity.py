"""Entities: the instances of kinds, and the rules for creating and changing them.

An :class:`Entity` is a plain value: its kind, mixins, attribute values, owner and timestamps.
The functions here turn what a client asked for (a :class:`Description`, produced by any
rendering's parser) into a valid entity, or raise a domain error that says what is wrong; they
never touch storage, so the same rules hold whatever backend keeps the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from .attributes import AttributeDefinition, Value
from .categories import Kind, Mixin, attributeDefinitions, availableActions
from .core import ABSTRACT, LINK, RESOURCE
from .errors import BadRequest, Conflict, InvalidAttribute
from .ids import ENTITY_ID_RULE, isEntityId, randomId
from .infrastructure import OS_TPL, RESOURCE_TPL

#: The owner recorded for entities while the server has no authentication.
ANONYMOUS = "anonymous"

_SERVER_MANAGED_SUFFIXES = (".state", ".state.message")


@dataclass(frozen=True)
class LinkDescription:
    """A link as a client wrote it inline on its source resource (a ``Link:`` line)."""

    target: str
    kind: Kind | None = None
    mixins: tuple[Mixin, ...] = ()
    attributes: Mapping[str, object] = field(default_factory=dict)
    location: str | None = None


@dataclass(frozen=True)
class Description:
    """What a client said about one entity, before validation: the output of every parser."""

    kind: Kind | None = None
    mixins: tuple[Mixin, ...] = ()
    attributes: Mapping[str, object] = field(default_factory=dict)
    links: tuple[LinkDescription, ...] = ()
    #: The location the client named, if it rendered one (e.g. ``X-OCCI-Location``).
    location: str | None = None


@dataclass(frozen=True)
class Entity:
    """One stored OCCI entity: a resource or a link."""

    kind: Kind
    mixins: tuple[Mixin, ...]
    attributes: Mapping[str, Value]
    owner: str = ANONYMOUS
    #: Monotonic revision, bumped by every change; the base of the entity's ETag.
    revision: int = 1
    created: float = 0.0
    updated: float = 0.0

    @property
    def id(self) -> str:
        """The entity's immutable identifier, ``occi.core.id``."""
        return str(self.attributes["occi.core.id"])

    @property
    def location(self) -> str:
        """The path of the entity: its kind's collection followed by its id."""
        return f"{self.kind.location}{self.id}"

    @property
    def isLink(self) -> bool:
        return self.kind.isA(LINK)

    @property
    def source(self) -> str | None:
        """For a link, the location of the resource it comes from."""
        value = self.attributes.get("occi.core.source")
        return str(value) if value is not None else None

    @property
    def target(self) -> str | None:
        """For a link, the location (or URI) of what it points to."""
        value = self.attributes.get("occi.core.target")
        return str(value) if value is not None else None

    def actions(self) -> list[str]:
        """Identifiers of the actions this entity offers."""
        return [action.identifier for action in availableActions(self.kind, self.mixins)]

    def hasCategory(self, identifier: str) -> bool:
        """Whether the kind (or one of its ancestors) or a mixin has this identifier."""
        if any(kind.identifier == identifier for kind in self.kind.ancestry()):
            return True
        return any(m.identifier == identifier for mixin in self.mixins for m in mixin.closure())


_ID = "occi.core.id"
#: An id as text, the way every rendering may spell it (``42`` in JSON is the id ``"42"``).
_ID_TEXT = AttributeDefinition(_ID)


def checkEntityId(value: object) -> str:
    """``value`` as an entity's id if it may be one (:data:`.ids.ENTITY_ID`, the rule every
    room shares), else InvalidAttribute saying what an id is."""
    text = _ID_TEXT.coerce(value)
    if not isinstance(text, str) or not isEntityId(text):
        shown = repr(text) if len(repr(text)) <= 60 else repr(text)[:57] + "..."
        raise InvalidAttribute(_ID, f"is {ENTITY_ID_RULE}, not {shown}")
    return text


def newEntity(
    description: Description,
    *,
    owner: str = ANONYMOUS,
    entityId: str | None = None,
    kind: Kind | None = None,
    now: float = 0.0,
) -> Entity:
    """Validate a creation request and build the entity it describes.

    ``kind`` is the kind the collection or location implies; a description naming another kind
    is refused.  ``entityId`` is the id the location implies (PUT to a new location); otherwise
    a client-supplied ``occi.core.id`` is kept and, failing that, a random UUID is chosen.
    """
    for named in (entityId, description.attributes.get(_ID)):
        if named is not None:
            checkEntityId(named)
    chosen = _chooseKind(description.kind, kind)
    mixins = _checkMixins(chosen, description.mixins)
    definitions = attributeDefinitions(chosen, mixins)
    values: dict[str, Value] = {}
    for name, raw in description.attributes.items():
        definition = definitions.get(name)
        if definition is None:
            raise _undefined(name, chosen)
        values[name] = definition.coerce(raw)
    for name in [n for n in values if n.endswith(_SERVER_MANAGED_SUFFIXES)]:
        # State is the server's to decide: a client may echo it back, never set it.
        del values[name]
    if entityId is not None:
        given = values.get("occi.core.id")
        if given is not None and given != entityId:
            raise Conflict(
                f"The body says occi.core.id is {given} but the location says {entityId}."
            )
        values["occi.core.id"] = definitions["occi.core.id"].coerce(entityId)
    values.setdefault("occi.core.id", randomId())
    _applyDefaults(values, definitions.values())
    _checkRequired(values, definitions.values(), chosen)
    return Entity(kind=chosen, mixins=mixins, attributes=values, owner=owner,
                  created=now, updated=now)


def updatedEntity(
    entity: Entity, description: Description, *, now: float = 0.0, replaceAll: bool = False
) -> Entity:
    """Apply a partial update (POST) or, with ``replaceAll``, a full replacement (PUT).

    Immutable attributes keep their stored values: a client that sends them back unchanged (as
    a GET-modify-PUT round trip does) is fine; one that tries to change them is told so.
    """
    if description.kind is not None and description.kind != entity.kind:
        raise BadRequest(
            f"The kind of an entity cannot change: this is a {entity.kind.term}, "
            f"not a {description.kind.term}."
        )
    if replaceAll:
        mixins = _checkMixins(entity.kind, description.mixins)
    else:
        mixins = _checkMixins(entity.kind, (*entity.mixins, *description.mixins))
    definitions = attributeDefinitions(entity.kind, mixins)
    values: dict[str, Value] = {}
    if not replaceAll:
        values.update(entity.attributes)
    for name, raw in description.attributes.items():
        definition = definitions.get(name)
        if definition is None:
            raise _undefined(name, entity.kind)
        value = definition.coerce(raw)
        if not definition.mutable and entity.attributes.get(name) != value:
            if name.endswith(_SERVER_MANAGED_SUFFIXES):
                continue  # a stale copy of the state, not an attempt to set it
            raise InvalidAttribute(name, "is immutable and cannot be changed")
        values[name] = value
    for name, value in entity.attributes.items():
        definition = definitions.get(name)
        if definition is not None and not definition.mutable:
            values[name] = value
    # Attributes only a dropped mixin defined go with it.
    values = {name: value for name, value in values.items() if name in definitions}
    _applyDefaults(values, definitions.values())
    _checkRequired(values, definitions.values(), entity.kind)
    return replace(entity, mixins=mixins, attributes=values, revision=entity.revision + 1,
                   updated=now)


def withState(entity: Entity, changes: Mapping[str, Value], *, now: float = 0.0) -> Entity:
    """The entity with server-managed attributes (state, messages) changed by a driver."""
    values = dict(entity.attributes)
    values.update(changes)
    return replace(entity, attributes=values, revision=entity.revision + 1, updated=now)


def withMixins(entity: Entity, mixins: Iterable[Mixin], *, now: float = 0.0) -> Entity:
    """The entity with its mixin set replaced (mixin collection PUT/POST/DELETE)."""
    checked = _checkMixins(entity.kind, mixins)
    definitions = attributeDefinitions(entity.kind, checked)
    values = {name: value for name, value in entity.attributes.items() if name in definitions}
    _applyDefaults(values, definitions.values())
    _checkRequired(values, definitions.values(), entity.kind)
    return replace(entity, mixins=checked, attributes=values, revision=entity.revision + 1,
                   updated=now)


def _chooseKind(described: Kind | None, implied: Kind | None) -> Kind:
    if described is None and implied is None:
        raise BadRequest("The request names no kind: say which kind of entity to create.")
    if described is not None and implied is not None and not described.isA(implied):
        raise BadRequest(
            f"This collection holds {implied.term} entities; the request describes a "
            f"{described.term}."
        )
    chosen = described or implied
    assert chosen is not None
    if chosen.identifier in ABSTRACT:
        raise BadRequest(f"Kind {chosen.term} is abstract: create a resource or a link.")
    return chosen


def _checkMixins(kind: Kind, mixins: Iterable[Mixin]) -> tuple[Mixin, ...]:
    unique: dict[str, Mixin] = {}
    for mixin in mixins:
        if not mixin.appliesTo(kind):
            raise BadRequest(f"Mixin {mixin.identifier} does not apply to {kind.term} entities.")
        unique.setdefault(mixin.identifier, mixin)
    chosen = tuple(unique.values())
    _checkExclusiveTemplates(chosen)
    return chosen


def _checkExclusiveTemplates(mixins: tuple[Mixin, ...]) -> None:
    """A compute gets at most one OS template and one resource template."""
    for base in (OS_TPL, RESOURCE_TPL):
        templates = [m.term for m in mixins if m != base and m.isA(base)]
        if len(templates) > 1:
            raise BadRequest(
                f"At most one {base.term} template applies to an entity; the request names "
                f"{', '.join(templates)}."
            )


def _applyDefaults(
    values: dict[str, Value], definitions: Iterable[AttributeDefinition]
) -> None:
    for definition in definitions:
        if definition.default is not None and definition.name not in values:
            values[definition.name] = definition.default


def _checkRequired(
    values: Mapping[str, Value], definitions: Iterable[AttributeDefinition], kind: Kind
) -> None:
    missing = []
    for definition in definitions:
        if definition.required and definition.name not in values:
            missing.append(definition.name)
    if missing:
        raise BadRequest(
            f"A {kind.term} needs the attribute{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}."
        )


def _undefined(name: str, kind: Kind) -> BadRequest:
    return InvalidAttribute(name, f"is not defined by the {kind.term} kind or its mixins")


def isResource(kind: Kind) -> bool:
    """Whether entities of ``kind`` are resources (and so can hold links)."""
    return kind.isA(RESOURCE)
