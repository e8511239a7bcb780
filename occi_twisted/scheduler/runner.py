"""What a runner sees: the record it runs, a context to checkpoint with, and how to end.

A runner is a callable ``run(record, context) -> Deferred[RunResult]`` registered under an
action identifier.  Long work goes in slices (as tahoe's crawler does): after each, the runner
calls ``context.checkpoint(progress, checkpoint)``, which makes the progress durable, renews
the lease, and raises a :class:`StopRun` when the runner should stop -- the client cancelled
the request, the server is stopping, or another node took the request over.  Letting that
exception propagate is all a runner must do; the scheduler records the right outcome.

A run that resumes after a crash or a stop gets the record with the last ``checkpoint`` it
saved (``None`` the first time), and starts from there.

How a run ends:

- it returns a :class:`RunResult`: succeeded (or whatever final state it says);
- it raises :class:`TransientError`: tried again later, with exponential back-off
  (:class:`RetryPolicy`), until it has run ``maxAttempts`` times;
- it raises anything else: failed, with the exception's message for the client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime

from ..model import Entity, Value
from ..model.errors import Conflict
from ..model.requests import RequestRecord, RequestState
from ..store.interface import Change, IEntityStore, IRequestStore


@dataclass(frozen=True)
class RunResult:
    """How a run ended, when it ended by returning: a final state and a line for the client."""

    state: RequestState = RequestState.SUCCEEDED
    message: str = ""
    #: Final progress (e.g. ``{"percent": 100}``); ``None`` keeps the last checkpoint's.
    progress: Mapping[str, Value] | None = field(default=None)
    #: Entity changes committed with the end (see :meth:`IRequestStore.finish`): an action's effect
    #: on its entity and the end of its request are durable together.
    changes: Sequence[Change] = ()

    def __post_init__(self) -> None:
        if not self.state.isFinal:
            raise ValueError(f"A run cannot end as {self.state.value}.")


class TransientError(Exception):
    """The work failed for now (a busy host, a network hiccup) and may succeed if tried again.

    ``retryAfter`` overrides the back-off, in seconds, when the runner knows better.
    """

    def __init__(self, message: str, retryAfter: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryAfter = retryAfter


class StopRun(Exception):
    """Raised by :meth:`RunContext.checkpoint`: stop now (after cleaning up, if need be)."""


class RequestCancelled(StopRun):
    """The client cancelled the request; it ends as cancelled."""


class Interrupted(StopRun):
    """This node is stopping; the request waits to be resumed from its last checkpoint."""


class LeaseLost(StopRun):
    """Another node holds the request now (this one missed renewing its lease); its work here
    must stop, and nothing more is recorded from this node."""


@dataclass(frozen=True)
class RetryPolicy:
    """When a transient failure is tried again: after ``initialDelay`` seconds, then ``factor``
    times longer each time, never longer than ``maxDelay``; a request runs at most
    ``maxAttempts`` times (runs cut short by a crash count: work that kills its node must give
    up in the end)."""

    initialDelay: float = 10.0
    factor: float = 2.0
    maxDelay: float = 3600.0
    maxAttempts: int = 5

    def delay(self, attempts: int) -> float:
        """The wait after the ``attempts``-th run failed."""
        return float(min(self.maxDelay, self.initialDelay * self.factor ** max(0, attempts - 1)))


class RunContext:
    """One run's link to the scheduler: checkpoints, and the reasons to stop.

    ``record`` is the request as last stored (it changes with each checkpoint).  ``clock``
    is the scheduler's: runners time their slices with it, so tests drive them too.  The
    flags are also there to read for a runner that cannot stop at an arbitrary checkpoint.
    """

    def __init__(
        self,
        record: RequestRecord,
        store: IRequestStore,
        *,
        node: str,
        clock: IReactorTime,
        leaseSeconds: float,
    ) -> None:
        self.record = record
        self.node = node
        self.clock = clock
        self._store = store
        self._leaseSeconds = leaseSeconds
        #: Set by the scheduler when it stops.
        self.stopping = False
        #: Set once the store says another node holds the request.
        self.lost = False
        #: Told ``(action, progress before, progress after)`` after each stored checkpoint
        #: with progress, if set: the metrics count the bytes jobs do.
        self.progressed: Progressed | None = None

    @property
    def saved(self) -> Value | None:
        """The checkpoint to resume from: ``None`` on a first run."""
        return self.record.checkpoint

    @property
    def cancelRequested(self) -> bool:
        return self.record.cancelRequested

    @property
    def shouldStop(self) -> bool:
        """Whether the next checkpoint will raise :class:`StopRun`."""
        return self.lost or self.cancelRequested or self.stopping

    def checkpoint(
        self, progress: Mapping[str, Value] | None = None, checkpoint: Value | None = None
    ) -> Deferred[None]:
        """Durably save progress and checkpoint (``None``: unchanged) and renew the lease;
        fails with a :class:`StopRun` if the run should stop.  What was saved stands either
        way: a resumed run starts from it."""
        return Deferred.fromCoroutine(self._checkpoint(progress, checkpoint))

    async def _checkpoint(
        self, progress: Mapping[str, Value] | None, checkpoint: Value | None
    ) -> None:
        self.raiseIfLost()
        await self.renew(progress, checkpoint)
        self.raiseIfAsked()

    async def renew(
        self, progress: Mapping[str, Value] | None = None, checkpoint: Value | None = None
    ) -> None:
        """Write to the store as :meth:`checkpoint` does, but raise only :class:`LeaseLost`:
        a stop or a cancellation is for the runner to see at its own checkpoint (the
        scheduler renews leases with this)."""
        before = self.record.progress
        try:
            self.record = await self._store.checkpoint(
                self.record.id, self.node, now=self.clock.seconds(),
                leaseSeconds=self._leaseSeconds, progress=progress, checkpoint=checkpoint,
            )
        except Conflict as problem:
            self.lost = True
            raise LeaseLost(problem.message) from None
        if progress is not None and self.progressed is not None:
            self.progressed(self.record.action, before, progress)

    def raiseIfLost(self) -> None:
        if self.lost:
            raise LeaseLost(f"The request {self.record.id} is no longer held by this node.")

    def raiseIfAsked(self) -> None:
        """Raise the :class:`StopRun` that says why the run should stop, if it should."""
        self.raiseIfLost()
        if self.cancelRequested:
            raise RequestCancelled(f"The request {self.record.id} was cancelled.")
        if self.stopping:
            raise Interrupted(f"The node running {self.record.id} is stopping.")


#: Told of a run's progress: the action, its progress before and after a checkpoint.
Progressed = Callable[[str, Mapping[str, Value], Mapping[str, Value]], None]

#: A runner: does the work of one action for one request.
Runner = Callable[[RequestRecord, RunContext], Deferred[RunResult]]


class EntityRunner:
    """Runs requests on the entities of ``store``: a request whose entity is gone fails."""

    def __init__(self, store: IEntityStore) -> None:
        self._store = store

    def __call__(self, record: RequestRecord, context: RunContext) -> Deferred[RunResult]:
        return Deferred.fromCoroutine(self._begin(record, context))

    async def _begin(self, record: RequestRecord, context: RunContext) -> RunResult:
        entity = await self._store.get(record.entityId)
        if entity is None:
            return RunResult(RequestState.FAILED,
                             f"The entity {record.entityId} was deleted before the action ran.")
        return await self._run(entity, record, context)

    async def _run(self, entity: Entity, record: RequestRecord, context: RunContext
                   ) -> RunResult:
        raise NotImplementedError
