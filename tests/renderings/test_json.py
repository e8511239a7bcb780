"""The GFD.225 JSON rendering: every shape parsed and rendered, round trips, and refusals."""

from __future__ import annotations

import json as stdjson
import math
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from occi_twisted.model import Description, Entity, Registry, newEntity
from occi_twisted.model.errors import BadRequest
from occi_twisted.model.infrastructure import (
    COMPUTE,
    MEDIUM,
    STOP,
    STORAGE,
    STORAGELINK,
    UBUNTU,
)
from occi_twisted.renderings.document import (
    CategoryRef,
    Document,
    EntityView,
    LinkRef,
)
from occi_twisted.renderings.json import JSONRenderer, attributeDescription, parse

from . import strategies
from .support import (
    CONTEXT,
    INFRA,
    SOURCE,
    TARGET,
    TARGET_KIND,
    compute,
    interface,
    network,
    refs,
)

RENDERER = JSONRenderer()


def titledInterface(source: Entity, target: Entity) -> Entity:
    """A network interface with a title and an address, which JSON writes apart."""
    return interface(source, target, **{"occi.core.title": "eth0",
                                        "occi.networkinterface.address": "10.0.0.2"})


# -- what a rendered entity must parse back into --------------------------------------------


def expectedInline(link: Entity) -> LinkRef:
    attributes = dict(link.attributes)
    target = str(attributes.pop(TARGET))
    targetKind = attributes.pop(TARGET_KIND, None)
    attributes[SOURCE] = CONTEXT.absolute(str(attributes[SOURCE]))
    return LinkRef(
        target=CONTEXT.absolute(target),
        rel=(str(targetKind),) if targetKind is not None else (),
        categories=tuple(ref.identifier for ref in refs(link)),
        attributes=attributes,
    )


def expected(view: EntityView) -> Document:
    entity = view.entity
    attributes = dict(entity.attributes)
    if entity.isLink:
        attributes[SOURCE] = CONTEXT.absolute(str(attributes[SOURCE]))
        attributes[TARGET] = CONTEXT.absolute(str(attributes[TARGET]))
        return Document(categories=refs(entity), attributes=attributes)
    return Document(categories=refs(entity), attributes=attributes,
                    links=tuple(expectedInline(link) for link in view.links))


def rendered(view: EntityView) -> Any:
    return stdjson.loads(RENDERER.entity(view, CONTEXT).body)


# -- rendering ------------------------------------------------------------------------------


def test_a_resource_has_gfd225s_members_and_its_links_in_full() -> None:
    vm, net = compute(), network()
    nic = titledInterface(vm, net)
    out = rendered(EntityView(vm, [nic]))
    assert list(out) == ["kind", "mixins", "attributes", "actions", "id", "links", "title"]
    assert out["kind"] == INFRA + "compute"
    assert out["mixins"] == [MEDIUM.identifier, UBUNTU.identifier]
    assert out["id"] == vm.id
    assert out["title"] == "web server"
    assert out["attributes"]["occi.compute.cores"] == 2
    assert "occi.core.id" not in out["attributes"]  # a member of its own
    assert STOP.identifier in out["actions"]
    (link,) = out["links"]
    assert link["kind"] == INFRA + "networkinterface"
    assert link["source"] == {"location": CONTEXT.absolute(vm.location),
                              "kind": INFRA + "compute"}
    assert link["target"] == {"location": CONTEXT.absolute(net.location),
                              "kind": INFRA + "network"}
    assert link["title"] == "eth0"
    assert SOURCE not in link["attributes"] and TARGET_KIND not in link["attributes"]


def test_a_link_has_gfd225s_members_and_its_ends() -> None:
    vm, net = compute(), network()
    out = rendered(EntityView(titledInterface(vm, net)))
    # No action: GFD.225's 0..1 members are left out rather than empty.
    assert list(out) == ["kind", "mixins", "attributes", "id", "source", "target", "title"]
    # Alone, a link does not record its source's kind: the context names it, if it can.
    assert out["source"] == {"location": CONTEXT.absolute(vm.location)}
    named = replace(CONTEXT, kindAt={vm.location: INFRA + "compute"}.get)
    alone = JSONRenderer().entity(EntityView(titledInterface(vm, net)), named).body
    assert stdjson.loads(alone)["source"] == {"location": CONTEXT.absolute(vm.location),
                                              "kind": INFRA + "compute"}


def test_summary_is_a_member() -> None:
    out = rendered(EntityView(compute(**{"occi.core.summary": "front end"})))
    assert out["summary"] == "front end"
    assert "occi.core.summary" not in out["attributes"]


def test_entity_body_is_ascii_and_content_type_as_asked() -> None:
    vm = compute(**{"occi.core.title": "Größe ☃ 𝄞"})
    for mediaType in ("application/occi+json", "application/json"):
        result = JSONRenderer(mediaType).entity(EntityView(vm), CONTEXT)
        assert result.contentType == mediaType
        assert result.body.isascii()
        assert stdjson.loads(result.body)["title"] == "Größe ☃ 𝄞"


def test_query_interface_shape() -> None:
    registry = Registry.standard()
    out = stdjson.loads(RENDERER.categories(list(registry), CONTEXT).body)
    assert list(out) == ["kinds", "mixins", "actions"]
    kinds = {k["term"]: k for k in out["kinds"]}
    assert kinds["compute"]["parent"] == "http://schemas.ogf.org/occi/core#resource"
    assert kinds["compute"]["location"] == "http://occi.example.com:8080/compute/"
    assert STOP.identifier in kinds["compute"]["actions"]
    cores = kinds["compute"]["attributes"]["occi.compute.cores"]
    assert cores["type"] == "number" and cores["mutable"] is True and cores["required"] is False
    assert cores["pattern"]["minimum"] == 1
    state = kinds["compute"]["attributes"]["occi.compute.state"]
    assert state["mutable"] is False and state["default"] == "inactive"
    assert state["pattern"]["enum"] == ["active", "inactive", "suspended", "error"]
    assert state["pattern"]["$schema"] == "http://json-schema.org/draft-04/schema#"
    hostname = kinds["compute"]["attributes"]["occi.compute.hostname"]["pattern"]["pattern"]
    assert hostname.startswith("^(?:") and hostname.endswith(")$")
    assert kinds["storage"]["attributes"]["occi.storage.size"]["required"] is True
    mixins = {m["term"]: m for m in out["mixins"]}
    assert mixins["medium"]["depends"] == [INFRA + "resource_tpl"]
    assert mixins["medium"]["applies"] == [INFRA + "compute"]
    assert mixins["medium"]["attributes"]["occi.compute.memory"]["default"] == 4.0
    actions = {a["scheme"] + a["term"]: a for a in out["actions"]}
    assert actions[STOP.identifier]["attributes"]["method"]["default"] == "graceful"
    assert "location" not in actions[STOP.identifier]


def test_empty_query_interface() -> None:
    """Empty members are left out (GFD.225: 0..1; rOCCI-core: minItems 1)."""
    assert stdjson.loads(RENDERER.categories([], CONTEXT).body) == {}


def test_locations_are_an_array_of_absolute_uris() -> None:
    out = RENDERER.locations(["/compute/1", "http://elsewhere.example/compute/2"], CONTEXT)
    assert stdjson.loads(out.body) == [
        "http://occi.example.com:8080/compute/1", "http://elsewhere.example/compute/2"]


def test_a_message_is_an_object_with_its_sentence() -> None:
    out = RENDERER.message("Deleted /compute/1.", CONTEXT)
    assert stdjson.loads(out.body) == {"message": "Deleted /compute/1."}


def stream(views: list[EntityView]) -> bytes:
    """The pieces as the HTTP layer writes them: resources first, then links, each sort's
    first item flagged."""
    resources = [v for v in views if not v.entity.isLink]
    links = [v for v in views if v.entity.isLink]
    pieces = [RENDERER.collectionStart(CONTEXT)]
    for group in (resources, links):
        pieces.extend(RENDERER.collectionItem(v, i == 0, CONTEXT) for i, v in enumerate(group))
    pieces.append(RENDERER.collectionEnd(CONTEXT))
    return b"".join(pieces)


@pytest.mark.parametrize("shape", ["empty", "resources", "links", "both"])
def test_streamed_collection_is_one_gfd225_document(shape: str) -> None:
    vm, net = compute(), network()
    nic = titledInterface(vm, net)
    resources = [EntityView(vm, [nic]), EntityView(net)]
    links = [EntityView(nic)]
    views = {"empty": [], "resources": resources, "links": links,
             "both": [resources[0], links[0], resources[1]]}[shape]
    body = stream(views)
    out = stdjson.loads(body)
    assert [r["id"] for r in out["resources"]] == [
        v.entity.id for v in views if not v.entity.isLink]
    assert [link["id"] for link in out.get("links", [])] == [
        v.entity.id for v in views if v.entity.isLink]
    document = parse(body)
    ordered = [v for v in views if not v.entity.isLink] + [v for v in views if v.entity.isLink]
    assert document.entities == tuple(expected(v) for v in ordered)


# -- round trips ----------------------------------------------------------------------------


def test_resource_round_trip() -> None:
    vm, net = compute(**{"occi.core.summary": "s"}), network()
    view = EntityView(vm, [titledInterface(vm, net)])
    assert parse(RENDERER.entity(view, CONTEXT).body) == expected(view)


def test_link_round_trip() -> None:
    view = EntityView(titledInterface(compute(), network()))
    assert parse(RENDERER.entity(view, CONTEXT).body) == expected(view)


def test_storage_and_storagelink_round_trip() -> None:
    disk = newEntity(Description(kind=STORAGE, attributes={"occi.storage.size": 10.5}))
    vm = compute()
    link = newEntity(Description(kind=STORAGELINK, attributes={
        SOURCE: vm.location, TARGET: disk.location, "occi.storagelink.deviceid": "vda"}))
    for view in (EntityView(disk), EntityView(vm, [link]), EntityView(link)):
        assert parse(RENDERER.entity(view, CONTEXT).body) == expected(view)


def test_query_interface_round_trip() -> None:
    categories = list(Registry.standard())
    document = parse(RENDERER.categories(categories, CONTEXT).body)
    byId = {ref.identifier: ref for ref in document.categories}
    assert set(byId) == {c.identifier for c in categories}
    for category in categories:
        ref = byId[category.identifier]
        assert ref.cls == category.categoryClass
        assert ref.title == (category.title or None)
        assert ref.attributes == tuple(
            CategoryRef.Attribute(
                d.name, type=d.type.jsonType, mutable=d.mutable, required=d.required,
                default=d.default, description=d.description or None,
                pattern=attributeDescription(d).get("pattern"))  # type: ignore[arg-type]
            for d in category.attributes)
        location = getattr(category, "location", None)
        assert ref.location == (CONTEXT.absolute(location) if location else None)
        actions = getattr(category, "actions", ())
        assert ref.actions == tuple(a.identifier for a in actions)
    assert byId[COMPUTE.identifier].rel == ("http://schemas.ogf.org/occi/core#resource",)
    assert byId[MEDIUM.identifier].rel == (INFRA + "resource_tpl", INFRA + "compute")


def test_locations_round_trip() -> None:
    locations = ["/compute/1", "/network/2"]
    document = parse(RENDERER.locations(locations, CONTEXT).body)
    assert document == Document(locations=tuple(CONTEXT.absolute(x) for x in locations))


@st.composite
def _entities(draw: st.DrawFn, link: bool) -> Entity:
    """Entities with any attributes, and the Core attributes JSON writes as members."""
    names = strategies.dottedNames(segments=1)
    entity = draw(strategies.anyEntities(strategies.jsonValues, link, names=names))
    core: dict[str, object] = {}
    if draw(st.booleans()):
        core["occi.core.title"] = draw(st.text(max_size=20))
    if not link and draw(st.booleans()):
        core["occi.core.summary"] = draw(st.text(max_size=20))
    return replace(entity, attributes={**entity.attributes, **core})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_entities(link=False), st.lists(_entities(link=True), max_size=3))
def test_rendered_then_parsed_is_lossless(resource: Entity, links: list[Entity]) -> None:
    view = EntityView(resource, links)
    assert parse(RENDERER.entity(view, CONTEXT).body) == expected(view)
    for link in links:
        linkView = EntityView(link)
        assert parse(RENDERER.entity(linkView, CONTEXT).body) == expected(linkView)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_entities(link=False), _entities(link=True)), max_size=6))
def test_streamed_collections_round_trip(entities: list[Entity]) -> None:
    views = [EntityView(e) for e in entities]
    ordered = [v for v in views if not v.entity.isLink] + [v for v in views if v.entity.isLink]
    assert parse(stream(views)).entities == tuple(expected(v) for v in ordered)


# -- the examples of GFD.225's appendix ------------------------------------------------------
# Copied from the specification, with its typos mended: the link examples write
# ``"location:"/network/…``, and the kind example misses a comma and escapes ``\S``.

RESOURCE_EXAMPLE = b"""{
    "kind": "http://schemas.ogf.org/occi/infrastructure#compute",
    "mixins": [
        "http://example.com/occi/infrastructure/os_tpl#debian9",
        "http://example.com/occi/infrastructure/resource_tpl#medium"
    ],
    "attributes": {
        "occi.compute.speed": 2,
        "occi.compute.memory": 4,
        "occi.compute.cores": 2,
        "com.example.occi.templates.myosmixin": {
            "mykey": "myvalue"
        }
    },
    "actions": [
        "http://schemas.ogf.org/occi/infrastructure/compute/action#start"
    ],
    "id": "urn:uuid:996ad860-2a9a-504f-8861-aeafd0b2ae29",
    "links": [
        {
            "kind":"http://schemas.ogf.org/occi/infrastructure#networkinterface",
            "mixins":[
                "http://schemas.ogf.org/occi/infrastructure/networkinterface#ipnetworkinterface"
            ],
            "attributes":{
                "occi.infrastructure.networkinterface.interface":"eth0",
                "occi.infrastructure.networkinterface.mac":"00:80:41:ae:fd:7e",
                "occi.infrastructure.networkinterface.address":"192.168.0.100",
                "occi.infrastructure.networkinterface.gateway":"192.168.0.1",
                "occi.infrastructure.networkinterface.allocation":"dynamic"
            },
            "actions":[
                "http://schemas.ogf.org/occi/infrastructure/networkinterface/action#up",
                "http://schemas.ogf.org/occi/infrastructure/networkinterface/action#down"
            ],
            "id":"urn:uuid:22fe83ae-a20f-54fc-b436-cec85c94c5e8",
            "target": {
                "location":"/network/b7d55bf4-7057-5113-85c8-141871bf7635",
                "kind":"http://schemas.ogf.org/occi/infrastructure#network"
            },
            "source": {
                "location":"/compute/996ad860-2a9a-504f-8861-aeafd0b2ae29",
                "kind":"http://schemas.ogf.org/occi/infrastructure#compute"
            }
        }
    ]
}"""

NIC_ATTRIBUTES = {
    "occi.infrastructure.networkinterface.interface": "eth0",
    "occi.infrastructure.networkinterface.mac": "00:80:41:ae:fd:7e",
    "occi.infrastructure.networkinterface.address": "192.168.0.100",
    "occi.infrastructure.networkinterface.gateway": "192.168.0.1",
    "occi.infrastructure.networkinterface.allocation": "dynamic",
}


def test_gfd225_resource_example() -> None:
    document = parse(RESOURCE_EXAMPLE)
    assert document.categories == (
        CategoryRef(INFRA, "compute", cls="kind"),
        CategoryRef("http://example.com/occi/infrastructure/os_tpl#", "debian9", cls="mixin"),
        CategoryRef("http://example.com/occi/infrastructure/resource_tpl#", "medium",
                    cls="mixin"),
    )
    assert document.attributes == {
        "occi.compute.speed": 2,
        "occi.compute.memory": 4,
        "occi.compute.cores": 2,
        "com.example.occi.templates.myosmixin": {"mykey": "myvalue"},
        "occi.core.id": "urn:uuid:996ad860-2a9a-504f-8861-aeafd0b2ae29",
    }
    assert document.links == (
        LinkRef(
            target="/network/b7d55bf4-7057-5113-85c8-141871bf7635",
            rel=(INFRA + "network",),
            categories=(
                INFRA + "networkinterface",
                "http://schemas.ogf.org/occi/infrastructure/networkinterface#ipnetworkinterface",
            ),
            attributes={
                **NIC_ATTRIBUTES,
                "occi.core.id": "urn:uuid:22fe83ae-a20f-54fc-b436-cec85c94c5e8",
                SOURCE: "/compute/996ad860-2a9a-504f-8861-aeafd0b2ae29",
            },
        ),
    )


LINK_EXAMPLE = b"""{
    "kind":"http://schemas.ogf.org/occi/infrastructure#networkinterface",
    "mixins":[
        "http://schemas.ogf.org/occi/infrastructure/networkinterface#ipnetworkinterface"
    ],
    "attributes":{
        "occi.infrastructure.networkinterface.interface":"eth0",
        "occi.infrastructure.networkinterface.mac":"00:80:41:ae:fd:7e",
        "occi.infrastructure.networkinterface.address":"192.168.0.100",
        "occi.infrastructure.networkinterface.gateway":"192.168.0.1",
        "occi.infrastructure.networkinterface.allocation":"dynamic"
    },
    "actions":[
        "http://schemas.ogf.org/occi/infrastructure/networkinterface/action#up",
        "http://schemas.ogf.org/occi/infrastructure/networkinterface/action#down"
    ],
    "id":"urn:uuid:22fe83ae-a20f-54fc-b436-cec85c94c5e8",
    "target": {
        "location":"/network/b7d55bf4-7057-5113-85c8-141871bf7635",
        "kind":"http://schemas.ogf.org/occi/infrastructure#network"
    },
    "source": {
        "location":"/compute/996ad860-2a9a-504f-8861-aeafd0b2ae29",
        "kind":"http://schemas.ogf.org/occi/infrastructure#compute"
    }
}"""


def test_gfd225_link_example() -> None:
    document = parse(LINK_EXAMPLE)
    assert document.categories[0] == CategoryRef(INFRA, "networkinterface", cls="kind")
    assert document.attributes == {
        **NIC_ATTRIBUTES,
        "occi.core.id": "urn:uuid:22fe83ae-a20f-54fc-b436-cec85c94c5e8",
        SOURCE: "/compute/996ad860-2a9a-504f-8861-aeafd0b2ae29",
        TARGET: "/network/b7d55bf4-7057-5113-85c8-141871bf7635",
        TARGET_KIND: INFRA + "network",
    }
    assert document.links == ()


def test_gfd225_action_invocation_example() -> None:
    document = parse(b"""{
        "action":"http://schemas.ogf.org/occi/infrastructure/compute/action#stop",
        "attributes":{
            "method":"graceful"
        }
    }""")
    assert document == Document(
        action=CategoryRef("http://schemas.ogf.org/occi/infrastructure/compute/action#", "stop",
                           cls="action"),
        attributes={"method": "graceful"},
    )


KIND_EXAMPLE = r"""{
    "term":"compute",
    "scheme":"http://schemas.ogf.org/occi/infrastructure#",
    "title":"ComputeResource",
    "parent":"http://schemas.ogf.org/occi/core#resource",
    "attributes":{
        "occi.compute.hostname":{
            "mutable":true,
            "required":false,
            "type":"string",
            "description":"Hostname of the compute resource",
            "pattern": {
                "$schema": "http://json-schema.org/draft-04/schema#",
                "type": "string",
                "pattern": "\\S+"
            }
        },
        "occi.compute.state":{
            "mutable":false,
            "required":false,
            "type":"string",
            "default":"inactive",
            "description":"State the compute resource is in"
        }
    },
    "actions":[
        "http://schemas.ogf.org/occi/infrastructure/compute/action#start",
        "http://schemas.ogf.org/occi/infrastructure/compute/action#stop",
        "http://schemas.ogf.org/occi/infrastructure/compute/action#restart",
        "http://schemas.ogf.org/occi/infrastructure/compute/action#suspend"
    ],
    "location":"/compute/"
}"""

MIXIN_EXAMPLE = """{
    "term":"medium",
    "scheme":"http://example.com/template/resource#",
    "depends":[
        "http://schemas.ogf.org/occi/infrastructure#resourcetpl"
    ],
    "applies":[
        "http://schemas.ogf.org/occi/infrastructure#compute"
    ],
    "attributes":{
        "occi.compute.speed":{
            "type":"number",
            "default":2.8
        }
    },
    "title":"MediumVM",
    "location":"/template/resource/medium/"
}"""

ACTION_EXAMPLE = """{
    "term":"stop",
    "scheme":"http://schemas.ogf.org/occi/infrastructure/compute/action#",
    "title":"StopComputeinstance",
    "attributes":{
        "method":{
            "mutable":true,
            "required":false,
            "type":"string",
            "default":"poweroff"
        }
    }
}"""

COMPUTE_ACTIONS = "http://schemas.ogf.org/occi/infrastructure/compute/action#"


def test_gfd225_category_examples_as_a_collection() -> None:
    body = f'{{"kinds": [{KIND_EXAMPLE}], "mixins": [{MIXIN_EXAMPLE}], ' \
           f'"actions": [{ACTION_EXAMPLE}]}}'
    document = parse(body.encode())
    assert document.categories == (
        CategoryRef(
            INFRA, "compute", cls="kind", title="ComputeResource", location="/compute/",
            rel=("http://schemas.ogf.org/occi/core#resource",),
            attributes=(
                CategoryRef.Attribute("occi.compute.hostname", type="string", mutable=True,
                             description="Hostname of the compute resource", pattern={
                                 "$schema": "http://json-schema.org/draft-04/schema#",
                                 "type": "string", "pattern": "\\S+"}),
                CategoryRef.Attribute("occi.compute.state", type="string", mutable=False,
                             default="inactive",
                             description="State the compute resource is in")),
            actions=tuple(COMPUTE_ACTIONS + t for t in ("start", "stop", "restart", "suspend")),
        ),
        CategoryRef(
            "http://example.com/template/resource#", "medium", cls="mixin", title="MediumVM",
            location="/template/resource/medium/",
            rel=(INFRA + "resourcetpl", INFRA + "compute"),
            # GFD.225: what a description leaves out is immutable and not required.
            attributes=(CategoryRef.Attribute("occi.compute.speed", type="number", mutable=False,
                                     default=2.8),),
        ),
        CategoryRef(COMPUTE_ACTIONS, "stop", cls="action", title="StopComputeinstance",
                    attributes=(CategoryRef.Attribute("method", type="string",
                                                      default="poweroff"),)),
    )
    assert document.entities == ()


def test_a_category_alone_reads_as_in_a_collection() -> None:
    """GFD.225 Appendix A.5 posts a mixin alone; a kind alone says so by its parent."""
    inCollection = parse(f'{{"kinds": [{KIND_EXAMPLE}], "mixins": [{MIXIN_EXAMPLE}]}}'
                         .encode()).categories
    assert (parse(KIND_EXAMPLE.encode()).categories
            + parse(MIXIN_EXAMPLE.encode()).categories) == inCollection
    assert parse(b'{"term": "t", "scheme": "http://e#"}').categories == (
        CategoryRef("http://e#", "t", cls="mixin"),)
    with pytest.raises(BadRequest, match="no member 'kind' for a mixin"):
        parse(b'{"term": "t", "scheme": "http://e#", "kind": "http://e#k"}')


def test_mixin_definition_for_the_query_interface() -> None:
    document = parse(b"""{"mixins": [{"term": "my_tag", "scheme": "http://example.com/tags#",
                                      "title": "Mine", "location": "/my_tag/"}]}""")
    assert document == Document(categories=(
        CategoryRef("http://example.com/tags#", "my_tag", cls="mixin", title="Mine",
                    location="/my_tag/"),))


def test_entity_collection_of_resources_and_links() -> None:
    document = parse(b"""{
        "resources": [{"kind": "http://schemas.ogf.org/occi/infrastructure#compute",
                       "attributes": {"occi.compute.cores": 2}}],
        "links": [{"kind": "http://schemas.ogf.org/occi/infrastructure#networkinterface",
                   "source": {"location": "/compute/1"},
                   "target": {"location": "/network/2"}}]
    }""")
    assert document.entities == (
        Document(categories=(CategoryRef(INFRA, "compute", cls="kind"),),
                 attributes={"occi.compute.cores": 2}),
        Document(categories=(CategoryRef(INFRA, "networkinterface", cls="kind"),),
                 attributes={SOURCE: "/compute/1", TARGET: "/network/2"}),
    )


def test_a_partial_update_naming_only_mixins() -> None:
    document = parse(b'{"mixins": ["http://schemas.ogf.org/occi/infrastructure#os_tpl"]}')
    assert document == Document(categories=(CategoryRef(INFRA, "os_tpl", cls="mixin"),))


def test_creation_without_kind_or_id() -> None:
    # POST /compute/ implies the kind; the server chooses the id.
    document = parse(b'{"attributes": {"occi.compute.cores": 2, "occi.compute.memory": 2048}}')
    assert document == Document(attributes={"occi.compute.cores": 2,
                                            "occi.compute.memory": 2048})


def test_members_and_attributes_may_both_say_the_same() -> None:
    # rOCCI writes occi.core.id both as "id" and among the attributes.
    document = parse(b'{"id": "a1", "title": "t", "attributes": {"occi.core.id": "a1"}}')
    assert document.attributes == {"occi.core.id": "a1", "occi.core.title": "t"}


def test_a_link_end_may_be_a_bare_location() -> None:
    document = parse(b'{"source": "/compute/1", "target": "/network/2", '
                     b'"rel": "http://schemas.ogf.org/occi/infrastructure#network"}')
    assert document.attributes == {SOURCE: "/compute/1", TARGET: "/network/2",
                                   TARGET_KIND: INFRA + "network"}


@pytest.mark.parametrize("body", [b"", b"  \n", b"{}", b"\xef\xbb\xbf{}"])
def test_empty_bodies_are_empty_documents(body: bytes) -> None:
    assert parse(body) == Document()


def test_the_parser_takes_headers() -> None:
    assert parse(b"[]", {"content-type": ["application/json"]}) == Document()


# -- refusals: always BadRequest, always one sentence ---------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{", "not valid JSON"),
        (b'{"kind": "a#b",}', "not valid JSON"),
        (b"{} {}", "not valid JSON"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"42", "must be an object or an array"),
        (b'"compute"', "must be an object or an array"),
        (b"null", "must be an object or an array"),
        (b'{"kind": 5}', "kind must be a string, not a number"),
        (b'{"kind": "compute"}', "category identifier"),
        (b'{"kind": "http://x#"}', "category identifier"),
        (b'{"mixins": "http://x#y"}', "mixins must be an array"),
        (b'{"mixins": ["http://x#y", 3]}', "mixins[1] must be a string"),
        (b'{"attributes": []}', "attributes must be an object"),
        (b'{"attributes": {"a": null}}', "null"),
        (b'{"attributes": {"a b": 1}}', "not an attribute name"),
        (b'{"attributes": {"": 1}}', "not an attribute name"),
        (b'{"kinds": [{"term": "x"}]}', "scheme is missing"),
        (b'{"kinds": [{"term": 1, "scheme": "http://x#"}]}', "term must be a string"),
        (b'{"mixins": [{"term": "x", "scheme": "http://x#", "colour": "red"}]}', "colour"),
        (b'{"kinds": [{"term": "x", "scheme": "s#", "attributes": {"a": {"mutable": "yes"}}}]}',
         "true or false"),
        (b'{"kinds": [{"term": "x", "scheme": "s#", "attributes": {"a": {"kind": 1}}}]}',
         "no member"),
        (b'{"kinds": {}}', "must be an array"),
        (b'{"resources": [1]}', "resources[0] must be an object"),
        (b'{"links": [{"target": {}}]}', "location is missing"),
        (b'{"links": [{"target": {"location": "a b"}}]}', "not a location"),
        (b'{"links": [{"target": {"location": "/n/1", "href": "x"}}]}', "no member"),
        (b'{"links": [{"kind": "http://x#y"}]}', "target is missing"),
        (b'{"kind": "http://x#y", "atributes": {}}', "'atributes'"),
        (b'{"kind": "http://x#y", "links": [{"target": "/n/1", "links": []}]}', "no member"),
        (b'{"action": 1}', "action must be a string"),
        (b'{"action": "http://x#y", "kind": "http://x#z"}', "'kind'"),
        (b'{"id": "a", "attributes": {"occi.core.id": "b"}}', "disagree"),
        (b'{"target": {"location": "/n/1", "kind": "k#t"}, "attributes": '
         b'{"occi.core.target.kind": "k#u"}}', "disagree"),
        (b'{"target": "/n/1", "attributes": {"occi.core.target.kind": 5}}',
         "must be a string"),
        (b'{"a": 1, "a": 2}', "twice"),
        (b'{"attributes": {"x": NaN}}', "not a JSON value"),
        (b'{"attributes": {"x": Infinity}}', "not a JSON value"),
        (b'{"attributes": {"x": 1e999}}', "too large"),
        (b'{"attributes": {"x": ' + b"9" * 5000 + b"}}", "more than 300 digits"),
        (b'{"attributes": {"x": -' + b"9" * 301 + b"}}", "more than 300 digits"),
        (b'{"attributes": {"x": "\\ud800"}}', "Unicode"),
        (b'{"attributes": {"x": {"\\udfff": 1}}}', "Unicode"),
        (b'{"title": "\\udc00"}', "Unicode"),
        (b'{"attributes": {"x": ' + b"[" * 40 + b"]" * 40 + b"}}", "nested"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
        (b'["/compute/1", 2]', "[1] must be a string"),
        (b'[""]', "not a location"),
        (b'{"kind": "http://x#y", "links": {}}', "links must be an array"),
    ],
)
def test_malformed_json_is_refused_in_one_sentence(body: bytes, words: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse(body)
    message = caught.value.message
    assert words in message
    assert message.endswith(".") and "\n" not in message and len(message) < 300


_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=20,
)
_member = st.sampled_from(["kind", "mixins", "attributes", "actions", "id", "links", "summary",
                           "title", "source", "target", "rel", "location", "term", "scheme",
                           "resources", "kinds", "action", "depends", "applies", "parent"])
#: Objects built from GFD.225's member names, so that the parser goes deep.
_shaped = st.recursive(
    st.one_of(_json, st.just("http://schemas.ogf.org/occi/infrastructure#compute"),
              st.just("/compute/1")),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(_member, inner, max_size=5)),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_say_why(body: bytes) -> None:
    _parsesOrRefuses(body)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_json, _shaped))
def test_any_json_value_parses_or_says_why(value: object) -> None:
    _parsesOrRefuses(stdjson.dumps(value).encode())


def _parsesOrRefuses(body: bytes) -> None:
    try:
        document = parse(body)
    except BadRequest as error:
        assert error.message and "\n" not in error.message
        return
    assert isinstance(document, Document)
    for value in document.attributes.values():
        assert value is not None
        assert not (isinstance(value, float) and not math.isfinite(value))
