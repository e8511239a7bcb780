"""The embedded default store: one SQLite file, durable before any Deferred fires.

Two connections to one WAL-mode database:

- writes go to a :class:`~._writer.GroupCommitWriter` thread, which runs each change set as
  it comes, in its own savepoint of the transaction it keeps open while the previous commit
  is being synced, and commits them all the moment that sync ends; another thread makes each
  commit durable with one fsync of the WAL.  That is what lets hundreds of concurrent
  requests each get a durable answer without each paying a whole fsync.
- reads run synchronously on the reactor thread on a second connection.  They are indexed
  lookups taking microseconds, cheaper than a thread hop, and WAL lets them proceed while the
  writer commits.  A write's Deferred fires once its commit is durable, so a read issued from
  its callback sees it.

Everything that crosses to the writer thread is plain data: entities become
:class:`~.serial.EntityRecord` on the reactor thread, where the registry lives.

Requests (:mod:`._sqlrequests`, under the rules of :mod:`._requests`) follow the same split:
every transition -- a claim above all -- is a unit of work on the writer thread, so it reads
and writes under SQLite's write lock, which several stores (nodes) on one file share; reading
one runs on the reactor thread.  Once a unit of work that appended events is durable, the
listeners hear of it (:mod:`._notices`).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import suppress
from functools import partial
from typing import TypeVar

from twisted.internet.defer import Deferred, fail, maybeDeferred
from twisted.internet.interfaces import IReactorFromThreads, IReactorTime
from zope.interface import implementer

from ..model import Entity, Mixin, Registry
from ..model.answers import Answer, RememberAnswer
from ..model.errors import OCCIError
from ..model.events import Event, EventPage, Subscription
from ..model.forwards import Forward, RememberForward
from ..model.notes import Note, NotePage
from ..model.quotas import WithinQuota
from . import (
    _requestrules,
    _rules,
    _sqlevents,
    _sqlforwards,
    _sqlnotes,
    _sqlread,
    _sqlrequests,
    _sqlwrite,
)
from ._notices import Notices, Notifying
from ._requests import RequestMethods, RequestRows
from ._sqlschema import LogSync, openReader, openWriter
from ._writer import GroupCommitWriter
from .interface import Change, Delete, IStore, Page, Put, Query, StoreUnavailable
from .serial import canonical, defineUserMixins, entityFromDict, mixinToDict, recordOf

_T = TypeVar("_T")
#: Decoded documents kept at most: about fifteen megabytes of entities.
_DECODED_MAX = 10_000


@implementer(IStore)
class SQLiteStore(Notifying, RequestMethods):
    """Entities and user mixins in the SQLite database file ``path``.

    The file and its directory are created if need be; SQLite keeps its ``-wal`` and ``-shm``
    files beside it.  ``reactor`` delivers the writer thread's results (``callFromThread``);
    ``clock`` (the reactor unless given) tells the time of what the caller does not stamp --
    a deletion's events, the entities that lose a removed user mixin -- and when to tell the
    listeners.
    """

    def __init__(
        self, path: str | os.PathLike[str], registry: Registry, reactor: IReactorFromThreads,
        clock: IReactorTime | None = None,
    ) -> None:
        self.registry = registry
        self._path = os.fspath(path)
        self._reactor = reactor
        self._clock = clock if clock is not None else IReactorTime(reactor)
        self._writer: GroupCommitWriter | None = None
        self._reader: sqlite3.Connection | None = None
        self._decoded: dict[str, Entity] = {}
        self._notices = Notices(self._clock)
        #: The last event the listeners were told of.
        self._told = 0
        #: Told the seconds each write took from submitted to durable, if set (metrics).
        self.commitTiming: Callable[[float], None] | None = None

    @property
    def commits(self) -> int:
        """Transactions committed since :meth:`start`: fewer than change sets under load."""
        return 0 if self._writer is None else self._writer.commits

    @property
    def syncs(self) -> int:
        """Syncs to the disk since :meth:`start`: fewer than transactions under load."""
        return 0 if self._writer is None else self._writer.syncs

    # -- lifecycle ---------------------------------------------------------------------

    def preflight(self) -> None:
        """Open the database once and close it, synchronously.

        The launcher calls this before the reactor runs, so that a store that cannot be
        used stops ``twistd`` with one line and exit status 1 instead of a server that
        starts and then has nothing to serve from.
        """
        try:
            openWriter(self._path).close()
        except sqlite3.Error as problem:
            raise StoreUnavailable(f"Cannot open the store {self._path}: {problem}.") from None

    def start(self) -> Deferred[None]:
        return Deferred.fromCoroutine(self._start())

    async def _start(self) -> None:
        if self._writer is not None:
            raise StoreUnavailable(f"The store {self._path} is already running.")
        writer = self._writer = GroupCommitWriter(
            partial(openWriter, self._path), self._reactor, sync=LogSync(self._path),
            mark=_sqlevents.lastSeq, durable=self._durable,
        )
        writer.timing = self._timed
        try:
            await writer.start()
            self._reader = openReader(self._path)
            documents = _sqlread.userMixins(self._reader)
            defineUserMixins(self.registry, (json.loads(text) for text in documents))
        except sqlite3.Error as problem:
            await self._stop()
            raise StoreUnavailable(f"Cannot open the store {self._path}: {problem}.") from None
        except BaseException:
            await self._stop()
            raise

    def _timed(self, seconds: float) -> None:
        if self.commitTiming is not None:
            self.commitTiming(seconds)

    def stop(self) -> Deferred[None]:
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            await writer.stop()
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()

    # -- reads (on the reactor thread) ---------------------------------------------------

    def get(self, entityId: str) -> Deferred[Entity | None]:
        def get(db: sqlite3.Connection) -> Entity | None:
            text = _sqlread.document(db, entityId)
            return None if text is None else self._entity(text)

        return self._read(get)

    def page(self, query: Query, after: str | None, limit: int) -> Deferred[Page]:
        def page(db: sqlite3.Connection) -> Page:
            _rules.checkLimit(limit)
            rows, more = _sqlread.page(db, query, _rules.cursorAfter(after), limit)
            cursor = str(rows[-1][0]) if more else None
            return Page([self._entity(text) for _, text in rows], cursor)

        return self._read(page)

    def count(self, query: Query) -> Deferred[int]:
        return self._read(partial(_sqlread.count, query=query))

    def linksFrom(self, sources: Sequence[str]) -> Deferred[dict[str, list[Entity]]]:
        def linksFrom(db: sqlite3.Connection) -> dict[str, list[Entity]]:
            links: dict[str, list[Entity]] = {source: [] for source in sources}
            for source, text in _sqlread.linksFrom(db, sources):
                links[source].append(self._entity(text))
            return links

        return self._read(linksFrom)

    # -- writes (on the writer thread) ---------------------------------------------------

    def apply(self, changes: Sequence[Change]) -> Deferred[None]:
        try:
            prepared = self._prepare(changes)
        except Exception:
            return fail()
        return self._write(partial(_sqlwrite.applyChanges, changes=prepared))

    def defineMixin(self, mixin: Mixin) -> Deferred[Mixin]:
        return Deferred.fromCoroutine(self._defineMixin(mixin))

    async def _defineMixin(self, mixin: Mixin) -> Mixin:
        self._checkRunning()
        # The registry first, synchronously: it checks the mixin, and a change set issued
        # right after this call may use the mixin (the writer keeps the order).
        known = self.registry.get(mixin.identifier) is not None
        self._decoded.clear()
        registered = self.registry.defineUserMixin(mixin)
        document = canonical(mixinToDict(registered))
        try:
            await self._write(
                partial(_sqlwrite.defineUserMixin, identifier=registered.identifier,
                        document=document)
            )
        except BaseException:
            if not known:
                _forget(self.registry, registered)
            raise
        return registered

    def removeMixin(self, identifier: str) -> Deferred[None]:
        return Deferred.fromCoroutine(self._removeMixin(identifier))

    async def _removeMixin(self, identifier: str) -> None:
        self._checkRunning()
        mixin = _rules.checkRemovable(self.registry, identifier)
        # Out of the registry at once, so no new change set can associate it; a change set
        # already queued that does is refused inside its transaction.
        self._decoded.clear()
        self.registry.removeUserMixin(identifier)
        now = self._now()
        try:
            await self._write(partial(_sqlwrite.removeUserMixin, identifier=identifier, now=now))
        except BaseException:
            with suppress(OCCIError):  # defined again meanwhile: that definition stands
                self.registry.defineUserMixin(mixin)
            raise

    # -- events and subscriptions ------------------------------------------------------

    def eventsAfter(self, after: int, limit: int) -> Deferred[list[Event]]:
        durable = 0 if self._writer is None else self._writer.durableMark
        return self._read(partial(_sqlevents.after, seq=after, limit=limit, durable=durable))

    def newestSeq(self) -> Deferred[int]:
        # One process writes the file, so the newest event acknowledged is known here without
        # a read: the writer's durable mark, which moves before any write is acknowledged.
        # A commit not durable yet is not counted, and needs not be: it is acknowledged to
        # nobody, and what was kept before it stands until it is.
        def newest() -> int:
            self._checkRunning()
            assert self._writer is not None
            return self._writer.durableMark

        return maybeDeferred(newest)

    def events(self, node: str, *, requestId: str | None = None, before: int | None = None,
               limit: int = 50, owner: str | None = None) -> Deferred[EventPage]:
        return self._read(partial(_sqlevents.page, node=node, requestId=requestId,
                                  before=before, limit=max(1, limit), owner=owner))

    def event(self, eventId: str) -> Deferred[Event | None]:
        return self._read(partial(_sqlevents.byId, eventId=eventId))

    def subscribe(self, subscription: Subscription) -> Deferred[Subscription]:
        return self._write(partial(_sqlevents.subscribe, subscription=subscription))

    def unsubscribe(self, node: str, jid: str, subid: str | None = None) -> Deferred[bool]:
        return self._write(partial(_sqlevents.unsubscribe, node=node, jid=jid, subid=subid))

    def subscriptions(self, node: str | None = None, jid: str | None = None
                      ) -> Deferred[list[Subscription]]:
        return self._read(partial(_sqlevents.subscriptions, node=node, jid=jid))

    def _now(self) -> float:
        return self._clock.seconds()

    def _prepare(self, changes: Sequence[Change]) -> list[_sqlwrite.PreparedChange]:
        """The changes as plain data for the writer thread (``ValueError``: a value is not
        JSON), on the reactor thread, where the registry lives."""
        now = self._now()
        return [_prepare(change, now) for change in changes]

    # -- notes ---------------------------------------------------------------------------

    def putNote(self, note: Note, expect: int | None = None) -> Deferred[Note]:
        return self._write(partial(_sqlnotes.put, note=note, expect=expect))

    def getNote(self, entityId: str, noteId: str) -> Deferred[Note | None]:
        return self._read(partial(_sqlnotes.get, entityId=entityId, noteId=noteId))

    def deleteNote(self, entityId: str, noteId: str, expect: int | None = None
                   ) -> Deferred[None]:
        return self._write(partial(_sqlnotes.delete, entityId=entityId, noteId=noteId,
                                   expect=expect))

    def listNotes(self, entityId: str, after: str | None, limit: int) -> Deferred[NotePage]:
        return self._read(partial(_sqlnotes.page, entityId=entityId, after=after, limit=limit))

    # -- remembered answers ------------------------------------------------------------

    def recall(self, owner: str, key: str) -> Deferred[Answer | None]:
        return self._read(partial(_sqlwrite.recall, owner=owner, key=key))

    def forgetAnswers(self, before: float) -> Deferred[int]:
        return self._write(partial(_sqlwrite.forgetAnswers, before=before))

    # -- forwards ----------------------------------------------------------------------

    def forward(self, location: str) -> Deferred[Forward | None]:
        return self._read(partial(_sqlforwards.get, location=location))

    def forwards(self, owner: str | None, after: str | None, limit: int
                 ) -> Deferred[tuple[list[Forward], str | None]]:
        def page(db: sqlite3.Connection) -> tuple[list[Forward], str | None]:
            _rules.checkLimit(limit)
            return _sqlforwards.page(db, owner, _rules.cursorAfter(after), limit)

        return self._read(page)

    def forgetForward(self, location: str) -> Deferred[Forward]:
        return self._write(partial(_sqlforwards.forget, location=location))

    # -- requests (see :mod:`._requests`; transitions on the writer thread) ----------------

    def _readRequests(self, work: Callable[[RequestRows], _T]) -> Deferred[_T]:
        return self._read(lambda db: work(_sqlrequests.Rows(db)))

    def _writeRequests(
        self, work: Callable[[RequestRows], _T], changes: Sequence[Change] = ()
    ) -> Deferred[_T]:
        try:
            prepared = self._prepare(changes)
        except (TypeError, ValueError):
            return fail()

        def write(db: sqlite3.Connection) -> _T:
            # One savepoint: a refusal from either part rolls back both.
            done = work(_sqlrequests.Rows(db))
            _sqlwrite.applyChanges(db, prepared)
            return done

        return self._write(write)

    # -- helpers -----------------------------------------------------------------------

    def _checkRunning(self) -> None:
        if self._writer is None or self._reader is None:
            raise StoreUnavailable(
                f"The store {self._path} is not running: it was stopped or never started."
            )

    def _read(self, work: Callable[[sqlite3.Connection], _T]) -> Deferred[_T]:
        def read() -> _T:
            self._checkRunning()
            assert self._reader is not None
            try:
                return work(self._reader)
            except sqlite3.Error as problem:
                raise StoreUnavailable(f"The store could not be read: {problem}.") from problem

        return maybeDeferred(read)

    def _write(self, work: Callable[[sqlite3.Connection], _T]) -> Deferred[_T]:
        try:
            self._checkRunning()
        except StoreUnavailable:
            return fail()
        assert self._writer is not None
        return self._writer.submit(work)

    def _durable(self) -> None:
        """After a sync: tell the listeners if there are durable events they were not told
        of -- whatever became of the Deferreds of the writes (a cancelled one included)."""
        if self._writer is not None and self._writer.durableMark > self._told:
            self._told = self._writer.durableMark
            self._notices.changed()

    def _entity(self, text: str) -> Entity:
        """The entity a stored document describes, decoded once per document.

        A document's text determines its entity as long as the registry's user mixins stay
        as they are (defining or removing one clears this), and decoding costs more than
        the read itself: listings and repeated GETs find most documents here.
        """
        entity = self._decoded.get(text)
        if entity is None:
            entity = entityFromDict(json.loads(text), self.registry)
            if len(self._decoded) >= _DECODED_MAX:
                self._decoded.clear()
            self._decoded[text] = entity
        return entity


def _prepare(change: Change, now: float) -> _sqlwrite.PreparedChange:
    """A change as plain data for the writer thread (``ValueError``: a value is not JSON)."""
    if isinstance(change, (RememberAnswer, WithinQuota, RememberForward)):
        return change
    if isinstance(change, Put):
        return _sqlwrite.PutRecord(recordOf(change.entity), change.expect,
                                   change.entity.updated, change.author)
    if isinstance(change, Delete):
        return _sqlwrite.DeleteId(change.entityId, change.expect, now, change.author)
    _requestrules.checkNew(change.record)
    return _sqlrequests.NewRequest(_requestrules.toRow(change.record))


def _forget(registry: Registry, mixin: Mixin) -> None:
    """Take back a user mixin the registry took before its write failed."""
    with suppress(OCCIError):
        registry.removeUserMixin(mixin.identifier)
