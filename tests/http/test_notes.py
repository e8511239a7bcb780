"""Notes under every resource: CRUD by HTTP verbs, PUT with client ids, POST exactly once
(POST Once Exactly, Idempotency-Key)."""

from __future__ import annotations

import feedparser
import pytest_twisted

from .support import BASE, Client


@pytest_twisted.ensureDeferred
async def test_crud_by_verbs() -> None:
    client = Client()
    path = await client.create()
    put = await client.request("PUT", f"{path}/notes/boot", "Title: Boot\n\nIt booted.",
                               Content_Type="text/plain", Accept="text/plain")
    assert put.code == 201 and put.header("location") == f"{BASE}{path}/notes/boot"
    got = await client.request("GET", f"{path}/notes/boot", Accept="text/plain")
    assert got.text == "Title: Boot\n\nIt booted." and got.header("etag")
    etag = got.header("etag")
    assert (await client.request("GET", f"{path}/notes/boot", If_None_Match=etag or "")).code \
        == 304
    replaced = await client.request("PUT", f"{path}/notes/boot", '{"text": "Rebooted."}',
                                    Content_Type="application/json",
                                    Accept="application/json", If_Match=etag or "")
    assert replaced.code == 200 and replaced.json()["revision"] == 2
    stale = await client.request("PUT", f"{path}/notes/boot", "x", Content_Type="text/plain",
                                 If_Match=etag or "")
    assert stale.code == 412
    posted = await client.request("POST", f"{path}/notes/", "title=Disk&text=Replaced",
                                  Content_Type="application/x-www-form-urlencoded",
                                  Accept="application/json")
    assert posted.code == 201 and posted.json()["title"] == "Disk"
    listed = await client.request("GET", f"{path}/notes/", Accept="text/uri-list")
    assert listed.text.split() == [f"{BASE}{path}/notes/boot", posted.json()["location"]]
    feed = feedparser.parse((await client.request("GET", f"{path}/notes/",
                                                  Accept="application/atom+xml")).body)
    assert feed.bozo == 0 and [e.title for e in feed.entries] == ["boot", "Disk"]
    page = await client.request("GET", f"{path}/notes/", Accept="text/html")
    assert page.code == 200 and '<ul id="notes">' in page.text and "<form" in page.text
    one = await client.request("GET", f"{path}/notes/boot", Accept="text/html")
    assert one.code == 200 and "Rebooted." in one.text
    assert (await client.request("DELETE", f"{path}/notes/boot")).code == 200
    assert (await client.request("GET", f"{path}/notes/boot")).code == 404
    assert (await client.request("GET", "/compute/nothing/notes/")).code == 404
    assert (await client.request("PUT", f"{path}/notes/", "x")).code == 405
    # Deleting the resource takes its notes.
    await client.request("DELETE", path)
    assert (await client.request("GET", f"{path}/notes/")).code == 404


@pytest_twisted.ensureDeferred
async def test_post_once_exactly() -> None:
    client = Client()
    path = await client.create()
    offer = await client.request("GET", f"{path}/notes/", POE="1", Accept="text/uri-list")
    poe = offer.header("poe-links")
    assert poe is not None and poe.startswith(f"<{BASE}{path}/notes/")
    target = poe[1:-1][len(BASE):]
    first = await client.request("POST", target, "once", Content_Type="text/plain")
    assert first.code == 201
    for _ in range(3):
        again = await client.request("POST", target, "once", Content_Type="text/plain")
        assert again.code == 405 and "POST Once Exactly" in again.text
        assert "PUT" in (again.header("allow") or "")
    listed = await client.request("GET", f"{path}/notes/", Accept="text/uri-list")
    assert len(listed.text.split()) == 1


@pytest_twisted.ensureDeferred
async def test_idempotency_key_on_notes() -> None:
    client = Client()
    path = await client.create()
    headers = {"Content_Type": "text/plain", "Idempotency_Key": "note-1",
               "Accept": "application/json"}
    first = await client.request("POST", f"{path}/notes/", "the text", **headers)
    again = await client.request("POST", f"{path}/notes/", "the text", **headers)
    assert first.code == again.code == 201
    assert again.json()["location"] == first.json()["location"]
    other = await client.request("POST", f"{path}/notes/", "another text", **headers)
    assert other.code == 422
    listed = await client.request("GET", f"{path}/notes/", Accept="text/uri-list")
    assert len(listed.text.split()) == 1
