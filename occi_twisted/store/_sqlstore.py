"""What the SQLite and PostgreSQL stores do alike: everything but opening, reading and
listing, written once over the statements both engines run (see :mod:`._sql`).

A backend provides :meth:`SQLStore._read` (a unit of work on committed data) and a
:class:`~._writer.GroupCommitWriter` in ``_writer``, whose units of work run inside the change
set's transaction; everything that crosses to the writer thread is plain data, prepared on the
reactor thread where the registry lives (:func:`prepare`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import suppress
from functools import partial
from typing import TypeVar

from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IReactorTime

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
from ._sql import Database, Transactional
from ._writer import GroupCommitWriter
from .interface import Change, Delete, Page, Put, Query, StoreUnavailable
from .serial import canonical, defineUserMixins, entityFromDict, mixinToDict, recordOf

_T = TypeVar("_T")
#: Decoded documents kept at most: about fifteen megabytes of entities.
_DECODED_MAX = 10_000


class SQLStore(Notifying, RequestMethods):
    """The methods of :class:`~.interface.IStore` a SQL backend shares (see the module)."""

    registry: Registry
    #: How the store is named in messages (a path, a URL without its password).
    _name: str
    _writer: GroupCommitWriter | None
    _clock: IReactorTime
    _notices: Notices
    #: How the backend lists entities (SQLite's ``_sqlread`` by default): up to ``limit``
    #: (seq, document) pairs after a seq and whether more follow; how many match.
    _listPage = staticmethod(_sqlread.page)
    _listCount = staticmethod(_sqlread.count)
    #: Told the seconds each write took from submitted to durable, if set (metrics).
    commitTiming: Callable[[float], None] | None = None

    def __init__(self, registry: Registry, name: str, clock: IReactorTime) -> None:
        self.registry = registry
        self._name = name
        self._clock = clock
        self._writer = None
        self._decoded: dict[str, Entity] = {}
        self._notices = Notices(clock)
        #: The last event the listeners were told of.
        self._told = 0

    def _read(self, work: Callable[[Database], _T]) -> Deferred[_T]:
        """Run ``work`` on committed data (fails with :class:`StoreUnavailable` when stopped)."""
        raise NotImplementedError

    @property
    def commits(self) -> int:
        """Transactions committed since :meth:`start`: fewer than change sets under load."""
        return 0 if self._writer is None else self._writer.commits

    @property
    def syncs(self) -> int:
        """Syncs to the disk since :meth:`start`: fewer than transactions under load."""
        return 0 if self._writer is None else self._writer.syncs

    def _timed(self, seconds: float) -> None:
        if self.commitTiming is not None:
            self.commitTiming(seconds)

    # -- entities ------------------------------------------------------------------------

    def get(self, entityId: str) -> Deferred[Entity | None]:
        def get(db: Database) -> Entity | None:
            text = _sqlread.document(db, entityId)
            return None if text is None else self._entity(text)

        return self._read(get)

    def page(self, query: Query, after: str | None, limit: int) -> Deferred[Page]:
        def page(db: Database) -> Page:
            _rules.checkLimit(limit)
            rows, more = self._listPage(db, query, _rules.cursorAfter(after), limit)
            cursor = str(rows[-1][0]) if more else None
            return Page([self._entity(text) for _, text in rows], cursor)

        return self._read(page)

    def count(self, query: Query) -> Deferred[int]:
        return self._read(partial(self._listCount, query=query))

    def linksFrom(self, sources: Sequence[str]) -> Deferred[dict[str, list[Entity]]]:
        def linksFrom(db: Database) -> dict[str, list[Entity]]:
            links: dict[str, list[Entity]] = {source: [] for source in sources}
            for source, text in _sqlread.linksFrom(db, sources):
                links[source].append(self._entity(text))
            return links

        return self._read(linksFrom)

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
        self._mixinWriting(registered.identifier, True)
        try:
            await self._write(
                partial(_sqlwrite.defineUserMixin, identifier=registered.identifier,
                        document=document)
            )
        except BaseException:
            if not known:
                _forget(self.registry, registered)
            raise
        finally:
            self._mixinWriting(registered.identifier, False)
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
        now = self._clock.seconds()
        self._mixinWriting(identifier, True)
        try:
            await self._write(partial(_sqlwrite.removeUserMixin, identifier=identifier, now=now))
        except BaseException:
            with suppress(OCCIError):  # defined again meanwhile: that definition stands
                self.registry.defineUserMixin(mixin)
            raise
        finally:
            self._mixinWriting(identifier, False)

    def _mixinWriting(self, identifier: str, begins: bool) -> None:
        """This node begins (or has finished) defining or removing ``identifier``: a backend
        whose registry follows other nodes' leaves it alone meanwhile."""

    def _loadUserMixins(self, db: Database) -> None:
        """Put the stored user mixins into the registry (at start)."""
        defineUserMixins(self.registry, (json.loads(text) for text in _sqlread.userMixins(db)))

    # -- events and subscriptions ------------------------------------------------------

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

    def publishedUpTo(self) -> Deferred[int | None]:
        return self._read(_sqlevents.publishedUpTo)

    def savePublished(self, seq: int) -> Deferred[None]:
        return self._write(partial(_sqlevents.savePublished, seq=seq))

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
        def page(db: Database) -> tuple[list[Forward], str | None]:
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

        def write(db: Transactional) -> _T:
            # One savepoint: a refusal from either part rolls back both.
            done = work(_sqlrequests.Rows(db))
            _sqlwrite.applyChanges(db, prepared)
            return done

        return self._write(write)

    # -- helpers -----------------------------------------------------------------------

    def _prepare(self, changes: Sequence[Change]) -> list[_sqlwrite.PreparedChange]:
        """The changes as plain data for the writer thread (``ValueError``: a value is not
        JSON), on the reactor thread, where the registry lives."""
        now = self._clock.seconds()
        return [prepare(change, now) for change in changes]

    def _isOpen(self) -> bool:
        """Whether what the backend reads with is open (the writer aside)."""
        return True

    def _checkRunning(self) -> None:
        if self._writer is None or not self._isOpen():
            raise StoreUnavailable(
                f"The store {self._name} is not running: it was stopped or never started."
            )

    def _write(self, work: Callable[[Transactional], _T]) -> Deferred[_T]:
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


def prepare(change: Change, now: float) -> _sqlwrite.PreparedChange:
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
