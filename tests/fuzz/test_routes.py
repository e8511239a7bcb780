"""Property: whatever a client sends to any route, in any rendering, no answer is a 5xx
(other than the deliberate 501 and 503, and the known defects still being fixed)."""

from __future__ import annotations

from hypothesis import HealthCheck, event, example, given, settings

from .known import DELIBERATE, knownDefectOf, reproduction
from .space import requests
from .world import Answer, Request, World

TEMPLATE = World.seeded(renderings=True)


class Worlds:
    """A seeded world for each example, rebuilt only after an example that may have changed
    it (a write that was not refused: refusals change nothing, tests/http/test_properties.py
    holds the server to that), so that every example meets the same world, as hypothesis
    needs to replay and shrink what it finds."""

    def __init__(self) -> None:
        self._world: World | None = None

    def send(self, request: Request) -> Answer:
        if self._world is None:
            self._world = World.seeded()
        answer = self._world.send(request)
        if request.method not in (b"GET", b"HEAD") and not 400 <= answer.code < 500:
            self._world = None
        return answer


WORLDS = Worlds()


def checkAnswer(answer: Answer) -> None:
    """The property, for one answer: below 500 without a failure logged (a refusal is a
    sentence to the client, never a traceback in the operator's log), or a deliberate or
    known 5xx."""
    if answer.code < 500:
        assert not answer.failures, (answer.raw[:1000],
                                     [f.getTraceback() for f in answer.failures])
        return
    if answer.code in DELIBERATE:
        return
    known = knownDefectOf(answer.failures)
    assert known is not None, (answer.raw[:1000], [f.getTraceback() for f in answer.failures])
    event(f"known defect: {known.name}")


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(request=requests(TEMPLATE))
# The 500s found so far, tried on every run (test_regressions.py has them one by one).
@example(request=reproduction("deep nesting in a note"))
@example(request=reproduction("a superscript wait"))
@example(request=reproduction("a version of thousands of digits"))
@example(request=reproduction("a feed cursor beyond 64 bits"))
@example(request=reproduction("a cursor of thousands of digits"))
@example(request=reproduction("half a surrogate pair in a note"))
@example(request=reproduction("an entity's date beyond C's integers"))
def test_no_request_gets_a_5xx(request: Request) -> None:
    answer = WORLDS.send(request)
    event(f"{request.method.decode(errors='replace')} -> {answer.code}")
    checkAnswer(answer)
