"""Which event each change makes, written once for every backend (see :mod:`.events`).

Events are rows of plain columns (:data:`COLUMNS`) as SQLite keeps them; the memory store keeps
the same rows.  An entity event's content is the entity's stored document; a request event's
is the request's record, less what only its runner reads (the checkpoint) and what changes
without a client seeing it (the lease).
"""

from __future__ import annotations

import json
from typing import Any

from ..model.events import Event, EventType, newEventId
from ..model.requests import RequestRecord, RequestState
from .serial import canonical

COLUMNS = ("id", "type", "entity_id", "location", "collection", "request_id", "owner",
           "updated", "title", "content", "author")

Row = tuple[Any, ...]

_FINAL = {
    RequestState.SUCCEEDED: EventType.SUCCEEDED,
    RequestState.FAILED: EventType.FAILED,
    RequestState.CANCELLED: EventType.CANCELLED,
}


def collectionOf(location: str) -> str:
    """The kind collection of an entity location: ``/compute/x`` → ``/compute/``."""
    return location.rpartition("/")[0] + "/"


def _term(identifier: str) -> str:
    return identifier.rpartition("#")[2] or identifier


def entityRow(
    kind: str, entityId: str, location: str, owner: str, *, old: str | None,
    new: str | None, now: float, created: float | None = None, author: str | None = None,
) -> Row:
    """The event of an entity going from document ``old`` to ``new`` (``None``: absent),
    made by ``author`` (``None``: the owner, or the server on the owner's behalf).

    ``now`` is the time of a deletion; ``created``, when given for a new entity, is the time
    in its document (which then need not be decoded: creates are the busiest changes)."""
    if new is None:
        kindOf, eventType, updated, content = kind, EventType.DELETED, now, "{}"
    elif old is None and created is not None:
        kindOf, eventType, updated, content = kind, EventType.CREATED, created, new
    else:
        document = json.loads(new)
        kindOf, updated, content = document["kind"], float(document["updated"]), new
        eventType = _changeType(json.loads(old) if old is not None else None, document)
    title = f"{_term(kindOf)} {location} {eventType.value}"
    return (newEventId(updated), eventType.value, entityId, location, collectionOf(location),
            None, owner, updated, title, content, author)


def _changeType(old: dict[str, Any] | None, new: dict[str, Any]) -> EventType:
    if old is None:
        return EventType.CREATED
    if old.get("attributes") == new.get("attributes") and old.get("mixins") != new.get("mixins"):
        return EventType.MIXINS
    return EventType.UPDATED


def requestType(before: RequestRecord | None, after: RequestRecord) -> EventType | None:
    """The step a request took, or ``None`` when nothing a client sees changed."""
    if before is None:
        return EventType.QUEUED if after.state is RequestState.QUEUED else EventType.SCHEDULED
    if before.revision == after.revision:
        return None
    if after.state in _FINAL:
        return _FINAL[after.state]
    if after.state is RequestState.RUNNING:
        if before.state is not RequestState.RUNNING or before.claimedBy != after.claimedBy:
            return EventType.STARTED
        if after.cancelRequested and not before.cancelRequested:
            return EventType.CANCELLING
        return EventType.PROGRESS
    return EventType.QUEUED if after.state is RequestState.QUEUED else EventType.SCHEDULED


def requestRow(before: RequestRecord | None, after: RequestRecord, location: str) -> Row | None:
    """The event of a request's change, or ``None`` (a lease renewal, say)."""
    eventType = requestType(before, after)
    if eventType is None:
        return None
    title = f"{_term(after.action)} {location} {eventType.value}"
    return (newEventId(after.updated), eventType.value, after.entityId, location,
            collectionOf(location), after.id, after.owner, after.updated, title,
            canonical(requestContent(after)), None)


def requestContent(record: RequestRecord) -> dict[str, Any]:
    return {
        "id": record.id, "entityId": record.entityId, "owner": record.owner,
        "action": record.action, "attributes": dict(record.attributes),
        "state": record.state.value, "notBefore": record.notBefore, "created": record.created,
        "updated": record.updated, "progress": dict(record.progress),
        "attempts": record.attempts, "started": record.started, "finished": record.finished,
        "message": record.message, "claimedBy": record.claimedBy,
        "cancelRequested": record.cancelRequested, "revision": record.revision,
    }


def fromRow(seq: int, row: Row) -> Event:
    (eventId, eventType, entityId, location, collection, requestId, owner, updated, title,
     content, author) = row
    return Event(seq=seq, id=eventId, type=EventType(eventType), entityId=entityId,
                 location=location, collection=collection, requestId=requestId, owner=owner,
                 updated=float(updated), title=title, content=json.loads(content),
                 author=author or "")
