"""Where the HTTP layer hands in requests and waits for them.

The desk turns an action a client asked for into request records (due now, or in the daily
backup window), has the scheduler store them durably before anyone hears 202, and lets a
handler wait -- without a thread, on the reactor -- for a request to end or change, for as long
as the client's wait budget allows.  Waiting is a wish, never a promise: the record in the
store is the truth, and a wait that times out just answers with what is there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import time, tzinfo

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from ..model import Action, Entity, Value
from ..model.infrastructure import BACKUP
from ..model.requests import RequestRecord, newRequest
from ..scheduler import Scheduler, nextWindow
from ..store.interface import IStore

_log = Logger()

#: Actions that wait for the daily window unless the client names a time.
WINDOWED = frozenset({BACKUP.identifier})

Listener = Callable[[RequestRecord], None]


class RequestWatch:
    """The scheduler's observer: tells whoever waits for a request of each of its changes.

    Every change a node makes passes here (on that node), so waiting costs a Deferred and a
    timer per waiter, not a poll; ``listeners`` hear of every change (the events)."""

    def __init__(self, clock: IReactorTime) -> None:
        self._clock = clock
        self._waiters: dict[str, list[Deferred[RequestRecord | None]]] = {}
        self.listeners: list[Listener] = []

    def __call__(self, record: RequestRecord) -> None:
        for listener in self.listeners:
            listener(record)
        # A copy: each waiter takes itself out of the list as it fires.
        for waiter in list(self._waiters.pop(record.id, [])):
            waiter.callback(record)

    def nextChange(self, requestId: str, timeout: float) -> Deferred[RequestRecord | None]:
        """Fires with the request's next change as it is made, or ``None`` after ``timeout``
        seconds without one (or when cancelled)."""
        waiter: Deferred[RequestRecord | None] = Deferred(_expire)
        waiters = self._waiters.setdefault(requestId, [])
        waiters.append(waiter)
        timer: IDelayedCall = self._clock.callLater(max(0.0, timeout), _expire, waiter)

        def settled(result: RequestRecord | None) -> RequestRecord | None:
            if timer.active():
                timer.cancel()
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiters and self._waiters.get(requestId) is waiters:
                del self._waiters[requestId]
            return result

        return waiter.addBoth(settled)

    @property
    def waiting(self) -> int:
        return sum(len(waiters) for waiters in self._waiters.values())


def _expire(waiter: Deferred[RequestRecord | None]) -> None:
    if not waiter.called:
        waiter.callback(None)


class RequestDesk:
    """Makes requests, submits them, and waits for them; one per server."""

    def __init__(self, store: IStore, scheduler: Scheduler, watch: RequestWatch,
                 clock: IReactorTime, *, backupAt: time, zone: tzinfo) -> None:
        self.store = store
        self.scheduler = scheduler
        self.watch = watch
        self._clock = clock
        self._backupAt = backupAt
        self._zone = zone

    def plan(self, entity: Entity, action: Action, attributes: Mapping[str, Value], *,
             owner: str, notBefore: float | None = None) -> RequestRecord:
        """The request to run ``action`` on ``entity``: due now, at ``notBefore`` if the
        client named a time, or in the next backup window for a backup."""
        now = self._clock.seconds()
        if notBefore is None and action.identifier in WINDOWED:
            notBefore = self.nextWindow(now)
        return newRequest(entity.id, action.identifier, owner=owner, now=now,
                          attributes=attributes, notBefore=notBefore)

    def nextWindow(self, now: float) -> float:
        return nextWindow(now, self._backupAt, self._zone)

    def submit(self, records: Sequence[RequestRecord]) -> Deferred[None]:
        """Store the requests durably (all or none) and have them run when due."""
        return self.scheduler.submitAll(records)

    def submitAndWait(self, record: RequestRecord, budget: float) -> Deferred[RequestRecord]:
        """Submit, then wait up to ``budget`` seconds for the request to end; fires with the
        record as it ended, or as it is when the budget runs out."""
        return Deferred.fromCoroutine(self._submitAndWait(record, budget))

    async def _submitAndWait(self, record: RequestRecord, budget: float) -> RequestRecord:
        deadline = self._clock.seconds() + budget
        await self.submit([record])
        return await self.waitForEnd(record, deadline - self._clock.seconds())

    def waitForEnd(self, record: RequestRecord, budget: float) -> Deferred[RequestRecord]:
        """The request once it ended, or as it is after ``budget`` seconds."""
        return Deferred.fromCoroutine(self._waitForEnd(record, budget))

    async def _waitForEnd(self, record: RequestRecord, budget: float) -> RequestRecord:
        deadline = self._clock.seconds() + budget
        while not record.state.isFinal:
            left = deadline - self._clock.seconds()
            if left <= 0:
                break
            record = await self.waitForChange(record, left)
        return record

    def waitForChange(self, record: RequestRecord, budget: float) -> Deferred[RequestRecord]:
        """Long poll: the request as soon as it differs from ``record`` (a later revision), or
        as it is after ``budget`` seconds; at once when it ended already or differs now."""
        return Deferred.fromCoroutine(self._waitForChange(record, budget))

    async def _waitForChange(self, record: RequestRecord, budget: float) -> RequestRecord:
        if record.state.isFinal or budget <= 0:
            return record
        change = self.watch.nextChange(record.id, budget)
        # A change between the caller's read and now would be missed: read again.
        current = await self.store.getRequest(record.id)
        if current is not None and current.revision != record.revision:
            change.cancel()
            return current
        seen = await change
        return seen if seen is not None else (current or record)
