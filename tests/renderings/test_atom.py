"""Atom (RFC 4287) entries and feeds of events, paged as RFC 5005 says.

Events are built by hand, as the store keeps them: an entity event's content is the entity's
stored document (canonical JSON, read back), a request step's is the request's record.  Every
document is checked three ways: it is well-formed XML (ElementTree), feedparser reads it
without complaint (``bozo == 0``), and a checker written from RFC 4287's MUSTs finds nothing
wrong.
"""

from __future__ import annotations

import itertools
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import feedparser  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from occi_twisted.model import Entity, Registry, Value
from occi_twisted.model import requestview as view
from occi_twisted.model.documents import canonical, entityFromDict, entityToDict
from occi_twisted.model.events import Event, EventType
from occi_twisted.model.infrastructure import COMPUTE, MEDIUM, START, UBUNTU
from occi_twisted.model.requests import PREFIX, RequestRecord, RequestState
from occi_twisted.model.requestview import requestView
from occi_twisted.renderings import atom
from occi_twisted.renderings.document import EntityView, Rendered
from occi_twisted.renderings.text import PLAIN, parsePlain
from occi_twisted.renderings.values import xmlChars
from occi_twisted.store import _eventrules

from . import support
from .support import BASE, CONTEXT

REGISTRY = Registry.standard()
NS = "http://www.w3.org/2005/Atom"
A = "{" + NS + "}"
T0 = 1_700_000_000.25
FEED_ID = "urn:uuid:0b1c2d3e-0000-4000-8000-00000000feed"


# -- events, as the store keeps them ---------------------------------------------------------


def compute(**attributes: object) -> Entity:
    """The shared compute, Alice's, made at :data:`T0`."""
    return support.compute(owner="alice", now=T0, **attributes)


def stored(value: object) -> Any:
    """``value`` as the store hands it back: canonical JSON text, read again."""
    return json.loads(canonical(value))


def readBack(entity: Entity) -> Entity:
    """``entity`` as the store reads it back (its attributes in the stored order)."""
    return entityFromDict(stored(entityToDict(entity)), REGISTRY)


_ids = itertools.count(1)


def eventId() -> str:
    return f"6f1c7c1e-0000-4000-8000-{next(_ids):012d}"


def entityEvent(entity: Entity, eventType: EventType = EventType.CREATED, *,
                seq: int = 1, updated: float | None = None, title: str | None = None) -> Event:
    content: Mapping[str, Value] = ({} if eventType is EventType.DELETED
                                    else stored(entityToDict(entity)))
    return Event(
        seq=seq, id=eventId(), type=eventType, entityId=entity.id, location=entity.location,
        collection=entity.kind.location or "/", requestId=None, owner=entity.owner,
        updated=entity.updated if updated is None else updated,
        title=title if title is not None else f"compute {entity.location} {eventType}",
        content=content,
    )


def record(state: RequestState = RequestState.RUNNING, **changes: Any) -> RequestRecord:
    fields: dict[str, Any] = {
        "id": "req1", "entityId": "vm1", "owner": "alice", "action": START.identifier,
        "attributes": {"method": "graceful"}, "state": state, "notBefore": T0,
        "created": T0, "updated": T0 + 2, "progress": {"percent": 40.0}, "attempts": 1,
        "started": T0 + 1, "message": "booting", "claimedBy": "node-a", "revision": 3,
    }
    fields.update(changes)
    return RequestRecord(**fields)


def storedRecord(request: RequestRecord) -> dict[str, Any]:
    """A request record as a request event's content: every field a client may see, by its
    name, as JSON (the checkpoint and the lease are the runner's alone)."""
    return {
        "id": request.id, "entityId": request.entityId, "owner": request.owner,
        "action": request.action, "attributes": dict(request.attributes),
        "state": request.state.value, "notBefore": request.notBefore,
        "created": request.created, "updated": request.updated,
        "progress": dict(request.progress), "attempts": request.attempts,
        "started": request.started, "finished": request.finished,
        "message": request.message, "claimedBy": request.claimedBy,
        "cancelRequested": request.cancelRequested, "revision": request.revision,
    }


def requestEvent(request: RequestRecord, eventType: EventType = EventType.STARTED, *,
                 seq: int = 2, location: str = "/compute/vm1",
                 content: Mapping[str, Any] | None = None) -> Event:
    return Event(
        seq=seq, id=eventId(), type=eventType, entityId=request.entityId, location=location,
        collection="/compute/", requestId=request.id, owner=request.owner,
        updated=request.updated, title=f"start {location} {eventType}",
        content=stored(storedRecord(request)) if content is None else content,
    )


# -- reading what was written ------------------------------------------------------------------


def xml(body: bytes) -> ET.Element:
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(body)


def parsed(body: bytes, contentType: str = atom.FEED_CONTENT_TYPE) -> Any:
    result = feedparser.parse(body, response_headers={"content-type": contentType})
    assert result.bozo == 0, result.get("bozo_exception")
    return result


def links(element: ET.Element) -> dict[str, str]:
    return {str(link.get("rel")): str(link.get("href")) for link in element.findall(A + "link")}


def one(element: ET.Element, name: str) -> ET.Element:
    found = element.findall(A + name)
    assert len(found) == 1, name
    return found[0]


def textOf(element: ET.Element, name: str) -> str:
    return one(element, name).text or ""


# -- RFC 4287's requirements, as a checker -------------------------------------------------

#: RFC 3339 date-time with RFC 4287 section 3.3's upper-case "T" and "Z".
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
#: An absolute IRI (RFC 3987): a scheme, a colon, something.
_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+")
_TEXT_TYPES = ("text", "html", "xhtml")
XHTML = "{http://www.w3.org/1999/xhtml}"


def atomProblems(root: ET.Element) -> list[str]:
    """What ``root`` (an Atom Feed or Entry Document) does against a MUST of RFC 4287."""
    problems: list[str] = []
    if root.tag == A + "feed":
        _checkFeed(root, problems)
    elif root.tag == A + "entry":
        _checkEntry(root, problems, "entry", inheritsAuthor=False)
    else:
        problems.append(f"the root is {root.tag}, not atom:feed or atom:entry")
    return problems


def _count(element: ET.Element, name: str, where: str, problems: list[str], *,
           least: int = 0, most: int | None = None) -> list[ET.Element]:
    found = element.findall(A + name)
    if len(found) < least or (most is not None and len(found) > most):
        wanted = f"exactly {least}" if least == most else (
            f"at least {least}" if most is None else f"at most {most}")
        problems.append(f"{where} has {len(found)} atom:{name}, wants {wanted}")
    return found


def _checkCommon(element: ET.Element, where: str, problems: list[str]) -> None:
    """What feeds and entries share: id, title, updated, rights, links, categories."""
    for found in _count(element, "id", where, problems, least=1, most=1):
        if not _ABSOLUTE_IRI.fullmatch((found.text or "").strip()):
            problems.append(f"{where}'s atom:id {found.text!r} is not an absolute IRI")
    for name in ("title", "updated"):
        _count(element, name, where, problems, least=1, most=1)
    _count(element, "rights", where, problems, most=1)
    for name in ("title", "rights", "subtitle", "summary"):
        for construct in element.findall(A + name):
            _checkText(construct, f"{where}'s atom:{name}", problems)
    for name in ("updated", "published"):
        for date in element.findall(A + name):
            _checkDate(date, f"{where}'s atom:{name}", problems)
    for name in ("author", "contributor"):
        for person in element.findall(A + name):
            _count(person, "name", f"{where}'s atom:{name}", problems, least=1, most=1)
            _count(person, "uri", f"{where}'s atom:{name}", problems, most=1)
            _count(person, "email", f"{where}'s atom:{name}", problems, most=1)
    alternates: set[tuple[str | None, str | None]] = set()
    for link in element.findall(A + "link"):
        if not link.get("href"):
            problems.append(f"{where} has an atom:link without href")
        if link.get("rel", "alternate") == "alternate":
            key = (link.get("type"), link.get("hreflang"))
            if key in alternates:
                problems.append(f"{where} has two alternate links of type and hreflang {key}")
            alternates.add(key)
    for category in element.findall(A + "category"):
        if not category.get("term"):
            problems.append(f"{where} has an atom:category without term")


def _checkText(construct: ET.Element, where: str, problems: list[str]) -> None:
    kind = construct.get("type", "text")
    if kind not in _TEXT_TYPES:
        problems.append(f"{where} has type {kind!r}")
    elif kind == "xhtml":
        if [child.tag for child in construct] != [XHTML + "div"]:
            problems.append(f"{where} (xhtml) does not hold exactly one xhtml:div")
    elif len(construct):
        problems.append(f"{where} ({kind}) holds child elements")


def _checkDate(date: ET.Element, where: str, problems: list[str]) -> None:
    value = (date.text or "").strip()
    if not _DATE.fullmatch(value):
        problems.append(f"{where} {value!r} is not an RFC 3339 date-time")
        return
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        problems.append(f"{where} {value!r} is no real time")


def _checkFeed(feed: ET.Element, problems: list[str]) -> None:
    _checkCommon(feed, "feed", problems)
    for name in ("generator", "icon", "logo", "subtitle"):
        _count(feed, name, "feed", problems, most=1)
    entries = feed.findall(A + "entry")
    hasAuthor = bool(feed.findall(A + "author"))
    if not hasAuthor and not all(entry.findall(A + "author") for entry in entries):
        problems.append("feed has no atom:author, and not every entry has one")
    for number, entry in enumerate(entries):
        _checkEntry(entry, problems, f"entry {number}", inheritsAuthor=hasAuthor)


def _checkEntry(entry: ET.Element, problems: list[str], where: str, *,
                inheritsAuthor: bool) -> None:
    _checkCommon(entry, where, problems)
    for name in ("published", "source", "summary"):
        _count(entry, name, where, problems, most=1)
    sourceAuthor = any(source.findall(A + "author") for source in entry.findall(A + "source"))
    if not (entry.findall(A + "author") or sourceAuthor or inheritsAuthor):
        problems.append(f"{where} has no atom:author and inherits none")
    contents = _count(entry, "content", where, problems, most=1)
    hasAlternate = any(link.get("rel", "alternate") == "alternate"
                       for link in entry.findall(A + "link"))
    if not contents and not hasAlternate:
        problems.append(f"{where} has neither atom:content nor an alternate link")
    hasSummary = bool(entry.findall(A + "summary"))
    for content in contents:
        kind = content.get("type", "text")
        if content.get("src") is not None:
            if content.text or len(content):
                problems.append(f"{where}'s atom:content has src and is not empty")
            if not hasSummary:
                problems.append(f"{where}'s atom:content has src but there is no summary")
        elif kind in _TEXT_TYPES:
            _checkText(content, f"{where}'s atom:content", problems)
        elif "/" not in kind:
            problems.append(f"{where}'s atom:content type {kind!r} is no media type")
        elif kind.startswith("text/"):
            if len(content):
                problems.append(f"{where}'s atom:content ({kind}) holds child elements")
        elif not (kind.endswith(("/xml", "+xml"))) and not hasSummary:
            problems.append(f"{where}'s atom:content is Base64 ({kind}) without a summary")


def _without(body: bytes, pattern: str) -> ET.Element:
    return ET.fromstring(re.sub(pattern, "", body.decode(), count=1))


def test_the_checker_finds_what_rfc_4287_forbids() -> None:
    """The checker is only worth what it catches: each MUST, broken once."""
    event = entityEvent(compute())
    body = atom.feed([event], context=CONTEXT, registry=REGISTRY, feedId=FEED_ID,
                     title="t", selfPath="/log/").body
    assert atomProblems(xml(body)) == []
    text = body.decode()
    broken = {
        "entry 0 has 0 atom:id": _without(body, r"(?<=<entry>)<id>[^<]*</id>"),
        "feed has 0 atom:title": _without(body, r"<title>t</title>"),
        "feed has no atom:author, and not every entry has one": ET.fromstring(
            re.sub(r"<author>.*?</author>", "", text)),
        "is not an RFC 3339 date-time": ET.fromstring(text.replace("Z</updated>", "</updated>")),
        "two alternate links": ET.fromstring(text.replace(
            '<link rel="related"', '<link rel="alternate"')),
        "neither atom:content nor an alternate link": ET.fromstring(re.sub(
            r'<link rel="alternate"[^>]*/>|<content.*</content>', "", text, flags=re.S)),
        "is not an absolute IRI": ET.fromstring(text.replace(FEED_ID, "feed-1")),
    }
    for problem, root in broken.items():
        found = atomProblems(root)
        assert any(problem in line for line in found), (problem, found)


# -- entries -------------------------------------------------------------------------------


def withoutActions(rendered: str) -> str:
    """A text/plain rendering without its lines linking to actions."""
    return "".join(line for line in rendered.splitlines(keepends=True)
                   if "?action=" not in line)


def test_an_entity_event_is_an_entry_with_the_new_state() -> None:
    entity = compute()
    event = entityEvent(entity)
    root = xml(atom.entry(event, CONTEXT, REGISTRY))
    assert root.tag == A + "entry"
    assert atomProblems(root) == []
    assert textOf(root, "id") == f"urn:uuid:{event.id}"
    assert textOf(root, "title") == "compute /compute/vm1 created"
    assert textOf(root, "updated") == "2023-11-14T22:13:20.250Z" == view.timestamp(T0)
    assert textOf(one(root, "author"), "name") == "alice"
    assert links(root) == {"related": f"{BASE}/compute/vm1", "alternate": f"{BASE}/compute/vm1"}
    category = one(root, "category")
    assert (category.get("term"), category.get("scheme")) == ("created", atom.EVENT_SCHEME)
    content = one(root, "content")
    assert content.get("type") == "text"
    # The text/plain rendering, CRLF line ends included, but for the links to the actions:
    # they offer what may be done now, not what the recorded state allowed.
    rendered = PLAIN.entity(EntityView(readBack(entity)), CONTEXT).body.decode()
    assert "?action=" in rendered
    assert content.text == withoutActions(rendered)
    document = parsePlain((content.text or "").encode(), {})
    assert dict(document.attributes) == dict(entity.attributes)
    assert {ref.identifier for ref in document.categories} == {
        COMPUTE.identifier, MEDIUM.identifier, UBUNTU.identifier}


def test_feedparser_reads_a_standalone_entry() -> None:
    event = entityEvent(compute(), EventType.UPDATED)
    result = parsed(atom.entry(event, CONTEXT, REGISTRY), atom.ENTRY_CONTENT_TYPE)
    (entry,) = result.entries
    assert entry.id == f"urn:uuid:{event.id}"
    assert entry.title == "compute /compute/vm1 updated"
    assert entry.updated_parsed[:6] == (2023, 11, 14, 22, 13, 20)
    assert entry.author == "alice"
    assert [(link.rel, link.href) for link in entry.links] == [
        ("related", f"{BASE}/compute/vm1"), ("alternate", f"{BASE}/compute/vm1")]
    assert entry.tags[0].term == "updated"
    assert entry.content[0].type == "text/plain"
    assert 'occi.core.title="web server"' in entry.content[0].value


def test_a_request_step_links_the_request_and_shows_it() -> None:
    entity = compute()
    request = record()
    event = requestEvent(request)
    root = xml(atom.entry(event, CONTEXT, REGISTRY))
    assert atomProblems(root) == []
    assert links(root) == {"related": f"{BASE}/compute/vm1",
                           "alternate": f"{BASE}/compute/vm1/requests/req1"}
    assert one(root, "category").get("term") == "started"
    assert textOf(root, "updated") == view.timestamp(T0 + 2)
    content = textOf(root, "content")
    shown = requestView(record(claimedBy=None), entity)
    assert content == PLAIN.entity(EntityView(shown), CONTEXT).body.decode()
    attributes = parsePlain(content.encode(), {}).attributes
    assert attributes[f"{PREFIX}.state"] == "running"
    assert attributes[f"{PREFIX}.target"] == "/compute/vm1"
    assert attributes[f"{PREFIX}.message"] == "booting"
    assert attributes[f"{PREFIX}.percent"] == 40.0
    (entry,) = parsed(atom.entry(event, CONTEXT, REGISTRY), atom.ENTRY_CONTENT_TYPE).entries
    assert {link.rel: link.href for link in entry.links}["alternate"] == (
        f"{BASE}/compute/vm1/requests/req1")


def test_every_step_of_a_request_renders() -> None:
    steps = [
        (EventType.QUEUED, record(RequestState.QUEUED, started=None, attempts=0)),
        (EventType.SCHEDULED, record(RequestState.SCHEDULED, started=None, notBefore=T0 + 60)),
        (EventType.STARTED, record()),
        (EventType.PROGRESS, record(progress={"percent": 80.5, "pass": 2, "passes": 3})),
        (EventType.CANCELLING, record(cancelRequested=True)),
        (EventType.SUCCEEDED, record(RequestState.SUCCEEDED, finished=T0 + 9)),
        (EventType.FAILED, record(RequestState.FAILED, finished=T0 + 9, message="no disk")),
        (EventType.CANCELLED, record(RequestState.CANCELLED, finished=T0 + 9)),
    ]
    for eventType, request in steps:
        root = xml(atom.entry(requestEvent(request, eventType), CONTEXT, REGISTRY))
        assert atomProblems(root) == []
        state = parsePlain(textOf(root, "content").encode(), {}).attributes[f"{PREFIX}.state"]
        assert state == request.state.value, eventType


def test_a_deleted_entity_is_one_line() -> None:
    event = entityEvent(compute(), EventType.DELETED)
    root = xml(atom.entry(event, CONTEXT, REGISTRY))
    assert atomProblems(root) == []
    assert textOf(root, "content") == "/compute/vm1 was deleted.\r\n"
    assert one(root, "category").get("term") == "deleted"
    assert links(root)["related"] == f"{BASE}/compute/vm1"


def test_a_state_the_server_cannot_read_is_one_line_not_a_failure() -> None:
    created = entityEvent(compute())
    unknownKind = replace(created, content={**created.content,
                                            "kind": "http://example.com/gone#thing"})
    malformed = replace(created, content={"kind": 3})
    badState = requestEvent(record(), content={**storedRecord(record()), "state": "exploded"})
    badAttempts = requestEvent(record(), content={**storedRecord(record()), "attempts": "x"})
    for event in (unknownKind, malformed, badState, badAttempts):
        root = xml(atom.entry(event, CONTEXT, REGISTRY))
        assert atomProblems(root) == []
        shown = textOf(root, "content")
        assert shown == f"{event.title}: this server cannot show the new state.\r\n"
    feed = atom.feed([badState, unknownKind], context=CONTEXT, registry=REGISTRY,
                     feedId=FEED_ID, title="odd", selfPath="/log/")
    assert len(parsed(feed.body).entries) == 2


def test_a_sparse_request_record_renders() -> None:
    """Only what a step's content must hold; the rest is read with defaults."""
    event = requestEvent(record(), EventType.QUEUED,
                         content={"id": "req1", "action": START.identifier, "state": "queued"})
    attributes = parsePlain(atom.content(event, CONTEXT, REGISTRY).encode(), {}).attributes
    assert attributes[f"{PREFIX}.state"] == "queued"
    assert attributes[f"{PREFIX}.created"] == view.timestamp(event.updated)


def test_text_is_escaped() -> None:
    title = 'a <b> & "c" \'d\' ]]> e\r\nf\tg'
    entity = compute(**{"occi.core.title": title, "occi.core.summary": "</content><x/>"})
    event = entityEvent(entity, title=title)
    root = xml(atom.entry(event, CONTEXT, REGISTRY))
    assert textOf(root, "title") == title  # the CR too
    attributes = parsePlain(textOf(root, "content").encode(), {}).attributes
    # The content is the text rendering, which has no spelling for CR and LF (RFC 7230).
    assert attributes["occi.core.title"] == _asTheTextRenderingKeepsIt(title)
    assert attributes["occi.core.summary"] == "</content><x/>"
    assert [child.tag for child in one(root, "content")] == []
    (entry,) = parsed(atom.entry(event, CONTEXT, REGISTRY), atom.ENTRY_CONTENT_TYPE).entries
    assert "&" in entry.title and "<b>" in entry.title


def test_characters_xml_cannot_carry_become_replacement_characters() -> None:
    title = "a\x00b\x1fc\ud800d\ufffee\uffff\U0001f600\x85\u2028"
    assert xmlChars(title) == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffd\U0001f600\x85\u2028"
    event = entityEvent(compute(**{"occi.core.title": title}), title=title)
    body = atom.entry(event, CONTEXT, REGISTRY)
    assert textOf(xml(body), "title") == xmlChars(title)
    parsed(body, atom.ENTRY_CONTENT_TYPE)


def test_timestamps_are_rfc_3339_and_never_fail() -> None:
    for when in (0.0, T0, T0 + 0.0005, 1e9 + 0.999, -1.5):
        assert atom.timestamp(when) == view.timestamp(when)
        assert _DATE.fullmatch(atom.timestamp(when))
    assert atom.timestamp(float("nan")) == "1970-01-01T00:00:00.000Z"
    assert atom.timestamp(float("inf")) == "9999-12-31T23:59:59.999Z"
    assert atom.timestamp(-1e300) == "0001-01-01T00:00:00.000Z"
    assert atom.timestamp(1e20) == "9999-12-31T23:59:59.999Z"


# -- feeds ---------------------------------------------------------------------------------


def history() -> list[Event]:
    """A compute's life, newest first: created, renamed, started (three steps), deleted."""
    created = compute()
    renamed = compute(**{"occi.core.title": "renamed"})
    return [
        entityEvent(created, EventType.DELETED, seq=7, updated=T0 + 20),
        requestEvent(record(RequestState.SUCCEEDED, updated=T0 + 12, finished=T0 + 12),
                     EventType.SUCCEEDED, seq=6),
        entityEvent(renamed, EventType.UPDATED, seq=5, updated=T0 + 11),
        requestEvent(record(updated=T0 + 6), EventType.STARTED, seq=4),
        requestEvent(record(RequestState.QUEUED, updated=T0 + 5, started=None, attempts=0),
                     EventType.QUEUED, seq=3),
        entityEvent(created, EventType.CREATED, seq=1),
    ]


PAGING = [("first", f"{BASE}/compute/vm1/log/"),
          ("next", f"{BASE}/compute/vm1/log/?before=1&number=6"),
          ("previous", f"{BASE}/compute/vm1/log/?before=14&number=6")]


def historyFeed(events: list[Event] | None = None, updated: float | None = None) -> Rendered:
    return atom.feed(history() if events is None else events, context=CONTEXT,
                     registry=REGISTRY, feedId=f"{BASE}/compute/vm1/log/",
                     title="Changes of /compute/vm1",
                     selfPath="/compute/vm1/log/?before=8&number=6", updated=updated,
                     links=PAGING)


def test_a_feed_has_what_rfc_4287_requires_and_its_entries_newest_first() -> None:
    events = history()
    rendered = historyFeed(events=events)
    assert rendered.contentType == "application/atom+xml; type=feed; charset=utf-8"
    assert rendered.headers == ()
    root = xml(rendered.body)
    assert root.tag == A + "feed"
    assert atomProblems(root) == []
    assert textOf(root, "id") == f"{BASE}/compute/vm1/log/"
    assert textOf(root, "title") == "Changes of /compute/vm1"
    assert textOf(root, "updated") == view.timestamp(T0 + 20)
    assert textOf(one(root, "author"), "name") == atom.AUTHOR
    entries = root.findall(A + "entry")
    assert [textOf(entry, "id") for entry in entries] == [f"urn:uuid:{e.id}" for e in events]
    assert [one(entry, "category").get("term") for entry in entries] == [
        "deleted", "succeeded", "updated", "started", "queued", "created"]
    assert [textOf(entry, "updated") for entry in entries] == [
        view.timestamp(e.updated) for e in events]
    # Each entry as it is standalone, less the namespace it inherits.
    for event, entry in zip(events, entries, strict=True):
        alone = xml(atom.entry(event, CONTEXT, REGISTRY))
        assert ET.tostring(alone) == ET.tostring(entry)


def test_feedparser_reads_the_feed_and_its_paging_links() -> None:
    events = history()
    result = parsed(historyFeed(events=events).body)
    assert result.version == "atom10"
    assert result.feed.id == f"{BASE}/compute/vm1/log/"
    assert result.feed.title == "Changes of /compute/vm1"
    assert result.feed.author == "occi-twisted"
    assert result.feed.updated_parsed[:6] == (2023, 11, 14, 22, 13, 40)
    feedLinks = {link.rel: link for link in result.feed.links}
    assert feedLinks["self"].href == f"{BASE}/compute/vm1/log/?before=8&number=6"
    for rel, url in PAGING:
        assert feedLinks[rel].href == url
        assert feedLinks[rel].type == atom.MEDIA_TYPE
    assert [entry.id for entry in result.entries] == [f"urn:uuid:{e.id}" for e in events]
    assert [entry.title for entry in result.entries] == [e.title for e in events]
    assert all(entry.author == "alice" for entry in result.entries)
    renamed = result.entries[2].content[0].value
    assert 'occi.core.title="renamed"' in renamed
    assert result.entries[0].content[0].value == "/compute/vm1 was deleted."
    assert 'occi-twisted.request.state="succeeded"' in result.entries[1].content[0].value
    requestLinks = {link.rel: link.href for link in result.entries[1].links}
    assert requestLinks == {"related": f"{BASE}/compute/vm1",
                            "alternate": f"{BASE}/compute/vm1/requests/req1"}


def test_the_feed_updated_is_the_given_time_or_the_newest_entry() -> None:
    events = list(reversed(history()))  # oldest first: the newest is found anyway
    root = xml(historyFeed(events=events).body)
    assert textOf(root, "updated") == view.timestamp(T0 + 20)
    root = xml(historyFeed(updated=T0 + 99).body)
    assert textOf(root, "updated") == view.timestamp(T0 + 99)


def test_an_empty_feed_is_still_a_valid_feed() -> None:
    for updated, expected in ((T0, view.timestamp(T0)), (None, "1970-01-01T00:00:00.000Z")):
        rendered = atom.feed([], context=CONTEXT, registry=REGISTRY, feedId=FEED_ID,
                             title="Every change on this server", selfPath="/log/",
                             updated=updated, links=[("first", f"{BASE}/log/")])
        root = xml(rendered.body)
        assert atomProblems(root) == []
        assert root.findall(A + "entry") == []
        assert textOf(root, "updated") == expected
        assert textOf(root, "id") == FEED_ID
        assert links(root) == {"self": f"{BASE}/log/", "first": f"{BASE}/log/"}
        result = parsed(rendered.body)
        assert result.entries == [] and result.feed.id == FEED_ID


def test_only_one_self_link_and_hrefs_are_uris() -> None:
    rendered = atom.feed([], context=CONTEXT, registry=REGISTRY, feedId=FEED_ID,
                         title="t", selfPath="/log/é x/",
                         links=[("self", f"{BASE}/other/"), ("next", f'{BASE}/log/?a="<b>"')])
    root = xml(rendered.body)
    hrefs = {link.get("rel"): link.get("href") for link in root.findall(A + "link")}
    assert len(root.findall(A + "link")) == 2
    assert hrefs == {"self": f"{BASE}/log/%C3%A9%20x/", "next": f"{BASE}/log/?a=%22%3Cb%3E%22"}


def test_the_feed_streams_piece_by_piece() -> None:
    events = history()
    rendered = historyFeed(events=events, updated=T0 + 20)
    read: list[Event] = []

    def lazily() -> Iterator[Event]:
        for event in events:
            read.append(event)
            yield event

    pieces = atom.feedParts(lazily(), context=CONTEXT, registry=REGISTRY,
                            feedId=f"{BASE}/compute/vm1/log/", title="Changes of /compute/vm1",
                            selfPath="/compute/vm1/log/?before=8&number=6", updated=T0 + 20,
                            links=PAGING)
    head = next(pieces)
    assert head.endswith(b"/>") and b"<entry" not in head and read == []
    rest = list(pieces)
    assert len(rest) == len(events) + 1 and rest[-1] == b"</feed>"
    assert head + b"".join(rest) == rendered.body


def test_events_from_the_store_s_own_rows_render() -> None:
    """The store's rows (what :mod:`_eventrules` writes and reads back) render as the
    hand-built events do: the content shapes above are the store's."""
    entity = compute()
    row = _eventrules.entityRow(COMPUTE.identifier, entity.id, entity.location, entity.owner,
                                old=None, new=canonical(entityToDict(entity)), now=T0)
    created = _eventrules.fromRow(1, row)
    request = record()
    step = _eventrules.requestRow(None, request, entity.location)
    assert step is not None
    queued = _eventrules.fromRow(2, step)
    assert dict(queued.content) == stored(storedRecord(request))
    for event in (created, queued):
        root = xml(atom.entry(event, CONTEXT, REGISTRY))
        assert atomProblems(root) == []
        assert "cannot show" not in textOf(root, "content")
    assert textOf(xml(atom.entry(created, CONTEXT, REGISTRY)), "content") == withoutActions(
        PLAIN.entity(EntityView(readBack(entity)), CONTEXT).body.decode())


# -- any text at all -----------------------------------------------------------------------

#: Every code point, lone surrogates included.
anyText = st.text(st.characters(exclude_categories=()), max_size=40)


def _asTheTextRenderingKeepsIt(value: str) -> str:
    """What reading the content back gives for a string attribute: the text rendering writes
    a control character (but the tab) as a space, RFC 7230 having no spelling for it; what
    it writes as is and XML cannot carry is replaced."""
    value = re.sub("[\x00-\x08\x0a-\x1f\x7f]", " ", value)
    return re.sub("[\ud800-\udfff\ufffe\uffff]", "\ufffd", value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=anyText, summary=anyText, owner=anyText, message=anyText, feedTitle=anyText)
def test_any_unicode_gives_well_formed_atom(title: str, summary: str, owner: str,
                                            message: str, feedTitle: str) -> None:
    entity = compute(**{"occi.core.title": title, "occi.core.summary": summary})
    changed = replace(entityEvent(entity, title=title), owner=owner)
    request = record(message=message, attributes={"note": message})
    step = replace(requestEvent(request), title=message, owner=owner)
    contents = []
    for event in (changed, step):
        root = xml(atom.entry(event, CONTEXT, REGISTRY))
        assert atomProblems(root) == []
        assert textOf(root, "title") == xmlChars(event.title)
        assert textOf(one(root, "author"), "name") == xmlChars(owner)
        contents.append(parsePlain(textOf(root, "content").encode(), {}).attributes)
    attributes, shown = contents
    assert attributes["occi.core.title"] == _asTheTextRenderingKeepsIt(title)
    assert attributes["occi.core.summary"] == _asTheTextRenderingKeepsIt(summary)
    assert shown.get(f"{PREFIX}.message", "") == _asTheTextRenderingKeepsIt(message)
    rendered = atom.feed([changed, step], context=CONTEXT, registry=REGISTRY, feedId=FEED_ID,
                         title=feedTitle, selfPath="/log/", links=PAGING)
    root = xml(rendered.body)
    assert atomProblems(root) == []
    assert textOf(root, "title") == xmlChars(feedTitle)
    result = parsed(rendered.body)
    assert [entry.id for entry in result.entries] == [
        f"urn:uuid:{changed.id}", f"urn:uuid:{step.id}"]


@pytest.mark.parametrize("bad", ["\x00", "\x0b", "\ud83d", "\ufffe", "\uffff"])
def test_each_character_xml_forbids_is_caught(bad: str) -> None:
    event = entityEvent(compute(**{"occi.core.summary": bad}), title=f"x{bad}y")
    root = xml(atom.entry(event, CONTEXT, REGISTRY))
    assert textOf(root, "title") == "x\ufffdy"
