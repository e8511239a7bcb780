"""A server's events as XMPP notifications bring them: what one says, and the two small
interfaces the follower and ``occi events`` use, so that they never touch XMPP themselves
(and a test feeds them notifications of its own).

Each notification's payload is the event's Atom entry, the same as in the HTTP feeds: its
``alternate`` link is the request of a request's step (the entity otherwise), and its content
is the new state in OCCI's text/plain rendering.  Pure: parses an element, no network.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from twisted.words.xish import domish

from ..model.errors import BadRequest
from ..model.locations import entityOf, placeOf
from ..renderings.atom import EVENT_SCHEME, NAMESPACE
from ..renderings.document import Document
from ..renderings.text import parsePlain


@dataclass(frozen=True)
class Notice:
    """One event as its notification told it."""

    id: str
    updated: str
    type: str
    title: str
    about: str
    content: str

    @property
    def aboutPath(self) -> str:
        """The path of what the entry is about (a request, or the entity)."""
        return urlsplit(self.about).path

    def document(self) -> Document | None:
        """The new state, read by the text rendering's parser (``None`` if unreadable: an
        entry for a deleted entity is one sentence)."""
        try:
            return parsePlain(self.content.encode("utf-8"))
        except BadRequest:
            return None

    def line(self) -> str:
        """The notice as ``occi events`` prints it, in the columns of its table."""
        return f"{self.updated}  {self.type}  {self.title}"

    def asJSON(self) -> str:
        """One line of JSON, with the keys of the JSON feeds' entries."""
        return json.dumps({"id": self.id, "url": self.about, "type": self.type,
                           "title": self.title, "updated": self.updated})


def nodeOf(path: str) -> str:
    """The node whose notifications tell of what is at ``path``: its own (``/``, a
    collection, an entity), or its entity's for a request (whose notices are then those
    about it)."""
    return entityOf(placeOf(path)) or path


def noticeOf(entry: domish.Element) -> Notice | None:
    """The notice an Atom ``entry`` element carries; ``None`` for anything else."""
    if entry.name != "entry" or entry.uri != NAMESPACE:
        return None

    def text(name: str) -> str:
        found = next(entry.elements(NAMESPACE, name), None)
        return str(found) if found is not None else ""

    about = next((str(link.getAttribute("href", "")) for link in entry.elements(NAMESPACE, "link")
                  if link.getAttribute("rel") == "alternate"), "")
    kind = next((str(category.getAttribute("term", ""))
                 for category in entry.elements(NAMESPACE, "category")
                 if category.getAttribute("scheme") == EVENT_SCHEME), "")
    return Notice(text("id").removeprefix("urn:uuid:"), text("updated"), kind, text("title"),
                  about, text("content"))


class Subscription(Protocol):
    """Notifications of one node, as they come."""

    def next(self) -> Awaitable[Notice]:
        """The next notice; :class:`~.errors.XMPPUnavailable` once none can come."""

    def close(self) -> Awaitable[None]:
        """Unsubscribe and disconnect (never fails: the end of a command)."""


class Notices(Protocol):
    """Where subscriptions are made."""

    def subscribe(self, node: str) -> Awaitable[Subscription]:
        """A subscription to ``node`` (an entity's path, a collection's, or ``/``), or
        :class:`~.errors.XMPPUnavailable`."""
