"""Through the app, every page a browser is answered with names the principal the request
acts for, whatever room answers it (listings, entities, requests, feeds, notes, templates,
the query interface, errors); single-user mode's pages read ``admin``."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest_twisted as pt

from ..renderings.test_html import byId, textOf
from .support import ACTING, Client
from .test_access import Alices, alicesWorld

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def signedIn(body: bytes) -> str:
    """The text of the page's "signed in" item."""
    return textOf(byId(ET.fromstring(body), "signed-in"))


def pages(world: Alices) -> list[tuple[str, int]]:
    """Every sort of page, and the status it is answered with."""
    return [("/", 200), ("/-/", 200), ("/compute/", 200), ("/compute/?page=1&number=5", 200),
            (world.compute, 200), (world.link, 200), (f"{world.compute}/requests/", 200),
            (world.request, 200), ("/log/", 200), (f"{world.compute}/log/", 200),
            ("/compute/log/", 200), (f"{world.compute}/notes/", 200),
            (f"{world.compute}/notes/boot", 200), ("/templates/", 200),
            ("/templates/small", 200), ("/alices/", 200), ("/compute/no-such", 404)]


@pt.ensureDeferred
async def test_every_page_names_whom_it_is_for() -> None:
    client = Client(quotas={})
    world = await alicesWorld(client)
    for path, status in pages(world):
        answer = await client.request("GET", path, Accept=BROWSER, **{ACTING: "alice"})
        assert answer.code == status, (path, answer.text[:300])
        assert answer.header("content-type") == "text/html; charset=utf-8", path
        assert signedIn(answer.body) == "Signed in as alice", path
    listing = await client.request("GET", "/compute/", Accept=BROWSER, **{ACTING: "bob"})
    assert signedIn(listing.body) == "Signed in as bob"


@pt.ensureDeferred
async def test_single_user_mode_pages_read_admin() -> None:
    client = Client()
    compute = await client.create()
    for path in ("/", "/compute/", compute, f"{compute}/log/", f"{compute}/notes/",
                 "/compute/nothing"):
        answer = await client.request("GET", path, Accept=BROWSER)
        assert signedIn(answer.body) == "Signed in as admin", path
