"""Atom feeds of the events over HTTP: the server's, a collection's, an entity's, a request's;
RFC 5005 paging; conditional GETs for polling readers."""

from __future__ import annotations

import feedparser
import pytest_twisted

from .support import BASE, Client


async def busy(client: Client) -> tuple[str, str]:
    """A compute created, renamed and started: its path and its start request's path."""
    path = await client.create()
    await client.request("POST", path, 'X-OCCI-Attribute: occi.core.title="web"\n',
                         Content_Type="text/plain", Accept="text/plain")
    started = await client.request("POST", f"{path}?action=start")
    monitor = started.header("link")
    assert monitor is not None
    request = monitor[monitor.index("<") + 1:monitor.index(">")][len(BASE):]
    return path, request


@pytest_twisted.ensureDeferred
async def test_the_server_feed_has_every_change_newest_first() -> None:
    client = Client()
    path, _ = await busy(client)
    landing = await client.request("GET", "/", Accept="text/plain")
    assert any(link.startswith(f'<{BASE}/log/>; rel="alternate"; type="application/atom+xml"')
               for link in landing.headers["link"])
    answer = await client.request("GET", "/log/", Accept="application/atom+xml")
    assert answer.code == 200
    assert (answer.header("content-type") or "").startswith("application/atom+xml")
    parsed = feedparser.parse(answer.body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    titles = [entry.title for entry in parsed.entries]
    assert titles[-2:] == [f"compute {path} updated", f"compute {path} created"]
    assert any(title.endswith("succeeded") for title in titles)
    assert all(entry.id.startswith("urn:uuid:") for entry in parsed.entries)
    newest = parsed.entries[0]
    assert "occi.compute.state" in newest.summary or "request" in newest.summary


@pytest_twisted.ensureDeferred
async def test_entity_and_request_feeds() -> None:
    client = Client()
    path, request = await busy(client)
    other = await client.create()
    entity = feedparser.parse((await client.request("GET", f"{path}/log/")).body)
    assert entity.bozo == 0
    assert all(other not in entry.title for entry in entity.entries)
    assert len(entity.entries) >= 4  # created, updated, the request's steps, the new state
    history = feedparser.parse((await client.request("GET", f"{request}/log/")).body)
    kinds = [entry.tags[0].term for entry in history.entries]
    assert kinds[0] == "succeeded" and kinds[-1] == "queued"
    collection = feedparser.parse((await client.request("GET", "/compute/log/")).body)
    assert {e.links[0].href for e in collection.entries} >= {BASE + path, BASE + other}
    gone = await client.request("GET", "/compute/nothing/log/")
    assert gone.code == 404
    refused = await client.request("GET", "/log/", Accept="image/png")
    assert refused.code == 406
    # For people and scripts, the same entries as a list, each at a URL of its own.
    text = await client.request("GET", f"{path}/log/", Accept="text/plain")
    lines = text.text.splitlines()
    assert len(lines) == len(entity.entries) and lines[0].startswith(f"{BASE}{path}/log/")
    listed = await client.request("GET", f"{path}/log/", Accept="application/json")
    entries = listed.json()["entries"]
    assert [e["title"] for e in entries] == [e.title for e in entity.entries]
    one = await client.request("GET", entries[0]["url"][len(BASE):])
    assert one.code == 200 and entries[0]["id"] in one.text
    page = await client.request("GET", f"{path}/log/", Accept="text/html")
    assert page.code == 200 and '<ol id="entries">' in page.text


@pytest_twisted.ensureDeferred
async def test_paging_and_conditional_requests() -> None:
    client = Client()
    for _ in range(5):
        await client.create()
    first = await client.request("GET", "/log/?number=2")
    parsed = feedparser.parse(first.body)
    assert len(parsed.entries) == 2
    following = {link.rel: link.href for link in parsed.feed.links}
    assert following["first"] == f"{BASE}/log/" and "next" in following
    seen = [entry.id for entry in parsed.entries]
    url = following["next"]
    while url:
        page = feedparser.parse((await client.request("GET", url[len(BASE):])).body)
        seen += [entry.id for entry in page.entries]
        url = {link.rel: link.href for link in page.feed.links}.get("next", "")
    assert len(seen) == len(set(seen)) == 5

    etag, modified = first.header("etag"), first.header("last-modified")
    assert etag and modified
    again = await client.request("GET", "/log/?number=2", If_None_Match=etag)
    assert again.code == 304 and again.body == b""
    assert (await client.request("GET", "/log/?number=2", If_Modified_Since=modified)).code \
        == 304
    await client.create()
    fresh = await client.request("GET", "/log/?number=2", If_None_Match=etag)
    assert fresh.code == 200
    assert (await client.request("GET", "/log/?number=0")).code == 400
    assert (await client.request("GET", "/log/?number=5000")).code == 413


@pytest_twisted.ensureDeferred
async def test_an_entry_is_negotiated_as_its_log() -> None:
    """An entry answers Accept as its log does, each representation with its own ETag."""
    client = Client()
    path, _ = await busy(client)
    listed = await client.request("GET", f"{path}/log/", Accept="application/json")
    url = listed.json()["entries"][-1]["url"]
    tags = set()
    for accept, expected in (("application/atom+xml", "application/atom+xml; type=entry"),
                             ("application/json", "application/json"),
                             ("text/plain", "text/plain"), ("text/html", "text/html")):
        answer = await client.request("GET", url[len(BASE):], Accept=accept)
        assert answer.code == 200, answer.text
        assert (answer.header("content-type") or "").startswith(expected)
        assert answer.header("vary") == "Accept"
        tags.add(answer.header("etag"))
        if accept == "application/json":
            assert answer.json()["url"] == url
            assert f"compute {path} created" == answer.json()["title"]
            assert "occi.compute.state" in answer.json()["content"]
        if accept == "text/plain":
            assert answer.text.startswith(f"{url} ")
    assert len(tags) == 4
    refused = await client.request("GET", url[len(BASE):], Accept="image/png")
    assert refused.code == 406


@pytest_twisted.ensureDeferred
async def test_an_entry_names_who_made_the_change() -> None:
    """An administrator's change to a user's compute is in the user's feeds, with the
    administrator as the entry's author; the user's own changes are theirs."""
    client = Client(quotas={})
    alice, root = {"X_Test_Principal": "alice"}, {"X_Test_Principal": "admin"}
    path = await client.create(**alice)
    changed = await client.request("POST", path, "X-OCCI-Attribute: occi.compute.cores=3\n",
                                   Content_Type="text/plain", Accept="text/plain", **root)
    assert changed.code == 200, changed.text

    async def authors(feed: str) -> list[tuple[str, str]]:
        answer = await client.request("GET", feed, Accept="application/atom+xml", **alice)
        assert answer.code == 200, (feed, answer.text)
        parsed = feedparser.parse(answer.body)
        return [(entry.title.rsplit(" ", 1)[-1], entry.author) for entry in parsed.entries]

    assert await authors(f"{path}/log/") == [("updated", "admin"), ("created", "alice")]
    assert (await client.request("DELETE", path, **root)).code == 200
    for feed in ("/log/", "/compute/log/"):
        assert await authors(feed) == [
            ("deleted", "admin"), ("updated", "admin"), ("created", "alice")], feed
