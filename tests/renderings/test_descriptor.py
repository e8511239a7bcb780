"""The walkthrough's key/value descriptor (text/x-occi-descriptor).

Shapes as rendered, the walkthrough's example, what people write, round trips (to the
document, and through the model for every attribute type), refusals and limits.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from occi_twisted.model import (
    Description,
    Entity,
    Registry,
    newEntity,
)
from occi_twisted.model.errors import BadRequest
from occi_twisted.model.infrastructure import (
    COMPUTE,
    IPNETWORKINTERFACE,
    MEDIUM,
    NETWORKINTERFACE,
    STOP,
    UBUNTU,
)
from occi_twisted.renderings import limits
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
)
from occi_twisted.renderings.resolve import describeEntity

from . import strategies
from .support import (
    BASE,
    CONTEXT,
    EVERYTHING,
    INFRA,
    REGISTRY,
    assertSentence,
    compute,
    computeWithInterface,
    expected,
    interface,
    lines,
    network,
    parsesOrSaysWhy,
    rebuilt,
    same,
    typed,
    viewShape,
)

# -- rendering -----------------------------------------------------------------------------


def test_an_entity_is_written_as_keyword_and_attribute_lines() -> None:
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


def test_the_query_interface_defines_each_category_in_a_block() -> None:
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
        assert [(a.name, a.type, a.mutable, a.required) for a in ref.attributes] == [
            (d.name, d.type.value, d.mutable, d.required) for d in category.attributes]
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
        # Control characters but the tab are refused at input (no text rendering carries them).
        "test.string": " leading, \"quoted\", \\ \u00e9 \U0001f600 \t",
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
@given(strategies.modelViews())
def test_model_entities_round_trip(view: EntityView) -> None:
    assert viewShape(rebuilt(parse(DESCRIPTOR.entity(view, CONTEXT).body))) == viewShape(view)


# -- parsing: what people write ------------------------------------------------------------


def test_the_walkthrough_example() -> None:
    parsed = parse(b"occi.compute.cores 2\ncompute.speed 3200\ncompute.memory 2048\n")
    assert same(parsed, Document(attributes={
        "occi.compute.cores": 2, "occi.compute.speed": 3200, "occi.compute.memory": 2048}))


def test_what_people_write_by_hand_is_read() -> None:
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
        rel=("http://a#b", "http://a#c"),
        attributes=(CategoryRef.Attribute("x.y", type="string", mutable=False, required=True),)),)


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
def test_malformed_descriptors_are_refused_in_one_sentence(body: bytes, words: str) -> None:
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
    parsesOrSaysWhy(parse, body)


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
    parsesOrSaysWhy(parse, eol.join(pieces).encode("utf-8", "surrogatepass"))


_SAMPLE = DESCRIPTOR.entity(computeWithInterface(), CONTEXT).body


@settings(max_examples=300, deadline=None)
@given(strategies.damages(_SAMPLE, b'" #[]{}\\\t\n\x00\xc3ax1.'))
def test_damaged_renderings_parse_or_say_why(body: bytes) -> None:
    parsesOrSaysWhy(parse, body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.documents(st.text(max_size=20)))
def test_documents_round_trip(document: Document) -> None:
    assert same(parse(formatDescriptor(document)), document)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.anyEntities(strategies.attributeValues, link=False),
       st.lists(strategies.anyEntities(strategies.attributeValues, link=True), max_size=3))
def test_entities_round_trip(resource: Entity, links: list[Entity]) -> None:
    view = EntityView(resource, links)
    assert same(parse(DESCRIPTOR.entity(view, CONTEXT).body), expected(view))
    for link in links:
        assert same(parse(DESCRIPTOR.entity(EntityView(link), CONTEXT).body),
                    expected(EntityView(link)))
