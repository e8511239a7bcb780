"""Runners and a harness for scheduler tests: a memory store and a :class:`Clock`, so every
Deferred fires synchronously and time moves only when a test says."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock, deferLater
from twisted.python.failure import Failure

from occi_twisted.model import Description, Registry, newEntity
from occi_twisted.model.events import requestOfEvent
from occi_twisted.model.infrastructure import COMPUTE
from occi_twisted.model.requests import RequestRecord, newRequest
from occi_twisted.scheduler import RunContext, Runner, RunResult, Scheduler
from occi_twisted.store import CREATE, IStore, MemoryStore, Put, StoreUnavailable

STOP = "http://schemas.ogf.org/occi/infrastructure/compute/action#stop"
ERASE = "http://schemas.occi-twisted.example/storage/action#secure_erase"
#: 2024-06-01T00:00:00Z: any fixed start will do, a real-looking one reads better.
T0 = 1_717_200_000.0

T = TypeVar("T")


def tick(clock: Clock, seconds: float) -> None:
    """Let ``seconds`` go by one second at a time, as real time would: ``Clock.advance``
    alone jumps, so work that a timer starts would start late."""
    whole = int(seconds)
    clock.pump([1.0] * whole)
    if seconds > whole:
        clock.advance(seconds - whole)


def result(deferred: Deferred[T]) -> T:
    """The result of a Deferred that must have fired already (memory store, Clock)."""
    outcomes: list[T | Failure] = []
    deferred.addBoth(outcomes.append)
    assert outcomes, "the Deferred has not fired"
    outcome = outcomes[0]
    if isinstance(outcome, Failure):
        outcome.raiseException()
    return outcome


@dataclass
class Call:
    record: RequestRecord
    context: RunContext
    done: Deferred[RunResult]


@dataclass
class Gate:
    """A runner whose runs wait until the test ends each one (``calls[n].done.callback``)."""

    calls: list[Call] = field(default_factory=list)

    def __call__(self, record: RequestRecord, context: RunContext) -> Deferred[RunResult]:
        done: Deferred[RunResult] = Deferred()
        self.calls.append(Call(record, context, done))
        return done

    @property
    def ids(self) -> list[str]:
        return [call.record.id for call in self.calls]


@dataclass
class Slices:
    """A runner that works in ``passes`` slices of ``seconds`` each, checkpointing after each
    and resuming after the last one checkpointed: what secure erase does."""

    clock: Clock
    passes: int = 5
    seconds: float = 10.0
    #: (node, pass) for every slice done, across every run.
    done: list[tuple[str, int]] = field(default_factory=list)
    resumedFrom: list[Any] = field(default_factory=list)

    def __call__(self, record: RequestRecord, context: RunContext) -> Deferred[RunResult]:
        return Deferred.fromCoroutine(self._run(record, context))

    async def _run(self, record: RequestRecord, context: RunContext) -> RunResult:
        self.resumedFrom.append(record.checkpoint)
        start = record.checkpoint["pass"] if isinstance(record.checkpoint, dict) else 0
        assert isinstance(start, int)
        for n in range(start + 1, self.passes + 1):
            await deferLater(self.clock, self.seconds, lambda: None)
            self.done.append((context.node, n))
            await context.checkpoint(
                progress={"percent": 100 * n // self.passes, "pass": n, "passes": self.passes},
                checkpoint={"pass": n},
            )
        return RunResult(message=f"{self.passes} passes done.")


class Harness:
    """A started memory store with one compute, a Clock at :data:`T0`, and the steps of
    requests the store's event log shows from the first scheduler on (as a follower of the
    store hears of them)."""

    def __init__(self, store: IStore | None = None, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        if clock is None:
            self.clock.advance(T0)
        self.store = store or MemoryStore(Registry.standard())
        #: Each request step since the first scheduler was made, as its event shows it.
        self.seen: list[RequestRecord] = []
        self.schedulers: list[Scheduler] = []
        self._cursor: int | None = None

    def start(self) -> Harness:
        result(self.store.start())
        entity = newEntity(Description(kind=COMPUTE), entityId="c1", owner="alice", now=T0)
        result(self.store.apply([Put(entity, expect=CREATE)]))
        return self

    def scheduler(self, runners: dict[str, Runner], node: str = "node-1",
                  clock: Clock | None = None, **options: Any) -> Scheduler:
        if self._cursor is None:
            newest: list[int] = []
            read = self.store.events("/", limit=1)
            read.addCallbacks(lambda page: newest.extend(e.seq for e in page.events),
                              lambda failure: failure.trap(StoreUnavailable))  # not open yet
            self._cursor = newest[0] if newest else 0
            self.store.addEventListener(self._heard)
        made = Scheduler(self.store, clock or self.clock, node, runners, **options)
        self.schedulers.append(made)
        return made

    def _heard(self) -> None:
        assert self._cursor is not None
        for event in result(self.store.eventsAfter(self._cursor, 10_000)):
            self._cursor = event.seq
            record = requestOfEvent(event)
            if record is not None:
                self.seen.append(record)

    def add(self, requestId: str, *, delay: float | None = None, action: str = STOP,
            now: float | None = None) -> RequestRecord:
        """Store a request (without waking anyone), due after ``delay`` seconds."""
        now = self.clock.seconds() if now is None else now
        record = newRequest("c1", action, owner="alice", now=now, requestId=requestId,
                            notBefore=None if delay is None else now + delay)
        result(self.store.addRequest(record))
        return record

    def get(self, requestId: str) -> RequestRecord:
        record = result(self.store.getRequest(requestId))
        assert record is not None
        return record

    def states(self, requestId: str) -> list[str]:
        """Every state the request's events showed it in, repeats folded."""
        states: list[str] = []
        for record in self.seen:
            if record.id == requestId and (not states or states[-1] != record.state.value):
                states.append(record.state.value)
        return states

    def stopAll(self) -> None:
        for scheduler in self.schedulers:
            if scheduler.running:
                scheduler.stopService()


def succeedAt(times: list[float], clock: Clock) -> Callable[..., Deferred[RunResult]]:
    """A runner that notes when it ran and succeeds at once."""

    def run(record: RequestRecord, context: RunContext) -> Deferred[RunResult]:
        times.append(clock.seconds())
        done: Deferred[RunResult] = Deferred()
        done.callback(RunResult(message="Done."))
        return done

    return run
