"""Notes: the documentation and change records users write about a resource, at
``{entity}/notes/{id}`` (the walkthrough's sub-resource collections).

A note belongs to its entity and goes when the entity is deleted.  Its id is the client's (PUT)
or the server's (POST); ``revision`` makes its ETag, as for entities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import Conflict, NotFound, PreconditionFailed

#: ``expect`` for a note that must not exist yet.
NEW = 0


@dataclass(frozen=True)
class Note:
    entityId: str
    id: str
    owner: str
    title: str
    text: str
    created: float
    updated: float
    revision: int = 1


@dataclass(frozen=True)
class NotePage:
    notes: Sequence[Note]
    cursor: str | None


def checkPut(existing: Note | None, note: Note, expect: int | None) -> None:
    """The rules of storing ``note`` where ``existing`` is: ``expect`` is ``NEW`` (it must
    not exist), a revision (it must be that one), or ``None`` (anything goes)."""
    if expect == NEW and existing is not None:
        raise Conflict(f"The note {note.id} exists already.")
    if expect not in (None, NEW) and (existing is None or existing.revision != expect):
        raise changed(note.id)


def checkDelete(existing: Note | None, entityId: str, noteId: str, expect: int | None) -> Note:
    if existing is None:
        raise NotFound(f"There is no note {noteId} of {entityId}.")
    if expect is not None and existing.revision != expect:
        raise changed(noteId)
    return existing


def changed(noteId: str) -> PreconditionFailed:
    return PreconditionFailed(f"The note {noteId} has changed; GET it again and retry.")


def noEntity(entityId: str) -> NotFound:
    return NotFound(f"There is no entity with the id {entityId} to write a note about.")
