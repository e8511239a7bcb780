"""Whether the server works, for a load balancer: each part it needs, probed when asked.

A probe answers whether one part works -- the store answers a real query, the scheduler
runs, the XMPP component is connected -- within :attr:`Health.timeout` seconds, or counts as
failing: a load balancer needs an answer soon, and a store that takes seconds is no store to
send clients to.  The probes run together, so a slow one costs the timeout once.  What
failed, and why, goes to the log when a part starts failing (and when it is back); the
answer itself says only ``ok`` or ``failing`` per part, since anyone may ask.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.defer import Deferred, fail, gatherResults, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

log = Logger()

#: Answers whether a part works (a failure, or no answer in time, is "no").
Probe = Callable[[], Deferred[bool]]


class Health:
    """Named probes (:meth:`add`), asked together (:meth:`check`)."""

    #: Seconds a probe may take before its part counts as failing.
    timeout = 2.0

    def __init__(self, clock: IReactorTime) -> None:
        self._clock = clock
        self._probes: dict[str, Probe] = {}
        #: How each part was at the last check: a change is logged.
        self._last: dict[str, bool] = {}

    def add(self, name: str, probe: Probe) -> None:
        """Probe the part ``name`` at every check, after those added before."""
        self._probes[name] = probe

    def check(self) -> Deferred[dict[str, bool]]:
        """Whether each part works now, by name, in the order they were added."""
        names = list(self._probes)
        asked = gatherResults([self._ask(name) for name in names])
        return asked.addCallback(lambda answers: dict(zip(names, answers, strict=True)))

    def _ask(self, name: str) -> Deferred[bool]:
        try:
            answer = self._probes[name]()
        except Exception:
            answer = fail(Failure())
        answer.addTimeout(self.timeout, self._clock)
        return answer.addCallbacks(
            lambda works: self._seen(name, bool(works), None),
            lambda failure: self._seen(name, False, failure))

    def _seen(self, name: str, works: bool, failure: Failure | None) -> bool:
        if self._last.get(name, True) != works:
            if works:
                log.info("Health: {name} works again", name=name)
            else:
                log.warn("Health: {name} is failing: {why}", name=name,
                         why=failure.getErrorMessage() if failure else "it said so")
        self._last[name] = works
        return works


def always(works: Callable[[], object]) -> Probe:
    """A probe of something known at once (``works()``, true or false)."""
    return lambda: succeed(bool(works()))
