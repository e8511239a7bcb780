"""The scheduler: a service that claims due requests from the store and runs them.

Everything it knows that matters lives in the store (synapse's task scheduler keeps its tasks
the same way): a node that dies loses nothing but the work since its last checkpoint.  The
scheduler claims work

- when it starts -- first giving back what an earlier life of this node left running, so a
  ``kill -9`` is followed by a resume, not by a wait for the lease to end;
- when told new work was added (:meth:`Scheduler.wake`, or :meth:`Scheduler.submit`);
- when a run ends and frees a slot;
- at the next due time, from one timer (``clock.callLater``), set again after every claim to
  what the store says comes next: a ``notBefore``, or the end of another node's lease;
- when it follows the store's event log (several nodes): shortly after any node's change --
  a request added or claimed elsewhere moves what comes next, and that node may be the one
  that dies.

While it runs work it renews the leases (a node that stops renewing is taken for dead, and its
requests are claimed by others: ClusteredBuildbotService's claim, per request).  On stop it
claims no more, asks each run to stop at its next checkpoint, and waits -- a bounded time --
for them to give their requests back (as buildbot's timed schedulers finish an actuation
before they stop).

Whoever wants to hear of a request's steps follows the store's event log (each step is an
event, written in the step's transaction); the scheduler tells nobody itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from ..model.requests import RequestRecord
from ..store.interface import Change, IEventLog, IRequestStore
from ._outcome import Outcomes
from .runner import LeaseLost, Progressed, RetryPolicy, RunContext, Runner

_log = Logger()


class Scheduler(Service):
    """Runs the requests of a store on this node, ``concurrency`` at a time.

    ``runners`` maps action identifiers to the :data:`~.runner.Runner` that performs them.
    ``node`` names this node among those sharing the store; names must be unique, and stable
    across restarts (so a restart can take back what the node left running).  A claimed
    request is leased for ``leaseSeconds`` and renewed while it runs; another node takes it
    over once a lease ends unrenewed.  ``pollInterval``, if given, bounds the wait between
    claims: work added by another node, which cannot :meth:`wake` this one, is then seen
    within that time.  ``retry`` says how transient failures are tried again; ``stopTimeout``
    how long a stop waits for runs to reach a checkpoint; ``errorDelay`` how soon a claim that
    failed (the store not open yet, say) is tried again.  With ``follow``, the event log of a
    store that tells every node of every node's commits, it claims again at most
    ``followDelay`` seconds after any change: one pass for a burst of them.
    """

    def __init__(
        self,
        store: IRequestStore,
        clock: IReactorTime,
        node: str,
        runners: Mapping[str, Runner],
        *,
        concurrency: int = 4,
        leaseSeconds: float = 60.0,
        retry: RetryPolicy | None = None,
        stopTimeout: float = 30.0,
        pollInterval: float | None = None,
        errorDelay: float = 5.0,
        follow: IEventLog | None = None,
        followDelay: float = 0.2,
    ) -> None:
        if concurrency < 1 or leaseSeconds <= 0:
            raise ValueError("A scheduler needs a concurrency of at least 1 and a lease.")
        self.store = store
        self.clock = clock
        self.node = node
        self._runners = dict(runners)
        self._concurrency = concurrency
        self._leaseSeconds = leaseSeconds
        self._outcomes = Outcomes(store, clock, node, retry or RetryPolicy())
        self._stopTimeout = stopTimeout
        self._pollInterval = pollInterval
        self._errorDelay = errorDelay
        self._follow = follow
        self._followDelay = followDelay
        self._heard: IDelayedCall | None = None
        #: The runs in progress on this node, by request id.
        self._runs: dict[str, RunContext] = {}
        self._timer: IDelayedCall | None = None
        self._renewal: LoopingCall | None = None
        self._claiming = False
        self._again = False
        self._recovered = False
        self._settledWaiters: list[Deferred[None]] = []
        self._drainedWaiters: list[Deferred[None]] = []
        #: Given to every run (:attr:`.runner.RunContext.progressed`), if set.
        self.progressed: Progressed | None = None

    # -- what other rooms call ----------------------------------------------------------------

    def wake(self) -> None:
        """New work may be due: claim now rather than at the next timer."""
        self._claimSoon()

    def submit(self, record: RequestRecord) -> Deferred[RequestRecord]:
        """Store a new request (durably), and claim it if it is due."""
        return Deferred.fromCoroutine(self._submit(record))

    async def _submit(self, record: RequestRecord) -> RequestRecord:
        await self.submitAll([record])
        return record

    def submitAll(
        self, records: Sequence[RequestRecord], alongside: Sequence[Change] = ()
    ) -> Deferred[None]:
        """Store new requests in one transaction (all or none) with the changes
        ``alongside`` (a remembered answer, say), then as :meth:`submit`."""
        return Deferred.fromCoroutine(self._submitAll(records, alongside))

    async def _submitAll(
        self, records: Sequence[RequestRecord], alongside: Sequence[Change]
    ) -> None:
        await self.store.addRequest(*records, alongside=alongside)
        self.wake()

    def cancel(self, requestId: str) -> Deferred[RequestRecord]:
        """Cancel a request (see :meth:`IRequestStore.cancel`); a run of it on this node learns
        at once, others at their next checkpoint or lease renewal."""
        return Deferred.fromCoroutine(self._cancel(requestId))

    async def _cancel(self, requestId: str) -> RequestRecord:
        record = await self.store.cancel(requestId, self.clock.seconds())
        run = self._runs.get(requestId)
        if run is not None and record.claimedBy == self.node:
            run.record = record
        return record

    @property
    def runningRequests(self) -> frozenset[str]:
        """The ids of the requests running on this node now."""
        return frozenset(self._runs)

    def settled(self) -> Deferred[None]:
        """Fires once no claim is in progress (runs it started may still be going)."""
        if not self._claiming:
            return succeed(None)
        waiter: Deferred[None] = Deferred()
        self._settledWaiters.append(waiter)
        return waiter

    # -- service --------------------------------------------------------------------------

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        self._recovered = False
        if self._follow is not None:
            self._follow.addEventListener(self._changed)
        self._claimSoon()

    def stopService(self) -> Deferred[None]:
        super().stopService()  # type: ignore[no-untyped-call]
        if self._follow is not None:
            self._follow.removeEventListener(self._changed)
        if self._heard is not None and self._heard.active():
            self._heard.cancel()
        self._cancelTimer()
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        for run in self._runs.values():
            run.stopping = True
        await self.settled()  # what a claim in flight brings back is given back at once
        if self._runs:
            drained: Deferred[None] = Deferred()
            self._drainedWaiters.append(drained)
            timeout = self.clock.callLater(self._stopTimeout, _fire, drained)
            await drained
            if timeout.active():
                timeout.cancel()
        if self._runs:
            _log.warn(
                "Node {node} stopped with requests still running ({ids}): they resume when "
                "their leases end, or when this node starts again.",
                node=self.node, ids=", ".join(sorted(self._runs)),
            )
        self._stopRenewal()

    # -- claiming ---------------------------------------------------------------------------

    def _claimSoon(self) -> None:
        """Claim due work, once at a time: a request made meanwhile runs one more pass."""
        if not self.running:
            return
        if self._claiming:
            self._again = True
            return
        self._claiming = True
        Deferred.fromCoroutine(self._claimPasses())

    async def _claimPasses(self) -> None:
        try:
            self._again = True
            while self._again and self.running:
                self._again = False
                await self._claimOnce()
        finally:
            self._claiming = False
            waiters, self._settledWaiters = self._settledWaiters, []
            for waiter in waiters:
                waiter.callback(None)

    async def _claimOnce(self) -> None:
        due: float | None
        try:
            if not self._recovered:
                if not self._runs:
                    for orphan in await self.store.releaseNode(self.node, self.clock.seconds()):
                        _log.info("Request {id} was left running by an earlier life of {node}; "
                                  "it resumes.", id=orphan.id, node=self.node)
                self._recovered = True
            free = self._concurrency - len(self._runs)
            if free > 0:
                for record in await self.store.claimDue(
                    self.node, self.clock.seconds(), free, self._leaseSeconds
                ):
                    self._launch(record)
            due = await self.store.nextDue(self.clock.seconds())
        except Exception:
            _log.failure("Node {node} could not claim requests; it tries again in {delay} s.",
                         node=self.node, delay=self._errorDelay)
            due = self.clock.seconds() + self._errorDelay
        self._setTimer(due)

    def _setTimer(self, due: float | None) -> None:
        """The one timer: at ``due`` (or the poll interval, if sooner), claim again."""
        self._cancelTimer()
        if not self.running:
            return
        now = self.clock.seconds()
        if self._pollInterval is not None:
            due = min(due if due is not None else float("inf"), now + self._pollInterval)
        if due is not None:
            self._timer = self.clock.callLater(max(0.0, due - now), self._onTimer)

    def _changed(self) -> None:
        """Some node committed a change: claim again soon, once for a burst of them."""
        if self._heard is None or not self._heard.active():
            self._heard = self.clock.callLater(self._followDelay, self._claimSoon)

    def _onTimer(self) -> None:
        self._timer = None
        self._claimSoon()

    def _cancelTimer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    # -- running ----------------------------------------------------------------------------

    def _launch(self, record: RequestRecord) -> None:
        run = RunContext(record, self.store, node=self.node, clock=self.clock,
                         leaseSeconds=self._leaseSeconds)
        run.progressed = self.progressed
        run.stopping = not self.running
        self._runs[record.id] = run
        self._startRenewal()
        Deferred.fromCoroutine(self._run(run))

    async def _run(self, run: RunContext) -> None:
        try:
            await self._outcomes.settle(run, self._runners.get(run.record.action))
        except Exception:
            _log.failure("Node {node} could not record how request {id} ended.",
                         node=self.node, id=run.record.id)
        del self._runs[run.record.id]
        if not self._runs:
            self._stopRenewal()
            waiters, self._drainedWaiters = self._drainedWaiters, []
            for waiter in waiters:
                _fire(waiter)
        self._claimSoon()

    # -- leases -----------------------------------------------------------------------------

    def _startRenewal(self) -> None:
        if self._renewal is None:
            self._renewal = LoopingCall(self._renewLeases)
            self._renewal.clock = self.clock
            started = self._renewal.start(self._leaseSeconds / 3, now=False)
            started.addErrback(lambda failure: _log.failure(
                "Lease renewal stopped on {node}", failure, node=self.node))

    def _stopRenewal(self) -> None:
        if self._renewal is not None and self._renewal.running:
            self._renewal.stop()
        self._renewal = None

    def _renewLeases(self) -> Deferred[None]:
        """Renew each lease that a third of its length has gone by without a checkpoint."""
        now = self.clock.seconds()
        renewals = [
            Deferred.fromCoroutine(self._renew(run)) for run in list(self._runs.values())
            if not run.lost and (run.record.leaseUntil or now) - now
            <= self._leaseSeconds * 2 / 3
        ]
        return DeferredList(renewals, consumeErrors=True).addCallback(lambda _: None)

    async def _renew(self, run: RunContext) -> None:
        try:
            await run.renew()
        except LeaseLost as lost:
            _log.warn("Node {node} lost request {id}: {why}", node=self.node,
                      id=run.record.id, why=str(lost))
        except Exception:
            _log.failure("Node {node} could not renew its lease of request {id}.",
                         node=self.node, id=run.record.id)


def _fire(waiter: Deferred[None]) -> None:
    if not waiter.called:
        waiter.callback(None)
