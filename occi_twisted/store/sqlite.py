"""The embedded default store: one SQLite file, durable before any Deferred fires.

Two connections to one WAL-mode database:

- writes go to a :class:`~._writer.GroupCommitWriter` thread, which commits every change set
  queued during the previous fsync in one transaction (``synchronous=FULL``), each in its own
  savepoint; that is what lets hundreds of concurrent requests each get a durable answer
  without each paying a whole fsync.
- reads run synchronously on the reactor thread on a second connection.  They are indexed
  lookups taking microseconds, cheaper than a thread hop, and WAL lets them proceed while the
  writer commits.  A write's Deferred fires after its commit, so a read issued from its
  callback sees it.

Everything that crosses to the writer thread is plain data: entities become
:class:`~.serial.EntityRecord` on the reactor thread, where the registry lives.

Requests (:mod:`._sqlrequests`) follow the same split: every transition -- a claim above all
-- is a unit of work on the writer thread, so it reads and writes under SQLite's write lock,
which several stores (nodes) on one file share; reading one runs on the reactor thread.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from functools import partial
from typing import TypeVar, cast

from twisted.internet.defer import Deferred, fail, maybeDeferred
from twisted.internet.interfaces import IReactorFromThreads, IReactorTime
from twisted.logger import Logger
from zope.interface import implementer

from ..model import Entity, Mixin, Registry, Value
from ..model.answers import Answer, RememberAnswer
from ..model.errors import OCCIError
from ..model.events import Event, EventPage, Subscription
from ..model.notes import Note, NotePage
from ..model.requests import AddRequest, RequestPage, RequestRecord, RequestState
from . import (
    _requestrules,
    _rules,
    _sqlevents,
    _sqlnotes,
    _sqlread,
    _sqlrequests,
    _sqlwrite,
)
from ._sqlschema import openReader, openWriter
from ._writer import GroupCommitWriter
from .interface import Change, Delete, IStore, Page, Put, Query, StoreUnavailable
from .serial import canonical, defineUserMixins, entityFromDict, mixinToDict, recordOf

_log = Logger()

_T = TypeVar("_T")
#: Decoded documents kept at most: about fifteen megabytes of entities.
_DECODED_MAX = 10_000


@implementer(IStore)
class SQLiteStore(_requestrules.Transitions):
    """Entities and user mixins in the SQLite database file ``path``.

    The file and its directory are created if need be; SQLite keeps its ``-wal`` and ``-shm``
    files beside it.  ``reactor`` delivers the writer thread's results (``callFromThread``)
    and, as every reactor does, tells the time (``seconds``) stamped on entities that lose a
    removed user mixin.
    """

    def __init__(
        self, path: str | os.PathLike[str], registry: Registry, reactor: IReactorFromThreads
    ) -> None:
        self.registry = registry
        self._path = os.fspath(path)
        self._reactor = reactor
        self._writer: GroupCommitWriter | None = None
        self._reader: sqlite3.Connection | None = None
        self._decoded: dict[str, Entity] = {}
        self._listeners: list[Callable[[], None]] = []
        self._telling = False
        self._clock = IReactorTime(reactor, None)

    @property
    def commits(self) -> int:
        """Transactions committed since :meth:`start`: fewer than change sets under load."""
        return 0 if self._writer is None else self._writer.commits

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
            partial(openWriter, self._path), self._reactor
        )
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
            prepared = [_prepare(change, self._now()) for change in changes]
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
        return self._read(partial(_sqlevents.after, seq=after, limit=limit))

    def events(self, node: str, *, requestId: str | None = None, before: int | None = None,
               limit: int = 50) -> Deferred[EventPage]:
        return self._read(partial(_sqlevents.page, node=node, requestId=requestId,
                                  before=before, limit=max(1, limit)))

    def event(self, eventId: str) -> Deferred[Event | None]:
        return self._read(partial(_sqlevents.byId, eventId=eventId))

    def addEventListener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def removeEventListener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def subscribe(self, subscription: Subscription) -> Deferred[Subscription]:
        return self._write(partial(_sqlevents.subscribe, subscription=subscription))

    def unsubscribe(self, node: str, jid: str, subid: str | None = None) -> Deferred[bool]:
        return self._write(partial(_sqlevents.unsubscribe, node=node, jid=jid, subid=subid))

    def subscriptions(self, node: str | None = None, jid: str | None = None
                      ) -> Deferred[list[Subscription]]:
        return self._read(partial(_sqlevents.subscriptions, node=node, jid=jid))

    def _tellSoon(self) -> None:
        """After a commit: tell the listeners once per reactor turn, however many commits
        the turn saw (a group commit is many)."""
        if not self._listeners or self._telling:
            return
        self._telling = True
        if self._clock is None:
            self._tell()
        else:
            self._clock.callLater(0, self._tell)

    def _tell(self) -> None:
        self._telling = False
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                _log.failure("An event listener failed")

    def _now(self) -> float:
        return self._clock.seconds() if self._clock is not None else time.time()

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

    # -- requests (claims and transitions on the writer thread) -------------------------

    def addRequest(self, record: RequestRecord) -> Deferred[None]:
        return self.apply([AddRequest(record)])

    def getRequest(self, requestId: str) -> Deferred[RequestRecord | None]:
        return self._read(partial(_sqlrequests.get, requestId=requestId))

    def listRequests(
        self, entityId: str | None, after: str | None, limit: int
    ) -> Deferred[RequestPage]:
        def listRequests(db: sqlite3.Connection) -> RequestPage:
            _rules.checkLimit(limit)
            found, more = _sqlrequests.page(db, entityId, _rules.cursorAfter(after), limit)
            cursor = str(found[-1][0]) if more else None
            return RequestPage([record for _, record in found], cursor)

        return self._read(listRequests)

    def claimDue(
        self, node: str, now: float, limit: int, leaseSeconds: float
    ) -> Deferred[list[RequestRecord]]:
        return self._write(partial(_sqlrequests.claimDue, node=node, now=now, limit=limit,
                                   leaseSeconds=leaseSeconds))

    def checkpoint(
        self, requestId: str, node: str, *, now: float, leaseSeconds: float,
        progress: Mapping[str, Value] | None = None, checkpoint: Value | None = None,
    ) -> Deferred[RequestRecord]:
        try:
            # Copied here, on the reactor thread: the writer thread must not see the
            # caller's mutable values, and a value that is not JSON fails now.
            progress, checkpoint = _plain(progress), _plain(checkpoint)
        except (TypeError, ValueError):
            return fail()
        return self._change(requestId, partial(
            _requestrules.checkpointed, node=node, now=now, leaseSeconds=leaseSeconds,
            progress=progress, checkpoint=checkpoint))

    def finish(
        self, requestId: str, node: str, *, now: float, state: RequestState, message: str,
        progress: Mapping[str, Value] | None = None, changes: Sequence[Change] = (),
    ) -> Deferred[RequestRecord]:
        try:
            progress = _plain(progress)
            prepared = [_prepare(change, self._now()) for change in changes]
        except (TypeError, ValueError):
            return fail()
        transition = partial(_requestrules.finished, node=node, now=now, state=state,
                             message=message, progress=progress)

        def finish(db: sqlite3.Connection) -> RequestRecord:
            # One savepoint: a refusal from either part rolls back both.
            ended = _sqlrequests.change(db, requestId, transition)
            _sqlwrite.applyChanges(db, prepared)
            return ended

        return self._write(finish)

    def nextDue(self, now: float) -> Deferred[float | None]:
        return self._read(partial(_sqlrequests.nextDue, now=now))

    def releaseNode(self, node: str, now: float) -> Deferred[list[RequestRecord]]:
        return self._write(partial(_sqlrequests.releaseNode, node=node, now=now))

    def _change(
        self, requestId: str, transition: Callable[[RequestRecord], RequestRecord]
    ) -> Deferred[RequestRecord]:
        return self._write(partial(_sqlrequests.change, requestId=requestId,
                                   transition=transition))

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
        written = self._writer.submit(work)
        written.addCallback(self._written)
        return written

    def _written(self, result: _T) -> _T:
        self._tellSoon()
        return result

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
    if isinstance(change, RememberAnswer):
        return change
    if isinstance(change, Put):
        return _sqlwrite.PutRecord(recordOf(change.entity), change.expect)
    if isinstance(change, Delete):
        return _sqlwrite.DeleteId(change.entityId, change.expect, now)
    _requestrules.checkNew(change.record)
    return _sqlrequests.NewRequest(_requestrules.toRow(change.record))


_J = TypeVar("_J")


def _plain(value: _J) -> _J:
    """A private copy of a JSON value (``ValueError``/``TypeError`` if it is not JSON)."""
    return value if value is None else cast(_J, json.loads(canonical(value)))


def _forget(registry: Registry, mixin: Mixin) -> None:
    """Take back a user mixin the registry took before its write failed."""
    with suppress(OCCIError):
        registry.removeUserMixin(mixin.identifier)
