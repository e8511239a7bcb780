"""Every page says who is signed in: the user's name, and the role when it is not a plain
user's; nothing where the context does not say (a page rendered without a request)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest

from occi_twisted.model import Description, newEntity
from occi_twisted.model.events import Event, EventType
from occi_twisted.model.infrastructure import COMPUTE, SMALL
from occi_twisted.model.notes import Note
from occi_twisted.model.requests import RequestRecord, RequestState
from occi_twisted.model.requestview import requestViewAt
from occi_twisted.renderings import logs, notes
from occi_twisted.renderings.document import EntityView, RenderContext
from occi_twisted.renderings.html import HTML, pageContext

from .test_html import BASE, HOSTILE, REGISTRY, byId, maybeId, parse, textOf

COMPUTED = newEntity(Description(kind=COMPUTE, mixins=(SMALL,)), entityId="c1")
RECORD = RequestRecord(id="r1", entityId="c1", owner="alice",
                       action="http://schemas.ogf.org/occi/infrastructure/compute/action#start",
                       attributes={}, state=RequestState.RUNNING, notBefore=0.0, created=0.0,
                       updated=1.0)
NOTE = Note("c1", "boot", "alice", "Boot", "It booted.", created=1.0, updated=2.0)
EVENT = Event(seq=1, id="e1", type=EventType.CREATED, entityId="c1", location="/compute/c1",
              collection="/compute/", requestId=None, owner="alice", updated=2.0,
              title="compute /compute/c1 created")

#: Every sort of page, from its context.
PAGES: dict[str, Callable[[RenderContext], bytes]] = {
    "entity": lambda c: HTML.entity(EntityView(COMPUTED), c).body,
    "request": lambda c: HTML.entity(EntityView(requestViewAt(RECORD, "/compute/c1")), c).body,
    "listing": lambda c: (HTML.collectionStart(c) + HTML.collectionItem(EntityView(COMPUTED),
                                                                        True, c)
                          + HTML.collectionEnd(c)),
    "categories": lambda c: HTML.categories(list(REGISTRY), c).body,
    "locations": lambda c: HTML.locations(["/compute/"], c).body,
    "message": lambda c: HTML.message("Deleted /compute/c1.", c).body,
    "error": lambda c: HTML.error(404, "There is nothing at /compute/c2.", c).body,
    "log": lambda c: logs.listing([EVENT], "/compute/c1/log/", "Changes", "text/html", c).body,
    "note": lambda c: notes.note(NOTE, "/compute/c1/notes/boot", "text/html", c).body,
    "notes": lambda c: notes.notes([NOTE], "/compute/c1/notes/",
                                   "text/html", c).body,
}


def signedIn(path: str, user: str, role: str, *, draft: bool = False) -> RenderContext:
    return pageContext(RenderContext(BASE), path=path, registry=REGISTRY, draft=draft,
                       user=user, role=role)


def who(root: ET.Element) -> tuple[str, str | None]:
    """The name shown as signed in, and the role shown (None: none)."""
    role = maybeId(root, "role")
    return textOf(byId(root, "user")), None if role is None else textOf(role)


@pytest.mark.parametrize("sort", sorted(PAGES))
def test_every_page_names_the_user_signed_in(sort: str) -> None:
    root = parse(PAGES[sort](signedIn("/compute/c1", "alice", "user")))
    assert who(root) == ("alice", None)
    signed = byId(root, "signed-in")
    assert signed in list(byId(root, "nav").iter())
    assert textOf(signed) == "Signed in as alice"


@pytest.mark.parametrize("sort", sorted(PAGES))
def test_an_administrator_is_named_with_the_role(sort: str) -> None:
    root = parse(PAGES[sort](signedIn("/compute/c1", "root", "admin")))
    assert who(root) == ("root", "admin")
    assert textOf(byId(root, "signed-in")) == "Signed in as root (admin)"


def test_single_user_mode_reads_admin_once() -> None:
    root = parse(PAGES["listing"](signedIn("/compute/", "admin", "admin")))
    assert who(root) == ("admin", None)
    assert textOf(byId(root, "signed-in")) == "Signed in as admin"


def test_a_template_draft_names_the_user_too() -> None:
    root = parse(HTML.entity(EntityView(COMPUTED),
                             signedIn("/templates/small", "alice", "user", draft=True)).body)
    assert maybeId(root, "create") is not None
    assert who(root) == ("alice", None)


def test_a_name_is_text_never_markup() -> None:
    body = PAGES["entity"](signedIn("/compute/c1", HOSTILE, "user"))
    assert who(parse(body))[0] == HOSTILE
    assert b"<script>" not in body


@pytest.mark.parametrize("sort", sorted(PAGES))
def test_without_a_user_no_one_is_named(sort: str) -> None:
    root = parse(PAGES[sort](pageContext(RenderContext(BASE), path="/compute/c1",
                                         registry=REGISTRY)))
    assert maybeId(root, "signed-in") is None
    assert maybeId(parse(PAGES[sort](RenderContext(BASE))), "signed-in") is None
