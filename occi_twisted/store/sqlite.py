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

import os
import sqlite3
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import IReactorFromThreads, IReactorTime
from zope.interface import implementer

from ..model import Registry
from ..model.events import Event
from . import _sqlevents
from ._sql import Database
from ._sqlschema import LogSync, openReader, openWriter
from ._sqlstore import SQLStore
from ._writer import GroupCommitWriter
from .interface import IStore, StoreUnavailable

_T = TypeVar("_T")


@implementer(IStore)
class SQLiteStore(SQLStore):
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
        self._path = os.fspath(path)
        super().__init__(registry, self._path,
                         clock if clock is not None else IReactorTime(reactor))
        self._reactor = reactor
        self._reader: sqlite3.Connection | None = None

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
            self._loadUserMixins(self._reader)
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

    # -- events ------------------------------------------------------------------------

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

    # -- helpers -----------------------------------------------------------------------

    def _isOpen(self) -> bool:
        return self._reader is not None

    def _read(self, work: Callable[[Database], _T]) -> Deferred[_T]:
        def read() -> _T:
            self._checkRunning()
            assert self._reader is not None
            try:
                return work(self._reader)
            except sqlite3.Error as problem:
                raise StoreUnavailable(f"The store could not be read: {problem}.") from problem

        return maybeDeferred(read)
