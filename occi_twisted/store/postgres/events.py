"""Events in commit order, and the notification every node gets of them.

**Commit order.**  A sequence gives numbers in the order transactions *ask*, not the order they
commit: a slow transaction holding number 5 may commit after a fast one took 6, and a reader
paging with ``eventsAfter(cursor)`` that saw 6 would never see 5.  So a transaction inserts its
events without a number (``seq`` NULL, ``pos`` keeping their order) and numbers them as its
very last step (:func:`number`, the writer's ``mark``): it takes the events' advisory lock,
gives its events the numbers after the highest committed one, and commits.  The lock is
released only after the commit is visible to every reader (PostgreSQL marks a transaction
committed before it releases its locks), so the next transaction to number events sees this
one's and numbers after them: numbers are handed out in commit order, and any reader that
sees a number sees every lower one.  Transactions that append no events never take the lock.
The cost is one serialised commit per transaction appending events in the whole cluster; the
group-commit writer (:mod:`.._writer`) puts all the change sets a node has at hand into one
transaction, so under load one lock and one commit serve many of them.

**Notification.**  The same transaction sends ``NOTIFY occi_events``, which PostgreSQL delivers
to every listening connection once it commits.  Each store keeps one connection listening
(:class:`Listener`), watched by the reactor like any socket: its listeners hear of commits on
every node within milliseconds, with no thread and no polling.

**User mixins.**  A transaction that defines or removes a user mixin sends ``NOTIFY
occi_mixins`` as well (:func:`announceMixins`, also its last step): every node then re-reads
the user mixins and brings its registry in step (:mod:`.mixins`), so a mixin defined through
one node is known to all of them without a restart.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import psycopg
from psycopg.pq import ConnStatus
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorFDSet, IReactorTime, IReadDescriptor
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from .connection import EVENTS_LOCK, LOCK_CLASS, Adapted, shown

#: The channels: events appended; user mixins defined or removed.
CHANNEL = "occi_events"
MIXINS = "occi_mixins"

_log = Logger()

#: Runs a blocking call off the reactor thread.
Background = Callable[[Callable[[], psycopg.Connection[Any]]],
                      Deferred[psycopg.Connection[Any]]]

_NUMBER = """
UPDATE events SET seq = top.seq + pending.n
FROM (SELECT pos, row_number() OVER (ORDER BY pos) AS n FROM events WHERE seq IS NULL)
     AS pending,
     (SELECT coalesce(max(seq), 0) AS seq FROM events) AS top
WHERE events.pos = pending.pos
RETURNING events.seq
"""


def number(db: Adapted) -> int:
    """Number the events this transaction appended, after every committed one, and announce
    them; the highest number (0: none appended).  Run last, just before the commit."""
    if not db.takeAppended():
        return 0
    connection = db.connection
    connection.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, EVENTS_LOCK))
    numbers = [int(row[0]) for row in connection.execute(_NUMBER).fetchall()]
    if not numbers:
        return 0  # what appended them was rolled back
    connection.execute(f"NOTIFY {CHANNEL}")
    return max(numbers)


def announceMixins(db: Adapted) -> None:
    """Tell every node, once this transaction commits, if it wrote user mixins."""
    if db.takeMixinsWritten():
        db.connection.execute(f"NOTIFY {MIXINS}")


@implementer(IReadDescriptor)
class Listener:
    """A connection listening for the channels ``heard`` names, its socket watched by
    ``reactor``; ``heard[channel]`` is called (on the reactor thread) after notifications on
    ``channel``; ``told[channel]``, for the channels whose payloads matter, is called with
    each notification's payload.

    A lost connection is opened again a second later (and every ``heard`` called then: what
    was committed meanwhile was not announced to this node).  :meth:`open` blocks: call it off the
    reactor thread; the rest runs on it.
    """

    def __init__(self, url: str, reactor: Any, heard: Mapping[str, Callable[[], None]],
                 opener: Callable[[], psycopg.Connection[Any]], background: Background, *,
                 told: Mapping[str, Callable[[str], None]] | None = None) -> None:
        self._url = url
        self._reactor = reactor
        self._heard = heard
        self._told = told or {}
        self._opener = opener
        self._background = background
        self._connection: psycopg.Connection[Any] | None = None
        self._fd = -1
        self._stopped = False

    def open(self) -> psycopg.Connection[Any]:
        """Connect and LISTEN (blocking)."""
        connection = self._opener()
        try:
            for channel in [*self._heard, *self._told]:
                connection.execute(f"LISTEN {channel}")
        except BaseException:
            connection.close()
            raise
        return connection

    def watch(self, connection: psycopg.Connection[Any]) -> None:
        """Start watching ``connection`` (on the reactor thread)."""
        if self._stopped:
            connection.close()
            return
        self._connection = connection
        # A socket of our own on the connection: libpq closes its own when the server ends
        # the connection, and the reactor must still be able to let go of this one.
        self._fd = os.dup(connection.pgconn.socket)
        IReactorFDSet(self._reactor).addReader(self)

    def stop(self) -> None:
        self._stopped = True
        self._drop()

    # -- IReadDescriptor ---------------------------------------------------------------

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return "occi-postgres-listener"

    def doRead(self) -> None:
        connection = self._connection
        if connection is None:
            return
        pgconn = connection.pgconn
        heard: set[str] = set()
        payloads: list[tuple[str, str]] = []
        try:
            pgconn.consume_input()
            while (notice := pgconn.notifies()) is not None:
                channel = notice.relname.decode()
                if channel in self._told:
                    payloads.append((channel, notice.extra.decode()))
                else:
                    heard.add(channel)
            if pgconn.status != ConnStatus.OK:  # ended by the server, and said so
                raise psycopg.OperationalError(pgconn.get_error_message() or "closed")
        except psycopg.Error as problem:
            self._lost(str(problem))
            return
        for channel in heard:
            self._tell(channel)
        for channel, payload in payloads:
            try:
                self._told[channel](payload)
            except Exception:
                _log.failure("Telling of a notification on {channel} failed", channel=channel)

    def connectionLost(self, reason: Failure) -> None:
        if self._connection is not None:
            self._lost(reason.getErrorMessage())

    def _lost(self, problem: str) -> None:
        _log.warn("Lost the notifications of {url}: {problem}; listening again in a "
                  "second", url=shown(self._url), problem=problem.strip())
        self._drop()
        IReactorTime(self._reactor).callLater(1, self._again)

    def _tell(self, channel: str) -> None:
        told = self._heard.get(channel)
        if told is None:
            return
        try:
            told()
        except Exception:
            _log.failure("Telling of a notification on {channel} failed", channel=channel)

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            IReactorFDSet(self._reactor).removeReader(self)
            os.close(self._fd)
            self._fd = -1
            connection.close()

    def _again(self) -> None:
        if self._stopped:
            return
        reopened = self._background(self.open)
        reopened.addCallbacks(self._reopened, self._notYet)

    def _reopened(self, connection: psycopg.Connection[Any]) -> None:
        self.watch(connection)
        for channel in self._heard:
            self._tell(channel)

    def _notYet(self, failure: Failure) -> None:
        _log.warn("Cannot listen to {url} yet: {problem}", url=shown(self._url),
                  problem=failure.getErrorMessage().strip())
        IReactorTime(self._reactor).callLater(1, self._again)
