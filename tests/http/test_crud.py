"""CRUD over HTTP on the real application (memory store, simulated driver)."""

from __future__ import annotations

import json

import pytest_twisted as pt

from .support import BASE, INFRA, Client

TEXT = {"Content_Type": "text/plain", "Accept": "text/plain"}


@pt.ensureDeferred
async def test_walkthrough_form_create_retrieve_update_delete() -> None:
    client = Client()
    created = await client.request(
        "POST", "/compute/", "compute.cores=2&compute.memory=2048",
        Content_Type="application/x-www-form-urlencoded", Accept="text/plain")
    assert created.code == 201, created.text
    location = created.header("location")
    assert location is not None and location.startswith(BASE + "/compute/")
    path = location[len(BASE):]

    got = await client.request("GET", path, Accept="text/plain")
    assert got.code == 200
    assert "occi.compute.cores=2" in got.text
    assert "occi.compute.memory=2048" in got.text
    assert "OCCI/1.2" in (got.header("server") or "")

    updated = await client.request("PUT", path, got.text, **TEXT)
    assert updated.code == 200, updated.text

    partial = await client.request(
        "POST", path, "X-OCCI-Attribute: occi.compute.cores=4\n", **TEXT)
    assert partial.code == 200, partial.text
    assert "occi.compute.cores=4" in partial.text

    deleted = await client.request("DELETE", path)
    assert deleted.code == 200
    gone = await client.request("GET", path, Accept="text/plain")
    assert gone.code == 404


@pt.ensureDeferred
async def test_json_create_with_template_and_link() -> None:
    client = Client()
    network = await client.create("network")
    body = {
        "kind": f"{INFRA}compute",
        "mixins": ["http://schemas.occi-twisted.org/occi/infrastructure/resource_tpl#large"],
        "attributes": {"occi.core.title": "db"},
        "links": [{"kind": f"{INFRA}networkinterface",
                   "target": {"location": network, "kind": f"{INFRA}network"}}],
    }
    created = await client.request("POST", "/compute/", json.dumps(body),
                                   Content_Type="application/occi+json",
                                   Accept="application/occi+json")
    assert created.code == 201, created.text
    rendered = created.json()
    assert rendered["attributes"]["occi.compute.cores"] == 4
    assert len(rendered["links"]) == 1
    link = rendered["links"][0]
    assert link["kind"] == f"{INFRA}networkinterface"
    assert link["attributes"]["occi.networkinterface.mac"]
    compute = created.header("location")[len(BASE):]  # type: ignore[index]
    text = await client.request("GET", compute, Accept="text/plain")
    assert f"<{network}>" in text.text or f"{BASE}{network}" in text.text

    # Deleting the resource deletes its link.
    assert (await client.request("DELETE", compute)).code == 200
    links = await client.request("GET", "/networkinterface/", Accept="text/uri-list")
    assert links.text.strip() == ""


@pt.ensureDeferred
async def test_put_creates_at_client_id_then_replaces() -> None:
    client = Client()
    body = (f'Category: storage; scheme="{INFRA}"; class="kind"\n'
            "X-OCCI-Attribute: occi.storage.size=10.0\n")
    created = await client.request("PUT", "/storage/disk-1", body, **TEXT)
    assert created.code == 201, created.text
    assert created.header("location") == f"{BASE}/storage/disk-1"
    replaced = await client.request("PUT", "/storage/disk-1",
                                    body.replace("10.0", "20.0"), **TEXT)
    assert replaced.code == 200
    assert "occi.storage.size=20" in replaced.text
    clash = await client.request("PUT", "/compute/disk-1",
                                 f'Category: compute; scheme="{INFRA}"; class="kind"\n', **TEXT)
    assert clash.code == 409


@pt.ensureDeferred
async def test_actions_change_state_and_refuse_invalid_transitions() -> None:
    client = Client()
    path = await client.create()
    started = await client.request("POST", path + "?action=start", "", **TEXT)
    assert started.code == 200, started.text
    assert 'occi.compute.state="active"' in started.text
    stopped = await client.request(
        "POST", path + "?action=stop",
        'Category: stop; scheme="http://schemas.ogf.org/occi/infrastructure/compute/action#";'
        ' class="action"\nX-OCCI-Attribute: method="acpioff"\n', **TEXT)
    assert stopped.code == 200, stopped.text
    assert 'occi.compute.state="inactive"' in stopped.text
    refused = await client.request("POST", path + "?action=suspend", "", **TEXT)
    assert refused.code == 409
    assert "inactive" in refused.text
    bad = await client.request("POST", path + "?action=stop",
                               'X-OCCI-Attribute: method="yank"\n', **TEXT)
    assert bad.code == 400
    unknown = await client.request("POST", path + "?action=fly", "", **TEXT)
    assert unknown.code == 400


@pt.ensureDeferred
async def test_collection_action_listing_filtering_paging() -> None:
    client = Client()
    paths = [await client.create(body=f"X-OCCI-Attribute: occi.compute.cores={n % 3 + 1}\n")
             for n in range(12)]
    listing = await client.request("GET", "/compute/", Accept="text/uri-list")
    assert listing.code == 200
    assert [line[len(BASE):] for line in listing.text.split()] == paths

    filtered = await client.request("GET", "/compute/", Accept="text/uri-list",
                                    X_OCCI_Attribute="occi.compute.cores=2")
    assert len(filtered.text.split()) == 4
    byQuery = await client.request("GET", "/compute/?occi.compute.cores=3",
                                   Accept="text/uri-list")
    assert len(byQuery.text.split()) == 4

    page2 = await client.request("GET", "/compute/?page=2&number=5", Accept="text/uri-list")
    assert [line[len(BASE):] for line in page2.text.split()] == paths[5:10]
    tooMany = await client.request("GET", "/compute/?number=100000", Accept="text/plain")
    assert tooMany.code == 413

    acted = await client.request("POST", "/compute/?action=start", "", **TEXT)
    assert acted.code == 200
    active = await client.request("GET", "/compute/", Accept="text/uri-list",
                                  X_OCCI_Attribute='occi.compute.state="active"')
    assert len(active.text.split()) == 12

    deleted = await client.request("DELETE", "/compute/")
    assert deleted.code == 200
    empty = await client.request("GET", "/compute/", Accept="text/uri-list")
    assert empty.text.strip() == ""


@pt.ensureDeferred
async def test_user_mixins_and_mixin_collections() -> None:
    client = Client()
    one, two = await client.create(), await client.create()
    defined = await client.request(
        "POST", "/-/",
        'Category: tagged; scheme="http://example.com/tags#"; class="mixin"; '
        'location="/tagged/"\n', **TEXT)
    assert defined.code == 200, defined.text
    query = await client.request("GET", "/-/", Accept="text/plain")
    assert 'tagged; scheme="http://example.com/tags#"' in query.text
    wellKnown = await client.request("GET", "/.well-known/org/ogf/occi/-/", Accept="text/plain")
    assert wellKnown.body == query.body

    associated = await client.request("POST", "/tagged/", f"X-OCCI-Location: {BASE}{one}\n",
                                      **TEXT)
    assert associated.code == 200, associated.text
    assert associated.text.splitlines() == [f"X-OCCI-Location: {BASE}{one}"]  # the collection
    # A browser's form is sent on to a page (Post/Redirect/Get) rather than shown the list.
    formed = await client.treq.request(
        "POST", f"{BASE}/tagged/", data=f"_method=DELETE&location={one}".encode(),
        allow_redirects=False, headers={"Content-Type": ["application/x-www-form-urlencoded"],
                                        "Accept": ["text/html"]})
    assert formed.code == 303
    members = await client.request("GET", "/tagged/", Accept="text/uri-list")
    assert members.text.split() == []
    await client.request("POST", "/tagged/", f"X-OCCI-Location: {BASE}{one}\n", **TEXT)
    members = await client.request("GET", "/tagged/", Accept="text/uri-list")
    assert members.text.split() == [BASE + one]
    replaced = await client.request("PUT", "/tagged/", f"X-OCCI-Location: {BASE}{two}\n",
                                    **TEXT)
    assert replaced.code == 200
    members = await client.request("GET", "/tagged/", Accept="text/uri-list")
    assert members.text.split() == [BASE + two]
    entity = await client.request("GET", two, Accept="text/plain")
    assert "tagged" in entity.text

    removed = await client.request(
        "DELETE", "/-/", 'Category: tagged; scheme="http://example.com/tags#"\n', **TEXT)
    assert removed.code == 200
    assert (await client.request("GET", "/tagged/", Accept="text/plain")).code == 404
    entity = await client.request("GET", two, Accept="text/plain")
    assert "tagged" not in entity.text

    serverMixin = await client.request(
        "DELETE", "/-/", 'Category: os_tpl; scheme="http://schemas.ogf.org/occi/'
        'infrastructure#"\n', **TEXT)
    assert serverMixin.code == 409


@pt.ensureDeferred
async def test_query_interface_filter_by_category() -> None:
    client = Client()
    answer = await client.request("GET", "/-/", Accept="text/plain",
                                  Category=f'compute; scheme="{INFRA}"; class="kind"')
    assert answer.code == 200
    terms = [line.split(";")[0].removeprefix("Category: ")
             for line in answer.text.splitlines()]
    # GFD.223 section 5.1: the categories related to compute too -- its actions, the
    # mixins that apply to it -- and no other kind.
    assert terms[0] == "compute" and {"start", "stop", "os_tpl", "small"} <= set(terms)
    assert not {"network", "storage", "resource", "ipnetwork", "up"} & set(terms)


@pt.ensureDeferred
async def test_if_match_prevents_lost_updates() -> None:
    client = Client()
    path = await client.create()
    first = await client.request("GET", path, Accept="text/plain")
    etag = first.header("etag")
    assert etag
    ok = await client.request("POST", path, "X-OCCI-Attribute: occi.compute.cores=2\n",
                              If_Match=etag, **TEXT)
    assert ok.code == 200
    lost = await client.request("POST", path, "X-OCCI-Attribute: occi.compute.cores=3\n",
                                If_Match=etag, **TEXT)
    assert lost.code == 412
    again = await client.request("GET", path, Accept="text/plain")
    assert "occi.compute.cores=2" in again.text


@pt.ensureDeferred
async def test_if_match_takes_the_etag_of_any_representation_of_the_state() -> None:
    """Each representation has its own ETag, but they all show one state: a change made to
    a JSON copy is not refused because it is sent as text."""
    client = Client()
    path = await client.create()
    jsonTag = (await client.request("GET", path, Accept="application/json")).header("etag")
    textTag = (await client.request("GET", path, Accept="text/plain")).header("etag")
    assert jsonTag and textTag and jsonTag != textTag
    ok = await client.request("POST", path, "X-OCCI-Attribute: occi.compute.cores=2\n",
                              If_Match=jsonTag, **TEXT)
    assert ok.code == 200, ok.text
    stale = await client.request("POST", path, "X-OCCI-Attribute: occi.compute.cores=3\n",
                                 If_Match=f"{textTag}, {jsonTag}", **TEXT)
    assert stale.code == 412


@pt.ensureDeferred
async def test_action_on_mixin_collection() -> None:
    client = Client()
    tagged, other = await client.create(), await client.create()
    await client.request("POST", "/-/", 'Category: web; scheme="http://example.com/tags#"; '
                         'class="mixin"; location="/web/"\n', **TEXT)
    await client.request("POST", "/web/", f"X-OCCI-Location: {BASE}{tagged}\n", **TEXT)
    network = await client.create("network")
    await client.request("POST", "/web/", f"X-OCCI-Location: {BASE}{network}\n", **TEXT)
    acted = await client.request("POST", "/web/?action=start", "",
                                 Content_Type="text/plain", Accept="application/occi+json")
    assert acted.code == 200, acted.text
    # The collection, the network passed over, the compute started.
    states = {e["id"]: (e["attributes"].get("occi.compute.state"),
                        e["attributes"].get("occi.network.state"))
              for e in acted.json()["resources"]}
    assert states == {tagged.rpartition("/")[2]: ("active", None),
                      network.rpartition("/")[2]: (None, "inactive")}
    started = await client.request("GET", tagged, Accept="text/plain")
    assert 'occi.compute.state="active"' in started.text
    untouched = await client.request("GET", other, Accept="text/plain")
    assert 'occi.compute.state="inactive"' in untouched.text
