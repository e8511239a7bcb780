"""Collections passed by value in Atom: one entry per entity with its whole state, RFC 5005
paging over 10,000 entities, and single entities as entries."""

from __future__ import annotations

import feedparser
import pytest_twisted

from occi_twisted.model import Description, newEntity
from occi_twisted.model.infrastructure import COMPUTE
from occi_twisted.renderings.atom import timestamp
from occi_twisted.store import CREATE, Put

from .support import BASE, Client


@pytest_twisted.ensureDeferred
async def test_ten_thousand_entities_page_by_page() -> None:
    client = Client()
    for start in range(0, 10_000, 1000):
        await client.store.apply([
            Put(newEntity(Description(kind=COMPUTE, attributes={
                "occi.core.title": f"vm-{n}"}), now=1.0), expect=CREATE)
            for n in range(start, start + 1000)])
    url = "/compute/"
    titles: list[str] = []
    pages = 0
    while url:
        answer = await client.request("GET", url, Accept="application/atom+xml")
        assert answer.code == 200
        parsed = feedparser.parse(answer.body)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        titles += [entry.title for entry in parsed.entries]
        links = {link.rel: link.href for link in parsed.feed.links}
        assert links["first"].startswith(f"{BASE}/compute/")
        url = links.get("next", "")[len(BASE):]
        pages += 1
    assert pages == 20 and len(titles) == 10_000
    assert titles == [f"vm-{n}" for n in range(10_000)]


@pytest_twisted.ensureDeferred
async def test_entries_carry_the_whole_entity() -> None:
    client = Client()
    path = await client.create(body="X-OCCI-Attribute: occi.compute.cores=6\n")
    feed = feedparser.parse((await client.request(
        "GET", "/compute/?number=10", Accept="application/atom+xml")).body)
    [entry] = feed.entries
    assert entry.id == f"urn:uuid:{path.rpartition('/')[2]}"
    assert entry.link == BASE + path
    assert "occi.compute.cores=6" in entry.summary
    single = await client.request("GET", path, Accept="application/atom+xml")
    assert (single.header("content-type") or "").startswith("application/atom+xml; type=entry")
    assert feedparser.parse(single.body).bozo == 0
    assert (await client.request("GET", "/-/", Accept="application/atom+xml")).code == 406


@pytest_twisted.ensureDeferred
async def test_json_pages_carry_paging_links() -> None:
    client = Client()
    for _ in range(5):
        await client.create()
    first = await client.request("GET", "/compute/?page=1&number=2", Accept="application/json")
    links = first.headers["link"]
    assert f'<{BASE}/compute/?page=2&number=2>; rel="next"' in links
    assert len(first.json()["resources"]) == 2
    last = await client.request("GET", "/compute/?page=3&number=2", Accept="application/json")
    assert len(last.json()["resources"]) == 1
    assert not any('rel="next"' in link for link in last.headers["link"])
    assert f'<{BASE}/compute/?page=2&number=2>; rel="prev"' in last.headers["link"]


@pytest_twisted.ensureDeferred
async def test_a_feed_is_as_new_as_the_servers_clock() -> None:
    client = Client()
    await client.create(body="X-OCCI-Attribute: occi.compute.cores=2\n")
    client.clock.advance(90.5)
    for url in ("/compute/", "/compute/?page=1&number=10"):
        answer = await client.request("GET", url, Accept="application/atom+xml")
        feed = feedparser.parse(answer.body)
        assert feed.feed.updated == timestamp(client.clock.seconds()), url
