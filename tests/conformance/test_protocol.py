"""The rules of OCCI 1.2 (GFD.221, GFD.223, GFD.225, GFD.229) and HTTP that no schema sees,
each checked through HTTP against a server of its own."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import pytest_twisted

from tests.http.support import BASE, INFRA, Client

from .corpus import EXCHANGES, JSON, OCCI, PLAIN, corpus
from .validators import DATA, abnfParts

TAGS = "http://example.com/tags#"


async def _furnished() -> tuple[Client, dict[str, str]]:
    """A compute linked to a network, and an empty user mixin collection /tagged/."""
    client = Client()
    paths = {"network": await client.create("network"),
             "compute": await client.create("compute")}
    made = await client.request(
        "POST", "/networkinterface/", f'Category: networkinterface; scheme="{INFRA}"; '
        f'class="kind"\nX-OCCI-Attribute: occi.core.source="{paths["compute"]}"\n'
        f'X-OCCI-Attribute: occi.core.target="{paths["network"]}"\n',
        Content_Type=PLAIN, Accept=PLAIN)
    assert made.code == 201, made.text
    paths["networkinterface"] = (made.header("location") or "")[len(BASE):]
    defined = await client.request("POST", "/-/", f'Category: tagged; scheme="{TAGS}"; '
                                   'class="mixin"; location="/tagged/"\n', Content_Type=PLAIN)
    assert defined.code == 200, defined.text
    return client, paths


async def _json(client: Client, path: str, **headers: str) -> Any:
    answer = await client.request("GET", path, Accept=JSON, **headers)
    assert answer.code == 200, (answer.code, answer.text)
    return answer.json()


def _identifiers(categories: list[dict[str, Any]]) -> set[str]:
    return {category["scheme"] + category["term"] for category in categories}


# -- GFD.225: JSON shapes ---------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_link_collections_render_links() -> None:
    client, paths = await _furnished()
    listed = await _json(client, "/networkinterface/")
    assert list(listed) == ["links"]
    assert [link["id"] for link in listed["links"]] == [
        paths["networkinterface"].rpartition("/")[2]]
    assert await _json(client, "/storagelink/") == {"links": []}


@pytest_twisted.ensureDeferred
async def test_empty_members_are_left_out() -> None:
    """A storage with no mixin, no link: GFD.225 members of multiplicity 0..1 go, rather than
    be empty (rOCCI-core refuses an empty array)."""
    client = Client()
    path = await client.create("storage", "X-OCCI-Attribute: occi.storage.size=1\n")
    document = await _json(client, path)
    assert [name for name, value in document.items() if value == []] == []


@pytest_twisted.ensureDeferred
async def test_standalone_link_source_has_its_kind() -> None:
    client, paths = await _furnished()
    [embedded] = (await _json(client, paths["compute"]))["links"]
    alone = await _json(client, paths["networkinterface"])
    assert embedded["source"]["kind"] == f"{INFRA}compute"
    assert alone["source"] == embedded["source"]
    assert alone["target"] == embedded["target"]


# -- the query interface ----------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_query_interface_takes_a_bare_mixin() -> None:
    """GFD.225 Appendix A.5's mixin rendering, posted as it is printed."""
    client = Client()
    example = (DATA / "gfd225-a5-mixin.json").read_bytes()
    defined = await client.request("POST", "/-/", example, Content_Type=JSON)
    assert defined.code == 200, defined.text
    found = await _json(client, "/-/", Category='medium; scheme="http://example.com/template/'
                                                'resource#"; class="mixin"')
    assert "http://example.com/template/resource#medium" in _identifiers(found["mixins"])


@pytest_twisted.ensureDeferred
async def test_user_mixin_attribute_defaults_apply() -> None:
    client = Client()
    mixin = {"term": "fast", "scheme": TAGS, "location": "/fast/",
             "applies": [f"{INFRA}compute"], "attributes": {
                 "occi.compute.speed": {"type": "number", "default": 2.8},
                 "org.example.colour": {"type": "string", "default": "blue"}}}
    defined = await client.request("POST", "/-/", json.dumps({"mixins": [mixin]}),
                                   Content_Type=JSON)
    assert defined.code == 200, defined.text
    [shown] = (await _json(client, "/-/", Category=f'fast; scheme="{TAGS}"; '
                                                   'class="mixin"'))["mixins"]
    assert set(shown.get("attributes", {})) == set(mixin["attributes"])
    made = await client.request("POST", "/compute/", json.dumps({
        "kind": f"{INFRA}compute", "id": "speedy", "mixins": [f"{TAGS}fast"]}),
        Content_Type=JSON)
    assert made.code == 201, made.text
    attributes = (await _json(client, "/compute/speedy"))["attributes"]
    assert (attributes.get("occi.compute.speed"), attributes.get("org.example.colour")) \
        == (2.8, "blue")


@pytest_twisted.ensureDeferred
async def test_only_instantiable_kinds_have_a_location() -> None:
    client = Client()
    kinds = {kind["term"]: kind for kind in (await _json(client, "/-/"))["kinds"]
             if kind["scheme"] == "http://schemas.ogf.org/occi/core#"}
    assert "location" not in kinds["entity"]
    assert (await client.request("GET", "/entity/", Accept=JSON)).code == 404


def test_every_rendered_kind_is_in_the_query_interface() -> None:
    rendered = set()
    for exchange in EXCHANGES:
        document = corpus().answer(exchange.name, JSON)
        found = document.json() if document.body.strip() else None
        if isinstance(found, dict):  # not a list of locations, which names no kind
            for entity in [found, *found.get("resources", []), *found.get("links", [])]:
                if isinstance(entity, dict) and "kind" in entity:
                    rendered.add(entity["kind"])
    known = _identifiers(corpus().answer("query interface", JSON).json()["kinds"])
    assert rendered - known == set()


@pytest_twisted.ensureDeferred
async def test_filter_returns_related_categories() -> None:
    """Filtered by compute: compute, its actions, and the mixins that apply to it."""
    client = Client()
    everything = await _json(client, "/-/")
    [compute] = [kind for kind in everything["kinds"] if kind["term"] == "compute"]
    applying = {mixin["scheme"] + mixin["term"] for mixin in everything["mixins"]
                if f"{INFRA}compute" in mixin.get("applies", [])}
    assert applying, "no mixin applies to compute"
    found = await _json(client, "/-/", Category=f'compute; scheme="{INFRA}"; class="kind"')
    assert _identifiers(found.get("kinds", [])) == {f"{INFRA}compute"}
    assert _identifiers(found.get("actions", [])) >= set(compute["actions"])
    assert _identifiers(found.get("mixins", [])) >= applying


# -- collections ------------------------------------------------------------------------------


def _members(media: str, body: bytes) -> list[str]:
    if media == JSON:
        return [entity["id"] for entity in json.loads(body).get("resources", [])]
    return [line.rpartition("/")[2] for line in body.decode().split()
            if line.startswith(BASE)]


@pytest.mark.parametrize("media", [JSON, PLAIN])
@pytest_twisted.ensureDeferred
async def test_mixin_collection_changes_answer_with_the_collection(media: str) -> None:
    client, paths = await _furnished()
    other = await client.create()
    for method, member in (("POST", paths["compute"]), ("PUT", other), ("DELETE", other)):
        changed = await client.request(method, "/tagged/", f"X-OCCI-Location: {BASE}{member}\n",
                                       Content_Type=PLAIN, Accept=media)
        assert changed.code == 200, changed.text
        listed = await client.request("GET", "/tagged/", Accept=media)
        assert _members(media, changed.body) == _members(media, listed.body), method


# -- HTTP -------------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_each_representation_has_its_own_etag() -> None:
    client = Client()
    path = await client.create()
    tags = {media: (await client.request("GET", path, Accept=media)).header("etag")
            for media in (JSON, PLAIN, OCCI)}
    assert None not in tags.values() and len(set(tags.values())) == 3, tags
    revalidated = await client.request("GET", path, Accept=PLAIN, If_None_Match=tags[JSON])
    assert revalidated.code == 200


#: Methods no location takes, then the rest (DELETE last: where it is allowed, it deletes).
METHODS = ("OPTIONS", "PATCH", "TRACE", "PUT", "POST", "GET", "HEAD", "DELETE")


@pytest_twisted.ensureDeferred
async def test_allow_is_one_list_per_location() -> None:
    """Every 405 on a location gives the same Allow, and no method it lists is 405."""
    client, paths = await _furnished()
    for path in ("/", "/-/", "/compute/", paths["compute"], "/tagged/", "/log/",
                 f"{paths['compute']}/log/"):
        allows, refused = set(), set()
        for method in METHODS:
            answer = await client.request(method, path)
            if answer.code == 405:
                refused.add(method)
                allows.add(answer.header("allow"))
        assert len(allows) == 1, (path, allows)
        [allow] = allows
        assert refused & {name.strip() for name in (allow or "").split(",")} == set(), path


@pytest_twisted.ensureDeferred
async def test_answers_say_what_they_accept() -> None:
    client = Client()
    path = await client.create()
    for target in (path, "/compute/", "/-/"):
        accept = (await client.request("GET", target, Accept=JSON)).header("accept") or ""
        assert {PLAIN, OCCI, JSON} <= {item.split(";")[0].strip()
                                       for item in accept.split(",")}, target


FORMATS = {"text": PLAIN, "occi": OCCI, "json": JSON, "xml": "application/occi+xml",
           "descriptor": "text/x-occi-descriptor", "atom": "application/atom+xml"}


@pytest.mark.parametrize("form", list(FORMATS))
@pytest_twisted.ensureDeferred
async def test_get_modify_put_back(form: str) -> None:
    """GET a linked compute in a representation, change its title, PUT it back: the title
    changed and nothing else did."""
    client, paths = await _furnished()
    path = paths["compute"]
    named = await client.request("POST", path, 'X-OCCI-Attribute: occi.core.title="before"\n',
                                 Content_Type=PLAIN)
    assert named.code == 200, named.text
    before = await _json(client, path)
    got = await client.request("GET", f"{path}?format={form}")
    assert got.code == 200, got.text
    body, headers = got.body.replace(b'"before"', b'"after"'), {}
    if form == "occi":
        headers = {field.title(): ", ".join(got.headers[field]).replace('"before"', '"after"')
                   for field in ("category", "link", "x-occi-attribute") if field in got.headers}
    elif form in ("xml", "atom", "descriptor"):
        body = re.sub(rb"\bbefore\b", b"after", got.body)
    put = await client.request("PUT", path, body, Content_Type=FORMATS[form],
                               **{name.replace("-", "_"): value for name, value in headers.items()})
    assert put.code in (200, 201), (put.code, put.text)
    after = await _json(client, path)
    assert after.pop("title") == "after" and before.pop("title") == "before"
    assert after == before


@pytest_twisted.ensureDeferred
async def test_log_entries_are_negotiated() -> None:
    client = Client()
    path = await client.create()
    for feed in ("/log/", f"{path}/log/"):
        listed = await client.request("GET", feed, Accept="application/json")
        entry = await client.request("GET", listed.json()["entries"][0]["url"][len(BASE):],
                                     Accept="application/json")
        assert entry.code == 200
        assert (entry.header("content-type") or "").startswith("application/json"), feed
        assert "accept" in (entry.header("vary") or "").lower(), feed


# -- what independent parsers need ------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_every_link_carries_a_target() -> None:
    """ooi 1.2.0 reads a Link only with ``occi.core.target`` (its ``TextParser.parse_links``
    raises ``OCCIInvalidSchema`` otherwise); ooi itself does not import on Python 3.11, so its
    rule is checked here as it is written there."""
    client, paths = await _furnished()
    for media in (PLAIN, OCCI):
        answer = await client.request("GET", paths["compute"], Accept=media)
        fields = ([line for line in answer.body.decode().splitlines()
                   if line.lower().startswith("link:")] if media == PLAIN
                  else [f"Link: {field}" for field in answer.headers.get("link", [])])
        links = [value for field in fields for value in abnfParts("Link", field, "link-value")]
        assert links and all("occi.core.target=" in link for link in links), media

