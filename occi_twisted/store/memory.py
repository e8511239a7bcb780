"""A store in dictionaries: for tests, and the reference the SQLite store is checked against.

It keeps the same documents as the SQLite store (canonical JSON, categories by identifier), so
a test that passes here exercises the same serialisation, and it applies the same rules
(:mod:`._rules`; for requests :mod:`._requests`, over the table of :mod:`._memrequests`).
Its events, subscriptions and notes are kept by the parts in :mod:`._memlog`.  Nothing is
durable; listings are linear scans, which is fine at test sizes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import IReactorTime
from zope.interface import implementer

from ..model import Entity, Mixin, Registry, Value
from ..model.answers import Answer, RememberAnswer, keyTaken
from ..model.forwards import Forward, RememberForward
from ..model.quotas import WithinQuota, checkWithin, resizeTo
from ..model.requests import RequestRecord
from . import _eventrules, _requestrules, _rules
from ._memforwards import ForwardsInMemory
from ._memlog import EventsInMemory, NotesInMemory
from ._memrequests import RequestTable
from ._notices import Notifying
from ._requests import RequestMethods, RequestRows
from .interface import Change, Delete, IStore, Page, Put, Query
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
class MemoryStore(Notifying, RequestMethods, EventsInMemory, NotesInMemory, ForwardsInMemory):
    """Entities and user mixins in dictionaries, with the semantics of the durable stores.

    A change set is staged in a :class:`_Staged` overlay -- every rule checked against the
    committed state plus the set's earlier changes -- and merged only once all of it passed,
    so a failing set changes nothing.  ``clock``, when given, tells the time of the changes
    the caller does not stamp: the ``updated`` time of entities that lose a removed mixin,
    and of a deletion's events (without one, those keep the entity's own last time).
    """

    def __init__(self, registry: Registry, clock: IReactorTime | None = None) -> None:
        super().__init__()
        self.registry = registry
        self._clock = clock
        self._rows: dict[str, _Row] = {}
        #: Link ids by the locations they come from or go to: what a delete cascades along.
        self._linksAt: defaultdict[str, set[str]] = defaultdict(set)
        #: Documents of user mixins by identifier, in the order they were defined.
        self._userMixins: dict[str, dict[str, Value]] = {}
        self._requests = RequestTable(self._requestChanged)
        self._answers: dict[tuple[str, str], Answer] = {}

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
        return self._run(lambda: self._keep(self._stage(changes)))

    def _stage(self, changes: Sequence[Change]) -> _Staged:
        """Check every change against the rows as the earlier ones leave them (raising at the
        first refused), keeping nothing yet."""
        staged = _Staged(self)
        for change in changes:
            if isinstance(change, Put):
                staged.put(recordOf(change.entity), change.expect, change.author)
            elif isinstance(change, Delete):
                staged.delete(change.entityId, change.expect, change.author)
            elif isinstance(change, RememberAnswer):
                staged.remember(change.answer)
            elif isinstance(change, WithinQuota):
                staged.checkQuota(change)
            elif isinstance(change, RememberForward):
                staged.forwards.append(change.forward)
            else:
                staged.addRequest(change.record)
        return staged

    def _keep(self, staged: _Staged) -> None:
        """Make a staged change set the committed state."""
        self._merge(staged.rows, staged.authors)
        self._requests.insert(staged.requests)
        for answer in staged.answers:
            self._answers[(answer.owner, answer.key)] = answer
        self._keepForwards(staged.forwards)

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

    # -- events ------------------------------------------------------------------------

    def _entityChanged(self, old: _Row | None, new: _Row | None,
                       author: str | None = None) -> None:
        either = new or old
        if either is None:
            return
        record = either.record
        now = (self._clock.seconds() if self._clock is not None
               else float(json.loads(record.document)["updated"]))
        self._append(_eventrules.entityRow(
            record.kind, record.id, record.location, record.owner,
            old=old.record.document if old is not None else None,
            new=new.record.document if new is not None else None, now=now, author=author))

    def _requestChanged(self, before: RequestRecord | None, after: RequestRecord) -> None:
        row = self._rows.get(after.entityId)
        if row is not None:
            self._append(_eventrules.requestRow(before, after, row.record.location))

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

    # -- requests (see :mod:`._requests`) ---------------------------------------------------

    def _readRequests(self, work: Callable[[RequestRows], _T]) -> Deferred[_T]:
        return self._run(lambda: work(self._requests))

    def _writeRequests(
        self, work: Callable[[RequestRows], _T], changes: Sequence[Change] = ()
    ) -> Deferred[_T]:
        def write() -> _T:
            # The changes are checked first and kept last: ``work`` raises, if it does,
            # before it writes anything, so a refusal from either leaves both as they were.
            staged = self._stage(changes)
            done = work(self._requests)
            self._keep(staged)
            return done

        return self._run(write)

    # -- helpers -----------------------------------------------------------------------

    def _hasEntity(self, entityId: str) -> bool:
        return entityId in self._rows

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

    def _merge(self, changed: Mapping[str, _Row | None],
               authors: Mapping[str, str | None] | None = None) -> None:
        """Make staged rows (``None``: deleted) the committed state, indexes included;
        ``authors``: who made each change, for its event."""
        for entityId, row in changed.items():
            old = self._rows.get(entityId)
            self._entityChanged(old, row, (authors or {}).get(entityId))
            if old is not None:
                for location in (old.record.source, old.record.target):
                    if location is not None:
                        self._linksAt[location].discard(entityId)
                        if not self._linksAt[location]:
                            del self._linksAt[location]
            if row is None:
                self._rows.pop(entityId, None)
                self._forgetNotes(entityId)
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
        #: Who made each change, by entity id (absent or ``None``: the owner).
        self.authors: dict[str, str | None] = {}
        self.forwards: list[Forward] = []

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

    def forwarded(self, entityId: str) -> bool:
        return self._store._forwarded(entityId) or \
            any(forward.entityId == entityId for forward in self.forwards)

    def put(self, record: EntityRecord, expect: int | None, author: str | None = None
            ) -> None:
        existing = _rules.checkPut(self, record, expect)
        seq = existing.seq if existing is not None else self._store._nextSeq()
        self.rows[record.id] = _Row.of(seq, record)
        self.authors[record.id] = author

    def delete(self, entityId: str, expect: int | None, author: str | None = None) -> None:
        _rules.checkDelete(self, entityId, expect)
        doomed = [entityId]
        while doomed:
            row = self.row(doomed.pop())
            if row is None:
                continue
            self.rows[row.record.id] = None
            self.authors[row.record.id] = author
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

    def checkQuota(self, change: WithinQuota) -> None:
        """The owner's things as the set leaves them, against their limits."""
        ids = set(self._store._rows) | set(self.rows)
        documents = [row.record.document for entityId in ids
                     if (row := self.row(entityId)) is not None
                     and row.record.owner == change.owner]
        records = [record for _, record in self._store._requests.records()]
        records += [_requestrules.fromRow(row) for row in self.requests]
        unfinished = [record for record in records
                      if record.owner == change.owner and not record.state.isFinal]
        resizing: dict[str, float] = {}
        for record in unfinished:
            size = resizeTo(record.action, record.attributes)
            if size is not None:
                resizing[record.entityId] = max(size, resizing.get(record.entityId, 0.0))
        checkWithin(change.limits, documents, len(unfinished), resizing)

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
