"""Representations of an entity: 300 Multiple Choices for a client with no preference, each
representation at a URL of its own, conditional GETs."""

from __future__ import annotations

import pytest_twisted

from .support import BASE, Client


@pytest_twisted.ensureDeferred
async def test_no_preference_is_300_with_every_representation() -> None:
    client = Client()
    path = await client.create()
    for accept in ({}, {"Accept": "*/*"}, {"Accept": "*/*;q=0.5"}):
        answer = await client.request("GET", path, **accept)
        assert answer.code == 300, accept
        links = answer.headers["link"]
        assert f'<{BASE}{path}?format=text>; rel="alternate"; type="text/plain"' in links
        assert f'<{BASE}{path}?format=json>; rel="alternate"; type="application/occi+json"' \
            in links
        location = answer.header("location")
        assert location is not None and location.startswith(f"{BASE}{path}?format=")
        assert answer.header("vary") == "Accept" and answer.header("etag")
        assert f"{BASE}{path}?format=text" in answer.text
    head = await client.request("HEAD", path)
    assert head.code == 300 and head.body == b"" and head.header("location")


@pytest_twisted.ensureDeferred
async def test_each_representation_has_its_own_url() -> None:
    client = Client()
    path = await client.create()
    text = await client.request("GET", f"{path}?format=text")
    assert text.code == 200 and (text.header("content-type") or "").startswith("text/plain")
    json = await client.request("GET", f"{path}?format=json", Accept="text/plain")
    assert json.code == 200 and json.json()["id"] == path.rpartition("/")[2]
    unknown = await client.request("GET", f"{path}?format=png")
    assert unknown.code == 406 and "formats are" in unknown.text


@pytest_twisted.ensureDeferred
async def test_conditional_get() -> None:
    client = Client()
    path = await client.create()
    first = await client.request("GET", path, Accept="text/plain")
    etag, modified = first.header("etag"), first.header("last-modified")
    assert etag and modified
    same = await client.request("GET", path, Accept="text/plain", If_None_Match=etag)
    assert same.code == 304 and same.body == b"" and same.header("etag") == etag
    since = await client.request("GET", path, Accept="text/plain", If_Modified_Since=modified)
    assert since.code == 304
    await client.request("POST", path, "X-OCCI-Attribute: occi.core.title=\"renamed\"\n",
                         Content_Type="text/plain", Accept="text/plain")
    changed = await client.request("GET", path, Accept="text/plain", If_None_Match=etag)
    assert changed.code == 200 and changed.header("etag") != etag
    # A lost update: If-Match with the old ETag.
    lost = await client.request("PUT", path, "X-OCCI-Attribute: occi.compute.cores=8\n",
                                Content_Type="text/plain", If_Match=etag)
    assert lost.code == 412
