"""The walkthrough's key/value descriptor (text/x-occi-descriptor).

Shapes as rendered, the walkthrough's example, what people write, round trips (to the
document, and through the model for every attribute type), refusals and limits.  The model
helpers at the top are shared with the XML tests, which also translate between all renderings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from occi_twisted.model import (
    AttributeDefinition,
    AttributeType,
    Description,
    Entity,
    Kind,
    Mixin,
    Registry,
    attributeDefinitions,
    newEntity,
    withState,
)
from occi_twisted.model.core import LINK, RESOURCE
from occi_twisted.model.errors import BadRequest
from occi_twisted.model.infrastructure import (
    COMPUTE,
    IPNETWORK,
    IPNETWORKINTERFACE,
    MEDIUM,
    NETWORK,
    NETWORKINTERFACE,
    STOP,
    STORAGE,
    STORAGELINK,
    UBUNTU,
)
from occi_twisted.renderings import limits, text
from occi_twisted.renderings.descriptor import (
    DESCRIPTOR,
    MEDIA_TYPE,
    formatDescriptor,
    parse,
    parseValue,
    valueText,
)
from occi_twisted.renderings.document import (
    CategoryRef,
    Document,
    EntityView,
    LinkRef,
    RenderContext,
)
from occi_twisted.renderings.resolve import describeEntity, localPath

BASE = "http://occi.example.com:8080"
CONTEXT = RenderContext(BASE)
INFRA = "http://schemas.ogf.org/occi/infrastructure#"
SOURCE, TARGET, TARGET_KIND = "occi.core.source", "occi.core.target", "occi.core.target.kind"


# -- the model, with every attribute type --------------------------------------------------

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


def typed(value: object) -> object:
    """A value with its type at every level, so that 1, 1.0 and True compare unequal."""
    if isinstance(value, Mapping):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return ["list", [typed(item) for item in value]]
    return (type(value).__name__, value)


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
        if TARGET_KIND not in values and ref.rel and ref.rel[0] != text.RESOURCE_KIND:
            values[TARGET_KIND] = ref.rel[0]
        links.append(Entity(link.kind, link.mixins, values))
    return EntityView(entity, links)


# Values of every type, as the model holds them.
_jsonLeaf = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
jsonValues = st.recursive(
    _jsonLeaf,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=10,
)
_cidrs = st.one_of(
    st.builds(lambda a, n: f"{a}/{n}", st.ip_addresses(v=4), st.integers(0, 32)),
    st.builds(lambda a, n: f"{a}/{n}", st.ip_addresses(v=6), st.integers(0, 128)),
)
_uriValues = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=20).filter(
    lambda u: not any(c.isspace() for c in u))
everyType = st.fixed_dictionaries({}, optional={
    "test.string": st.text(max_size=40),
    "test.enum": st.sampled_from(EVERYTHING.attributes[1].enum),
    "test.integer": st.integers(min_value=-(10**40), max_value=10**40),
    "test.float": st.floats(allow_nan=False, allow_infinity=False),
    "test.boolean": st.booleans(),
    "test.list": st.lists(jsonValues, max_size=4),
    "test.hash": st.dictionaries(st.text(max_size=8), jsonValues, max_size=4),
    "test.uri": _uriValues,
    "test.ip": st.ip_addresses().map(str),
    "test.cidr": _cidrs,
})
_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._~:@-]{0,20}", fullmatch=True)


@st.composite
def modelResources(draw: st.DrawFn) -> Entity:
    """A resource the model accepts, with any values of every attribute type."""
    attributes: dict[str, object] = draw(everyType)
    attributes["occi.core.id"] = draw(_ids)
    if draw(st.booleans()):
        attributes["occi.core.title"] = draw(st.text(max_size=30))
    if draw(st.booleans()):
        attributes["occi.core.summary"] = draw(st.text(max_size=30))
    kind = draw(st.sampled_from([COMPUTE, NETWORK, STORAGE]))
    mixins: tuple[Mixin, ...] = (EVERYTHING,)
    if kind is COMPUTE:
        mixins += draw(st.sampled_from([(), (MEDIUM,), (MEDIUM, UBUNTU)]))
        attributes["occi.compute.cores"] = draw(st.integers(1, 4096))
        attributes["occi.compute.hostname"] = draw(st.from_regex(r"[a-z][a-z0-9.-]{0,20}[a-z]",
                                                                 fullmatch=True))
    elif kind is NETWORK:
        mixins += (IPNETWORK,)
        attributes["occi.network.vlan"] = draw(st.integers(0, 4095))
        attributes["occi.network.address"] = draw(_cidrs)
    else:
        attributes["occi.storage.size"] = draw(st.floats(0, 1 << 20))
    entity = newEntity(Description(kind=kind, mixins=mixins, attributes=attributes))
    states = attributeDefinitions(kind)[f"occi.{kind.term}.state"].enum
    state = draw(st.one_of(st.none(), st.sampled_from(states)))
    if state is not None:  # the server's to set, and rendered like any other attribute
        entity = withState(entity, {f"occi.{kind.term}.state": state,
                                    f"occi.{kind.term}.state.message": draw(st.text(max_size=9))})
    return entity


@st.composite
def modelLinks(draw: st.DrawFn, source: str = "/compute/vm1") -> Entity:
    """A link the model accepts, with any values of every attribute type."""
    attributes: dict[str, object] = draw(everyType)
    attributes["occi.core.id"] = draw(_ids)
    attributes[SOURCE] = source
    attributes[TARGET] = draw(st.sampled_from(["/network/", "/storage/", "urn:uuid:",
                                               "http://elsewhere.example/x/"])) + draw(_ids)
    if draw(st.booleans()):
        attributes[TARGET_KIND] = draw(st.sampled_from([NETWORK, STORAGE])).identifier
    kind = draw(st.sampled_from([NETWORKINTERFACE, STORAGELINK, LINK]))
    mixins: tuple[Mixin, ...] = (EVERYTHING,)
    if kind is NETWORKINTERFACE:
        mixins += draw(st.sampled_from([(), (IPNETWORKINTERFACE,)]))
        attributes["occi.networkinterface.interface"] = draw(st.sampled_from(["eth0", "e 1"]))
    elif kind is STORAGELINK:
        attributes["occi.storagelink.deviceid"] = draw(st.sampled_from(["vda", "2", "true"]))
    return newEntity(Description(kind=kind, mixins=mixins, attributes=attributes))


@st.composite
def modelViews(draw: st.DrawFn) -> EntityView:
    """A resource with its links, or a link alone."""
    resource = draw(modelResources())
    if draw(st.integers(0, 3)) == 0:
        return EntityView(draw(modelLinks(resource.location)))
    return EntityView(resource, draw(st.lists(modelLinks(resource.location), max_size=2)))


# -- fixtures ------------------------------------------------------------------------------


def compute(**attributes: object) -> Entity:
    values: dict[str, object] = {"occi.core.id": "vm1", "occi.compute.cores": 2,
                                 "occi.core.title": "web server"}
    values.update(attributes)
    return newEntity(Description(kind=COMPUTE, mixins=(MEDIUM, UBUNTU), attributes=values))


def network() -> Entity:
    return newEntity(Description(kind=NETWORK, mixins=(IPNETWORK,), attributes={
        "occi.core.id": "net1", "occi.network.address": "10.0.0.0/24", "occi.network.vlan": 12,
    }))


def interface(source: Entity, target: Entity) -> Entity:
    return newEntity(Description(
        kind=NETWORKINTERFACE,
        mixins=(IPNETWORKINTERFACE,),
        attributes={
            "occi.core.id": "nic1",
            SOURCE: source.location,
            TARGET: target.location,
            TARGET_KIND: target.kind.identifier,
            "occi.networkinterface.interface": "eth0",
            "occi.networkinterface.mac": "00:80:41:ae:fd:7e",
        },
    ))


def lines(body: bytes) -> list[str]:
    decoded = body.decode("utf-8")
    assert decoded == "" or decoded.endswith("\r\n")
    return decoded.split("\r\n")[:-1] if decoded else []


def same(one: Document, other: Document) -> bool:
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


def assertSentence(error: BadRequest) -> None:
    message = str(error)
    assert message[0].isupper() and message.endswith("."), message
    assert "\n" not in message and len(message) < 400, message


# -- rendering -----------------------------------------------------------------------------


def test_entity_lines() -> None:
    vm = compute()
    nic = interface(vm, network())
    rendered = DESCRIPTOR.entity(EntityView(vm, [nic]), CONTEXT)
    assert rendered.contentType == "text/x-occi-descriptor; charset=utf-8"
    assert rendered.headers == ()
    assert lines(rendered.body) == [
        f"kind {INFRA}compute",
        f"mixin {MEDIUM.identifier}",
        f"mixin {UBUNTU.identifier}",
        "occi.core.id vm1",
        "occi.compute.cores 2",
        'occi.core.title "web server"',
        "occi.compute.architecture x64",
        "occi.compute.memory 4.0",
        "occi.compute.state inactive",
        "link /network/net1",
        f"  rel {INFRA}network",
        "  self /networkinterface/nic1",
        f"  kind {INFRA}networkinterface",
        f"  mixin {IPNETWORKINTERFACE.identifier}",
        "  occi.core.id nic1",
        "  occi.core.source /compute/vm1",
        "  occi.core.target /network/net1",
        f"  occi.core.target.kind {INFRA}network",
        "  occi.networkinterface.interface eth0",
        "  occi.networkinterface.mac 00:80:41:ae:fd:7e",
        "  occi.networkinterface.state inactive",
    ]


@pytest.mark.parametrize(("value", "written"), [
    ("x64", "x64"),
    ("/compute/vm1", "/compute/vm1"),
    ("caf\u00e9", "caf\u00e9"),
    ("two words", '"two words"'),
    ("", '""'),
    ("2", '"2"'),
    ("-1.5e3", '"-1.5e3"'),
    ("1.", '"1."'),
    ("True", '"True"'),
    ("null", '"null"'),
    ("[1]", '"[1]"'),
    ("{x", '"{x"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("two\nlines\ttab\x00", '"two\\nlines\\ttab\\u0000"'),
    ("\u2028", '"\u2028"'),
    ("#not-a-comment", "#not-a-comment"),
    (True, "true"),
    (False, "false"),
    (-42, "-42"),
    (10**40, "1" + "0" * 40),
    (2.0, "2.0"),
    (1e16, "1e+16"),
    (5e-324, "5e-324"),
    ([1, "a", [True, 2.5]], '[1,"a",[true,2.5]]'),
    ({"k": {"n": None}}, '{"k":{"n":null}}'),
    ({}, "{}"),
    ([], "[]"),
])
def test_values_are_typed_by_their_spelling(value: object, written: str) -> None:
    assert valueText(value) == written
    if value == {"k": {"n": None}}:
        return  # the model holds no null; written, it is refused when read
    assert typed(parseValue(written, "a", "line 1")) == typed(value)


def test_floats_read_back_exactly() -> None:
    for number in (0.1, 1 / 3, -0.0, 1.7976931348623157e308, 2.2250738585072014e-308, 1e-7):
        parsed = parseValue(valueText(number), "a", "line 1")
        assert type(parsed) is float and parsed == number
        assert math.copysign(1, parsed) == math.copysign(1, number)


def test_keys_are_quoted_where_they_would_mean_something_else() -> None:
    document = Document(attributes={"kind": "k", "link": 1, "location": True,
                                    "compute.speed": 3, "occi.compute.speed": 4, "title": "t"})
    assert lines(formatDescriptor(document)) == [
        '"kind" k', '"link" 1', '"location" true', '"compute.speed" 3',
        "occi.compute.speed 4", "title t",
    ]
    assert same(parse(formatDescriptor(document)), document)
    link = LinkRef("/a", attributes={"rel": "r", "self": "s", "kind": "k", "mixin": "m",
                                     "category": "c", "link": "l", "action": "a",
                                     "compute.x": 1})
    assert same(parse(formatDescriptor(Document(links=(link,)))), Document(links=(link,)))


def test_query_interface() -> None:
    got = lines(DESCRIPTOR.categories([COMPUTE, MEDIUM, STOP], CONTEXT).body)
    assert got[:5] == [
        f"kind {INFRA}compute",
        '  title "Compute Resource"',
        f"  location {BASE}/compute/",
        "  parent http://schemas.ogf.org/occi/core#resource",
        "  attribute occi.compute.architecture string",
    ]
    assert "  attribute occi.compute.state enum immutable required" in got
    assert f"  action {STOP.identifier}" in got
    assert got[got.index(f"mixin {MEDIUM.identifier}") - 1] == ""
    assert f"  depends {INFRA}resource_tpl" in got and f"  applies {INFRA}compute" in got
    assert got[-3:] == [f"action {STOP.identifier}", '  title "Stop the compute instance"',
                        "  attribute method enum"]


def test_query_interface_round_trip() -> None:
    categories = list(Registry.standard())
    document = parse(DESCRIPTOR.categories(categories, CONTEXT).body)
    assert len(document.categories) == len(categories)
    for category, ref in zip(categories, document.categories, strict=True):
        assert ref.identifier == category.identifier
        assert ref.cls == category.categoryClass
        assert ref.title == (category.title or None)
        location = getattr(category, "location", None)
        assert ref.location == (CONTEXT.absolute(location) if location else None)
        assert ref.attributes == tuple(d.name for d in category.attributes)
        assert ref.actions == tuple(a.identifier for a in getattr(category, "actions", ()))
    byId = {ref.identifier: ref for ref in document.categories}
    assert byId[COMPUTE.identifier].rel == ("http://schemas.ogf.org/occi/core#resource",)
    # As the JSON rendering reads it: depends, then applies.
    assert byId[MEDIUM.identifier].rel == (INFRA + "resource_tpl", INFRA + "compute")


def test_listings_messages_and_streams() -> None:
    views = [EntityView(compute()), EntityView(network())]
    whole = DESCRIPTOR.locations([v.entity.location for v in views], CONTEXT)
    assert lines(whole.body) == [f"location {BASE}/compute/vm1", f"location {BASE}/network/net1"]
    streamed = DESCRIPTOR.collectionStart(CONTEXT) + b"".join(
        DESCRIPTOR.collectionItem(view, i == 0, CONTEXT) for i, view in enumerate(views)
    ) + DESCRIPTOR.collectionEnd(CONTEXT)
    assert streamed == whole.body
    assert parse(whole.body) == Document(locations=(f"{BASE}/compute/vm1",
                                                    f"{BASE}/network/net1"))
    assert DESCRIPTOR.locations([], CONTEXT).body == b""
    message = DESCRIPTOR.message("Mixin\ndefined.", CONTEXT)
    assert message.body == b"# Mixin defined.\r\n"
    assert parse(message.body) == Document()
    assert DESCRIPTOR.streams and DESCRIPTOR.mediaType == MEDIA_TYPE


# -- round trips ---------------------------------------------------------------------------


def test_entity_round_trip() -> None:
    vm = compute(**{"occi.core.title": 'a "b" \\ \u00e9\n\t', "occi.core.summary": ""})
    net = network()
    for view in (EntityView(vm, [interface(vm, net)]), EntityView(net),
                 EntityView(interface(vm, net))):
        assert same(parse(DESCRIPTOR.entity(view, CONTEXT).body), expected(view))


def test_round_trip_resolves_to_the_same_entity() -> None:
    vm = compute()
    view = EntityView(vm, [interface(vm, network())])
    parsed = parse(DESCRIPTOR.entity(view, CONTEXT).body)
    described = describeEntity(parsed, REGISTRY)
    assert described.kind == COMPUTE and described.mixins == (MEDIUM, UBUNTU)
    assert described.links[0].kind == NETWORKINTERFACE
    assert described.links[0].location == "/networkinterface/nic1"
    assert viewShape(rebuilt(parsed)) == viewShape(view)


def test_every_attribute_type_of_the_model_survives() -> None:
    values: dict[str, object] = {
        "test.string": " leading, \"quoted\", \\ \u00e9 \U0001f600 \x00\x7f\r\n",
        "test.enum": "two words",
        "test.integer": -(10**30),
        "test.float": 0.1,
        "test.boolean": False,
        "test.list": [1, 2.0, "3", True, [], {"a": [True]}],
        "test.hash": {"k": "v", "n": 1, "": {"x": [1.5e300]}},
        "test.uri": "urn:x:caf\u00e9",
        "test.ip": "2001:db8::1",
        "test.cidr": "10.0.0.0/8",
    }
    vm = newEntity(Description(kind=COMPUTE, mixins=(EVERYTHING,), attributes={
        "occi.core.id": "vm1", **values}))
    body = DESCRIPTOR.entity(EntityView(vm), CONTEXT).body
    assert "test.list [1,2.0,\"3\",true,[],{\"a\":[true]}]" in lines(body)
    assert viewShape(rebuilt(parse(body))) == viewShape(EntityView(vm))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(modelViews())
def test_model_entities_round_trip(view: EntityView) -> None:
    assert viewShape(rebuilt(parse(DESCRIPTOR.entity(view, CONTEXT).body))) == viewShape(view)


# -- parsing: what people write ------------------------------------------------------------


def test_the_walkthrough_example() -> None:
    parsed = parse(b"occi.compute.cores 2\ncompute.speed 3200\ncompute.memory 2048\n")
    assert same(parsed, Document(attributes={
        "occi.compute.cores": 2, "occi.compute.speed": 3200, "occi.compute.memory": 2048}))


def test_liberal_spellings() -> None:
    body = (
        b"\xef\xbb\xbf# a compute, written by hand\r\n"
        b"\r\n"
        b"   kind compute\r"
        b"mixin\t\thttp://schemas.occi-twisted.org/occi/infrastructure/resource_tpl#medium  \n"
        b"  # indented comment\n"
        b"occi.core.title   My   VM  \n"
        b"occi.compute.architecture x64\n"
        b'"compute.weird" 1\n'
        b"occi.compute.memory 1E3\n"
        b"occi.x.flag TRUE\n"
        b"link <http://h/storage/1>\n"
        b"\n"
        b"\t   occi.storagelink.deviceid vdb\n"
        b"location </compute/9>\n"
    )
    assert same(parse(body), Document(
        categories=(CategoryRef("", "compute", cls="kind"),
                    CategoryRef(MEDIUM.scheme, "medium", cls="mixin")),
        attributes={"occi.core.title": "My   VM", "occi.compute.architecture": "x64",
                    "compute.weird": 1, "occi.compute.memory": 1000.0, "occi.x.flag": True},
        links=(LinkRef("http://h/storage/1", attributes={"occi.storagelink.deviceid": "vdb"}),),
        locations=("/compute/9",),
    ))


def test_blocks_are_indented_relative_to_their_line() -> None:
    parsed = parse(b"  kind compute\n  occi.compute.cores 2\n  link /network/1\n"
                   b"    rel http://a#b\n  occi.core.title x\n")
    assert parsed.categories == (CategoryRef("", "compute", cls="kind"),)
    assert parsed.attributes == {"occi.compute.cores": 2, "occi.core.title": "x"}
    assert parsed.links == (LinkRef("/network/1", rel=("http://a#b",)),)


def test_action_invocation_and_mixin_definition() -> None:
    parsed = parse(f"action {STOP.identifier}\nmethod acpioff\n".encode())
    assert parsed.categories == (CategoryRef(STOP.scheme, "stop", cls="action"),)
    assert parsed.attributes == {"method": "acpioff"}
    definition = parse(b"mixin http://example.com/tags#mine\n  title My own tag\n"
                       b"  location /mine/\n  depends http://a#b http://a#c\n"
                       b"  attribute x.y string IMMUTABLE required\n")
    assert definition.categories == (CategoryRef(
        "http://example.com/tags#", "mine", cls="mixin", title="My own tag", location="/mine/",
        rel=("http://a#b", "http://a#c"), attributes=("x.y",)),)


def test_category_without_class() -> None:
    assert parse(b"category http://a#b\n").categories == (CategoryRef("http://a#", "b"),)


@pytest.mark.parametrize("body", [b"", b"\r\n \n\t\n", b"# nothing\n", b"\xef\xbb\xbf"])
def test_empty_bodies_are_empty_documents(body: bytes) -> None:
    assert parse(body) == Document()


# -- refusals ------------------------------------------------------------------------------

REFUSALS = [
    (b"\xff\xfe", "not valid UTF-8"),
    (b"occi.compute.cores", "has no value"),
    (b"occi.compute.cores=2", "neither a keyword nor an attribute name"),
    (b"occi.compute.cores;2", "neither a keyword nor an attribute name"),
    (b'occi"x 1', "not of the form 'key value'"),
    (b'"occi.x 1', "not of the form 'key value'"),
    (b'"a b" 1', "neither a keyword nor an attribute name"),
    (b'"\\ud800" 1', "surrogate"),
    (b"a 1\na 2", "given twice"),
    (b"compute.cores 1\nocci.compute.cores 2", "given twice"),
    (b'a "x', "not closed"),
    (b'a "x" y', "after its closing quote"),
    (b'a "\\x"', "escape JSON does not know"),
    (b'a "\\ud83d"', "surrogate"),
    (b"a x\"y", "stray quote"),
    (b"a x\\y", "stray quote"),
    (b"a x\x01", "control character"),
    (b"a null", "null"),
    (b"a [1,", "not valid JSON"),
    (b"a [1] x", "not valid JSON"),
    (b"a [null]", "holds null"),
    (b'a {"k":1,"k":2}', "twice in one object"),
    (b"a [NaN]", "not a JSON value"),
    (b"a [1e999]", "too large"),
    (b'a ["\\udc00"]', "surrogate"),
    (b"a " + b"[" * 40 + b"]" * 40, "nested more than"),
    (b"a " + b"[" * 100_000, "nested"),
    (b"a 1e999", "too large"),
    (b"a " + b"1" * 301, "more than 300 digits"),
    (b"a 0." + b"1" * 400, "longer than 400"),
    (b"kind", "needs a value"),
    (b"kind a b", "takes one value"),
    (b"kind http://a#", "not a category identifier"),
    (b"kind #b", "not a category identifier"),
    (b"kind com pute", "takes one value"),
    (b"kind a/b", "not a category identifier"),
    (b"mixin http://a#b c", "takes one value"),
    (b"location a b", "takes one value"),
    (b'location "x"', "not a URI"),
    (b"link", "needs a value"),
    (b"link <>", "not a URI"),
    (b"kind http://a#b\n  colour red", "not 'colour'"),
    (b"kind http://a#b\n  title", "needs a value"),
    (b'kind http://a#b\n  title "x" y', "after its closing quote"),
    (b"kind http://a#b\n  title a\\b", "stray quote"),
    (b"kind http://a#b\n  title a\n  title b", "title twice"),
    (b"kind http://a#b\n  location /a\n  location /b", "location twice"),
    (b"kind http://a#b\n  rel nohash", "not a category identifier"),
    (b"kind http://a#b\n  attribute a{x}", "not an attribute name"),
    (b"kind http://a#b\n  attribute a mutable", "say its type"),
    (b"kind http://a#b\n  action b", "not a category identifier"),
    (b"link /a\n  rel b", "not a category identifier"),
    (b"link /a\n  self a\n  self b", "self twice"),
    (b"link /a\n  category x", "not a category identifier"),
    (b"link /a\n  a 1\n  a 2", "gives the attribute a twice"),
    (b"link /a\n  a", "has no value"),
    (b"x" * 300 + b" 1", "neither a keyword nor an attribute name"),
]


@pytest.mark.parametrize(("body", "words"), REFUSALS)
def test_refusals(body: bytes, words: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse(body)
    assert words in str(caught.value)
    assertSentence(caught.value)


def test_refusals_name_the_line() -> None:
    with pytest.raises(BadRequest, match=r"\(line 4\)\.$"):
        parse(b"# comment\n\nocci.compute.cores 2\nocci.compute.memory\n")
    with pytest.raises(BadRequest, match=r"\(line 3\)\.$"):
        parse(b"link /a\n  rel http://a#b\n  self\n")


def test_long_names_are_cut_in_messages() -> None:
    name = "a" * 255
    with pytest.raises(BadRequest) as caught:
        parse(f'{name} x\\y"'.encode())
    assertSentence(caught.value)


def test_limits_are_the_shared_ones() -> None:
    with pytest.raises(BadRequest, match="larger than"):
        parse(b"x" * (limits.MAX_BODY + 1))
    with pytest.raises(BadRequest, match="more than 10000 lines"):
        parse(b"\n" * limits.MAX_LINES + b"x")
    with pytest.raises(BadRequest, match=r"Line 1 .* longer than"):
        parse(b'a "' + b"x" * limits.MAX_LINE + b'"')
    many = "".join(f"a{i} 1\n" for i in range(limits.MAX_ATTRIBUTES + 1))
    with pytest.raises(BadRequest, match="more than 1000 attributes"):
        parse(many.encode())
    with pytest.raises(BadRequest, match="more than 1000 attributes"):
        parse(("link /a\n" + many.replace("a", " a")).encode())
    with pytest.raises(BadRequest, match="lists more than 10000 values"):
        parse(b"kind http://a#b\n  rel " + b" ".join([b"http://a#b"] * (limits.MAX_VALUES + 1)))
    with pytest.raises(BadRequest, match="more than 10000 categories"):
        parse(b"link /a\n  category " + b" ".join([b"http://a#b"] * (limits.MAX_VALUES + 1)))


def test_pathological_quotes_are_fast() -> None:
    # Possessive quantifiers: an unclosed quote over a long run never backtracks.
    with pytest.raises(BadRequest):
        parse(b'a "' + b"x\\" * 100_000 + b"\n")
    with pytest.raises(BadRequest):
        parse(b'"' + b"x\\" * 100_000 + b" 1\n")


# -- properties ----------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_parse_or_say_why(body: bytes) -> None:
    try:
        parse(body)
    except BadRequest as error:
        assertSentence(error)


_PIECES = [
    "kind", "mixin", "action", "category", "link", "location", "rel", "self", "title",
    "parent", "depends", "applies", "attribute", " ", "  ", "\t", "#", '"', "\\", "<", ">",
    "http://s#t", "http://s#", "#t", "/compute/1", "occi.core.id", "compute.cores", '"kind"',
    "1", "-2.5e3", "1e999", "true", "FALSE", "null", "0.5", "[", "]", "{", "}", ",", ":",
    '"a b"', '"\\u00e9"', '"\\ud800"', '"\\ud83d\\ude00"', "[1,2]", '{"a":1}', '{"a":null}',
    "\u00e9", "\x00", "\u2028", "9" * 320, "x" * 50, "immutable", "required", "string",
]
_linesOf = st.lists(st.lists(st.sampled_from(_PIECES), max_size=8).map("".join), max_size=8)


@settings(max_examples=500, deadline=None)
@given(_linesOf, st.sampled_from(["\n", "\r\n", "\r"]))
def test_near_valid_bodies_parse_or_say_why(pieces: list[str], eol: str) -> None:
    try:
        parse(eol.join(pieces).encode("utf-8", "surrogatepass"))
    except BadRequest as error:
        assertSentence(error)


_SAMPLE = DESCRIPTOR.entity(EntityView(compute(), [interface(compute(), network())]),
                            CONTEXT).body


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_SAMPLE)), st.integers(0, 3),
                          st.sampled_from(list(b'" #[]{}\\\t\n\x00\xc3ax1.'))),
                min_size=1, max_size=4))
def test_damaged_renderings_parse_or_say_why(damage: list[tuple[int, int, int]]) -> None:
    body = bytearray(_SAMPLE)
    for position, cut, byte in damage:
        body[position:position + cut] = bytes([byte])
    try:
        parse(bytes(body))
    except BadRequest as error:
        assertSentence(error)


# Documents as clients write them.
_term = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,12}", fullmatch=True)
_uriChars = st.text(alphabet="abcXYZ019:/?&=+%@!$'()*._~-[]#,;\u00e9", min_size=1, max_size=20)
uris = st.builds(lambda a, b: a + b, st.sampled_from(["http://h/", "/", "urn:x:", ""]),
                 _uriChars)
_scheme = st.builds(lambda u: u + "#", _uriChars)
identifiers = st.builds(lambda s, t: s + t, _scheme, _term)
_identifierTuples = st.lists(identifiers, max_size=3).map(tuple)
attributeNames = st.one_of(
    st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,12}", fullmatch=True),
    st.sampled_from(["kind", "mixin", "action", "category", "link", "location", "rel", "self",
                     "title", "attribute", "compute.cores", "core.id", "null", "true"]),
)
attributeValues = st.one_of(
    st.text(max_size=20),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.lists(jsonValues, max_size=3),
    st.dictionaries(st.text(max_size=6), jsonValues, max_size=3),
)
attributeMaps = st.dictionaries(attributeNames, attributeValues, max_size=5)


def categoryRefs(titles: st.SearchStrategy[str]) -> st.SearchStrategy[CategoryRef]:
    return st.builds(
        CategoryRef,
        scheme=st.one_of(_scheme, st.just("")),
        term=_term,
        cls=st.sampled_from([None, "kind", "mixin", "action"]),
        title=st.one_of(st.none(), titles),
        location=st.one_of(st.none(), uris),
        rel=_identifierTuples,
        attributes=st.lists(attributeNames, max_size=3).map(tuple),
        actions=_identifierTuples,
    )


linkRefs = st.builds(
    LinkRef,
    target=uris,
    rel=_identifierTuples,
    location=st.one_of(st.none(), uris),
    categories=_identifierTuples,
    attributes=attributeMaps,
)


def documents(titles: st.SearchStrategy[str]) -> st.SearchStrategy[Document]:
    return st.builds(
        Document,
        categories=st.lists(categoryRefs(titles), max_size=3).map(tuple),
        attributes=attributeMaps,
        links=st.lists(linkRefs, max_size=3).map(tuple),
        locations=st.lists(uris, max_size=3).map(tuple),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(st.text(max_size=20)))
def test_documents_round_trip(document: Document) -> None:
    assert same(parse(formatDescriptor(document)), document)


_segment = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
_dotted = st.builds(".".join, st.lists(_segment, min_size=2, max_size=4))


@st.composite
def anyEntities(draw: st.DrawFn, link: bool) -> Entity:
    """Entities with any attributes at all (not only what the model defines)."""
    attributes: dict[str, Any] = draw(st.dictionaries(_dotted, attributeValues, max_size=6))
    attributes["occi.core.id"] = draw(_ids)
    if link:
        attributes[SOURCE] = "/compute/" + draw(_ids)
        attributes[TARGET] = draw(st.sampled_from(["/network/", "urn:uuid:", "http://x/"]))
        attributes[TARGET] += draw(_ids)
        if draw(st.booleans()):
            attributes[TARGET_KIND] = NETWORK.identifier
        return Entity(kind=draw(st.sampled_from([LINK, NETWORKINTERFACE, STORAGELINK])),
                      mixins=draw(st.sampled_from([(), (IPNETWORKINTERFACE,)])),
                      attributes=attributes)
    return Entity(kind=draw(st.sampled_from([COMPUTE, NETWORK, STORAGE, RESOURCE])),
                  mixins=draw(st.sampled_from([(), (MEDIUM,), (MEDIUM, UBUNTU)])),
                  attributes=attributes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(anyEntities(link=False), st.lists(anyEntities(link=True), max_size=3))
def test_entities_round_trip(resource: Entity, links: list[Entity]) -> None:
    view = EntityView(resource, links)
    assert same(parse(DESCRIPTOR.entity(view, CONTEXT).body), expected(view))
    for link in links:
        assert same(parse(DESCRIPTOR.entity(EntityView(link), CONTEXT).body),
                    expected(EntityView(link)))
