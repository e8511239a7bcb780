"""The scheduler over a memory store, driven by a Clock: claims, limits, retries, cancellation,
crashes and resumption, orderly stops."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from twisted.internet.defer import Deferred, fail
from twisted.internet.task import Clock

from occi_twisted.model.errors import Conflict
from occi_twisted.model.requests import RequestRecord, RequestState, newRequest
from occi_twisted.scheduler import (
    RetryPolicy,
    RunContext,
    RunResult,
    Scheduler,
    TransientError,
)

from .support import ERASE, STOP, T0, Gate, Harness, Slices, result, succeedAt, tick


@pytest.fixture
def harness() -> Iterator[Harness]:
    made = Harness().start()
    yield made
    made.stopAll()


def test_claims_and_runs_due_work_when_started(harness: Harness) -> None:
    """Work waiting in the store when the scheduler starts (e.g. queued before a restart)
    runs at once; each step is an event."""
    gate = Gate()
    harness.add("r1")
    scheduler = harness.scheduler({STOP: gate})
    scheduler.startService()
    assert gate.ids == ["r1"]
    assert gate.calls[0].record.state is RequestState.RUNNING
    assert gate.calls[0].record.claimedBy == "node-1"
    assert scheduler.runningRequests == {"r1"}
    gate.calls[0].done.callback(RunResult(message="Stopped.", progress={"percent": 100}))
    done = harness.get("r1")
    assert done.state is RequestState.SUCCEEDED and done.message == "Stopped."
    assert done.progress == {"percent": 100} and done.attempts == 1
    assert harness.states("r1") == ["running", "succeeded"]
    assert scheduler.runningRequests == frozenset()


def test_submit_and_wake_claim_at_once(harness: Harness) -> None:
    gate = Gate()
    scheduler = harness.scheduler({STOP: gate})
    scheduler.startService()
    record = harness.add("behind-its-back")
    assert gate.ids == []
    scheduler.wake()
    assert gate.ids == ["behind-its-back"]
    submitted = newRequest("c1", STOP, owner="alice", now=harness.clock.seconds())
    assert result(scheduler.submit(submitted)) == submitted
    assert gate.ids == [record.id, submitted.id]
    assert harness.states(submitted.id) == ["queued", "running"]


def test_concurrency_limit(harness: Harness) -> None:
    gate = Gate()
    for n in range(5):
        harness.add(f"r{n}")
    scheduler = harness.scheduler({STOP: gate}, concurrency=2)
    scheduler.startService()
    assert gate.ids == ["r0", "r1"]
    assert harness.get("r2").state is RequestState.QUEUED  # not claimed: nothing loaded
    gate.calls[1].done.callback(RunResult())
    assert gate.ids == ["r0", "r1", "r2"]
    assert len(scheduler.runningRequests) == 2
    while any(not call.done.called for call in gate.calls):
        next(call for call in gate.calls if not call.done.called).done.callback(RunResult())
        assert len(scheduler.runningRequests) <= 2
    assert gate.ids == [f"r{n}" for n in range(5)]
    assert all(harness.get(f"r{n}").state is RequestState.SUCCEEDED for n in range(5))


def test_transient_failures_retry_with_exponential_backoff(harness: Harness) -> None:
    calls: list[float] = []

    def flaky(record: RequestRecord, context: RunContext) -> Deferred[RunResult]:
        calls.append(harness.clock.seconds() - T0)
        return fail(TransientError("The host is busy."))

    policy = RetryPolicy(initialDelay=10.0, factor=3.0, maxDelay=60.0, maxAttempts=5)
    harness.add("r")
    harness.scheduler({STOP: flaky}, retry=policy).startService()
    assert calls == [0.0]
    waiting = harness.get("r")
    assert waiting.state is RequestState.SCHEDULED and waiting.notBefore == T0 + 10.0
    assert "Attempt 1 failed: The host is busy." in waiting.message
    tick(harness.clock, 9.0)
    assert calls == [0.0]  # not a moment early
    tick(harness.clock, 1.0)
    assert calls == [0.0, 10.0]
    tick(harness.clock, 30.0)
    assert calls == [0.0, 10.0, 40.0]
    tick(harness.clock, 60.0)  # 90 s capped at 60
    tick(harness.clock, 60.0)
    assert calls == [0.0, 10.0, 40.0, 100.0, 160.0]
    failed = harness.get("r")
    assert failed.state is RequestState.FAILED and failed.attempts == 5
    assert failed.message == "Failed 5 times; the last time: The host is busy."
    tick(harness.clock, 10_000.0)
    assert len(calls) == 5
    assert harness.clock.getDelayedCalls() == []  # nothing left to wait for


def test_transient_error_may_name_its_delay(harness: Harness) -> None:
    calls: list[float] = []

    def later(record: RequestRecord, context: RunContext) -> Deferred[RunResult]:
        calls.append(harness.clock.seconds() - T0)
        if len(calls) == 1:
            return fail(TransientError("Not in the window.", retryAfter=3600.0))
        return succeedAt([], harness.clock)(record, context)

    harness.add("r")
    harness.scheduler({STOP: later}).startService()
    tick(harness.clock, 3599.0)
    assert calls == [0.0]
    tick(harness.clock, 1.0)
    assert calls == [0.0, 3600.0] and harness.get("r").state is RequestState.SUCCEEDED


def test_permanent_failure(harness: Harness) -> None:
    def broken(record: RequestRecord, context: RunContext) -> Deferred[RunResult]:
        raise Conflict("The compute is already stopped.")

    def buggy(record: RequestRecord, context: RunContext) -> Deferred[RunResult]:
        return fail(ZeroDivisionError("division by zero"))

    harness.add("r1")
    harness.add("r2", action=ERASE)
    harness.add("r3", action="http://example.com/unknown#action")
    harness.scheduler({STOP: broken, ERASE: buggy}).startService()
    first, second, third = (harness.get(i) for i in ("r1", "r2", "r3"))
    assert (first.state, first.message) == (RequestState.FAILED,
                                            "The compute is already stopped.")
    assert (second.state, second.message) == (RequestState.FAILED, "division by zero")
    assert third.state is RequestState.FAILED and "cannot perform" in third.message
    assert first.attempts == 1
    tick(harness.clock, 10_000.0)
    assert harness.get("r1").attempts == 1  # never tried again


def test_cancel_waiting_work(harness: Harness) -> None:
    gate = Gate()
    harness.add("r", delay=100.0)
    scheduler = harness.scheduler({STOP: gate})
    scheduler.startService()
    cancelled = result(scheduler.cancel("r"))
    assert cancelled.state is RequestState.CANCELLED
    tick(harness.clock, 200.0)
    assert gate.calls == []
    assert harness.states("r") == ["cancelled"]
    assert result(scheduler.cancel("r")) == cancelled  # harmless, and no second event
    assert harness.states("r") == ["cancelled"] and len(harness.seen) == 1


def test_cancel_running_work_stops_at_its_next_checkpoint(harness: Harness) -> None:
    erase = Slices(harness.clock)
    harness.add("r", action=ERASE)
    scheduler = harness.scheduler({ERASE: erase})
    scheduler.startService()
    tick(harness.clock, 25.0)  # two passes done, the third under way
    asked = result(scheduler.cancel("r"))
    assert asked.state is RequestState.RUNNING and asked.cancelRequested
    tick(harness.clock, 5.0)
    cancelled = harness.get("r")
    assert cancelled.state is RequestState.CANCELLED
    assert cancelled.progress["pass"] == 3 and cancelled.checkpoint == {"pass": 3}
    assert erase.done == [("node-1", 1), ("node-1", 2), ("node-1", 3)]
    tick(harness.clock, 100.0)
    assert len(erase.done) == 3


def test_cancel_from_another_node_is_seen_at_the_lease_renewal(harness: Harness) -> None:
    """A runner that cannot checkpoint still learns of a cancellation made elsewhere."""
    gate = Gate()
    harness.add("r")
    harness.scheduler({STOP: gate}, leaseSeconds=30.0).startService()
    result(harness.store.cancel("r", harness.clock.seconds()))  # another node's HTTP layer
    context = gate.calls[0].context
    assert not context.cancelRequested
    tick(harness.clock, 10.0)
    assert context.cancelRequested and context.shouldStop


def test_resume_after_crash_on_another_node(harness: Harness) -> None:
    """Node 1 dies mid-run (its clock stops: nothing of it happens any more).  Node 2 claims
    the request once the lease ends, and resumes from the last checkpoint."""
    deadClock = Clock()
    deadClock.advance(T0)
    erase = Slices(deadClock)
    harness.add("r", action=ERASE)
    harness.scheduler({ERASE: erase}, node="node-1", clock=deadClock,
                      leaseSeconds=60.0).startService()
    tick(deadClock, 25.0)
    assert erase.done == [("node-1", 1), ("node-1", 2)]
    # The crash: node-1's clock stops here.  Node 2 lives on the harness's clock.
    tick(harness.clock, 25.0)
    resumed = Slices(harness.clock)
    harness.scheduler({ERASE: resumed}, node="node-2", leaseSeconds=60.0).startService()
    assert resumed.done == []  # node-1's lease still holds
    tick(harness.clock, 54.0)
    assert resumed.resumedFrom == []
    tick(harness.clock, 1.0)  # node-1's last renewal (at T0+20) ran out at T0+80
    assert resumed.resumedFrom == [{"pass": 2}]
    running = harness.get("r")
    assert running.claimedBy == "node-2" and running.attempts == 2
    assert "node-1" in running.message
    tick(harness.clock, 30.0)
    done = harness.get("r")
    assert done.state is RequestState.SUCCEEDED
    assert resumed.done == [("node-2", 3), ("node-2", 4), ("node-2", 5)]


def test_restarted_node_takes_back_its_work_at_once(harness: Harness) -> None:
    """After kill -9, the same node starting again need not wait for its old lease."""
    deadClock = Clock()
    deadClock.advance(T0)
    harness.add("r", action=ERASE)
    harness.scheduler({ERASE: Slices(deadClock)}, clock=deadClock,
                      leaseSeconds=600.0).startService()
    tick(deadClock, 15.0)
    tick(harness.clock, 20.0)
    again = Slices(harness.clock)
    harness.scheduler({ERASE: again}, leaseSeconds=600.0).startService()
    assert again.resumedFrom == [{"pass": 1}]
    assert harness.states("r") == ["running", "queued", "running"]
    tick(harness.clock, 40.0)
    assert harness.get("r").state is RequestState.SUCCEEDED


def test_work_that_keeps_killing_its_node_gives_up(harness: Harness) -> None:
    policy = RetryPolicy(maxAttempts=2)
    harness.add("r", action=ERASE)
    for _ in range(2):  # two lives, each dies mid-run
        deadClock = Clock()
        deadClock.advance(harness.clock.seconds())
        harness.scheduler({ERASE: Slices(deadClock)}, clock=deadClock, retry=policy,
                          leaseSeconds=60.0).startService()
        tick(harness.clock, 1.0)
    gate = Gate()
    harness.scheduler({ERASE: gate}, retry=policy).startService()
    assert gate.calls == []
    failed = harness.get("r")
    assert failed.state is RequestState.FAILED and "Gave up after 2 attempts" in failed.message


def test_leases_are_renewed_while_work_runs(harness: Harness) -> None:
    gate = Gate()
    harness.add("r")
    harness.scheduler({STOP: gate}, leaseSeconds=30.0).startService()
    rival = Gate()
    harness.scheduler({STOP: rival}, node="node-2", leaseSeconds=30.0).startService()
    for _ in range(20):
        tick(harness.clock, 10.0)
        assert harness.get("r").leaseUntil is not None
        assert harness.get("r").leaseUntil > harness.clock.seconds()  # type: ignore[operator]
    assert rival.calls == []
    gate.calls[0].done.callback(RunResult())
    assert harness.get("r").state is RequestState.SUCCEEDED
    # Renewals stop with the work.  The rival's timer still waits for the lease it last saw
    # to end; then it finds nothing more to wait for.
    [rivalTimer] = harness.clock.getDelayedCalls()
    tick(harness.clock, rivalTimer.getTime() - harness.clock.seconds())
    assert harness.clock.getDelayedCalls() == []


def test_one_timer_follows_the_next_due_time(harness: Harness) -> None:
    times: list[float] = []
    harness.add("late", delay=100.0)
    scheduler = harness.scheduler({STOP: succeedAt(times, harness.clock)})
    scheduler.startService()
    [timer] = harness.clock.getDelayedCalls()
    assert timer.getTime() == T0 + 100.0
    harness.add("sooner", delay=50.0)
    scheduler.wake()
    [timer] = harness.clock.getDelayedCalls()
    assert timer.getTime() == T0 + 50.0
    tick(harness.clock, 50.0)
    tick(harness.clock, 50.0)
    assert times == [T0 + 50.0, T0 + 100.0]
    assert harness.clock.getDelayedCalls() == []


def test_poll_interval_finds_work_added_elsewhere(harness: Harness) -> None:
    times: list[float] = []
    harness.scheduler({STOP: succeedAt(times, harness.clock)},
                      pollInterval=30.0).startService()
    tick(harness.clock, 5.0)
    harness.add("elsewhere")  # another node's request: nobody wakes this scheduler
    tick(harness.clock, 24.0)
    assert times == []
    tick(harness.clock, 1.0)
    assert times == [T0 + 30.0]


def test_following_the_log_finds_work_added_elsewhere_at_once(harness: Harness) -> None:
    times: list[float] = []
    scheduler = harness.scheduler({STOP: succeedAt(times, harness.clock)},
                                  follow=harness.store, followDelay=0.2)
    scheduler.startService()
    tick(harness.clock, 5.0)
    harness.add("elsewhere")  # another node's request: its commit is heard here
    harness.add("and another")
    tick(harness.clock, 0.2)
    assert times == [T0 + 5.2, T0 + 5.2]  # one claim pass for the burst
    scheduler.stopService()
    harness.add("after the stop")
    tick(harness.clock, 1.0)
    assert times == [T0 + 5.2, T0 + 5.2]
    assert harness.clock.getDelayedCalls() == []


def test_following_the_log_sees_another_nodes_lease_and_takes_over(
        harness: Harness) -> None:
    """The other node claimed after this one last looked: the claim's event tells this one
    when that lease ends, and it takes the request over then, without polling."""
    times: list[float] = []
    follower = harness.scheduler({STOP: succeedAt(times, harness.clock)}, node="node-2",
                                 follow=harness.store, leaseSeconds=10.0)
    follower.startService()
    harness.add("r")
    result(harness.store.claimDue("node-1", harness.clock.seconds(), 1, 10.0))  # then dies
    tick(harness.clock, 0.2)
    assert times == []
    tick(harness.clock, 9.8)
    assert times == [T0 + 10.0]
    follower.stopService()


def test_store_not_ready_yet_is_retried() -> None:
    """The scheduler may start before the store has opened: it tries again shortly."""
    harness = Harness()
    times: list[float] = []
    scheduler = harness.scheduler({STOP: succeedAt(times, harness.clock)}, errorDelay=2.0)
    scheduler.startService()
    [timer] = harness.clock.getDelayedCalls()
    assert timer.getTime() == T0 + 2.0
    harness.start()
    harness.add("r")
    tick(harness.clock, 2.0)
    assert times == [T0 + 2.0]
    scheduler.stopService()


def test_stop_waits_for_running_work_to_checkpoint(harness: Harness) -> None:
    erase = Slices(harness.clock)
    harness.add("r", action=ERASE)
    scheduler = harness.scheduler({ERASE: erase}, stopTimeout=60.0)
    scheduler.startService()
    tick(harness.clock, 15.0)  # one pass done, the second under way
    stopped = scheduler.stopService()
    assert not stopped.called
    tick(harness.clock, 5.0)  # the second pass ends, checkpoints, and stops
    assert stopped.called
    waiting = harness.get("r")
    assert waiting.state is RequestState.QUEUED and waiting.checkpoint == {"pass": 2}
    assert waiting.attempts == 0  # an orderly stop is no failed attempt
    assert "Interrupted" in waiting.message
    tick(harness.clock, 100.0)
    assert erase.done == [("node-1", 1), ("node-1", 2)]  # nothing runs after the stop
    # Started again, it resumes where it stopped.
    again = Slices(harness.clock)
    harness.scheduler({ERASE: again}).startService()
    assert again.resumedFrom == [{"pass": 2}]
    tick(harness.clock, 30.0)
    assert harness.get("r").state is RequestState.SUCCEEDED
    assert again.done == [("node-1", 3), ("node-1", 4), ("node-1", 5)]


def test_stop_waits_only_so_long(harness: Harness) -> None:
    gate = Gate()
    harness.add("r")
    scheduler = harness.scheduler({STOP: gate}, stopTimeout=10.0, leaseSeconds=60.0)
    scheduler.startService()
    stopped = scheduler.stopService()
    tick(harness.clock, 9.0)
    assert not stopped.called
    tick(harness.clock, 1.0)
    assert stopped.called
    assert harness.get("r").state is RequestState.RUNNING  # left to its lease
    assert gate.calls[0].context.stopping


def test_listener_failures_do_not_stop_the_work(harness: Harness) -> None:
    def broken() -> None:
        raise RuntimeError("listener bug")

    times: list[float] = []
    harness.add("r")
    harness.store.addEventListener(broken)
    Scheduler(harness.store, harness.clock, "n",
              {STOP: succeedAt(times, harness.clock)}).startService()
    assert harness.get("r").state is RequestState.SUCCEEDED
