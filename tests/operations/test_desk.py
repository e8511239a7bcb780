"""The request watch: every waiter of a request hears of its next change, once; a waiter
whose time runs out gets ``None``; cancelled waits end quietly."""

from __future__ import annotations

from twisted.internet.task import Clock

from occi_twisted.model.requests import RequestRecord, newRequest
from occi_twisted.operations import RequestWatch

from ..scheduler.support import result


def record(requestId: str = "r") -> RequestRecord:
    return newRequest("c1", "stop", owner="alice", now=1.0, requestId=requestId)


def test_every_waiter_hears_the_change() -> None:
    clock = Clock()
    watch = RequestWatch(clock)
    waits = [watch.nextChange("r", 10) for _ in range(101)]
    other = watch.nextChange("s", 10)
    assert watch.waiting == 102
    changed = record()
    watch(changed)
    assert [result(wait) for wait in waits] == [changed] * 101
    assert not other.called and watch.waiting == 1
    clock.advance(10)
    assert result(other) is None and watch.waiting == 0
    assert not clock.getDelayedCalls()


def test_a_cancelled_wait_ends_with_none() -> None:
    clock = Clock()
    watch = RequestWatch(clock)
    wait = watch.nextChange("r", 10)
    wait.cancel()
    assert result(wait) is None and watch.waiting == 0 and not clock.getDelayedCalls()


def test_listeners_hear_every_change() -> None:
    watch = RequestWatch(Clock())
    heard: list[RequestRecord] = []
    watch.listeners.append(heard.append)
    watch(record("a"))
    watch(record("b"))
    assert [r.id for r in heard] == ["a", "b"]
