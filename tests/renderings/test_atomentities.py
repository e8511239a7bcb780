"""Entities in Atom: a collection passed by value is a feed as new as the answer, by the
server's clock (never the wall clock), with one entry per entity; an entry reads back."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from occi_twisted.model.errors import BadRequest
from occi_twisted.renderings.atom import FEED_CONTENT_TYPE, NAMESPACE, timestamp
from occi_twisted.renderings.atomentities import ATOM, FeedContext, parse
from occi_twisted.renderings.document import Document, EntityView, RenderContext
from occi_twisted.renderings.text import PLAIN, parsePlain

from .support import BASE, compute, computeWithInterface, network

A = "{" + NAMESPACE + "}"
T0 = 1_700_000_000.25


def feedOf(views: list[EntityView], context: RenderContext) -> ET.Element:
    body = ATOM.collectionStart(context) + b"".join(
        ATOM.collectionItem(view, i == 0, context) for i, view in enumerate(views)
    ) + ATOM.collectionEnd(context)
    return ET.fromstring(body)


def test_a_feed_is_as_new_as_the_context_clock_says() -> None:
    seconds = [T0]
    root = feedOf([EntityView(compute(now=T0 - 60))], RenderContext(BASE, lambda: seconds[0]))
    assert root.findtext(A + "updated") == timestamp(T0)
    seconds[0] += 1.5
    later = feedOf([], RenderContext(BASE, lambda: seconds[0]))
    assert later.findtext(A + "updated") == timestamp(T0 + 1.5)


def test_a_feed_without_a_clock_says_the_epoch_rather_than_read_the_wall_clock() -> None:
    root = feedOf([], RenderContext(BASE))
    assert root.findtext(A + "updated") == "1970-01-01T00:00:00.000Z"


def test_a_feed_page_keeps_its_clock_and_says_where_it_is() -> None:
    context = FeedContext(BASE, lambda: T0, feedId=f"{BASE}/compute/", title="Computes",
                          selfURL=f"{BASE}/compute/?number=1",
                          links=(("next", f"{BASE}/compute/?after=x&number=1"),))
    root = feedOf([computeWithInterface(), EntityView(network())], context)
    assert root.findtext(A + "updated") == timestamp(T0)
    assert root.findtext(A + "id") == f"{BASE}/compute/"
    assert root.findtext(A + "title") == "Computes"
    links = {link.get("rel"): link.get("href") for link in root.findall(A + "link")}
    assert links == {"self": f"{BASE}/compute/?number=1",
                     "next": f"{BASE}/compute/?after=x&number=1"}
    entries = root.findall(A + "entry")
    assert [entry.findtext(A + "title") for entry in entries] == ["web server", "/network/net1"]


def test_each_entry_is_the_entity_at_its_own_time_in_text_plain() -> None:
    vm = compute(now=T0 - 60)
    rendered = ATOM.entity(EntityView(vm), RenderContext(BASE, lambda: T0))
    entry = ET.fromstring(rendered.body)
    assert entry.findtext(A + "updated") == timestamp(T0 - 60)
    assert entry.findtext(A + "id") == f"{BASE}/compute/vm1"
    content = entry.findtext(A + "content") or ""
    assert 'X-OCCI-Attribute: occi.core.title="web server"' in content.splitlines()


def test_a_location_list_is_a_feed_of_bare_entries() -> None:
    rendered = ATOM.locations(["/compute/vm1"], RenderContext(BASE, lambda: T0))
    assert rendered.contentType == FEED_CONTENT_TYPE
    root = ET.fromstring(rendered.body)
    assert root.findtext(A + "updated") == timestamp(T0)
    (entry,) = root.findall(A + "entry")
    assert entry.findtext(A + "id") == f"{BASE}/compute/vm1"


def test_an_entry_reads_back_as_its_content_says() -> None:
    """The entity is read from the entry's content; the Atom elements around it are the
    server's to say, and not read."""
    view = computeWithInterface()
    context = RenderContext(BASE)
    document = parse(ATOM.entity(view, context).body)
    assert document == parsePlain(PLAIN.entity(view, context).body, {})
    assert document.attributes["occi.core.id"] == view.entity.id
    assert [link.target for link in document.links] == [
        link.attributes["occi.core.target"] for link in view.links]


def test_a_feed_reads_as_a_collection_of_entities() -> None:
    views = [EntityView(compute()), EntityView(network())]
    context = RenderContext(BASE)
    document = parse(ATOM.collectionStart(context) + b"".join(
        ATOM.collectionItem(view, i == 0, context) for i, view in enumerate(views)
    ) + ATOM.collectionEnd(context))
    assert [d.attributes["occi.core.id"] for d in document.entities] == [
        view.entity.id for view in views]
    assert parse(b"") == Document()


@pytest.mark.parametrize(("body", "message"), [
    (b"<entity/>", "An Atom body is an <entry> or a <feed>"),
    (f'<entry xmlns="{NAMESPACE}"><title>x</title></entry>'.encode(), "has no <content>"),
    (f'<entry xmlns="{NAMESPACE}"><content type="html">x</content></entry>'.encode(),
     "must be text"),
    (f'<feed xmlns="{NAMESPACE}"><entry/></feed>'.encode(), "entry 1 has no <content>"),
    (b'<!DOCTYPE x [<!ENTITY a "b">]><entry/>', "document type or entity declaration"),
    (f'<entry xmlns="{NAMESPACE}"><content>Category: nope</content></entry>'.encode(),
     "scheme"),
])
def test_what_is_not_an_entry_is_refused_in_one_sentence(body: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=re.escape(message)):
        parse(body)
