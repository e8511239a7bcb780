"""The request watch: every waiter of a request hears of its next change (as the store's events
show it), once; a change made before the wait is seen at once; a waiter whose time runs out
gets ``None``; cancelled waits end quietly; the watch follows the store only while someone
waits."""

from __future__ import annotations

from twisted.internet.task import Clock

from occi_twisted.model import Description, Registry, newEntity
from occi_twisted.model.infrastructure import COMPUTE
from occi_twisted.model.requests import RequestRecord, newRequest
from occi_twisted.operations import RequestWatch
from occi_twisted.store import CREATE, MemoryStore, Put

from ..scheduler.support import result


def record(requestId: str = "r") -> RequestRecord:
    return newRequest("c1", "stop", owner="alice", now=1.0, requestId=requestId)


class Listened(MemoryStore):
    """A memory store that counts its listeners."""

    listening = 0

    def addEventListener(self, listener: object) -> None:
        self.listening += 1
        super().addEventListener(listener)  # type: ignore[arg-type]

    def removeEventListener(self, listener: object) -> None:
        self.listening -= 1
        super().removeEventListener(listener)  # type: ignore[arg-type]


def storeWith(*records: RequestRecord) -> Listened:
    store = Listened(Registry.standard())
    result(store.start())
    entity = newEntity(Description(kind=COMPUTE), entityId="c1", owner="alice", now=1.0)
    result(store.apply([Put(entity, expect=CREATE)]))
    result(store.addRequest(*records))
    return store


def test_every_waiter_hears_the_change() -> None:
    clock = Clock()
    r, s = record("r"), record("s")
    store = storeWith(r, s)
    watch = RequestWatch(store, store, clock)
    waits = [watch.nextChange(r, 10) for _ in range(101)]
    other = watch.nextChange(s, 10)
    assert watch.waiting == 102 and store.listening == 1
    changed = result(store.cancel("r", 2.0))
    assert [result(wait) for wait in waits] == [changed] * 101
    assert not other.called and watch.waiting == 1
    clock.advance(10)
    assert result(other) is None and watch.waiting == 0
    assert not clock.getDelayedCalls()
    assert store.listening == 0  # nobody waits: the watch no longer follows the store


def test_a_change_before_the_wait_is_seen_at_once() -> None:
    clock = Clock()
    r = record()
    store = storeWith(r)
    changed = result(store.cancel("r", 2.0))
    wait = RequestWatch(store, store, clock).nextChange(r, 10)
    assert result(wait) == changed
    assert not clock.getDelayedCalls() and store.listening == 0


def test_a_cancelled_wait_ends_with_none() -> None:
    clock = Clock()
    r = record()
    store = storeWith(r)
    watch = RequestWatch(store, store, clock)
    wait = watch.nextChange(r, 10)
    wait.cancel()
    assert result(wait) is None and watch.waiting == 0 and not clock.getDelayedCalls()
    assert store.listening == 0
