"""A store in dictionaries: for tests, and the reference the SQLite store is checked against.

It keeps the same documents as the SQLite store (canonical JSON, categories by identifier), so
a test that passes here exercises the same serialisation, and it applies the same rules
(:mod:`._rules`, and :mod:`._requestrules` for requests, kept in :mod:`._memrequests`).
Nothing is durable; listings are linear scans, which is fine at test sizes.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import IReactorTime
from zope.interface import implementer

from ..model import Entity, Mixin, Registry, Value, notes
from ..model.answers import Answer, RememberAnswer, keyTaken
from ..model.events import Event, EventPage, Subscription
from ..model.notes import Note, NotePage
from ..model.requests import AddRequest, RequestPage, RequestRecord, RequestState
from . import _eventrules, _requestrules, _rules
from ._memrequests import RequestTable
from .interface import Change, Delete, IStore, Page, Put, Query, StoreUnavailable
from .serial import (
    EntityRecord,
    canonical,
    defineUserMixins,
    entityFromDict,
    mixinToDict,
    recordOf,
)

_T = TypeVar("_T")


@dataclass(frozen=True)
class _Row:
    """A stored entity: its creation sequence number, record, and attributes for filtering."""

    seq: int
    record: EntityRecord
    attributes: Mapping[str, Value]

    @classmethod
    def of(cls, seq: int, record: EntityRecord) -> _Row:
        return cls(seq, record, json.loads(record.document)["attributes"])

    def mentions(self, location: str) -> bool:
        """Whether this is a link from or to ``location``."""
        return location in (self.record.source, self.record.target)


@implementer(IStore)
class MemoryStore(_requestrules.Transitions):
    """Entities and user mixins in dictionaries, with the semantics of the durable stores.

    A change set is staged in a :class:`_Staged` overlay -- every rule checked against the
    committed state plus the set's earlier changes -- and merged only once all of it passed,
    so a failing set changes nothing.  ``clock``, when given, stamps the ``updated`` time of
    entities that lose a removed mixin.
    """

    def __init__(self, registry: Registry, clock: IReactorTime | None = None) -> None:
        self.registry = registry
        self._clock = clock
        self._rows: dict[str, _Row] = {}
        #: Link ids by the locations they come from or go to: what a delete cascades along.
        self._linksAt: defaultdict[str, set[str]] = defaultdict(set)
        #: Documents of user mixins by identifier, in the order they were defined.
        self._userMixins: dict[str, dict[str, Value]] = {}
        self._lastSeq = 0
        self._running = False
        self._requests = RequestTable(self._requestChanged)
        self._answers: dict[tuple[str, str], Answer] = {}
        self._events: list[Event] = []
        self._listeners: list[Callable[[], None]] = []
        self._subscriptions: dict[tuple[str, str], Subscription] = {}
        #: Notes by (entity id, note id), with their creation sequence number.
        self._notes: dict[tuple[str, str], tuple[int, Note]] = {}

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Deferred[None]:
        def start() -> None:
            defineUserMixins(self.registry, self._userMixins.values())
            self._running = True

        return maybeDeferred(start)

    def stop(self) -> Deferred[None]:
        self._running = False
        return maybeDeferred(lambda: None)

    # -- reads -------------------------------------------------------------------------

    def get(self, entityId: str) -> Deferred[Entity | None]:
        def get() -> Entity | None:
            row = self._rows.get(entityId)
            return None if row is None else self._entity(row)

        return self._run(get)

    def page(self, query: Query, after: str | None, limit: int) -> Deferred[Page]:
        def page() -> Page:
            _rules.checkLimit(limit)
            start = _rules.cursorAfter(after)
            found: list[_Row] = []
            for row in self._matching(query):
                if row.seq > start:
                    found.append(row)
                    if len(found) > limit:
                        break
            shown = found[:limit]
            cursor = str(shown[-1].seq) if len(found) > limit else None
            return Page([self._entity(row) for row in shown], cursor)

        return self._run(page)

    def count(self, query: Query) -> Deferred[int]:
        return self._run(lambda: sum(1 for _ in self._matching(query)))

    def linksFrom(self, sources: Sequence[str]) -> Deferred[dict[str, list[Entity]]]:
        def linksFrom() -> dict[str, list[Entity]]:
            links: dict[str, list[Entity]] = {}
            for source in sources:
                rows = [
                    self._rows[linkId]
                    for linkId in self._linksAt.get(source, ())
                    if self._rows[linkId].record.source == source
                ]
                rows.sort(key=lambda row: row.seq)
                links[source] = [self._entity(row) for row in rows]
            return links

        return self._run(linksFrom)

    # -- writes ------------------------------------------------------------------------

    def apply(self, changes: Sequence[Change]) -> Deferred[None]:
        return self._run(lambda: self._stage(changes))

    def _stage(self, changes: Sequence[Change]) -> None:
        """Check every change against the rows as the earlier ones leave them, then keep
        them all -- or raise, having kept none."""
        staged = _Staged(self)
        for change in changes:
            if isinstance(change, Put):
                staged.put(recordOf(change.entity), change.expect)
            elif isinstance(change, Delete):
                staged.delete(change.entityId, change.expect)
            elif isinstance(change, RememberAnswer):
                staged.remember(change.answer)
            else:
                staged.addRequest(change.record)
        self._merge(staged.rows)
        self._requests.insert(staged.requests)
        for answer in staged.answers:
            self._answers[(answer.owner, answer.key)] = answer

    def defineMixin(self, mixin: Mixin) -> Deferred[Mixin]:
        def define() -> Mixin:
            registered = self.registry.defineUserMixin(mixin)
            self._userMixins.setdefault(registered.identifier, mixinToDict(registered))
            return registered

        return self._run(define)

    def removeMixin(self, identifier: str) -> Deferred[None]:
        def remove() -> None:
            _rules.checkRemovable(self.registry, identifier)
            changed: dict[str, _Row | None] = {}
            for row in self._rows.values():
                if identifier in row.record.mixins:
                    entity = self._entity(row)
                    less = replace(
                        entity,
                        mixins=tuple(m for m in entity.mixins if m.identifier != identifier),
                        revision=entity.revision + 1,
                        updated=entity.updated if self._clock is None else self._clock.seconds(),
                    )
                    changed[row.record.id] = _Row.of(row.seq, recordOf(less))
            self._merge(changed)
            del self._userMixins[identifier]
            self.registry.removeUserMixin(identifier)

        return self._run(remove)

    # -- events and subscriptions ------------------------------------------------------

    def eventsAfter(self, after: int, limit: int) -> Deferred[list[Event]]:
        return self._run(lambda: self._events[max(0, after):max(0, after) + limit])

    def events(self, node: str, *, requestId: str | None = None, before: int | None = None,
               limit: int = 50) -> Deferred[EventPage]:
        def page() -> EventPage:
            found: list[Event] = []
            end = len(self._events) if before is None else min(len(self._events), before - 1)
            for event in reversed(self._events[:max(0, end)]):
                if requestId is not None and event.requestId != requestId:
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

    def addEventListener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def removeEventListener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

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

    def _entityChanged(self, old: _Row | None, new: _Row | None) -> None:
        either = new or old
        if either is None:
            return
        record = either.record
        now = self._clock.seconds() if self._clock is not None else time.time()
        self._append(_eventrules.entityRow(
            record.kind, record.id, record.location, record.owner,
            old=old.record.document if old is not None else None,
            new=new.record.document if new is not None else None, now=now))

    def _requestChanged(self, before: RequestRecord | None, after: RequestRecord) -> None:
        row = self._rows.get(after.entityId)
        if row is not None:
            self._append(_eventrules.requestRow(before, after, row.record.location))

    def _append(self, row: _eventrules.Row | None) -> None:
        if row is not None:
            self._events.append(_eventrules.fromRow(len(self._events) + 1, row))

    # -- notes ---------------------------------------------------------------------------

    def putNote(self, note: Note, expect: int | None = None) -> Deferred[Note]:
        def put() -> Note:
            if note.entityId not in self._rows:
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

    # -- remembered answers ------------------------------------------------------------

    def recall(self, owner: str, key: str) -> Deferred[Answer | None]:
        return self._run(lambda: self._answers.get((owner, key)))

    def forgetAnswers(self, before: float) -> Deferred[int]:
        def forget() -> int:
            old = [k for k, answer in self._answers.items() if answer.created < before]
            for k in old:
                del self._answers[k]
            return len(old)

        return self._run(forget)

    # -- requests ----------------------------------------------------------------------

    def addRequest(self, record: RequestRecord) -> Deferred[None]:
        return self.apply([AddRequest(record)])

    def getRequest(self, requestId: str) -> Deferred[RequestRecord | None]:
        return self._run(lambda: self._requests.get(requestId))

    def listRequests(
        self, entityId: str | None, after: str | None, limit: int
    ) -> Deferred[RequestPage]:
        return self._run(lambda: self._requests.page(entityId, after, limit))

    def claimDue(
        self, node: str, now: float, limit: int, leaseSeconds: float
    ) -> Deferred[list[RequestRecord]]:
        return self._run(lambda: self._requests.claimDue(node, now, limit, leaseSeconds))

    def checkpoint(
        self, requestId: str, node: str, *, now: float, leaseSeconds: float,
        progress: Mapping[str, Value] | None = None, checkpoint: Value | None = None,
    ) -> Deferred[RequestRecord]:
        return self._change(requestId, partial(
            _requestrules.checkpointed, node=node, now=now, leaseSeconds=leaseSeconds,
            progress=progress, checkpoint=checkpoint))

    def finish(
        self, requestId: str, node: str, *, now: float, state: RequestState, message: str,
        progress: Mapping[str, Value] | None = None, changes: Sequence[Change] = (),
    ) -> Deferred[RequestRecord]:
        transition = partial(_requestrules.finished, node=node, now=now, state=state,
                             message=message, progress=progress)

        def finish() -> RequestRecord:
            # Check the request's transition before touching anything, so that a refusal
            # from either part leaves both as they were.
            ended = transition(_requestrules.found(requestId, self._requests.get(requestId)))
            self._stage(changes)
            return self._requests.change(requestId, lambda record: ended)

        return self._run(finish)

    def nextDue(self, now: float) -> Deferred[float | None]:
        return self._run(lambda: self._requests.nextDue(now))

    def releaseNode(self, node: str, now: float) -> Deferred[list[RequestRecord]]:
        return self._run(lambda: self._requests.releaseNode(node, now))

    def _change(
        self, requestId: str, transition: Callable[[RequestRecord], RequestRecord]
    ) -> Deferred[RequestRecord]:
        return self._run(lambda: self._requests.change(requestId, transition))

    # -- helpers -----------------------------------------------------------------------

    def _run(self, work: Callable[[], _T]) -> Deferred[_T]:
        """Run ``work`` now, as a Deferred; refuse once the store is stopped."""

        def checked() -> _T:
            if not self._running:
                raise StoreUnavailable("The store is not running: it was stopped or never started.")
            seen = len(self._events)
            result = work()
            if len(self._events) > seen:
                for listener in list(self._listeners):
                    listener()
            return result

        return maybeDeferred(checked)

    def _entity(self, row: _Row) -> Entity:
        # A fresh parse each time, so callers never share mutable values with the store.
        return entityFromDict(json.loads(row.record.document), self.registry)

    def _matching(self, query: Query) -> Iterator[_Row]:
        """Rows matching ``query`` in creation order."""
        # Dictionaries keep insertion order, which is creation order except after a
        # replacement; sorting an almost sorted list is linear.
        for row in sorted(self._rows.values(), key=lambda row: row.seq):
            if _matches(row, query):
                yield row

    def _nextSeq(self) -> int:
        self._lastSeq += 1
        return self._lastSeq

    def _merge(self, changed: Mapping[str, _Row | None]) -> None:
        """Make staged rows (``None``: deleted) the committed state, indexes included."""
        for entityId, row in changed.items():
            old = self._rows.get(entityId)
            self._entityChanged(old, row)
            if old is not None:
                for location in (old.record.source, old.record.target):
                    if location is not None:
                        self._linksAt[location].discard(entityId)
                        if not self._linksAt[location]:
                            del self._linksAt[location]
            if row is None:
                self._rows.pop(entityId, None)
                for key in [k for k in self._notes if k[0] == entityId]:
                    del self._notes[key]
                continue
            self._rows[entityId] = row
            for location in (row.record.source, row.record.target):
                if location is not None:
                    self._linksAt[location].add(entityId)


class _Staged:
    """One change set in progress: the committed rows with the set's changes on top."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        #: The set's changes by entity id; ``None`` marks a deletion.
        self.rows: dict[str, _Row | None] = {}
        #: The set's new requests, as rows, in order.
        self.requests: list[_requestrules.Row] = []
        #: The set's remembered answers.
        self.answers: list[Answer] = []

    def row(self, entityId: str) -> _Row | None:
        if entityId in self.rows:
            return self.rows[entityId]
        return self._store._rows.get(entityId)

    def stored(self, entityId: str) -> _rules.Stored | None:
        row = self.row(entityId)
        if row is None:
            return None
        record = row.record
        return _rules.Stored(
            row.seq, record.kind, record.location, record.revision, record.isResource
        )

    def hasUserMixin(self, identifier: str) -> bool:
        return identifier in self._store._userMixins

    def put(self, record: EntityRecord, expect: int | None) -> None:
        existing = _rules.checkPut(self, record, expect)
        seq = existing.seq if existing is not None else self._store._nextSeq()
        self.rows[record.id] = _Row.of(seq, record)

    def delete(self, entityId: str, expect: int | None) -> None:
        _rules.checkDelete(self, entityId, expect)
        doomed = [entityId]
        while doomed:
            row = self.row(doomed.pop())
            if row is None:
                continue
            self.rows[row.record.id] = None
            doomed.extend(self._linksAt(row.record.location))

    def remember(self, answer: Answer) -> None:
        key = (answer.owner, answer.key)
        if key in self._store._answers or any((a.owner, a.key) == key for a in self.answers):
            raise keyTaken(answer.key)
        self.answers.append(answer)

    def addRequest(self, record: RequestRecord) -> None:
        _requestrules.checkNew(record)
        row = _requestrules.toRow(record)
        if self._store._requests.has(record.id) or any(r[0] == record.id for r in self.requests):
            raise _requestrules.duplicate(record.id)
        if self.stored(record.entityId) is None:
            raise _requestrules.noEntity(record.entityId)
        self.requests.append(row)

    def _linksAt(self, location: str) -> list[str]:
        candidates = set(self._store._linksAt.get(location, ()))
        candidates.update(i for i, row in self.rows.items() if row and row.mentions(location))
        return [
            i for i in candidates if (row := self.row(i)) is not None and row.mentions(location)
        ]


def _matches(row: _Row, query: Query) -> bool:
    record = row.record
    if query.kinds and record.kind not in query.kinds:
        return False
    if query.owner is not None and record.owner != query.owner:
        return False
    if query.mixins and query.mixins.isdisjoint(record.mixins):
        return False
    return all(
        name in row.attributes and sameValue(row.attributes[name], wanted)
        for name, wanted in query.attributes.items()
    )


def sameValue(stored: Any, wanted: Value) -> bool:
    """Whether a stored attribute value matches a filter's, by the rules of :class:`Query`:
    numbers by value, anything else by canonical JSON text (so ``True`` is not ``1``)."""
    if _isNumber(wanted) and _isNumber(stored):
        return bool(stored == wanted)
    return canonical(stored) == canonical(wanted)


def _isNumber(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
