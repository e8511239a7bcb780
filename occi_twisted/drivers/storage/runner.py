"""The sliced runner: a job's blocking I/O in bounded steps in a thread pool, each followed by
a checkpoint, until it ends, fails or is cancelled.

Why slices:

- the reactor stays responsive however large the image;
- each slice ends with the written bytes durable (``fdatasync``) *before* its state is handed
  to the checkpoint, so a state the scheduler stored is always one the disk really reached, and
  a request resumes exactly there after a crash or restart;
- a cancelled job lets go of its file within one chunk (milliseconds), not at the end of a pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from twisted.internet.defer import CancelledError, Deferred, maybeDeferred
from twisted.internet.interfaces import IReactorFromThreads
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from .erase import EraseJob, EraseState
from .files import lowerThreadPriority
from .progress import Progress

_log = Logger()

StateT = TypeVar("StateT")
StateT_co = TypeVar("StateT_co", covariant=True)


class SlicedJob(Protocol[StateT_co]):
    """What :func:`runJob` drives: :class:`EraseJob` and :class:`CopyJob` are such jobs."""

    @property
    def chunkSize(self) -> int: ...
    @property
    def done(self) -> bool: ...
    @property
    def state(self) -> StateT_co: ...
    @property
    def progress(self) -> Progress: ...
    def step(self, maxBytes: int) -> Progress: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


class JobCancelled(CancelledError, Generic[StateT]):
    """Why a cancelled job's Deferred failed, and how far it got.

    Twisted fires a cancelled Deferred at once, while the worker thread may be inside a step:
    ``state`` and ``progress`` are those of the last finished slice (the last ones given to the
    checkpoint; resuming from them is always right), and ``stopped`` fires with the job's final
    progress once the thread has let go of the file -- within one chunk.  Only then may another
    job use the file; ``job.state`` is then the exact (equal or later) position."""

    def __init__(self, state: StateT, progress: Progress, stopped: Deferred[Progress]) -> None:
        super().__init__(f"Cancelled at {progress.describe()}")
        self.state, self.progress, self.stopped = state, progress, stopped


class _Runner(Generic[StateT]):
    """The loop of :func:`runJob`: step in a thread, checkpoint, repeat; then close the job's
    files (in the thread pool: a close may flush) and settle, in that order, whatever ends
    the loop -- the end of the job, an error, or a cancellation."""

    def __init__(self, job: SlicedJob[StateT], *, reactor: IReactorFromThreads,
                 threadpool: ThreadPool,
                 checkpoint: Callable[[StateT, Progress], Deferred[None]],
                 sliceSeconds: float, sliceBytes: int | None) -> None:
        if sliceSeconds <= 0:
            raise ValueError(f"sliceSeconds must be positive, not {sliceSeconds}")
        if sliceBytes is not None and sliceBytes < 1:
            raise ValueError(f"sliceBytes must be positive, not {sliceBytes}")
        self.job, self.reactor, self.threadpool = job, reactor, threadpool
        self.checkpoint, self.sliceSeconds, self.fixed = checkpoint, sliceSeconds, sliceBytes
        # A first guess for the slice; later ones follow the measured throughput.
        self.maxBytes = sliceBytes or 4 * job.chunkSize
        self.result: Deferred[Progress] = Deferred(self.cancel)
        self.stopped: Deferred[Progress] = Deferred()
        self.cancelled = False
        self.lastState, self.lastProgress = job.state, job.progress

    def next(self) -> None:
        if self.cancelled or self.job.done:
            self.finish(None)
            return
        stepped = deferToThreadPool(self.reactor, self.threadpool, self.timedStep,
                                    self.maxBytes)
        stepped.addCallbacks(self.stepped, self.finish)

    def timedStep(self, maxBytes: int) -> tuple[Progress, float]:
        """In the thread: one step, and how long it took (for sizing the next)."""
        lowerThreadPriority()
        started = time.perf_counter()
        progress = self.job.step(maxBytes)
        return progress, time.perf_counter() - started

    def stepped(self, outcome: tuple[Progress, float]) -> None:
        progress, elapsed = outcome
        if self.cancelled:
            self.finish(None)
            return
        self.resize(progress.bytesDone - self.lastProgress.bytesDone, elapsed)
        self.lastState, self.lastProgress = self.job.state, progress
        saved = maybeDeferred(self.checkpoint, self.lastState, progress)
        saved.addCallbacks(lambda _: self.next(), self.finish)

    def resize(self, advanced: int, elapsed: float) -> None:
        """Aim the next slice at ``sliceSeconds`` at the throughput just seen, in whole chunks
        (aligned writes), growing at most fourfold at a time (the first slices may see only
        the page cache)."""
        if self.fixed is not None or advanced <= 0 or elapsed <= 0:
            return
        aim = min(advanced / elapsed * self.sliceSeconds, 4 * self.maxBytes)
        chunk = self.job.chunkSize
        self.maxBytes = max(chunk, int(aim) // chunk * chunk)

    def cancel(self, result: Deferred[Progress]) -> None:
        """Twisted's canceller: answer at once with the last finished slice; the thread stops
        at its next chunk and ``stopped`` fires once the files are closed."""
        self.cancelled = True
        self.job.stop()
        _log.info("Storage job cancelled at {progress}", progress=self.lastProgress.describe())
        result.errback(JobCancelled(self.lastState, self.lastProgress, self.stopped))

    def finish(self, failure: Failure | None) -> None:
        def closed(ignored: object) -> None:
            self.settle(failure)

        def closeFailed(problem: Failure) -> None:
            _log.failure("Closing a storage job's files failed", problem)
            self.settle(failure or problem)

        closing = deferToThreadPool(self.reactor, self.threadpool, self.job.close)
        closing.addCallbacks(closed, closeFailed)

    def settle(self, failure: Failure | None) -> None:
        if self.cancelled:
            if failure is not None:
                _log.failure("A cancelled storage job failed while stopping", failure)
            self.stopped.callback(self.job.progress)
        elif failure is not None:
            self.result.errback(failure)
        else:
            self.result.callback(self.job.progress)


def runJob(job: SlicedJob[StateT], reactor: IReactorFromThreads, threadpool: ThreadPool,
           checkpoint: Callable[[StateT, Progress], Deferred[None]],
           sliceSeconds: float = 0.25, *, sliceBytes: int | None = None) -> Deferred[Progress]:
    """Run ``job`` to the end in slices of about ``sliceSeconds`` of I/O in ``threadpool``.

    After each slice ``checkpoint(state, progress)`` is called (the scheduler stores the state
    and emits the progress) and the next slice waits for its Deferred, so the store never lags
    more than one slice behind the disk; a failing checkpoint stops the job.  ``sliceBytes``
    fixes the slice size instead of following the throughput.

    Fires with the final progress, or fails with the job's error, or with
    :class:`JobCancelled` when cancelled.  The job's files are closed before it fires.
    """
    runner = _Runner(job, reactor=reactor, threadpool=threadpool, checkpoint=checkpoint,
                     sliceSeconds=sliceSeconds, sliceBytes=sliceBytes)
    runner.next()
    return runner.result


def runErase(job: EraseJob, reactor: IReactorFromThreads, threadpool: ThreadPool,
             checkpoint: Callable[[EraseState, Progress], Deferred[None]],
             sliceSeconds: float = 0.25, *, sliceBytes: int | None = None) -> Deferred[Progress]:
    """:func:`runJob` for a secure erase; fails with :class:`VerificationFailed` if the last
    pass does not read back."""
    return runJob(job, reactor, threadpool, checkpoint, sliceSeconds, sliceBytes=sliceBytes)
