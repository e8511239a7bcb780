"""Where the HTTP layer hands in requests and waits for them.

The desk turns an action a client asked for into request records (due now, or in the daily
backup window), has the scheduler store them durably before anyone hears 202, and lets a
handler wait -- without a thread, on the reactor -- for a request to end or change, for as long
as the client's wait budget allows.  Waiting is a wish, never a promise: the record in the
store is the truth, and a wait that times out just answers with what is there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import time, tzinfo

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from ..model import Action, Entity, Value
from ..model.events import Event
from ..model.infrastructure import BACKUP
from ..model.requests import RequestRecord, newRequest
from ..scheduler import Scheduler, nextWindow
from ..store.interface import Change, IEventLog, IRequestStore
from .following import EventReader

_log = Logger()

#: Actions that wait for the daily window unless the client names a time.
WINDOWED = frozenset({BACKUP.identifier})


class RequestWatch:
    """Tells whoever waits for a request of its next change, as the store's event log shows
    it: the watch hears the store's change notifications (the one path every follower of the
    store takes), reads the events that came since, and wakes the waiters of the requests
    they name with the request as it is now.

    Waiting costs a Deferred and a timer per waiter, not a poll.  The watch follows the store
    only while someone waits; it starts from the newest event, so that what came before is
    never read, and checks each request once as its waiter arrives, so that a change made
    before that is not missed either."""

    #: Events read at a time while catching up with the store.
    batch = 500

    def __init__(self, log: IEventLog, requests: IRequestStore, clock: IReactorTime) -> None:
        self._log = log
        self._requests = requests
        self._clock = clock
        #: The waiters of each request, with the revision each knows.
        self._waiters: dict[str, list[tuple[int, Deferred[RequestRecord | None]]]] = {}
        #: What reads the events; its cursor is ``None`` while not following the store.
        self._reader = EventReader(log, self._heard, "The request watch", batch=self.batch)
        #: Who waits for the watch to start following (while it finds the newest event).
        self._ready: list[Deferred[None]] = []

    def nextChange(self, record: RequestRecord, timeout: float
                   ) -> Deferred[RequestRecord | None]:
        """Fires with the request as stored once it differs from ``record`` (another
        revision) -- at once if it does already -- or with ``None`` after ``timeout`` seconds
        without a change (or when cancelled)."""
        waiter: Deferred[RequestRecord | None] = Deferred(_expire)
        entry = (record.revision, waiter)
        waiters = self._waiters.setdefault(record.id, [])
        waiters.append(entry)
        timer: IDelayedCall = self._clock.callLater(max(0.0, timeout), _expire, waiter)

        def settled(result: RequestRecord | None) -> RequestRecord | None:
            if timer.active():
                timer.cancel()
            if entry in waiters:
                waiters.remove(entry)
            if not waiters and self._waiters.get(record.id) is waiters:
                del self._waiters[record.id]
            if not self._waiters and not self._ready:
                self._unfollow()
            return result

        waiter.addBoth(settled)
        checked = Deferred.fromCoroutine(self._check(record.id))
        checked.addErrback(lambda failure: _log.failure(
            "The request watch could not read request {id}", failure, id=record.id))
        return waiter

    @property
    def waiting(self) -> int:
        return sum(len(waiters) for waiters in self._waiters.values())

    async def _check(self, requestId: str) -> None:
        """Follow the store, then read the request once: a change between the waiter's read
        and now would be missed otherwise."""
        await self._follow()
        if requestId in self._waiters:
            self._wake(requestId, await self._requests.getRequest(requestId))

    def _wake(self, requestId: str, current: RequestRecord | None) -> None:
        if current is None:
            return
        # A copy: each waiter takes itself out of the list as it fires.
        for revision, waiter in list(self._waiters.get(requestId, ())):
            if revision != current.revision and not waiter.called:
                waiter.callback(current)

    # -- following the store ------------------------------------------------------------------

    def _follow(self) -> Deferred[None]:
        """Fires once every event from now on will be read."""
        if self._reader.cursor is not None:
            return succeed(None)
        ready: Deferred[None] = Deferred()
        self._ready.append(ready)
        if len(self._ready) == 1:
            self._log.addEventListener(self._changed)
            Deferred.fromCoroutine(self._position())
        return ready

    async def _position(self) -> None:
        try:
            await self._reader.position()
        except Exception:
            _log.failure("The request watch could not find the newest event")
            self._log.removeEventListener(self._changed)
        ready, self._ready = self._ready, []
        for each in ready:
            each.callback(None)
        if self._reader.pending:
            self._changed()  # told of a change while it looked for the newest event

    def _unfollow(self) -> None:
        if self._reader.cursor is not None:
            self._log.removeEventListener(self._changed)
        self._reader.stop()

    def _changed(self) -> None:
        """The store's notification: read what came since, once at a time."""
        if not self._waiters and not self._ready:
            self._unfollow()
            return
        self._reader.changed()

    async def _heard(self, events: Sequence[Event]) -> None:
        """Wake the waiters of the requests the events name."""
        changed = dict.fromkeys(event.requestId for event in events
                                if event.requestId is not None
                                and event.requestId in self._waiters)
        for requestId in changed:
            if requestId in self._waiters:
                self._wake(requestId, await self._requests.getRequest(requestId))


def _expire(waiter: Deferred[RequestRecord | None]) -> None:
    if not waiter.called:
        waiter.callback(None)


class RequestDesk:
    """Makes requests, submits them, and waits for them; one per server."""

    def __init__(self, store: IRequestStore, scheduler: Scheduler, watch: RequestWatch,
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

    def submit(self, records: Sequence[RequestRecord],
               alongside: Sequence[Change] = ()) -> Deferred[None]:
        """Store the requests durably (all or none) with the changes ``alongside`` -- a
        :class:`~occi_twisted.model.quotas.WithinQuota` that refuses them all, say, in their
        own transaction -- and have them run when due."""
        return self.scheduler.submitAll(records, alongside)

    def submitAndWait(self, record: RequestRecord, budget: float,
                      alongside: Sequence[Change] = ()) -> Deferred[RequestRecord]:
        """Submit (with ``alongside``, as :meth:`submit`), then wait up to ``budget``
        seconds for the request to end; fires with the record as it ended, or as it is when
        the budget runs out."""
        return Deferred.fromCoroutine(self._submitAndWait(record, budget, alongside))

    async def _submitAndWait(self, record: RequestRecord, budget: float,
                             alongside: Sequence[Change]) -> RequestRecord:
        deadline = self._clock.seconds() + budget
        await self.submit([record], alongside)
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
        seen = await self.watch.nextChange(record, budget)
        return seen if seen is not None else record
