"""The health probes: together, each within its timeout, a raising probe a failing part."""

from __future__ import annotations

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock

from occi_twisted.monitoring import Health
from occi_twisted.monitoring.health import always


def test_a_probe_without_an_answer_in_time_is_failing() -> None:
    clock = Clock()
    health = Health(clock)
    pending: Deferred[bool] = Deferred()
    health.add("slow", lambda: pending)
    health.add("quick", lambda: succeed(True))
    answers: list[dict[str, bool]] = []
    health.check().addCallback(answers.append)
    assert answers == []
    clock.advance(Health.timeout)
    assert answers == [{"slow": False, "quick": True}]


def test_a_probe_that_raises_or_fails_is_failing() -> None:
    def broken() -> Deferred[bool]:
        raise RuntimeError("no")

    health = Health(Clock())
    health.add("raises", broken)
    health.add("fails", _failed)
    health.add("says no", always(lambda: 0))
    answers: list[dict[str, bool]] = []
    health.check().addCallback(answers.append)
    assert answers == [{"raises": False, "fails": False, "says no": False}]


def _failed() -> Deferred[bool]:
    return fail(ValueError("the store is gone"))
