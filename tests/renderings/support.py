"""What the renderings' tests share: entities to render, how a parsed document is compared,
how a refusal must read, and the model with an attribute of every type.  (Hypothesis
strategies are in :mod:`.strategies`.)"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from occi_twisted.model import (
    ANONYMOUS,
    AttributeDefinition,
    AttributeType,
    Description,
    Entity,
    Kind,
    Mixin,
    Registry,
    newEntity,
)
from occi_twisted.model import infrastructure as infra
from occi_twisted.model.categories import attributeDefinitions
from occi_twisted.model.errors import BadRequest
from occi_twisted.renderings.document import (
    CategoryRef,
    Document,
    EntityView,
    LinkRef,
    RenderContext,
)
from occi_twisted.renderings.resolve import describeEntity, localPath
from occi_twisted.renderings.text import RESOURCE_KIND

BASE = "http://occi.example.com:8080"
CONTEXT = RenderContext(BASE)
INFRA = "http://schemas.ogf.org/occi/infrastructure#"
SOURCE, TARGET, TARGET_KIND = "occi.core.source", "occi.core.target", "occi.core.target.kind"


# -- entities to render --------------------------------------------------------------------


def compute(*, owner: str = ANONYMOUS, now: float = 0.0, **attributes: object) -> Entity:
    """``/compute/vm1``: a medium Ubuntu compute titled "web server"."""
    values: dict[str, object] = {"occi.core.id": "vm1", "occi.compute.cores": 2,
                                 "occi.core.title": "web server"}
    values.update(attributes)
    description = Description(kind=infra.COMPUTE, mixins=(infra.MEDIUM, infra.UBUNTU),
                              attributes=values)
    return newEntity(description, owner=owner, now=now)


def network() -> Entity:
    """``/network/net1``: an IP network on VLAN 12."""
    return newEntity(Description(kind=infra.NETWORK, mixins=(infra.IPNETWORK,), attributes={
        "occi.core.id": "net1", "occi.network.address": "10.0.0.0/24", "occi.network.vlan": 12,
    }))


def interface(source: Entity, target: Entity, **attributes: object) -> Entity:
    """``/networkinterface/nic1``: ``eth0`` of ``source`` on ``target``."""
    return newEntity(Description(
        kind=infra.NETWORKINTERFACE,
        mixins=(infra.IPNETWORKINTERFACE,),
        attributes={
            "occi.core.id": "nic1",
            SOURCE: source.location,
            TARGET: target.location,
            TARGET_KIND: target.kind.identifier,
            "occi.networkinterface.interface": "eth0",
            "occi.networkinterface.mac": "00:80:41:ae:fd:7e",
            **attributes,
        },
    ))


def computeWithInterface() -> EntityView:
    """:func:`compute` with its link to :func:`network`."""
    vm = compute()
    return EntityView(vm, [interface(vm, network())])


# -- bodies and documents, compared --------------------------------------------------------


def lines(body: bytes) -> list[str]:
    """A body's lines, each of which must end in CRLF."""
    decoded = body.decode("utf-8")
    assert decoded == "" or decoded.endswith("\r\n")
    return decoded.split("\r\n")[:-1] if decoded else []


def headerMap(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """Response headers as the HTTP layer hands request headers to a parser: sent as UTF-8,
    read as Latin-1 (one character an octet)."""
    found: dict[str, list[str]] = {}
    for name, value in pairs:
        found.setdefault(name.lower(), []).append(value.encode("utf-8").decode("latin-1"))
    return found


def typed(value: object) -> object:
    """A value with its type at every level, so that 1, 1.0 and True compare unequal."""
    if isinstance(value, Mapping):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return ["list", [typed(item) for item in value]]
    return (type(value).__name__, value)


def same(one: Document, other: Document) -> bool:
    """Whether two documents say the same, their values compared with their types."""
    def shape(document: Document) -> object:
        return (
            document.categories,
            typed(document.attributes),
            tuple((link.target, link.rel, link.location, link.categories,
                   typed(link.attributes)) for link in document.links),
            document.locations,
            tuple(shape(entity) for entity in document.entities),
            document.action,
        )
    return shape(one) == shape(other)


def refs(entity: Entity) -> tuple[CategoryRef, ...]:
    """An entity's kind and mixins, as a rendering names them."""
    return (
        CategoryRef(entity.kind.scheme, entity.kind.term, cls="kind"),
        *(CategoryRef(m.scheme, m.term, cls="mixin") for m in entity.mixins),
    )


def expectedLink(link: Entity) -> LinkRef:
    targetKind = link.attributes.get(TARGET_KIND)
    return LinkRef(
        target=str(link.attributes[TARGET]),
        rel=(str(targetKind),) if targetKind else (),
        location=link.location,
        categories=tuple(ref.identifier for ref in refs(link)),
        attributes=dict(link.attributes),
    )


def expected(view: EntityView) -> Document:
    """What the descriptor (and its XML form) of an entity parses back into."""
    return Document(
        categories=refs(view.entity),
        attributes=dict(view.entity.attributes),
        links=tuple(expectedLink(link) for link in view.links),
    )


# -- refusals ------------------------------------------------------------------------------


def assertSentence(error: BadRequest) -> None:
    """A refusal is one sentence a person can read."""
    message = str(error)
    assert message[0].isupper() and message.endswith("."), message
    assert "\n" not in message and len(message) < 400, message


def parsesOrSaysWhy(parse: Callable[..., object], *request: object) -> None:
    """``parse`` reads the ``request`` (a body, maybe headers), or refuses it in one sentence
    (and raises nothing else)."""
    try:
        parse(*request)
    except BadRequest as error:
        assertSentence(error)


# -- the model, with every attribute type ---------------------------------------------------

#: The standard categories define no boolean, list or hash attribute; this mixin (applicable
#: to any kind) has one attribute of every type the model knows.
EVERYTHING = Mixin(
    "http://schemas.occi-twisted.org/occi/test#",
    "everything",
    title="One attribute of every type",
    location="/everything/",
    attributes=(
        AttributeDefinition("test.string", AttributeType.STRING),
        AttributeDefinition("test.enum", AttributeType.ENUM, enum=("plain", "two words", "2",
                                                                   "true", "[x]")),
        AttributeDefinition("test.integer", AttributeType.INTEGER),
        AttributeDefinition("test.float", AttributeType.FLOAT),
        AttributeDefinition("test.boolean", AttributeType.BOOLEAN),
        AttributeDefinition("test.list", AttributeType.LIST),
        AttributeDefinition("test.hash", AttributeType.HASH),
        AttributeDefinition("test.uri", AttributeType.URI),
        AttributeDefinition("test.ip", AttributeType.IP),
        AttributeDefinition("test.cidr", AttributeType.CIDR),
    ),
)
REGISTRY = Registry([*Registry.standard(), EVERYTHING])
assert {d.type for d in EVERYTHING.attributes} == set(AttributeType)


def entityShape(entity: Entity) -> object:
    return (entity.kind.identifier, tuple(m.identifier for m in entity.mixins),
            typed(entity.attributes))


def viewShape(view: EntityView) -> object:
    return entityShape(view.entity), tuple(entityShape(link) for link in view.links)


def _coerced(
    kind: Kind, mixins: Sequence[Mixin], attributes: Mapping[str, object], registry: Registry
) -> dict[str, Any]:
    """Attribute values as the model stores them, link ends as local paths (what the HTTP
    layer does with what a parser read)."""
    definitions = attributeDefinitions(kind, mixins)
    values: dict[str, Any] = {name: definitions[name].coerce(raw)
                              for name, raw in attributes.items()}
    for end in (SOURCE, TARGET):
        if isinstance(values.get(end), str):
            values[end] = localPath(values[end], registry)
    return values


def rebuilt(document: Document, registry: Registry = REGISTRY) -> EntityView:
    """The entity (with its links) a parsed rendering describes, as the model holds it.

    Built without :func:`newEntity`, which would drop the server-managed state that a
    rendering carries along with everything else.
    """
    description = describeEntity(document, registry)
    assert description.kind is not None
    entity = Entity(description.kind, description.mixins,
                    _coerced(description.kind, description.mixins, description.attributes,
                             registry))
    links = []
    for link, ref in zip(description.links, document.links, strict=True):
        assert link.kind is not None
        values = _coerced(link.kind, link.mixins, link.attributes, registry)
        # JSON moves a link's target (and its kind) out of the attributes.
        values.setdefault(TARGET, link.target)
        if TARGET_KIND not in values and ref.rel and ref.rel[0] != RESOURCE_KIND:
            values[TARGET_KIND] = ref.rel[0]
        links.append(Entity(link.kind, link.mixins, values))
    return EntityView(entity, links)
