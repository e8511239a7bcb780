"""Group commit: one writer thread runs the work, one syncer thread makes it durable.

A durable commit costs an fsync, and an fsync costs the same for one transaction as for a
thousand.  So running the work and syncing it are two steps on two threads:

- the writer thread runs each unit of work (a change set, a claim) as soon as it is submitted,
  inside the transaction it keeps open, each unit in its own SAVEPOINT -- one that fails rolls
  back alone and fails only its own Deferred -- and commits that transaction (without waiting
  for the disk: SQLite's ``synchronous=NORMAL``) as soon as the syncer is free;
- the syncer thread makes the log durable -- one ``fdatasync`` of the WAL (see
  :class:`~._sqlschema.LogSync`) for every transaction committed before the sync began -- and
  only then fires their Deferreds.

While one sync is on the disk, the writer runs what arrives meanwhile, and commits it the
moment that sync ends: under load every sync takes all that came during the previous one, with
no more commits than syncs; with one client each sync holds one transaction and costs what a
plain durable commit costs.  A transaction is visible to readers once committed, up to one sync
before it is durable (as in InnoDB); whatever is told or acknowledged -- a write's Deferred,
the events handed to followers (:attr:`GroupCommitWriter.durableMark`) -- waits for the sync.

Deferreds are created and fired on the reactor thread only: the syncer hands results back with
``callFromThread``, one call per sync.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from time import perf_counter
from typing import Any, TypeVar

from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IReactorFromThreads
from twisted.logger import Logger

from ..model.errors import OCCIError
from ._sql import Transactional
from .interface import StoreUnavailable

_log = Logger()
_T = TypeVar("_T")

#: The most units of work committed in one transaction: bounds the latency a batch adds.
MAX_BATCH = 1000
#: How many times a unit of work runs when it keeps failing for a transient reason.
ATTEMPTS = 3

Work = Callable[[Transactional], Any]
#: Whether a failed unit of work may simply run again (PostgreSQL's deadlock victims).
Transient = Callable[[Exception], bool]
#: Whether a connection is lost for good (a database server's that restarted).
Broken = Callable[[Transactional], bool]


@dataclass(frozen=True)
class _Job:
    work: Work
    done: Deferred[Any]
    #: When it was submitted (``perf_counter``), for the commit latency.
    submitted: float


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


class _Ready:
    """Queued by the syncer for the writer: the sync it was doing is over, commit."""


class _Batch:
    """The transaction the writer fills while the syncer is busy."""

    def __init__(self, db: Transactional, begin: str) -> None:
        self.jobs: list[_Job] = []
        self.outcomes: list[object] = []
        #: Why the whole transaction is lost, once it is.
        self.lost: str | None = None
        try:
            db.execute(begin)
        except Exception as problem:
            self.lose(db, problem)

    def run(self, db: Transactional, job: _Job, transient: Transient) -> None:
        self.jobs.append(job)
        if self.lost is None:
            try:
                self.outcomes.append(_attempt(db, job.work, transient))
            except Exception as problem:
                self.lose(db, problem)

    def commit(self, db: Transactional, mark: Callable[[Transactional], int]
               ) -> _Committed:
        if self.lost is None:
            try:
                marked = mark(db)
                db.execute("COMMIT")
                return _Committed(self.jobs, self.outcomes, marked)
            except Exception as problem:
                self.lose(db, problem)
        assert self.lost is not None
        return _Committed(self.jobs, _lost(self.outcomes, len(self.jobs), self.lost), 0)

    def lose(self, db: Transactional, problem: Exception) -> None:
        _log.failure("The store could not write {count} change sets", count=len(self.jobs))
        if db.in_transaction:
            with suppress(Exception):
                db.execute("ROLLBACK")
        self.lost = f"The store could not write: {problem}."


class GroupCommitWriter:
    """Runs units of work on a connection owned by one thread, committing them in groups, each
    group made durable by one sync on another thread (see the module's docstring).

    ``opener`` runs on the writer thread (SQLite connections belong to the thread that made
    them) and may raise :class:`StoreUnavailable`; the connection it opens must commit without
    syncing, since ``sync`` (run on the syncer thread) is what makes commits durable.
    ``mark`` reads a number inside each transaction, its last step before the commit (the
    last event's ``seq``): :attr:`durableMark` is the one of the last durable transaction.
    ``begin`` starts a transaction (SQLite's takes the write lock at once); a unit of work
    that fails with an exception ``transient`` accepts runs again, up to
    :data:`ATTEMPTS` times in all.  A connection found ``broken`` after a transaction failed is
    opened again (with ``opener``): what was in that transaction fails, what comes next is
    written on the new connection -- or fails, until the server is back.  ``durable`` is called
    (on the reactor thread) after every sync, before the Deferreds of what it made durable
    fire: whoever follows the store hears of a commit even when the Deferred of the one who
    made it was cancelled (its client hung up), which no callback on that Deferred could do.
    """

    def __init__(
        self, opener: Callable[[], Transactional], reactor: IReactorFromThreads,
        sync: Callable[[], None], mark: Callable[[Transactional], int],
        durable: Callable[[], None] | None = None, *, begin: str = "BEGIN IMMEDIATE",
        transient: Transient = lambda problem: False, broken: Broken = lambda db: False,
    ) -> None:
        self._opener = opener
        self._broken = broken
        self._begin = begin
        self._transient = transient
        self._reactor = reactor
        self._sync = sync
        self._mark = mark
        self._durable = durable
        self._queue: queue.SimpleQueue[_Job | _Ready | _Stop] = queue.SimpleQueue()
        self._committed: queue.SimpleQueue[_Committed | _Stop] = queue.SimpleQueue()
        self._started: Deferred[None] = Deferred()
        self._stopped: Deferred[None] = Deferred()
        self._accepting = False
        #: The connection (the writer thread's).
        self._db: Transactional
        #: How many transactions were committed, and how many syncs made them durable:
        #: tests and metrics read them.
        self.commits = 0
        self.syncs = 0
        #: The ``mark`` of the last transaction known durable (on the reactor thread).
        self.durableMark = 0
        #: Told (on the reactor thread) how many seconds each unit of work took from
        #: :meth:`submit` to durable, if set: the metrics' commit latency.
        self.timing: Callable[[float], None] | None = None

    def start(self) -> Deferred[None]:
        """Open the connection on a new thread; fires once it is ready to take work."""
        self._accepting = True
        thread = threading.Thread(target=self._write, name="occi-store-writer", daemon=True)
        thread.start()
        return self._started

    def submit(self, work: Callable[[Transactional], _T]) -> Deferred[_T]:
        """Run ``work`` in the next transaction; fires with its result once durable."""
        if not self._accepting:
            return fail(StoreUnavailable("The store is stopped: it takes no more writes."))
        done: Deferred[_T] = Deferred()
        self._queue.put(_Job(work, done, perf_counter()))
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
            self._db = self._opener()
            self._sync()  # what an earlier life committed is durable before anything is told
            mark = self._mark(self._db)
        except Exception as problem:
            self._accepting = False
            self._reactor.callFromThread(self._started.errback, problem)
            self._reactor.callFromThread(self._stopped.callback, None)
            return
        self._reactor.callFromThread(self._opened, mark)
        syncer = threading.Thread(target=self._syncAll, name="occi-store-syncer", daemon=True)
        syncer.start()
        try:
            self._runAll()
        finally:
            self._committed.put(_Stop())
            syncer.join()
            self._db.close()
            self._reactor.callFromThread(self._stopped.callback, None)

    def _runAll(self) -> None:
        """Run work as it comes; commit when the syncer is free (or the batch is full)."""
        batch: _Batch | None = None
        syncerFree, stopping = True, False
        while not stopping:
            for item in _take(self._queue):
                if isinstance(item, _Job):
                    batch = batch or self._newBatch()
                    batch.run(self._db, item, self._transient)
                    if batch.lost is not None or len(batch.jobs) >= MAX_BATCH:
                        self._hand(batch)
                        batch, syncerFree = None, False
                elif isinstance(item, _Ready):
                    syncerFree = True
                else:
                    stopping = True
            if batch is not None and (syncerFree or stopping):
                self._hand(batch)
                batch, syncerFree = None, False

    def _newBatch(self) -> _Batch:
        """A transaction begun -- on a new connection if the one there was is lost (its
        server restarted while it was idle: only beginning tells)."""
        batch = _Batch(self._db, self._begin)
        if batch.lost is not None and self._reopened():
            batch = _Batch(self._db, self._begin)
        return batch

    def _reopened(self) -> bool:
        """Open the connection again if it is lost; whether it was."""
        if not self._broken(self._db):
            return False
        try:
            db = self._opener()
        except Exception as problem:
            _log.warn("The store's connection is lost and cannot be opened again yet: "
                      "{problem}", problem=getattr(problem, "message", str(problem)))
            return False
        with suppress(Exception):
            self._db.close()
        self._db = db
        _log.info("The store's connection was lost and is open again")
        return True

    def _opened(self, mark: int) -> None:
        self.durableMark = mark
        self._started.callback(None)

    def _hand(self, batch: _Batch) -> None:
        """Commit ``batch`` and give it to the syncer (and open the connection again if
        that failed because it is lost)."""
        committed = batch.commit(self._db, self._mark)
        if batch.lost is None:
            self.commits += 1
        else:
            self._reopened()
        self._committed.put(committed)

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
            self._queue.put(_Ready())

    def _deliver(self, committed: list[_Committed]) -> None:
        """On the reactor thread: advance the durable mark, fire each job's Deferred."""
        self.durableMark = max([self.durableMark, *(each.mark for each in committed)])
        if self._durable is not None:
            try:
                self._durable()
            except Exception:
                _log.failure("Telling of durable commits failed")
        timing = self.timing
        if timing is not None:
            now = perf_counter()
            for each in committed:
                for job in each.jobs:
                    timing(now - job.submitted)
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


def _attempt(db: Transactional, work: Work, transient: Transient) -> object:
    for attempt in range(1, ATTEMPTS + 1):
        db.execute("SAVEPOINT change_set")
        try:
            result = work(db)
        except Exception as problem:
            if not db.in_transaction:
                raise  # the engine gave up the whole transaction (I/O error, disk full): so do we.
            db.execute("ROLLBACK TO change_set")
            db.execute("RELEASE change_set")
            if attempt < ATTEMPTS and transient(problem):
                continue
            if not isinstance(problem, OCCIError):
                _log.failure("A change set failed unexpectedly")
            return _Failed(problem)
        db.execute("RELEASE change_set")
        return result
    raise AssertionError("unreachable")
