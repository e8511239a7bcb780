"""The store of several nodes: one PostgreSQL database, any number of ``twistd occi`` in front.

How it talks to PostgreSQL: psycopg 3, blocking, off the reactor thread.  Measured with
``bench/pg_client_bench.py`` (figures in docs/architecture.rst, "PostgreSQL store"), psycopg's
async mode under Twisted's asyncio reactor was no faster under concurrency and would tie the
whole server to that reactor; threads work under any reactor and let the store reuse the
group-commit writer.

- Writes go to the same :class:`~.._writer.GroupCommitWriter` as SQLite's, on a connection of
  its own: each change set in its savepoint of one transaction, every change set that arrives
  while a commit is on the disk joining the next one.  PostgreSQL's commit is the durable step
  (``synchronous_commit`` is on), so the writer's "sync" has nothing left to do.  The change
  sets are SQLite's own statements (:mod:`.connection` adds the row locks several writers
  need); the last step of a transaction numbers its events in commit order (:mod:`.events`).
- Reads run on a thread pool the store owns, each on a connection of a psycopg
  :class:`~psycopg_pool.ConnectionPool` in autocommit mode: one statement, one snapshot.
- One more connection listens for other nodes' commits (:class:`~.events.Listener`): their
  events wake this node's listeners, and their user mixins come into its registry
  (:mod:`.mixins`); on it too come the failed logins other nodes saw (:mod:`.logins`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool
from zope.interface import implementer

from ...model import Registry
from ...model.events import Event
from .. import _sqlevents, _sqlread
from .._sql import Database, Transactional
from .._sqlstore import SQLStore
from .._writer import GroupCommitWriter
from ..interface import IFollowedRegistry, ISharedLogins, IStore, StoreUnavailable
from . import read
from .connection import Adapted, broken, connect, shown, transient, unavailable
from .events import CHANNEL, MIXINS, Listener, announceMixins, number
from .logins import LOGINS, FailedLogins
from .mixins import Follower
from .schema import migrate

_T = TypeVar("_T")

#: Connections (and threads) for reads: enough to keep a few queries in flight per core.
READERS = 8
#: How long the start waits for the server before giving up.
CONNECT_TIMEOUT = 10
#: How the connections are named in ``pg_stat_activity`` (then their role: writer, reader,
#: listener).
APPLICATION = "occi-twisted"
#: Beyond any event number: what is committed is durable.
_ALL = 2**63 - 1


@implementer(IStore, IFollowedRegistry, ISharedLogins)
class PostgresStore(SQLStore):
    """The database at ``url`` (``postgresql://user:password@host:port/name``); set up at
    :meth:`start` if empty.  ``reactor`` runs the threads' results and watches the listening
    connection; ``clock`` (the reactor unless given) as for the SQLite store."""

    def __init__(self, url: str, registry: Registry, reactor: Any,
                 clock: IReactorTime | None = None, *, readers: int = READERS) -> None:
        super().__init__(registry, shown(url), clock if clock is not None else reactor)
        self._url = url
        self._reactor = reactor
        self._readers = readers
        self._threads: ThreadPool | None = None
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        self._listener: Listener | None = None
        self._mixins = Follower(registry, lambda: self._read(_sqlread.userMixins),
                                self._decoded.clear)
        self._logins = FailedLogins(lambda payload: self._read(
            lambda db: db.execute("SELECT pg_notify(?, ?)", (LOGINS, payload))))

    # -- lifecycle ---------------------------------------------------------------------

    def preflight(self) -> None:
        """Connect once and set the schema up, synchronously, before the reactor runs: an
        unreachable server, refused credentials or a newer schema stop ``twistd`` with one
        line (:class:`StoreUnavailable`)."""
        with self._connect("start") as connection:
            migrate(connection, self._url)

    def _connect(self, role: str) -> psycopg.Connection[Any]:
        return connect(self._url, connect_timeout=CONNECT_TIMEOUT,
                       application_name=f"{APPLICATION} {role}")

    def _openWriter(self) -> Transactional:
        connection = self._connect("writer")
        try:
            migrate(connection, self._url)
            connection.execute("SET synchronous_commit TO on")
        except psycopg.Error as problem:
            connection.close()
            raise unavailable(self._url, problem) from None
        except BaseException:
            connection.close()
            raise
        return Adapted(connection, locking=True)

    def start(self) -> Deferred[None]:
        return Deferred.fromCoroutine(self._start())

    async def _start(self) -> None:
        if self._writer is not None:
            raise StoreUnavailable(f"The store {self._name} is already running.")
        threads = self._threads = ThreadPool(0, self._readers, name="occi-postgres")
        threads.start()
        writer = self._writer = GroupCommitWriter(
            self._openWriter, self._reactor, sync=lambda: None, mark=_mark,
            durable=self._durable, begin="BEGIN", transient=transient, broken=broken)
        writer.timing = self._timed
        try:
            await writer.start()
            await self._background(self._openPool)
            await self._read(self._loadUserMixins)
            listener = Listener(
                self._url, self._reactor,
                {CHANNEL: self._notices.changed, MIXINS: self._mixins.heard},
                partial(self._connect, "listener"), self._background,
                told={LOGINS: self._logins.received})
            listener.watch(await self._background(listener.open))
            self._listener = listener
        except BaseException:
            await self._stop()
            raise

    def _openPool(self) -> None:
        pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            self._url, min_size=1, max_size=self._readers, open=False,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT,
                    "application_name": f"{APPLICATION} reader"},
            name="occi-postgres-readers")
        try:
            pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except (PoolTimeout, psycopg.Error) as problem:
            pool.close()
            raise unavailable(self._url, problem) from None
        self._pool = pool

    def stop(self) -> Deferred[None]:
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
        writer, self._writer = self._writer, None
        if writer is not None:
            await writer.stop()
        pool, self._pool = self._pool, None
        threads, self._threads = self._threads, None
        if pool is not None and threads is not None:
            await deferToThreadPool(self._reactor, threads, pool.close)
        if threads is not None:
            threads.stop()

    # -- user mixins other nodes define -----------------------------------------------------

    def followMixins(self) -> Deferred[bool]:
        return self._mixins.follow()

    def _mixinWriting(self, identifier: str, begins: bool) -> None:
        if begins:
            self._mixins.begin(identifier)
        else:
            self._mixins.end(identifier)

    # -- failed logins other nodes saw ----------------------------------------------------

    def tellFailedLogin(self, key: str, at: float) -> None:
        self._logins.tell(key, at)

    def followFailedLogins(self, heard: Callable[[str, float], None]) -> None:
        self._logins.follow(heard)

    # -- reads -------------------------------------------------------------------------

    _listPage = staticmethod(read.page)
    _listCount = staticmethod(read.count)

    def eventsAfter(self, after: int, limit: int) -> Deferred[list[Event]]:
        # Every number a reader sees was given in commit order (see .events): all of it
        # may be followed.
        return self._read(partial(_sqlevents.after, seq=after, limit=limit, durable=_ALL))

    def newestSeq(self) -> Deferred[int]:
        # Any node may have committed since: ask the database.
        return self._read(lambda db: int(
            db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]))

    # -- helpers -----------------------------------------------------------------------

    def _isOpen(self) -> bool:
        return self._pool is not None

    def _background(self, call: Callable[[], _T]) -> Deferred[_T]:
        assert self._threads is not None
        return deferToThreadPool(self._reactor, self._threads, call)

    def _read(self, work: Callable[[Database], _T]) -> Deferred[_T]:
        pool = self._pool
        if pool is None or self._threads is None:
            return Deferred.fromCoroutine(self._refuse())

        def read() -> _T:
            try:
                try:
                    return _readOn(pool, work)
                except _Lost:
                    # The server restarted (or ended the connection): the pool drops the
                    # others it lost too, and the read runs once more on a live one.
                    pool.check()
                    return _readOn(pool, work)
            except (psycopg.Error, PoolTimeout, _Lost) as problem:
                cause = problem.__cause__ if isinstance(problem, _Lost) else problem
                raise StoreUnavailable(
                    f"The store could not be read: {' '.join(str(cause).split())}"
                ) from problem

        return self._background(read)

    async def _refuse(self) -> Any:
        self._checkRunning()
        raise StoreUnavailable(f"The store {self._name} is not running.")


class _Lost(Exception):
    """A read failed because its connection is lost (raised from psycopg's error)."""


def _readOn(pool: ConnectionPool[psycopg.Connection[Any]],
            work: Callable[[Database], _T]) -> _T:
    with pool.connection(timeout=CONNECT_TIMEOUT) as connection:
        try:
            return work(Adapted(connection))
        except psycopg.OperationalError as problem:
            if connection.broken:
                raise _Lost() from problem
            raise


def _mark(db: Transactional) -> int:
    assert isinstance(db, Adapted)
    announceMixins(db)
    return number(db)
