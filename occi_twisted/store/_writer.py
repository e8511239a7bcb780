"""Group commit: one writer thread, one transaction (and one fsync) for many change sets.

A durable commit costs an fsync, and an fsync costs the same for one change set as for a
thousand.  So the writer thread takes *everything* queued while its previous commit was
syncing, and commits it as one transaction, each change set inside its own SAVEPOINT: a set
that fails rolls back alone and fails only its own Deferred, the others commit.  Under load the
batches grow by themselves; with one client each batch holds one set and costs what a plain
commit costs.

Deferreds are created and fired on the reactor thread only: the writer thread hands results
back with ``callFromThread``, one call per batch.
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

#: The most change sets committed in one transaction: bounds the latency a batch adds.
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


class _Stop:
    """Queued by :meth:`GroupCommitWriter.stop`: everything queued before it is written first."""


class GroupCommitWriter:
    """Runs units of work on a connection owned by one thread, committing them in groups.

    ``opener`` runs on the writer thread (SQLite connections belong to the thread that made
    them) and may raise :class:`StoreUnavailable`.
    """

    def __init__(
        self, opener: Callable[[], sqlite3.Connection], reactor: IReactorFromThreads
    ) -> None:
        self._opener = opener
        self._reactor = reactor
        self._queue: queue.SimpleQueue[_Job | _Stop] = queue.SimpleQueue()
        self._started: Deferred[None] = Deferred()
        self._stopped: Deferred[None] = Deferred()
        self._accepting = False
        #: How many transactions were committed: tests and metrics read it.
        self.commits = 0

    def start(self) -> Deferred[None]:
        """Open the connection on a new thread; fires once it is ready to take work."""
        self._accepting = True
        thread = threading.Thread(target=self._run, name="occi-store-writer", daemon=True)
        thread.start()
        return self._started

    def submit(self, work: Callable[[sqlite3.Connection], _T]) -> Deferred[_T]:
        """Run ``work`` in the next transaction; fires with its result once committed."""
        if not self._accepting:
            return fail(StoreUnavailable("The store is stopped: it takes no more writes."))
        done: Deferred[_T] = Deferred()
        self._queue.put(_Job(work, done))
        return done

    def stop(self) -> Deferred[None]:
        """Refuse new work, finish what is queued, close; fires once the thread is done."""
        if self._accepting:
            self._accepting = False
            self._queue.put(_Stop())
        return self._stopped

    # -- the writer thread ----------------------------------------------------------------

    def _run(self) -> None:
        try:
            connection = self._opener()
        except Exception as problem:
            self._accepting = False
            self._reactor.callFromThread(self._started.errback, problem)
            self._reactor.callFromThread(self._stopped.callback, None)
            return
        self._reactor.callFromThread(self._started.callback, None)
        try:
            stopping = False
            while not stopping:
                jobs = self._take()
                if jobs and isinstance(jobs[-1], _Stop):
                    stopping = True
                    jobs.pop()
                work = [job for job in jobs if isinstance(job, _Job)]
                if work:
                    outcomes = self._commit(connection, work)
                    self._reactor.callFromThread(_deliver, work, outcomes)
        finally:
            connection.close()
            self._reactor.callFromThread(self._stopped.callback, None)

    def _take(self) -> list[_Job | _Stop]:
        """Wait for work, then take all that is queued (up to :data:`MAX_BATCH`)."""
        batch = [self._queue.get()]
        while len(batch) < MAX_BATCH and not isinstance(batch[-1], _Stop):
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _commit(self, db: sqlite3.Connection, jobs: list[_Job]) -> list[object]:
        """Run every job in its own savepoint of one transaction; their results or failures."""
        outcomes: list[object] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            for job in jobs:
                outcomes.append(_attempt(db, job.work))
            db.execute("COMMIT")
            self.commits += 1
        except Exception as problem:
            _log.failure("The store could not commit {count} change sets", count=len(jobs))
            if db.in_transaction:
                with suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            lost = _Failed(StoreUnavailable(f"The store could not write: {problem}."))
            # A set that failed on its own keeps its own reason; the others were lost with
            # the transaction.
            outcomes = [o if isinstance(o, _Failed) else lost for o in outcomes]
            outcomes.extend([lost] * (len(jobs) - len(outcomes)))
        return outcomes


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


def _deliver(jobs: list[_Job], outcomes: list[object]) -> None:
    """On the reactor thread: fire each job's Deferred with its outcome."""
    for job, outcome in zip(jobs, outcomes, strict=True):
        if isinstance(outcome, _Failed):
            job.done.errback(outcome.reason)
        else:
            job.done.callback(outcome)
