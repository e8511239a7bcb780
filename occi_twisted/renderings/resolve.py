"""From what a client wrote to what it means: resolving a :class:`Document` against the model.

Every parser stops at syntax; this module gives every rendering the same meaning and the same
error messages: unknown categories, a kind where a mixin belongs, an action attribute that does
not exist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from ..model import (
    Action,
    AttributeDefinition,
    AttributeType,
    Category,
    Description,
    Kind,
    LinkDescription,
    Mixin,
    Registry,
    Value,
)
from ..model.errors import BadRequest, InvalidAttribute, UnknownCategory
from .document import CategoryRef, Document, LinkRef
from .limits import MAX_ATTRIBUTES

#: Control characters but the tab: an RFC 7230 quoted-string has no spelling for them, not
#: even as a quoted-pair, so no text rendering could give such a value back.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def carried(attributes: Mapping[str, object]) -> dict[str, object]:
    """``attributes``, once no string among them holds a control character (a line break,
    say): refused here, at input and in every rendering alike, rather than stored and then
    rendered lossily by the text renderings.  Lists and hashes travel as JSON text, which
    escapes them, and are let through."""
    for name, value in attributes.items():
        if isinstance(value, str) and _CONTROL.search(value):
            raise InvalidAttribute(
                name, "holds a control character (a line break, say), which the text "
                "renderings cannot carry; only the tab is allowed")
    return dict(attributes)


@dataclass(frozen=True)
class Invocation:
    """An action to trigger, with its validated parameters."""

    action: Action
    attributes: Mapping[str, Value]


def localPath(uri: str, registry: Registry) -> str:
    """A location as the model stores it: our own resources by path, others as given.

    Clients write locations absolute or relative, with whatever host name they used to reach
    us; any URI whose path lies in one of our collections is taken to be ours.
    """
    uri = uri.strip()
    if uri.startswith("/"):
        return uri.split("?", 1)[0]
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https") and parts.path:
        prefix = parts.path[: parts.path.rfind("/") + 1]
        if registry.atLocation(prefix) is not None or registry.atLocation(parts.path):
            return parts.path
    return uri


def resolveCategory(
    ref: CategoryRef, registry: Registry, among: Sequence[str] | None = None
) -> Category:
    """The category ``ref`` names; its stated class, if any, must match.

    A reference with no scheme (a person typing ``kind=compute`` in a form) names the one
    category with that term, looked for among the identifiers ``among`` when given.
    """
    category = registry.get(ref.identifier) if ref.scheme else _byTerm(ref, registry, among)
    if category is None:
        raise UnknownCategory(f"Category {ref.identifier} is not known to this server.")
    if ref.cls is not None and ref.cls != category.categoryClass:
        raise BadRequest(
            f"Category {ref.identifier} is a {category.categoryClass}, not a {ref.cls}."
        )
    return category


def _byTerm(ref: CategoryRef, registry: Registry, among: Sequence[str] | None) -> Category | None:
    candidates = [
        category for category in registry
        if category.term == ref.term
        and (ref.cls is None or category.categoryClass == ref.cls)
        and (among is None or category.identifier in among)
    ]
    if len(candidates) > 1:
        schemes = ", ".join(sorted(c.scheme for c in candidates))
        raise BadRequest(f"The term {ref.term!r} is ambiguous: give its scheme, one of "
                         f"{schemes}.")
    return candidates[0] if candidates else None


def describeEntity(document: Document, registry: Registry) -> Description:
    """The entity a document describes (for create, update and replace)."""
    kind: Kind | None = None
    mixins: list[Mixin] = []
    for ref in document.categories:
        category = resolveCategory(ref, registry)
        if isinstance(category, Kind):
            if kind is not None and kind != category:
                raise BadRequest("An entity has exactly one kind; the request names two.")
            kind = category
        elif isinstance(category, Mixin):
            mixins.append(category)
        else:
            raise BadRequest(
                f"Category {category.identifier} is an action: trigger it with ?action="
                f"{category.term}."
            )
    links = tuple(_describeLink(link, registry) for link in document.links)
    return Description(
        kind=kind,
        mixins=tuple(mixins),
        attributes=carried(document.attributes),
        links=links,
        location=document.locations[0] if document.locations else None,
    )


def _describeLink(link: LinkRef, registry: Registry) -> LinkDescription:
    kind: Kind | None = None
    mixins: list[Mixin] = []
    for identifier in link.categories:
        category = registry.get(identifier)
        if category is None:
            raise UnknownCategory(f"Category {identifier} is not known to this server.")
        if isinstance(category, Kind):
            kind = category
        elif isinstance(category, Mixin):
            mixins.append(category)
    return LinkDescription(
        target=localPath(link.target, registry),
        kind=kind,
        mixins=tuple(mixins),
        attributes=carried(link.attributes),
        location=localPath(link.location, registry) if link.location else None,
    )


def describeInvocation(
    document: Document, registry: Registry, term: str | None, offered: Sequence[str]
) -> Invocation:
    """The action to trigger: named by ``?action=term`` and/or by the body's action category.

    ``offered`` lists the identifiers of the actions the target entity offers.
    """
    named: Action | None = None
    refs = list(document.categories)
    if document.action is not None:
        refs.append(document.action)
    for ref in refs:
        category = resolveCategory(ref, registry, offered if not ref.scheme else None)
        if not isinstance(category, Action):
            raise BadRequest(f"Category {category.identifier} is not an action.")
        if named is not None and named != category:
            raise BadRequest(f"The body names two actions, {named.term} and {category.term}; "
                             "name one.")
        named = category
    if term is not None:
        chosen = registry.actionByTerm(term, offered)
        if named is not None and named != chosen:
            raise BadRequest(
                f"The query names action {term} but the body names {named.identifier}."
            )
    elif named is not None:
        chosen = named
    else:
        raise BadRequest("Name the action to trigger, e.g. ?action=start.")
    if chosen.identifier not in offered:
        raise BadRequest(f"Action {chosen.term} is not offered here.")
    values: dict[str, Value] = {}
    for name, raw in carried(document.attributes).items():
        definition = chosen.attribute(name)
        if definition is None:
            raise InvalidAttribute(name, f"is not a parameter of the {chosen.term} action")
        values[name] = definition.coerce(raw)
    for definition in chosen.attributes:
        if definition.name not in values:
            if definition.default is not None:
                values[definition.name] = definition.default
            elif definition.required:
                raise InvalidAttribute(definition.name, f"is required by {chosen.term}")
    return Invocation(chosen, values)


def describeMixins(document: Document, registry: Registry, owner: str) -> list[Mixin]:
    """User mixins a client defines through the query interface (POST ``/-/``)."""
    if not document.categories:
        raise BadRequest("Give the mixin to define as a Category with a location.")
    mixins = []
    for ref in document.categories:
        if ref.cls not in (None, "mixin"):
            raise BadRequest(f"Only mixins can be defined by clients, not a {ref.cls}.")
        depends: list[Mixin] = []
        applies: list[Kind] = []
        for identifier in ref.rel:
            related = registry.get(identifier)
            if isinstance(related, Mixin):
                depends.append(related)
            elif isinstance(related, Kind):
                applies.append(related)
            else:
                raise UnknownCategory(f"Category {identifier} is not known to this server.")
        location = localPath(ref.location, registry) if ref.location else None
        if location is not None and not location.endswith("/"):
            location += "/"
        if len(ref.attributes) > MAX_ATTRIBUTES:
            raise BadRequest(f"A mixin defines at most {MAX_ATTRIBUTES} attributes.")
        mixins.append(
            Mixin(
                ref.scheme,
                ref.term,
                title=ref.title or "",
                attributes=tuple(_userDefinition(a, registry) for a in ref.attributes),
                depends=tuple(depends),
                applies=tuple(applies),
                location=location,
                owner=owner,
            )
        )
    return mixins


#: The type names a definition may give: GFD.225's (section 3.5.1) and the model's.
_TYPES = {"number": AttributeType.FLOAT, "array": AttributeType.LIST,
          "object": AttributeType.HASH, **{t.value: t for t in AttributeType}}
#: What a user definition's ``pattern`` (a JSON Schema) may say.  A regular expression is
#: not taken from clients: the server would run it on every value, and one that backtracks
#: without end would stall it.
_SCHEMA_KEYS = frozenset({"$schema", "type", "enum", "minimum", "maximum"})


def _userDefinition(ref: CategoryRef.Attribute, registry: Registry) -> AttributeDefinition:
    """What a user mixin's attribute definition means.

    An attribute the server defines (a kind's, or one of its own mixins') stays as the
    server defines it: the mixin gives it a new default, as the server's templates do
    (GFD.225 Appendix A.5 gives ``occi.compute.speed`` one), checked against that
    definition, and only to an attribute clients may set -- a default for the state would
    have the server say what is not so.  Any other attribute is the mixin's own, as the
    client describes it; GFD.221 reserves the ``occi.`` prefix for the OCCI documents.
    """
    name = ref.name
    server = next((d for c in registry if isinstance(c, Kind) or (
        isinstance(c, Mixin) and c.owner is None) for d in c.attributes if d.name == name),
        None)
    if server is not None:
        if ref.default is None:
            return server
        if not server.mutable:
            raise InvalidAttribute(name, "is set by the server: a mixin cannot give it a "
                                         "default")
        return replace(server, default=server.coerce(_default(ref)))
    if name.startswith("occi."):
        raise InvalidAttribute(name, "is not an OCCI attribute, and the prefix occi. is "
                                     "reserved for those (GFD.221)")
    kind = _TYPES.get(ref.type or "string")
    if kind is None:
        raise InvalidAttribute(name, f"has the type {ref.type!r:.40}; the types are "
                                     f"{', '.join(_TYPES)}")
    schema = dict(ref.pattern or {})
    unknown = sorted(set(schema) - _SCHEMA_KEYS)
    if unknown:
        raise InvalidAttribute(name, f"has a pattern saying {', '.join(unknown)[:60]}; a "
                                     "mixin's pattern may give only enum, minimum and maximum")
    enum = schema.get("enum")
    if enum is not None:
        if kind is not AttributeType.STRING or not isinstance(enum, list) or not all(
                isinstance(choice, str) for choice in enum):
            raise InvalidAttribute(name, "has an enum: it must list strings, for a string")
        kind = AttributeType.ENUM
    bounds: dict[str, float] = {}
    for bound in ("minimum", "maximum"):
        value = schema.get(bound, 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidAttribute(name, f"has a {bound} that is not a number")
        if bound in schema:
            bounds[bound] = float(value)
    definition = AttributeDefinition(
        name, kind, mutable=ref.mutable, required=ref.required,
        description=ref.description or "", enum=tuple(enum or ()),
        minimum=bounds.get("minimum"), maximum=bounds.get("maximum"))
    if ref.default is None:
        return definition
    return replace(definition, default=definition.coerce(_default(ref)))


def _default(ref: CategoryRef.Attribute) -> object:
    """A definition's default, once it is a value every rendering can carry."""
    return carried({ref.name: ref.default})[ref.name]


def filterCategories(document: Document, registry: Registry) -> list[Category]:
    """The categories a query-interface request filters on (``Category`` in the request)."""
    return [resolveCategory(ref, registry) for ref in document.categories]
