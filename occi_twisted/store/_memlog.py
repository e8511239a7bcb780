"""The memory store's event log, subscriptions and notes, in lists and dictionaries.

Each part here is one small interface (:class:`~.interface.IEventLog`,
:class:`~.interface.ISubscriptionStore`, :class:`~.interface.INoteStore`) over the state of
:class:`MemoryState`, which :class:`~.memory.MemoryStore` puts together with its entities.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from twisted.internet.defer import Deferred, maybeDeferred

from ..model import notes
from ..model.events import Event, EventPage, Subscription
from ..model.notes import Note, NotePage
from . import _eventrules, _rules
from ._notices import Notices
from .interface import StoreUnavailable

_T = TypeVar("_T")


class MemoryState:
    """What every part of the memory store shares: whether it runs, its listeners, the events,
    the notes (an entity's delete takes them), and how a call runs (:meth:`_run`)."""

    def __init__(self) -> None:
        self._running = False
        self._notices = Notices()
        self._events: list[Event] = []
        self._lastSeq = 0
        #: Notes by (entity id, note id), with their creation sequence number.
        self._notes: dict[tuple[str, str], tuple[int, Note]] = {}

    def _run(self, work: Callable[[], _T]) -> Deferred[_T]:
        """Run ``work`` now, as a Deferred; refuse once the store is stopped.  Listeners hear
        of the events it appended before its Deferred fires, as they would of a commit."""

        def checked() -> _T:
            if not self._running:
                raise StoreUnavailable("The store is not running: it was stopped or never started.")
            seen = len(self._events)
            result = work()
            if len(self._events) > seen:
                self._notices.changed()
            return result

        return maybeDeferred(checked)

    def _hasEntity(self, entityId: str) -> bool:
        raise NotImplementedError

    def _nextSeq(self) -> int:
        self._lastSeq += 1
        return self._lastSeq

    def _append(self, row: _eventrules.Row | None) -> None:
        if row is not None:
            self._events.append(_eventrules.fromRow(len(self._events) + 1, row))


class EventsInMemory(MemoryState):
    """:class:`~.interface.IEventLog`'s reads and :class:`~.interface.ISubscriptionStore`."""

    def __init__(self) -> None:
        super().__init__()
        self._subscriptions: dict[tuple[str, str], Subscription] = {}
        self._published: int | None = None

    def eventsAfter(self, after: int, limit: int) -> Deferred[list[Event]]:
        return self._run(lambda: self._events[max(0, after):max(0, after) + limit])

    def newestSeq(self) -> Deferred[int]:
        return self._run(lambda: len(self._events))

    def events(self, node: str, *, requestId: str | None = None, before: int | None = None,
               limit: int = 50, owner: str | None = None) -> Deferred[EventPage]:
        def page() -> EventPage:
            found: list[Event] = []
            end = len(self._events) if before is None else min(len(self._events), before - 1)
            for event in reversed(self._events[:max(0, end)]):
                if requestId is not None and event.requestId != requestId:
                    continue
                if owner is not None and event.owner != owner:
                    continue
                if node != "/" and node not in (event.location, event.collection):
                    continue
                found.append(event)
                if len(found) > limit:
                    break
            return EventPage(found[:limit], len(found) > limit)

        return self._run(page)

    def event(self, eventId: str) -> Deferred[Event | None]:
        return self._run(lambda: next((e for e in self._events if e.id == eventId), None))

    def subscribe(self, subscription: Subscription) -> Deferred[Subscription]:
        def subscribe() -> Subscription:
            key = (subscription.node, subscription.jid)
            existing = self._subscriptions.get(key)
            kept = subscription if existing is None else replace(
                existing, options=dict(subscription.options))
            self._subscriptions[key] = kept
            return kept

        return self._run(subscribe)

    def unsubscribe(self, node: str, jid: str, subid: str | None = None) -> Deferred[bool]:
        def unsubscribe() -> bool:
            existing = self._subscriptions.get((node, jid))
            if existing is None or (subid is not None and existing.subid != subid):
                return False
            del self._subscriptions[(node, jid)]
            return True

        return self._run(unsubscribe)

    def subscriptions(self, node: str | None = None, jid: str | None = None
                      ) -> Deferred[list[Subscription]]:
        return self._run(lambda: [
            s for s in self._subscriptions.values()
            if (node is None or s.node == node) and (jid is None or s.jid == jid)
        ])

    def publishedUpTo(self) -> Deferred[int | None]:
        return self._run(lambda: self._published)

    def savePublished(self, seq: int) -> Deferred[None]:
        def save() -> None:
            self._published = max(seq, self._published or 0)

        return self._run(save)


class NotesInMemory(MemoryState):
    """:class:`~.interface.INoteStore`: notes keyed by entity and id, in creation order."""

    def putNote(self, note: Note, expect: int | None = None) -> Deferred[Note]:
        def put() -> Note:
            if not self._hasEntity(note.entityId):
                raise notes.noEntity(note.entityId)
            key = (note.entityId, note.id)
            seq, existing = self._notes.get(key, (self._nextSeq(), None))
            notes.checkPut(existing, note, expect)
            stored = replace(note, revision=1) if existing is None else replace(
                note, created=existing.created, revision=existing.revision + 1)
            self._notes[key] = (seq, stored)
            return stored

        return self._run(put)

    def getNote(self, entityId: str, noteId: str) -> Deferred[Note | None]:
        return self._run(lambda: self._notes.get((entityId, noteId), (0, None))[1])

    def deleteNote(self, entityId: str, noteId: str, expect: int | None = None
                   ) -> Deferred[None]:
        def delete() -> None:
            existing = self._notes.get((entityId, noteId), (0, None))[1]
            notes.checkDelete(existing, entityId, noteId, expect)
            del self._notes[(entityId, noteId)]

        return self._run(delete)

    def listNotes(self, entityId: str, after: str | None, limit: int) -> Deferred[NotePage]:
        def page() -> NotePage:
            _rules.checkLimit(limit)
            start = _rules.cursorAfter(after)
            found = sorted((seq, note) for (owner, _), (seq, note) in self._notes.items()
                           if owner == entityId and seq > start)[:limit + 1]
            shown = found[:limit]
            cursor = str(shown[-1][0]) if len(found) > limit else None
            return NotePage([note for _, note in shown], cursor)

        return self._run(page)

    def _forgetNotes(self, entityId: str) -> None:
        """Inside an entity's delete: its notes go with it."""
        for key in [k for k in self._notes if k[0] == entityId]:
            del self._notes[key]
