"""Group commit: one writer thread commits, one syncer thread makes the commits durable.

A durable commit costs an fsync, and an fsync costs the same for one transaction as for a
thousand.  So committing and syncing are two steps on two threads:

- the writer thread takes *everything* queued, runs it as one transaction -- each unit of work
  (a change set, a claim) inside its own SAVEPOINT, so that one that fails rolls back alone and
  fails only its own Deferred -- and commits it without waiting for the disk (SQLite's
  ``synchronous=NORMAL``); then it goes on with what was queued meanwhile;
- the syncer thread makes the log durable (one ``fdatasync`` of the WAL, see
  :class:`~._sqlschema.LogSync`) for every transaction committed before the sync began, and
  only then fires their Deferreds.

While one sync is on the disk, the writer commits the next transactions, and the next sync
takes them all: several transactions per fsync, each acknowledged only once its own commit is
durable.  With one client each sync holds one transaction and costs what a plain durable commit
costs.  A transaction is visible to readers once committed, up to one sync before it is
durable (as in InnoDB); whatever is told or acknowledged -- a write's Deferred, the events
handed to followers (:attr:`GroupCommitWriter.durableMark`) -- waits for the sync.

Deferreds are created and fired on the reactor thread only: the syncer hands results back with
``callFromThread``, one call per sync.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, TypeVar

from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IReactorFromThreads
from twisted.logger import Logger

from ..model.errors import OCCIError
from .interface import StoreUnavailable

_log = Logger()
_T = TypeVar("_T")

#: The most units of work committed in one transaction: bounds the latency a batch adds.
MAX_BATCH = 1000

Work = Callable[[sqlite3.Connection], Any]


@dataclass(frozen=True)
class _Job:
    work: Work
    done: Deferred[Any]


@dataclass(frozen=True)
class _Failed:
    """The outcome of a job that raised: its Deferred fails with ``reason``."""

    reason: BaseException


@dataclass(frozen=True)
class _Committed:
    """A transaction the writer committed, waiting for the sync that makes it durable."""

    jobs: list[_Job]
    outcomes: list[object]
    #: What ``mark`` read inside the transaction.
    mark: int


class _Stop:
    """Queued by :meth:`GroupCommitWriter.stop`: everything queued before it is written first."""


class GroupCommitWriter:
    """Runs units of work on a connection owned by one thread, committing them in groups and
    syncing groups of commits.

    ``opener`` runs on the writer thread (SQLite connections belong to the thread that made
    them) and may raise :class:`StoreUnavailable`; the connection it opens must commit without
    syncing, since ``sync`` (run on the syncer thread) is what makes commits durable.
    ``mark`` reads a number inside each transaction (the last event's ``seq``):
    :attr:`durableMark` is the one of the last durable transaction.
    """

    def __init__(
        self, opener: Callable[[], sqlite3.Connection], reactor: IReactorFromThreads,
        sync: Callable[[], None], mark: Callable[[sqlite3.Connection], int],
    ) -> None:
        self._opener = opener
        self._reactor = reactor
        self._sync = sync
        self._mark = mark
        self._queue: queue.SimpleQueue[_Job | _Stop] = queue.SimpleQueue()
        self._committed: queue.SimpleQueue[_Committed | _Stop] = queue.SimpleQueue()
        self._started: Deferred[None] = Deferred()
        self._stopped: Deferred[None] = Deferred()
        self._accepting = False
        #: How many transactions were committed, and how many syncs made them durable:
        #: tests and metrics read them.
        self.commits = 0
        self.syncs = 0
        #: The ``mark`` of the last transaction known durable (on the reactor thread).
        self.durableMark = 0

    def start(self) -> Deferred[None]:
        """Open the connection on a new thread; fires once it is ready to take work."""
        self._accepting = True
        thread = threading.Thread(target=self._write, name="occi-store-writer", daemon=True)
        thread.start()
        return self._started

    def submit(self, work: Callable[[sqlite3.Connection], _T]) -> Deferred[_T]:
        """Run ``work`` in the next transaction; fires with its result once durable."""
        if not self._accepting:
            return fail(StoreUnavailable("The store is stopped: it takes no more writes."))
        done: Deferred[_T] = Deferred()
        self._queue.put(_Job(work, done))
        return done

    def stop(self) -> Deferred[None]:
        """Refuse new work, finish what is queued, close; fires once both threads are done."""
        if self._accepting:
            self._accepting = False
            self._queue.put(_Stop())
        return self._stopped

    # -- the writer thread ----------------------------------------------------------------

    def _write(self) -> None:
        try:
            connection = self._opener()
            self._sync()  # what an earlier life committed is durable before anything is told
            mark = self._mark(connection)
        except Exception as problem:
            self._accepting = False
            self._reactor.callFromThread(self._started.errback, problem)
            self._reactor.callFromThread(self._stopped.callback, None)
            return
        self._reactor.callFromThread(self._opened, mark)
        syncer = threading.Thread(target=self._syncAll, name="occi-store-syncer", daemon=True)
        syncer.start()
        try:
            stopping = False
            while not stopping:
                taken = _take(self._queue)
                if taken and isinstance(taken[-1], _Stop):
                    stopping = True
                    taken.pop()
                work = [job for job in taken if isinstance(job, _Job)]
                if work:
                    self._committed.put(self._commit(connection, work))
        finally:
            self._committed.put(_Stop())
            syncer.join()
            connection.close()
            self._reactor.callFromThread(self._stopped.callback, None)

    def _opened(self, mark: int) -> None:
        self.durableMark = mark
        self._started.callback(None)

    def _commit(self, db: sqlite3.Connection, jobs: list[_Job]) -> _Committed:
        """Run every job in its own savepoint of one transaction, and commit it."""
        outcomes: list[object] = []
        mark = 0
        try:
            db.execute("BEGIN IMMEDIATE")
            for job in jobs:
                outcomes.append(_attempt(db, job.work))
            mark = self._mark(db)
            db.execute("COMMIT")
            self.commits += 1
        except Exception as problem:
            _log.failure("The store could not commit {count} change sets", count=len(jobs))
            if db.in_transaction:
                with suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            outcomes = _lost(outcomes, len(jobs), f"The store could not write: {problem}.")
        return _Committed(jobs, outcomes, mark)

    # -- the syncer thread ----------------------------------------------------------------

    def _syncAll(self) -> None:
        stopping = False
        while not stopping:
            taken = _take(self._committed)
            if taken and isinstance(taken[-1], _Stop):
                stopping = True
                taken.pop()
            committed = [each for each in taken if isinstance(each, _Committed)]
            if not committed:
                continue
            try:
                self._sync()
                self.syncs += 1
            except Exception as problem:
                _log.failure("The store could not make {count} transactions durable",
                             count=len(committed))
                committed = [
                    _Committed(each.jobs, _lost(
                        each.outcomes, len(each.jobs),
                        f"The store could not make the write durable: {problem}."), 0)
                    for each in committed
                ]
            self._reactor.callFromThread(self._deliver, committed)

    def _deliver(self, committed: list[_Committed]) -> None:
        """On the reactor thread: advance the durable mark, fire each job's Deferred."""
        self.durableMark = max([self.durableMark, *(each.mark for each in committed)])
        for each in committed:
            for job, outcome in zip(each.jobs, each.outcomes, strict=True):
                if isinstance(outcome, _Failed):
                    job.done.errback(outcome.reason)
                else:
                    job.done.callback(outcome)


_Item = TypeVar("_Item")


def _take(source: queue.SimpleQueue[_Item]) -> list[_Item]:
    """Wait for an item, then take all that is queued (up to :data:`MAX_BATCH`), stopping
    after a :class:`_Stop`."""
    batch = [source.get()]
    while len(batch) < MAX_BATCH and not isinstance(batch[-1], _Stop):
        try:
            batch.append(source.get_nowait())
        except queue.Empty:
            break
    return batch


def _lost(outcomes: list[object], count: int, message: str) -> list[object]:
    """The outcomes of a transaction that was lost: a job that failed on its own keeps its
    own reason; the others fail with ``message``."""
    lost = _Failed(StoreUnavailable(message))
    kept: list[object] = [o if isinstance(o, _Failed) else lost for o in outcomes]
    return kept + [lost] * (count - len(kept))


def _attempt(db: sqlite3.Connection, work: Work) -> object:
    db.execute("SAVEPOINT change_set")
    try:
        result = work(db)
    except Exception as problem:
        if not db.in_transaction:
            raise  # SQLite gave up the whole transaction (I/O error, disk full): so do we.
        db.execute("ROLLBACK TO change_set")
        db.execute("RELEASE change_set")
        if not isinstance(problem, OCCIError):
            _log.failure("A change set failed unexpectedly")
        return _Failed(problem)
    db.execute("RELEASE change_set")
    return result
