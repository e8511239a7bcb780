"""Paging links keep what narrowed the listing: an administrator's ``?owner=`` (and the
``?occi.*`` filters) go on into every first/next/previous link, in the Link headers, in the
pages for browsers and in the Atom feeds' own links, so following them walks the owner's
things and nobody else's.  A user's ``?owner=`` narrows nothing and is not carried."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import feedparser
import pytest_twisted as pt

from ..renderings.test_html import byId
from .support import ACTING, BASE, Answer, Client

ADMIN = {ACTING: "admin"}
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ATOM = "application/atom+xml"


async def twoOwners(client: Client) -> dict[str, set[str]]:
    """Five computes of alice's and three of bob's, by owner."""
    made: dict[str, set[str]] = {"alice": set(), "bob": set()}
    for owner, count in (("alice", 5), ("bob", 3)):
        for _ in range(count):
            made[owner].add(await client.create("compute", **{ACTING: owner}))
    return made


def headerLinks(answer: Answer) -> dict[str, str]:
    """The Link headers' relations and URLs."""
    found = {}
    for value in answer.headers.get("link", []):
        match = re.fullmatch(r'<([^>]*)>; rel="([a-z]+)"', value)
        if match:
            found[match[2]] = match[1]
    return found


def pageLinks(answer: Answer) -> dict[str, str]:
    """The paging links on a page for browsers."""
    nav = byId(ET.fromstring(answer.body), "paging")
    return {str(a.get("rel")): str(a.get("href")) for a in nav.iter("a")}


def atomLinks(answer: Answer) -> dict[str, str]:
    return {link.rel: link.href for link in feedparser.parse(answer.body).feed.links}


def argumentsOf(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


async def walk(client: Client, url: str, accept: str, links: Callable[[Answer], dict[str, str]],
               read: Callable[[Answer], list[str]], who: dict[str, str]) -> list[str]:
    """Everything read from ``url`` and each next page after it, every link checked to keep
    ``owner=alice``."""
    seen: list[str] = []
    following: str | None = url
    while following:
        answer = await client.request("GET", following.removeprefix(BASE), Accept=accept, **who)
        assert answer.code == 200, (following, answer.text)
        found = links(answer)
        assert "first" in found, found
        for rel, link in found.items():
            assert argumentsOf(link).get("owner") == ["alice"], (rel, link)
        seen += read(answer)
        following = found.get("next")
    return seen


def uris(answer: Answer) -> list[str]:
    return [line.removeprefix(BASE) for line in answer.text.split()]


def rows(answer: Answer) -> list[str]:
    return [str(a.get("href")) for a in byId(ET.fromstring(answer.body), "entities").iter("a")]


def entries(answer: Answer) -> list[str]:
    return [urlsplit(e.link).path for e in feedparser.parse(answer.body).entries]


@pt.ensureDeferred
async def test_collection_pages_keep_the_owner_in_every_rendering() -> None:
    client = Client(quotas={})
    made = await twoOwners(client)
    start = "/compute/?owner=alice&page=1&number=2"
    listed = await walk(client, start, "text/uri-list", headerLinks, uris, ADMIN)
    assert sorted(listed) == sorted(made["alice"])
    shown = await walk(client, start, BROWSER, pageLinks, rows, ADMIN)
    assert sorted(shown) == sorted(made["alice"])
    second = await client.request("GET", "/compute/?owner=alice&page=2&number=2",
                                  Accept=BROWSER, **ADMIN)
    assert set(pageLinks(second)) == set(headerLinks(second)) == {"first", "prev", "next"}
    assert pageLinks(second) == headerLinks(second)


@pt.ensureDeferred
async def test_a_collection_feed_keeps_the_owner() -> None:
    client = Client(quotas={})
    made = await twoOwners(client)
    first = await client.request("GET", "/compute/?owner=alice&number=2", Accept=ATOM,
                                 **ADMIN)
    assert set(atomLinks(first)) == {"self", "first", "next"}
    listed = await walk(client, "/compute/?owner=alice&number=2", ATOM, atomLinks, entries,
                        ADMIN)
    assert sorted(listed) == sorted(made["alice"])


@pt.ensureDeferred
async def test_event_feeds_keep_the_owner_in_headers_atom_and_pages() -> None:
    client = Client(quotas={})
    made = await twoOwners(client)
    for log in ("/log/", "/compute/log/"):
        start = f"{log}?owner=alice&number=2"
        inAtom = await walk(client, start, ATOM, atomLinks, entries, ADMIN)
        assert sorted(inAtom) == sorted(made["alice"]), log
        inHeaders = await walk(client, start, ATOM, headerLinks, entries, ADMIN)
        assert inHeaders == inAtom
        onPages = await walk(client, start, BROWSER, pageLinks, lambda a: [], ADMIN)
        assert onPages == []
    older = await client.request("GET", "/log/?owner=alice&number=2&before=3", Accept=BROWSER,
                                 **ADMIN)
    assert "previous" in pageLinks(older)
    assert argumentsOf(pageLinks(older)["previous"])["owner"] == ["alice"]


@pt.ensureDeferred
async def test_filters_go_on_with_the_owner() -> None:
    client = Client(quotas={})
    await twoOwners(client)
    big = await client.create("compute", "X-OCCI-Attribute: occi.compute.cores=4\n",
                              **{ACTING: "alice"})
    await client.create("compute", "X-OCCI-Attribute: occi.compute.cores=4\n",
                        **{ACTING: "bob"})
    answer = await client.request(
        "GET", "/compute/?owner=alice&occi.compute.cores=4&page=1&number=1",
        Accept="text/uri-list", **ADMIN)
    assert uris(answer) == [big]
    first = headerLinks(answer)["first"]
    assert argumentsOf(first) == {"owner": ["alice"], "occi.compute.cores": ["4"],
                                  "page": ["1"], "number": ["1"]}


@pt.ensureDeferred
async def test_a_users_owner_argument_narrows_nothing_and_is_not_carried() -> None:
    client = Client(quotas={})
    made = await twoOwners(client)
    alice = {ACTING: "alice"}
    answer = await client.request("GET", "/compute/?owner=bob&page=1&number=10",
                                  Accept="text/uri-list", **alice)
    assert sorted(uris(answer)) == sorted(made["alice"])
    assert all("owner" not in argumentsOf(link) for link in headerLinks(answer).values())
    feed = await client.request("GET", "/log/?owner=bob&number=2", Accept=ATOM, **alice)
    assert all("owner" not in argumentsOf(link) for link in atomLinks(feed).values())
