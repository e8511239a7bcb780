"""Events: one per change of an entity and per step of a request, kept by the store.

The store writes each event in the transaction that makes its change, so an event is durable
before anyone is told of it, and there is no change without its event nor an event without its
change.  Events are numbered (``seq``) in commit order across the whole store: a reader that
has seen up to ``seq`` N asks for what came after N and misses nothing, which is how the feeds,
the long polls and the XMPP publisher follow the store, on one node or several.

An event names where it belongs: its entity's location (``/compute/<id>``), that entity's kind
collection (``/compute/``), and its request, if it is a step of one.  ``content`` is the new
state as plain JSON: the entity's stored document (``{}`` once deleted), or the request's
record; renderings turn it into what clients read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from .attributes import Value
from .ids import orderedId
from .requests import RequestRecord, RequestState


class EventType(StrEnum):
    """What happened; the value names it in feeds (the Atom entry's category) and titles."""

    #: An entity was made (POST, PUT at a new id, a template posted back, an import).
    CREATED = "created"
    #: An entity's attributes changed (its mixins too, maybe): by a client, or by an action.
    UPDATED = "updated"
    #: An entity was deleted; its content is empty.
    DELETED = "deleted"
    #: Only the entity's mixins changed: a mixin (a template, a tag) associated or removed.
    MIXINS = "mixins"
    #: A request was stored, due now; or waits again, due now (its node stopped or died).
    QUEUED = "queued"
    #: A request was stored to wait for its ``not_before`` (a backup window); or waits
    #: again for a retry's back-off.
    SCHEDULED = "scheduled"
    #: A node claimed the request and began (or, after a restart, resumed) it.
    STARTED = "started"
    #: A running request reached a checkpoint; its progress says how far it is.
    PROGRESS = "progress"
    #: The request ended well; its entity's new state was committed with it.
    SUCCEEDED = "succeeded"
    #: The request ended without its effect; its message says why.
    FAILED = "failed"
    #: The request ended as its client asked, before it finished.
    CANCELLED = "cancelled"
    #: A running request was asked to stop (it ends as cancelled at its next checkpoint).
    CANCELLING = "cancelling"

    @property
    def isRequestStep(self) -> bool:
        return self not in (EventType.CREATED, EventType.UPDATED, EventType.DELETED,
                            EventType.MIXINS)


@dataclass(frozen=True)
class Event:
    """One stored event (see the module's docstring)."""

    seq: int
    #: A random UUID: the Atom entry's ``urn:uuid:`` id, and the XMPP item id.
    id: str
    type: EventType
    entityId: str
    #: The entity's path, e.g. ``/compute/<id>``.
    location: str
    #: The entity's kind collection, e.g. ``/compute/``.
    collection: str
    requestId: str | None
    owner: str
    #: Epoch seconds.
    updated: float
    #: One line for people, e.g. ``compute /compute/<id> updated``.
    title: str
    content: Mapping[str, Value] = field(default_factory=dict)
    #: Who made the change: the owner, or an administrator who changed the owner's thing.
    author: str = ""

    @property
    def madeBy(self) -> str:
        """The author, which events stored before authors were recorded leave to the owner."""
        return self.author or self.owner

    @property
    def nodes(self) -> tuple[str, ...]:
        """The pubsub nodes (and feeds) the event belongs to, narrowest first."""
        return (self.location, self.collection, "/")


def newEventId(updated: float) -> str:
    """The id of an event made at ``updated`` (its time, from the store's clock)."""
    return orderedId(updated)



@dataclass(frozen=True)
class EventPage:
    """Events in ``seq`` order (ascending or descending, as asked), and whether more follow
    in that direction."""

    events: Sequence[Event]
    more: bool


@dataclass(frozen=True)
class Subscription:
    """A subscription to a pubsub node, as XEP-0060 keeps it: who (a bare or full JID), to
    what node, with which options (XEP-0060 ``pubsub#`` subscribe options, as strings)."""

    node: str
    jid: str
    subid: str
    options: Mapping[str, str] = field(default_factory=dict)
    created: float = 0.0


def requestOfEvent(event: Event) -> RequestRecord | None:
    """The request a request step's ``content`` holds (``None`` for an entity event); the
    checkpoint and the lease, which clients never see, are not kept in events."""
    content = event.content
    if event.requestId is None or not isinstance(content, Mapping):
        return None
    def time(name: str) -> float | None:
        value = content.get(name)
        return float(value) if isinstance(value, (int, float)) else None

    attributes = content.get("attributes")
    progress = content.get("progress")
    return RequestRecord(
        id=str(content.get("id", event.requestId)), entityId=event.entityId,
        owner=str(content.get("owner", event.owner)), action=str(content.get("action", "")),
        attributes=dict(attributes) if isinstance(attributes, Mapping) else {},
        state=RequestState(str(content.get("state", "queued"))),
        notBefore=time("notBefore") or event.updated, created=time("created") or event.updated,
        updated=time("updated") or event.updated,
        progress=dict(progress) if isinstance(progress, Mapping) else {},
        attempts=int(str(content.get("attempts", 0))), started=time("started"),
        finished=time("finished"), message=str(content.get("message", "")),
        claimedBy=None, cancelRequested=bool(content.get("cancelRequested", False)),
        revision=int(str(content.get("revision", 1))),
    )
