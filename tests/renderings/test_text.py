"""The GFD.229 text renderings: text/plain, text/occi and text/uri-list.

Shapes as rendered, the spec's examples, what clients write, round trips, and refusals.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from occi_twisted.model import Description, Entity, Registry, newEntity
from occi_twisted.model.core import ENTITY, LINK
from occi_twisted.model.errors import BadRequest
from occi_twisted.model.infrastructure import (
    COMPUTE,
    IPNETWORK,
    MEDIUM,
    NETWORK,
    NETWORKINTERFACE,
    OS_TPL,
    RESOURCE_TPL,
    START,
    STOP,
    UBUNTU,
)
from occi_twisted.renderings import limits, text
from occi_twisted.renderings.document import (
    CategoryRef,
    Document,
    EntityView,
    LinkRef,
)
from occi_twisted.renderings.text import (
    OCCI,
    PLAIN,
    RESOURCE_KIND,
    attributeValue,
    floatText,
    formatHeaders,
    formatPlain,
    parseOcci,
    parsePlain,
    quoted,
)
from occi_twisted.renderings.urilist import URI_LIST, uriText

from . import strategies
from .support import (
    BASE,
    CONTEXT,
    INFRA,
    SOURCE,
    TARGET,
    TARGET_KIND,
    assertSentence,
    compute,
    computeWithInterface,
    headerMap,
    interface,
    lines,
    network,
    parsesOrSaysWhy,
    same,
)

CORE = "http://schemas.ogf.org/occi/core#"
ACTIONS = "http://schemas.ogf.org/occi/infrastructure/compute/action#"


# -- what a rendered entity must parse back into --------------------------------------------


def ref(category: Any) -> CategoryRef:
    """What the entity rendering says about a kind or mixin, parsed back."""
    rel: tuple[str, ...] = ()
    if getattr(category, "parent", None) is not None:
        rel = (category.parent.identifier,)
    elif getattr(category, "depends", ()):
        rel = (category.depends[0].identifier,)
    return CategoryRef(category.scheme, category.term, cls=category.categoryClass,
                       title=category.title or None, location=getattr(category, "location", None),
                       rel=rel)


def expectedLink(link: Entity) -> LinkRef:
    return LinkRef(
        target=str(link.attributes[TARGET]),
        rel=(str(link.attributes.get(TARGET_KIND) or RESOURCE_KIND),),
        location=link.location,
        categories=(link.kind.identifier, *(m.identifier for m in link.mixins)),
        attributes=dict(link.attributes),
    )


def expected(view: EntityView) -> Document:
    entity = view.entity
    return Document(
        categories=(ref(entity.kind), *(ref(m) for m in entity.mixins)),
        attributes=dict(entity.attributes),
        links=tuple(expectedLink(link) for link in view.links),
    )


def parsedBoth(view: EntityView) -> tuple[Document, Document]:
    plain = PLAIN.entity(view, CONTEXT)
    occi = OCCI.entity(view, CONTEXT)
    return parsePlain(plain.body, {}), parseOcci(occi.body, headerMap(occi.headers))


# -- rendering: entities ------------------------------------------------------------------


def test_a_resource_is_written_as_category_link_and_attribute_lines() -> None:
    vm = compute()
    net = network()
    nic = interface(vm, net)
    rendered = PLAIN.entity(EntityView(vm, [nic]), CONTEXT)
    assert rendered.contentType == "text/plain; charset=utf-8"
    assert rendered.headers == ()
    got = lines(rendered.body)
    assert got[0] == (
        'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; '
        'class="kind"; title="Compute Resource"; rel="http://schemas.ogf.org/occi/core#resource"'
        '; location="/compute/"'
    )
    assert got[1] == (
        'Category: medium; scheme="http://schemas.occi-twisted.org/occi/infrastructure/'
        'resource_tpl#"; class="mixin"; title="Medium instance: 2 cores, 4 GiB"; '
        'rel="http://schemas.ogf.org/occi/infrastructure#resource_tpl"; '
        'location="/resource_tpl/medium/"'
    )
    assert got[2].startswith("Category: ubuntu-24.04; ")
    assert got[3] == (
        'Link: </network/net1>; rel="http://schemas.ogf.org/occi/infrastructure#network"; '
        'self="/networkinterface/nic1"; category="http://schemas.ogf.org/occi/infrastructure#'
        'networkinterface http://schemas.ogf.org/occi/infrastructure/networkinterface#'
        'ipnetworkinterface"; occi.core.id="nic1"; occi.core.source="/compute/vm1"; '
        'occi.core.target="/network/net1"; '
        'occi.core.target.kind="http://schemas.ogf.org/occi/infrastructure#network"; '
        'occi.networkinterface.interface="eth0"; occi.networkinterface.mac="00:80:41:ae:fd:7e"'
        '; occi.networkinterface.state="inactive"'
    )
    actionLinks = [line for line in got if "?action=" in line]
    # GFD.229's full Link form, with the occi.core.target that ooi's parser needs.
    assert actionLinks[:2] == [
        f'Link: </compute/vm1?action=start>; rel="{ACTIONS}start"; category="{ACTIONS}start"; '
        'occi.core.target="/compute/vm1?action=start"',
        f'Link: </compute/vm1?action=stop>; rel="{ACTIONS}stop"; category="{ACTIONS}stop"; '
        'occi.core.target="/compute/vm1?action=stop"',
    ]
    assert len(actionLinks) == len(COMPUTE.actions)
    attributes = [line for line in got if line.startswith("X-OCCI-Attribute: ")]
    assert 'X-OCCI-Attribute: occi.core.id="vm1"' in attributes
    assert "X-OCCI-Attribute: occi.compute.cores=2" in attributes
    assert "X-OCCI-Attribute: occi.compute.memory=4.0" in attributes
    assert 'X-OCCI-Attribute: occi.compute.state="inactive"' in attributes
    # GFD.229 section 5.1: categories, then links, then attributes.
    kinds = [line.split(":", 1)[0] for line in got]
    assert kinds == sorted(kinds, key=["Category", "Link", "X-OCCI-Attribute"].index)


def test_link_entity_lines() -> None:
    nic = interface(compute(), network())
    got = lines(PLAIN.entity(EntityView(nic), CONTEXT).body)
    assert got[0].startswith("Category: networkinterface; ")
    assert 'rel="http://schemas.ogf.org/occi/core#link"' in got[0]
    assert got[1].startswith("Category: ipnetworkinterface; ")
    assert 'X-OCCI-Attribute: occi.core.source="/compute/vm1"' in got
    assert 'X-OCCI-Attribute: occi.core.target="/network/net1"' in got
    assert not any(line.startswith("Link:") for line in got)  # link kinds offer no actions


def test_link_without_target_kind_points_at_a_resource() -> None:
    link = newEntity(Description(kind=LINK, attributes={
        "occi.core.id": "l1", SOURCE: "/compute/vm1", TARGET: "urn:uuid:1234"}))
    value = text.linkValue(link)
    assert value.startswith(f'<urn:uuid:1234>; rel="{CORE}resource"; self="/link/l1"; '
                            f'category="{CORE}link"')


def test_attribute_values_are_quoted_strings_or_bare_numbers() -> None:
    assert attributeValue("x86") == '"x86"'
    assert attributeValue('say "hi" \\ now') == '"say \\"hi\\" \\\\ now"'
    # RFC 7230 has no spelling for a control character but the tab; the model refuses them,
    # and one the server wrote itself becomes a space rather than break the line.
    assert attributeValue("two\nlines\ttab\x00") == '"two lines\ttab "'
    assert attributeValue("caf\u00e9 \U0001f600") == '"caf\u00e9 \U0001f600"'
    assert attributeValue(True) == "true"
    assert attributeValue(False) == "false"
    assert attributeValue(-42) == "-42"
    assert attributeValue(2.0) == "2.0"
    assert attributeValue(0.1) == "0.1"
    assert attributeValue([1, "a"]) == '"[1,\\"a\\"]"'
    assert attributeValue({"k": True}) == '"{\\"k\\":true}"'


@pytest.mark.parametrize("number", [
    0.0, -0.0, 1.0, 0.1, 1 / 3, 1e16, 1.5e300, 5e-324, 2.2250738585072014e-308,
    1.7976931348623157e308, -123456789.125, 1e-7,
])
def test_floats_are_positional_and_exact(number: float) -> None:
    written = floatText(number)
    assert re.fullmatch(r"-?\d+\.\d+", written), written
    parsed = parsePlain(f"X-OCCI-Attribute: a={written}".encode()).attributes["a"]
    assert type(parsed) is float and parsed == number


def test_quoted_only_escapes_what_it_must() -> None:
    assert quoted("plain text, with; separators = and <brackets>") == (
        '"plain text, with; separators = and <brackets>"')
    assert quoted("\x7f") == '" "'
    assert quoted("caf\u00e9\t") == '"caf\u00e9\t"'


def test_text_occi_puts_the_entity_in_headers() -> None:
    vm = compute(**{"occi.core.title": "caf\u00e9, \"quoted\""})
    nic = interface(vm, network())
    rendered = OCCI.entity(EntityView(vm, [nic]), CONTEXT)
    assert rendered.contentType == "text/occi"
    assert rendered.body == b"OK"
    names = [name for name, _ in rendered.headers]
    assert names == ["Category", "Link", "X-OCCI-Attribute"]
    for _name, value in rendered.headers:
        assert "\n" not in value and "\r" not in value
    category = dict(rendered.headers)["Category"]
    assert category.count(f'scheme="{INFRA}"') == 1 and ", medium; " in category
    # Beyond ASCII as it is (UTF-8 on the wire: RFC 7230's obs-text).
    assert 'occi.core.title="caf\u00e9, \\"quoted\\""' in dict(rendered.headers)[
        "X-OCCI-Attribute"]


def test_long_header_values_are_spread_over_several_fields() -> None:
    categories = list(Registry.standard())
    rendered = OCCI.categories(categories, CONTEXT)
    assert len(rendered.headers) > 1
    assert all(len(value) <= text.MAX_HEADER_LINE + 2000 for _, value in rendered.headers)
    parsed = parseOcci(b"OK", headerMap(rendered.headers))
    assert len(parsed.categories) == len(categories)


def test_entity_round_trips_in_both_renderings() -> None:
    vm = compute(**{"occi.core.title": "a, b; c=\"d\"\\ \u00e9\t", "occi.core.summary": ""})
    net = network()
    view = EntityView(vm, [interface(vm, net)])
    for parsed in parsedBoth(view):
        assert same(parsed, expected(view)), parsed
    for parsed in parsedBoth(EntityView(net)):
        assert same(parsed, expected(EntityView(net)))


def test_entity_round_trip_resolves_to_the_same_categories() -> None:
    from occi_twisted.renderings.resolve import describeEntity

    vm = compute()
    for parsed in parsedBoth(EntityView(vm)):
        described = describeEntity(parsed, Registry.standard())
        assert described.kind == COMPUTE
        assert described.mixins == (MEDIUM, UBUNTU)
        assert described.links == ()  # the action links are not links


# -- rendering: the query interface -------------------------------------------------------


def test_query_interface_lines() -> None:
    got = lines(PLAIN.categories([ENTITY, COMPUTE, UBUNTU, IPNETWORK, STOP, START],
                                 CONTEXT).body)
    assert got[0] == (
        'Category: entity; scheme="http://schemas.ogf.org/occi/core#"; class="kind"; '
        'title="Entity"; '
        'attributes="occi.core.id{immutable required} occi.core.title"'
    )
    assert got[1].startswith('Category: compute; scheme="http://schemas.ogf.org/occi/'
                             'infrastructure#"; class="kind"; title="Compute Resource"; '
                             f'rel="{CORE}resource"; location="/compute/"; attributes="')
    assert "occi.compute.state{immutable required}" in got[1]
    assert "occi.compute.state.message{immutable}" in got[1]
    assert got[1].endswith(f'; actions="{" ".join(a.identifier for a in COMPUTE.actions)}"')
    # GFD.229 section 5.6.2: a mixin's rel is the first of its depends; applies is not shown.
    assert f'rel="{OS_TPL.identifier}"' in got[2]
    assert "rel=" not in got[3]
    assert got[4] == (f'Category: stop; scheme="{ACTIONS}"; class="action"; '
                      'title="Stop the compute instance"; attributes="method"')
    assert got[5] == (f'Category: start; scheme="{ACTIONS}"; class="action"; '
                      'title="Start the compute instance"')


def test_query_interface_round_trip() -> None:
    categories = list(Registry.standard())
    plain = PLAIN.categories(categories, CONTEXT)
    occi = OCCI.categories(categories, CONTEXT)
    for parsed in (parsePlain(plain.body), parseOcci(occi.body, headerMap(occi.headers))):
        assert len(parsed.categories) == len(categories)
        for category, got in zip(categories, parsed.categories, strict=True):
            base = ref(category)
            actions = getattr(category, "actions", ())
            assert got == CategoryRef(
                base.scheme, base.term, cls=base.cls, title=base.title,
                location=getattr(category, "location", None), rel=base.rel,
                attributes=tuple(CategoryRef.Attribute(d.name, mutable=d.mutable,
                                                       required=d.required)
                                 for d in category.attributes),
                actions=tuple(a.identifier for a in actions),
            )


def test_empty_titles_and_lists_are_left_out() -> None:
    from occi_twisted.model import Mixin

    tag = Mixin("http://example.com/tags#", "mine", location="/mine/", owner="anonymous")
    assert text.categoryValue(tag, True) == (
        'mine; scheme="http://example.com/tags#"; class="mixin"; location="/mine/"')


def test_user_mixins_are_cached_by_identity_not_by_name() -> None:
    from occi_twisted.model import Mixin

    first = Mixin("http://example.com/tags#", "mine", title="one", location="/mine/")
    again = Mixin("http://example.com/tags#", "mine", title="two", location="/mine/")
    assert 'title="one"' in text.categoryValue(first)
    assert 'title="two"' in text.categoryValue(again)


# -- rendering: listings and messages ------------------------------------------------------


def test_locations_are_absolute() -> None:
    paths = ["/compute/1", "/compute/2", "http://elsewhere/x"]
    assert lines(PLAIN.locations(paths, CONTEXT).body) == [
        f"X-OCCI-Location: {BASE}/compute/1",
        f"X-OCCI-Location: {BASE}/compute/2",
        "X-OCCI-Location: http://elsewhere/x",
    ]
    occi = OCCI.locations(paths, CONTEXT)
    assert occi.body == b"OK"
    assert occi.headers == (("X-OCCI-Location", f"{BASE}/compute/1, {BASE}/compute/2, "
                                                "http://elsewhere/x"),)
    assert parseOcci(b"", headerMap(occi.headers)).locations == (
        f"{BASE}/compute/1", f"{BASE}/compute/2", "http://elsewhere/x")
    assert PLAIN.locations([], CONTEXT).body == b""
    assert OCCI.locations([], CONTEXT).headers == ()


def test_streamed_listing_is_the_same_as_the_whole() -> None:
    views = [EntityView(compute()), EntityView(network())]
    streamed = PLAIN.collectionStart(CONTEXT) + b"".join(
        PLAIN.collectionItem(view, i == 0, CONTEXT) for i, view in enumerate(views)
    ) + PLAIN.collectionEnd(CONTEXT)
    assert streamed == PLAIN.locations([v.entity.location for v in views], CONTEXT).body
    assert PLAIN.streams and not OCCI.streams


def test_messages_are_a_line_ok_or_a_comment() -> None:
    assert PLAIN.message("Mixin defined.", CONTEXT).body == b"Mixin defined.\r\n"
    assert OCCI.message("Mixin defined.", CONTEXT).body == b"OK"
    assert URI_LIST.message("Deleted\nall.", CONTEXT).body == b"# Deleted all.\r\n"


def test_a_uri_list_has_one_absolute_uri_a_line() -> None:
    views = [EntityView(compute()), EntityView(network())]
    rendered = URI_LIST.locations([v.entity.location for v in views], CONTEXT)
    assert rendered.contentType == "text/uri-list"
    assert rendered.body == f"{BASE}/compute/vm1\r\n{BASE}/network/net1\r\n".encode()
    streamed = b"".join(URI_LIST.collectionItem(v, i == 0, CONTEXT)
                        for i, v in enumerate(views))
    assert URI_LIST.collectionStart(CONTEXT) + streamed + URI_LIST.collectionEnd(
        CONTEXT) == rendered.body
    assert URI_LIST.locations([], CONTEXT).body == b""
    with pytest.raises(BadRequest, match="lists collections only"):
        URI_LIST.entity(views[0], CONTEXT)
    with pytest.raises(BadRequest, match="query interface"):
        URI_LIST.categories([COMPUTE], CONTEXT)


def test_uris_are_percent_encoded_where_they_must_be() -> None:
    assert uriText("/compute/vm1?x=1&y=[2]#f") == "/compute/vm1?x=1&y=[2]#f"
    assert uriText("/caf\u00e9/a b\"<>") == "/caf%C3%A9/a%20b%22%3C%3E"
    assert uriText("/already%20encoded") == "/already%20encoded"


# -- parsing: the spec's examples and what clients write -----------------------------------

GFD229_PLAIN = b"""\
Category: compute; \\
    scheme="http://schemas.ogf.org/occi/infrastructure#" \\
    class="kind";
Link: </users/foo/compute/b9ff813e-fee5-4a9d-b839-673f39746096?action=start>; \\
    rel="http://schemas.ogf.org/occi/infrastructure/compute/action#start"
X-OCCI-Attribute: occi.core.id="urn:uuid:b9ff813e-fee5-4a9d-b839-673f39746096"
X-OCCI-Attribute: occi.core.title="My Dummy VM"
X-OCCI-Attribute: occi.compute.architecture="x86"
X-OCCI-Attribute: occi.compute.state="inactive"
X-OCCI-Attribute: occi.compute.speed=1.33
X-OCCI-Attribute: occi.compute.memory=2.0
X-OCCI-Attribute: occi.compute.cores=2
X-OCCI-Attribute: occi.compute.hostname="dummy"
"""

GFD229_ATTRIBUTES = {
    "occi.core.id": "urn:uuid:b9ff813e-fee5-4a9d-b839-673f39746096",
    "occi.core.title": "My Dummy VM",
    "occi.compute.architecture": "x86",
    "occi.compute.state": "inactive",
    "occi.compute.speed": 1.33,
    "occi.compute.memory": 2.0,
    "occi.compute.cores": 2,
    "occi.compute.hostname": "dummy",
}


def test_gfd229_text_plain_example() -> None:
    parsed = parsePlain(GFD229_PLAIN)
    assert same(parsed, Document(
        categories=(CategoryRef(INFRA, "compute", cls="kind"),),
        attributes=GFD229_ATTRIBUTES,
    ))


def test_gfd229_text_occi_example() -> None:
    headers = {
        "category": ['compute; scheme="http://schemas.ogf.org/occi/infrastructure#" '
                     'class="kind";'],
        "link": ["</users/foo/compute/b9ff813e-fee5-4a9d-b839-673f39746096?action=start>; "
                 'rel="http://schemas.ogf.org/occi/infrastructure/compute/action#start"'],
        "x-occi-attribute": [
            'occi.core.id="urn:uuid:b9ff813e-fee5-4a9d-b839-673f39746096", '
            'occi.core.title="My Dummy VM", occi.compute.architecture="x86", '
            'occi.compute.state="inactive", occi.compute.speed=1.33, '
            'occi.compute.memory=2.0, occi.compute.cores=2, occi.compute.hostname="dummy"'],
        "host": ["example.com"],
    }
    assert same(parseOcci(b"OK", headers), Document(
        categories=(CategoryRef(INFRA, "compute", cls="kind"),),
        attributes=GFD229_ATTRIBUTES,
    ))


def test_gfd229_mixin_definition_and_link() -> None:
    # pOCCI's CORE/CREATE/006 defines a mixin so; GFD.229 section 4.2's link shape.
    parsed = parsePlain(
        b'Category: stufik; scheme="http://example.com/occi/my_stuff#"; class="mixin"; '
        b'location="/mixin/resource_tpl/extra_large/"; '
        b'rel="http://schemas.ogf.org/occi/infrastructure#resource_tpl"\r\n'
        b'Link: </network/123>; rel="http://schemas.ogf.org/occi/infrastructure#network"; '
        b'self="/link/networkinterface/456"; '
        b'category="http://schemas.ogf.org/occi/infrastructure#networkinterface"; '
        b'occi.networkinterface.interface="eth0"; occi.networkinterface.vlan=12\r\n')
    assert parsed.categories == (CategoryRef(
        "http://example.com/occi/my_stuff#", "stufik", cls="mixin",
        location="/mixin/resource_tpl/extra_large/", rel=(RESOURCE_TPL.identifier,)),)
    assert parsed.links == (LinkRef(
        target="/network/123", rel=(NETWORK.identifier,), location="/link/networkinterface/456",
        categories=(NETWORKINTERFACE.identifier,),
        attributes={"occi.networkinterface.interface": "eth0", "occi.networkinterface.vlan": 12},
    ),)


def test_what_pocci_writes() -> None:
    # No space after ';', CRLF, class unquoted is allowed too, attributes in one header.
    parsed = parsePlain(
        b'Category: compute;scheme="http://schemas.ogf.org/occi/infrastructure#";class=kind;'
        b'title="titulek"\r\n'
        b'X-OCCI-Attribute: occi.storage.size=0.1\r\n'
        b'X-OCCI-Attribute: occi.core.title="Test_title_1"\r\n')
    assert parsed.categories == (CategoryRef(INFRA, "compute", cls="kind", title="titulek"),)
    assert same(parsed, Document(categories=parsed.categories, attributes={
        "occi.storage.size": 0.1, "occi.core.title": "Test_title_1"}))
    headers = {
        "Content-Type": ["text/occi"],
        "Category": ['storage;scheme="http://schemas.ogf.org/occi/infrastructure#";'
                     'class="kind"'],
        "X-OCCI-Attribute": ['occi.storage.size=0.1,occi.core.title="Test_title_1"'],
    }
    occi = parseOcci(b"", headers)
    assert occi.categories == (CategoryRef(INFRA, "storage", cls="kind"),)
    assert occi.attributes == {"occi.storage.size": 0.1, "occi.core.title": "Test_title_1"}


def test_several_header_instances_and_values() -> None:
    headers = {
        "category": [f'compute; scheme="{INFRA}"; class="kind", medium; scheme='
                     '"http://schemas.occi-twisted.org/occi/infrastructure/resource_tpl#"; '
                     'class="mixin"',
                     f'ubuntu-24.04; scheme="{UBUNTU.scheme}"; class="mixin"'],
        "x-occi-attribute": ['occi.core.title="a, b", occi.compute.cores=2',
                             "occi.compute.hostname=\"x\""],
        "link": ['</network/1>; rel="http://schemas.ogf.org/occi/infrastructure#network", '
                 '</storage/1,2>; rel="http://schemas.ogf.org/occi/infrastructure#storage"'],
        "x-occi-location": ["http://h/compute/1, http://h/compute/2", "/compute/3"],
    }
    parsed = parseOcci(b"", headers)
    assert [c.term for c in parsed.categories] == ["compute", "medium", "ubuntu-24.04"]
    assert parsed.attributes == {"occi.core.title": "a, b", "occi.compute.cores": 2,
                                 "occi.compute.hostname": "x"}
    assert [link.target for link in parsed.links] == ["/network/1", "/storage/1,2"]
    assert parsed.locations == ("http://h/compute/1", "http://h/compute/2", "/compute/3")


def test_header_names_in_any_case_and_a_bare_string() -> None:
    parsed = parseOcci(b"", {"CATEGORY": f'compute; scheme="{INFRA}"',
                             "X-Occi-Attribute": ["occi.compute.cores=4"]})
    assert parsed.categories == (CategoryRef(INFRA, "compute"),)
    assert parsed.attributes == {"occi.compute.cores": 4}


def test_utf8_header_values_decoded_as_latin1_are_repaired() -> None:
    value = 'occi.core.title="caf\u00e9"'.encode().decode("latin-1")
    assert parseOcci(b"", {"x-occi-attribute": [value]}).attributes == {
        "occi.core.title": "caf\u00e9"}
    assert parseOcci(b"", {"x-occi-attribute": ['occi.core.title="\u00ff"']}).attributes == {
        "occi.core.title": "\u00ff"}


def test_text_occi_body_with_fields_is_read_too() -> None:
    parsed = parseOcci(b"X-OCCI-Attribute: occi.compute.cores=2\n",
                       {"category": [f'compute; scheme="{INFRA}"; class="kind"']})
    assert parsed.categories == (CategoryRef(INFRA, "compute", cls="kind"),)
    assert parsed.attributes == {"occi.compute.cores": 2}


@pytest.mark.parametrize("body", [b"", b"  \r\n\n", b"OK", b"ok\r\n", b"\xef\xbb\xbf"])
def test_empty_bodies_are_empty_documents(body: bytes) -> None:
    assert parsePlain(body) == Document()
    assert parseOcci(body, {}) == Document()


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_any_line_ending(eol: bytes) -> None:
    body = eol.join([f'Category: compute; scheme="{INFRA}"; class="kind"'.encode(),
                     b"X-OCCI-Attribute: occi.compute.cores=2", b""])
    parsed = parsePlain(body)
    assert parsed.categories == (CategoryRef(INFRA, "compute", cls="kind"),)
    assert parsed.attributes == {"occi.compute.cores": 2}


def test_what_clients_write_liberally_is_read() -> None:
    body = (
        b"\xef\xbb\xbf  category :compute ;  Scheme = http://schemas.ogf.org/occi/infrastructure#"
        b" ; CLASS=KIND;\n"
        b"x-occi-attribute:occi.compute.architecture = x64 ;\n"
        b"X-OCCI-ATTRIBUTE: occi.compute.cores=+2, occi.core.title=My VM\n"
        b"X-OCCI-Attribute: occi.compute.memory=1e3, occi.x.flag=True, occi.x.off=false\n"
        b"Link: /network/1 ; rel=http://schemas.ogf.org/occi/infrastructure#network ; "
        b"occi.core.title=eth0\n"
        b"\t; x.more=1\n"
        b"Location: http://h/compute/1\n"
        b"X-OCCI-Location: <http://h/compute/2>\n"
    )
    parsed = parsePlain(body)
    assert parsed.categories == (CategoryRef(INFRA, "compute", cls="kind"),)
    assert same(parsed, Document(
        categories=parsed.categories,
        attributes={"occi.compute.architecture": "x64", "occi.compute.cores": 2,
                    "occi.core.title": "My VM", "occi.compute.memory": 1000.0,
                    "occi.x.flag": True, "occi.x.off": False},
        links=(LinkRef("/network/1", rel=(NETWORK.identifier,),
                       attributes={"occi.core.title": "eth0", "x.more": 1}),),
        locations=("http://h/compute/1", "http://h/compute/2"),
    ))


def test_an_action_invocation_names_the_action_and_its_parameters() -> None:
    parsed = parsePlain(
        f'Category: stop; scheme="{ACTIONS}"; class="action"; title="Stop it"; '
        f'attributes="method"\nX-OCCI-Attribute: method="acpioff"\n'.encode())
    assert parsed.categories == (CategoryRef(ACTIONS, "stop", cls="action", title="Stop it",
                                             attributes=(CategoryRef.Attribute("method"),)),)
    assert parsed.attributes == {"method": "acpioff"}


def test_category_definitions_with_attributes_and_actions() -> None:
    parsed = parsePlain(
        b'Category: entity;scheme="http://schemas.ogf.org/occi/core#";class="kind";'
        b'title="entity";location="/entity/";attributes="occi.core.id{immutable required} '
        b'occi.core.title  x{ required  IMMUTABLE }";actions="http://a/b#c http://a/b#d"\n')
    (category,) = parsed.categories
    assert category.attributes == (
        CategoryRef.Attribute("occi.core.id", mutable=False, required=True),
        CategoryRef.Attribute("occi.core.title"),
        CategoryRef.Attribute("x", mutable=False, required=True))
    assert category.actions == ("http://a/b#c", "http://a/b#d")


def test_escapes_in_quoted_strings() -> None:
    """RFC 7230's quoted-pair is the only escape: a backslash quotes the next character."""
    parsed = parsePlain(
        b'X-OCCI-Attribute: a="q\\"b\\\\n\\n\\t\\u00e9\\x \xc3\xa9"\n')
    assert parsed.attributes == {"a": 'q"b\\nntu00e9x \u00e9'}


def test_action_links_sent_back_are_not_links() -> None:
    rendered = PLAIN.entity(EntityView(compute()), CONTEXT)
    assert parsePlain(rendered.body).links == ()


# -- refusals -----------------------------------------------------------------------------

REFUSALS = [
    (b"\xff\xfe", "not valid UTF-8"),
    (b"Category compute", "not of the form 'Name: value'"),
    (b"Kategorie: compute", "'Kategorie' field"),
    (b"Category: ", ""),  # nothing written, nothing read
    (b'Category: ; scheme="http://a#"', "needs a term"),
    (b"Category: compute", "needs its scheme"),
    (b'Category: compute; class="kind"', "needs its scheme"),
    (b"Category: com pute", "may hold only letters"),
    (b'Category: compute; scheme="http://a#', "not closed"),
    (b'Category: compute; scheme="http://a#"x', "after its closing quote"),
    (b"Category: compute; scheme=http://a#\"x", "not closed"),
    (b"Category: compute; scheme=http://a#\\x", "stray quote or backslash"),
    (b"Category: compute; scheme", "not of the form name=value"),
    (b'Category: compute; scheme=""', "not a URI"),
    (b'Category: compute; scheme="a b"', "not a URI"),
    (b'Category: compute; scheme="s#"; class="kindred"', "kind, mixin or action"),
    (b'Category: compute; scheme="s#"; colour="red"', "no Category parameter colour"),
    (b'Category: compute; class="kind"; class="kind"', "gives class twice"),
    (b'Category: compute; scheme="s#"; rel="nohash"', "not a category identifier"),
    (b'Category: compute; scheme="s#"; rel=""', "empty"),
    (b'Category: compute; scheme="s#"; location="/a b/"', "not a URI"),
    (b'Category: compute; scheme="s#"; attributes="a{mutable}"', "immutable and required"),
    (b'Category: compute; scheme="s#"; attributes="a{"', "cannot be read"),
    (b'Category: compute; scheme="s#"; actions="http://a#b c"', "not a category identifier"),
    (b"Link: ", ""),
    (b"Link: <>", "needs a target"),
    (b"Link: </a; rel=\"http://a#b\"", "not closed by '>'"),
    (b'Link: </a> x; rel="http://a#b"', "must be written as <URI>"),
    (b'Link: </a>; rel="http://a#b"; rel="http://a#c"', "gives rel twice"),
    (b'Link: </a>; self="a b"', "not a URI"),
    (b"Link: </a>; a.b=1; a.b=2", "gives the attribute a.b twice"),
    (b"Link: </a>; -x=1", "not of the form name=value"),
    (b"Link: </a>; " + b"x" * 300 + b"=1", "not an attribute name"),
    (b"Link: </a>; x=", "has no value"),
    (b"X-OCCI-Attribute: occi.core.title", "not of the form name=value"),
    (b"X-OCCI-Attribute: =1", "not an attribute name"),
    (b"X-OCCI-Attribute: a b=1", "not an attribute name"),
    (b"X-OCCI-Attribute: a=", "has no value"),
    (b'X-OCCI-Attribute: a="x" y', "after its closing quote"),
    (b'X-OCCI-Attribute: a=x"y"', "stray quote"),
    (b"X-OCCI-Attribute: a=1e999", "too large"),
    (b"X-OCCI-Attribute: a=" + b"1" * 301, "more than 300 digits"),
    (b"X-OCCI-Attribute: a=0." + b"1" * 400, "longer than 400"),
    (b"X-OCCI-Attribute: a=1\nX-OCCI-Attribute: a=2", "given twice"),
    (b"X-OCCI-Attribute: a=\x01", "control character"),
    (b"X-OCCI-Location: ", ""),  # empty: nothing to read, an empty document
    (b"X-OCCI-Location: a b", "not a URI"),
    (b"X-OCCI-Location: <http://a", "not closed by '>'"),
]


@pytest.mark.parametrize(("body", "words"), REFUSALS)
def test_malformed_text_is_refused_in_one_sentence(body: bytes, words: str) -> None:
    if not words:
        assert parsePlain(body) == Document()
        return
    with pytest.raises(BadRequest) as caught:
        parsePlain(body)
    assert words in str(caught.value)
    assertSentence(caught.value)
    if body.startswith((b"Link", b"Category")) or b"\n" in body:
        return
    # The same values in a header say what is wrong there too.
    name, _, value = body.decode("utf-8", "replace").partition(":")
    if value.strip() and name.lower() in ("category", "link", "x-occi-attribute",
                                          "x-occi-location"):
        with pytest.raises(BadRequest) as inHeader:
            parseOcci(b"", {name.lower(): [value]})
        assertSentence(inHeader.value)


def test_refusals_name_the_line_or_header() -> None:
    with pytest.raises(BadRequest, match=r"\(line 2\)"):
        parsePlain(b"X-OCCI-Attribute: a=1\nX-OCCI-Attribute: b=\n")
    with pytest.raises(BadRequest, match=r"\(the Category header\)"):
        parseOcci(b"", {"category": ['compute; scheme="s#"; class="x"']})


def test_limits_bound_what_is_read() -> None:
    with pytest.raises(BadRequest, match="more than 10000 lines"):
        parsePlain(b"\n" * limits.MAX_LINES + b"x")
    with pytest.raises(BadRequest, match=r"Line 1 .* longer than"):
        parsePlain(b"X-OCCI-Attribute: a=\"" + b"x" * limits.MAX_LINE + b'"')
    many = ", ".join(f"a{i}=1" for i in range(limits.MAX_ATTRIBUTES + 1))
    with pytest.raises(BadRequest, match="more than 1000 attributes"):
        parseOcci(b"", {"x-occi-attribute": [many]})
    with pytest.raises(BadRequest, match="more than 1000 attributes"):
        parsePlain(("Link: </a>; " + many.replace(", ", "; ")).encode())
    values = ", ".join(["/a"] * (limits.MAX_VALUES + 1))
    with pytest.raises(BadRequest, match="more than 10000 OCCI values"):
        parseOcci(b"", {"x-occi-location": [values]})
    with pytest.raises(BadRequest, match="more than 10000 OCCI header fields"):
        parseOcci(b"", {"x-occi-location": ["/a"] * (limits.MAX_LINES + 1)})
    with pytest.raises(BadRequest, match="hold more than"):
        parseOcci(b"", {"x-occi-location": ["/" + "a" * 2000] * 1100})
    with pytest.raises(BadRequest, match="header field is longer"):
        parseOcci(b"", {"link": ["x" * (limits.MAX_LINE + 1)]})
    with pytest.raises(BadRequest, match="continues a line"):
        parsePlain(b"X-OCCI-Attribute: a=\"" + b"x" * 200_000 + b"\n " + b"y" * 100_000)


def test_pathological_quotes_are_fast() -> None:
    # Possessive quantifiers: an unclosed quote over a long run never backtracks.
    body = b'Category: a; title="' + b"x\\" * 60_000 + b"\n"
    with pytest.raises(BadRequest):
        parsePlain(body)


# -- properties ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_parse_or_say_why(body: bytes) -> None:
    for parser in (parsePlain, parseOcci):
        parsesOrSaysWhy(parser, body, {})


_names = st.sampled_from(["category", "link", "x-occi-attribute", "x-occi-location",
                          "Category", "LINK", "host", "accept"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_names, st.lists(st.text(max_size=80), max_size=3), max_size=4))
def test_any_headers_parse_or_say_why(headers: dict[str, list[str]]) -> None:
    parsesOrSaysWhy(parseOcci, b"", headers)


# Pieces of the grammar, valid and not, put together at random.
_PIECES = [
    "compute", "; ", ";", ",", ", ", "=", " = ", '"', "\\", "<", ">", "{", "}", "#", " ", "\t",
    "scheme=", "class=", "title=", "rel=", "self=", "category=", "location=", "attributes=",
    "actions=", '"kind"', "kind", "mixin", '"http://s#t"', "http://s#t", '"a, b; c"',
    '"\\"x\\""', '"\\u00e9"', '"\\ud800"', '"\\ud83d\\ude00"', "</compute/1>",
    "</c/1?action=start>", '"/x/"', '"a{immutable required} b{x}"', "occi.core.id=",
    "1", "-2.5e3", "1e999", "true", "FALSE", "0.5", "\u00e9", "\x00", "9" * 320, "x" * 50,
]
_FIELD_NAMES = ["Category", "category", "LINK", "Link", "X-OCCI-Attribute", "X-OCCI-Location",
                "Location", "Foo", ""]
_values = st.lists(st.sampled_from(_PIECES), max_size=14).map("".join)
_lines = st.one_of(
    st.builds(lambda name, sep, value: name + sep + value, st.sampled_from(_FIELD_NAMES),
              st.sampled_from([": ", ":", " : ", " "]), _values),
    st.builds(lambda value: " " + value, _values),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_lines, max_size=6), st.sampled_from(["\n", "\r\n", "\r"]))
def test_near_valid_bodies_parse_or_say_why(lineList: list[str], eol: str) -> None:
    parsesOrSaysWhy(parsePlain, eol.join(lineList).encode("utf-8", "surrogatepass"))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["category", "link", "x-occi-attribute",
                                        "x-occi-location"]),
                       st.lists(_values, min_size=1, max_size=3), max_size=4))
def test_near_valid_headers_parse_or_say_why(headers: dict[str, list[str]]) -> None:
    parsesOrSaysWhy(parseOcci, b"", headers)


_SAMPLE = PLAIN.entity(computeWithInterface(), CONTEXT).body


@settings(max_examples=300, deadline=None)
@given(strategies.damages(_SAMPLE, b'";,<>=\\{}# \n\x00\xc3'))
def test_damaged_renderings_parse_or_say_why(body: bytes) -> None:
    parsesOrSaysWhy(parsePlain, body)


# Documents as clients write them, within what the text renderings can carry exactly.
_uriChars = st.text(alphabet="abcXYZ019:/?&=+%@!$'()*._~-[]", min_size=1, max_size=20)
_uri = st.builds(lambda a, b: a + b, st.sampled_from(["http://h/", "/", "urn:x:", ""]),
                 _uriChars).filter(lambda u: "?action=" not in u)
_scheme = st.builds(lambda u: u + "#", _uriChars)
_identifier = st.builds(lambda s, t: s + t, _scheme, strategies.terms)
_attributeName = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,12}", fullmatch=True)
_value = st.one_of(
    strategies.strings(20),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
_attributes = st.dictionaries(_attributeName, _value, max_size=5)
_documents = strategies.documents(
    strategies.strings(20), schemes=_scheme, uris=_uri, identifiers=_identifier,
    names=_attributeName, attributes=_attributes,
    # A link's rel, self and category are parameters of its own in the text renderings.
    linkAttributes=_attributes.map(
        lambda a: {k: v for k, v in a.items() if k.lower() not in ("rel", "self", "category")}),
    locations=_uri.filter(lambda u: "," not in u),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents)
def test_documents_round_trip(document: Document) -> None:
    assert same(parsePlain(formatPlain(document)), document)
    headers = formatHeaders(document)
    assert same(parseOcci(b"OK", headerMap(headers)), document)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.anyEntities(_value, link=False),
       st.lists(strategies.anyEntities(_value, link=True), max_size=3))
def test_entities_round_trip(resource: Entity, links: list[Entity]) -> None:
    view = EntityView(resource, links)
    for parsed in parsedBoth(view):
        assert same(parsed, expected(view)), parsed
    for link in links:
        for parsed in parsedBoth(EntityView(link)):
            assert same(parsed, expected(EntityView(link)))
