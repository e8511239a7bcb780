"""How a run ends, recorded in the store: the one place that turns a runner's result or
exception into the request's next state.

Each method returns the record as stored, or ``None`` when the store says another node holds
the request now (its lease ran out while this node was not looking): then nothing this node
learnt counts, and the other node's run stands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from twisted.internet.defer import maybeDeferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from ..model import Value
from ..model.errors import Conflict, NotFound, OCCIError, PreconditionFailed
from ..model.requests import RequestRecord, RequestState
from ..store.interface import Change, IRequestStore
from .runner import (
    Interrupted,
    LeaseLost,
    RequestCancelled,
    RetryPolicy,
    RunContext,
    Runner,
    RunResult,
    TransientError,
)

_log = Logger()

_CANCELLED = "Cancelled at the client's request."


class Outcomes:
    """Runs a claimed request and records its end, for the scheduler of node ``node``."""

    def __init__(
        self, store: IRequestStore, clock: IReactorTime, node: str, retry: RetryPolicy
    ) -> None:
        self._store = store
        self._clock = clock
        self._node = node
        self._retry = retry

    async def settle(self, run: RunContext, runner: Runner | None) -> RequestRecord | None:
        """Run the request with ``runner`` (unless it need not run at all), record the end."""
        record = run.record
        if run.stopping:  # claimed as the scheduler stopped: straight back
            return await self.giveBack(run)
        if record.cancelRequested:
            return await self.finish(run, RequestState.CANCELLED, _CANCELLED)
        if record.attempts > self._retry.maxAttempts:
            return await self.finish(run, RequestState.FAILED, (
                f"Gave up after {self._retry.maxAttempts} attempts; the last was cut short "
                "when its node stopped answering."))
        if runner is None:
            return await self.finish(
                run, RequestState.FAILED, f"This server cannot perform {record.action}.")
        try:
            result = await maybeDeferred(runner, record, run)
            if not isinstance(result, RunResult):
                raise TypeError(f"The runner of {record.action} returned {result!r}, "
                                "not a RunResult.")
        except RequestCancelled:
            return await self.finish(run, RequestState.CANCELLED, _cancelledAt(run.record))
        except Interrupted:
            return await self.giveBack(run)
        except LeaseLost as lost:
            _log.warn("Node {node} lost request {id}: {why}", node=self._node, id=record.id,
                      why=str(lost))
            return None
        except TransientError as problem:
            return await self.retryLater(run, problem)
        except Exception as problem:
            if not isinstance(problem, OCCIError):
                _log.failure("Request {id} ({action}) failed.", id=record.id,
                             action=record.action)
            return await self.finish(run, RequestState.FAILED, _describe(problem))
        try:
            return await self.finish(run, result.state, result.message, result.progress,
                                     result.changes)
        except PreconditionFailed:
            # The entity changed between the run and its end: run again on what is there.
            return await self.retryLater(run, TransientError(
                "The entity changed while the action ran.", retryAfter=0.0))
        except NotFound:
            # The entity was deleted between the run and its end: nothing left to change.
            return await self.finish(run, RequestState.FAILED,
                                     "The entity was deleted while the action ran.")

    async def finish(
        self, run: RunContext, state: RequestState, message: str,
        progress: Mapping[str, Value] | None = None, changes: Sequence[Change] = (),
    ) -> RequestRecord | None:
        try:
            return await self._store.finish(
                run.record.id, self._node, now=self._clock.seconds(), state=state,
                message=message, progress=progress, changes=changes,
            )
        except Conflict as problem:
            _log.warn("Node {node} lost request {id} before it ended: {why}", node=self._node,
                      id=run.record.id, why=problem.message)
            return None

    async def release(
        self, run: RunContext, notBefore: float, message: str, *, countAttempt: bool
    ) -> RequestRecord | None:
        try:
            return await self._store.release(
                run.record.id, self._node, now=self._clock.seconds(), notBefore=notBefore,
                message=message, countAttempt=countAttempt,
            )
        except Conflict as problem:
            _log.warn("Node {node} lost request {id} before it gave it back: {why}",
                      node=self._node, id=run.record.id, why=problem.message)
            return None

    async def giveBack(self, run: RunContext) -> RequestRecord | None:
        """An orderly stop: the request waits to resume, and this attempt does not count."""
        return await self.release(
            run, self._clock.seconds(),
            f"Interrupted when {self._node} stopped; it resumes from its last checkpoint.",
            countAttempt=False,
        )

    async def retryLater(self, run: RunContext, problem: TransientError) -> RequestRecord | None:
        """Back off and try again -- unless the request has had all its attempts."""
        attempts = run.record.attempts
        if attempts >= self._retry.maxAttempts:
            return await self.finish(run, RequestState.FAILED, (
                f"Failed {attempts} times; the last time: {problem.message}"))
        delay = (problem.retryAfter if problem.retryAfter is not None
                 else self._retry.delay(attempts))
        return await self.release(
            run, self._clock.seconds() + delay,
            f"Attempt {attempts} failed: {problem.message} It is tried again in {delay:g} s.",
            countAttempt=True,
        )


def _cancelledAt(record: RequestRecord) -> str:
    """The cancellation message, saying how far the work got."""
    progress = record.progress
    parts = []
    if "pass" in progress and "passes" in progress:
        parts.append(f"in pass {progress['pass']} of {progress['passes']}")
    if "percent" in progress:
        parts.append(f"{progress['percent']}% done")
    if not parts:
        return _CANCELLED
    return f"Cancelled at the client's request, {', '.join(parts)}."


def _describe(problem: BaseException) -> str:
    """The client's line for a failure: a domain error's message, else the exception's."""
    if isinstance(problem, OCCIError):
        return problem.message
    return str(problem) or type(problem).__name__
