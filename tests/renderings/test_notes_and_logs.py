"""Notes and log listings through the renderings: every media type they are offered in, each
body what its readers parse, and the pages in the house style with every value escaped."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import feedparser  # type: ignore[import-untyped]
import pytest

from occi_twisted.model import Registry
from occi_twisted.model.events import Event, EventType
from occi_twisted.model.notes import Note
from occi_twisted.renderings import logs, notes
from occi_twisted.renderings.document import RenderContext
from occi_twisted.renderings.html import pageContext

BASE = "http://occi.example.com"
HOSTILE = "<script>alert('x')</script>\"&amp;\x00"
PLAIN = RenderContext(BASE)
PAGE = pageContext(PLAIN, path="/compute/c1/notes/", registry=Registry.standard())


def note(noteId: str = "boot", title: str = "Boot", text: str = "It booted.") -> Note:
    return Note("c1", noteId, "anonymous", title, text, created=10.0, updated=20.5)


def event(eventId: str, title: str = "compute /compute/c1 updated") -> Event:
    return Event(seq=1, id=eventId, type=EventType.UPDATED, entityId="c1",
                 location="/compute/c1", collection="/compute/", requestId=None,
                 owner="anonymous", updated=20.5, title=title)


def page(body: bytes) -> ET.Element:
    assert body.startswith(b"<!DOCTYPE html>\n<html")
    return ET.fromstring(body)


def byId(root: ET.Element, ident: str) -> ET.Element:
    found = [e for e in root.iter() if e.get("id") == ident]
    assert len(found) == 1, ident
    return found[0]


def test_a_note_in_every_media_type() -> None:
    location = "/compute/c1/notes/boot"
    plain = notes.note(note(), location, "text/plain", PAGE)
    assert (plain.contentType, plain.body) == ("text/plain; charset=utf-8",
                                               b"Title: Boot\n\nIt booted.")
    assert notes.note(note(title=""), location, "text/plain", PAGE).body == b"It booted."
    for mediaType in ("application/json", "application/occi+json"):
        rendered = notes.note(note(), location, mediaType, PAGE)
        assert rendered.contentType == mediaType
        assert json.loads(rendered.body) == {
            "id": "boot", "location": BASE + location, "title": "Boot", "text": "It booted.",
            "owner": "anonymous", "created": "1970-01-01T00:00:10.000Z",
            "updated": "1970-01-01T00:00:20.500Z", "revision": 1}
    entry = notes.note(note(), location, "application/atom+xml", PAGE)
    assert entry.contentType == "application/atom+xml; type=entry; charset=utf-8"
    parsed = feedparser.parse(entry.body)
    assert parsed.bozo == 0 and parsed.entries[0].title == "Boot"
    assert parsed.entries[0].link == BASE + location
    html = notes.note(note(), location, "text/html", PAGE)
    assert html.contentType == "text/html; charset=utf-8"
    root = page(html.body)
    assert "".join(byId(root, "text").itertext()) == "It booted."
    assert "/compute/c1/notes/" in [a.get("href") for a in root.iter("a")]
    byId(root, "nav")  # the house layout


def test_a_listing_of_notes_in_every_media_type() -> None:
    listed = [note("a", "First"), note("b", "")]
    collection = "/compute/c1/notes/"
    for mediaType in ("text/uri-list", "text/plain"):
        rendered = notes.notes(listed, collection, mediaType, PAGE)
        assert rendered.contentType == f"{mediaType}; charset=utf-8"
        assert rendered.body.decode().split("\r\n") == [f"{BASE}{collection}a",
                                                        f"{BASE}{collection}b", ""]
    both = json.loads(notes.notes(listed, collection, "application/json", PAGE).body)
    assert [n["location"] for n in both["notes"]] == [f"{BASE}{collection}a",
                                                       f"{BASE}{collection}b"]
    feed = notes.notes(listed, collection, "application/atom+xml", PAGE)
    assert feed.contentType == "application/atom+xml; type=feed; charset=utf-8"
    parsed = feedparser.parse(feed.body)
    assert parsed.bozo == 0 and [e.title for e in parsed.entries] == ["First", "b"]
    root = page(notes.notes(listed, collection, "text/html", PAGE).body)
    assert [a.get("href") for a in byId(root, "notes").iter("a")] == [
        f"{collection}a", f"{collection}b"]
    form = next(root.iter("form"))
    assert (form.get("method"), form.get("action")) == ("post", collection)
    assert {c.get("name") for c in form.iter() if c.get("name")} == {"title", "text"}


@pytest.mark.parametrize("mediaType", notes.NOTE_TYPES)
def test_hostile_notes_stay_text(mediaType: str) -> None:
    hostile = note(HOSTILE, HOSTILE, HOSTILE)
    body = notes.note(hostile, f"/compute/c1/notes/{HOSTILE}", mediaType, PAGE).body
    if mediaType == "text/html":
        root = page(body)
        assert "".join(byId(root, "title").itertext()) == HOSTILE.replace("\x00", "\ufffd")
        assert not list(root.iter("script"))
    elif mediaType == "application/atom+xml":
        ET.fromstring(body)
    listing = notes.notes([hostile], "/compute/c1/notes/", "text/html", PAGE).body
    assert not list(page(listing).iter("script"))


def test_a_log_listed_for_people_and_scripts() -> None:
    events = [event("e2"), event("e1", title=HOSTILE)]
    for log, entry in (("/compute/c1/log/", "/compute/c1/log/e2"), ("/log/", "/log/e2"),
                       ("/compute/log/", "/compute/log/e2"),
                       ("/compute/c1/requests/r1/log/", "/compute/c1/requests/r1/log/e2")):
        listed = json.loads(logs.listing(events, log, "Changes", "application/json",
                                         PLAIN).body)
        assert listed["entries"][0] == {
            "id": "e2", "url": BASE + entry, "type": "updated",
            "title": "compute /compute/c1 updated", "updated": "1970-01-01T00:00:20.500Z",
            "entity": f"{BASE}/compute/c1", "request": None}
    text = logs.listing(events, "/log/", "Changes", "text/plain", PLAIN)
    assert text.contentType == "text/plain; charset=utf-8"
    assert text.body.decode().split("\r\n")[0] == (
        f"{BASE}/log/e2 1970-01-01T00:00:20.500Z compute /compute/c1 updated")
    html = logs.listing(events, "/compute/c1/log/", "Changes of /compute/c1", "text/html", PAGE)
    assert html.contentType == "text/html; charset=utf-8"
    root = page(html.body)
    assert "".join(byId(root, "title").itertext()) == "Changes of /compute/c1"
    items = byId(root, "entries").findall("li")
    assert [li.find("a").get("href") for li in items] == [  # type: ignore[union-attr]
        f"{BASE}/compute/c1/log/e2", f"{BASE}/compute/c1/log/e1"]
    assert "".join(items[1].itertext()).startswith(HOSTILE.replace("\x00", "\ufffd"))
    assert "/compute/c1/log/?format=atom" in [a.get("href") for a in root.iter("a")]
