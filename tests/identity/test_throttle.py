"""Login throttling: an address that keeps failing waits; the others do not."""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.task import Clock
from zope.interface import implementer

from occi_twisted.identity import LoginThrottle
from occi_twisted.store.interface import ISharedLogins


def failing(throttle: LoginThrottle, address: str, times: int) -> None:
    for _ in range(times):
        throttle.failed(address)


def test_after_n_failures_in_the_window_the_address_waits() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock, failures=3, window=60.0)
    failing(throttle, "192.0.2.1", 2)
    assert throttle.retryAfter("192.0.2.1") is None
    clock.advance(10)
    throttle.failed("192.0.2.1")
    assert throttle.retryAfter("192.0.2.1") == 50  # the first failures leave at 60
    clock.advance(49.5)
    assert throttle.retryAfter("192.0.2.1") == 1  # whole seconds, rounded up
    clock.advance(0.5)
    assert throttle.retryAfter("192.0.2.1") is None
    throttle.failed("192.0.2.1")  # in the window now: the failures at 10 and 60
    assert throttle.retryAfter("192.0.2.1") is None
    throttle.failed("192.0.2.1")  # 10, 60, 60: the one at 10 leaves at 70
    assert throttle.retryAfter("192.0.2.1") == 10


def test_other_addresses_are_not_slowed() -> None:
    throttle = LoginThrottle(Clock(), failures=3)
    failing(throttle, "192.0.2.1", 10)
    assert throttle.retryAfter("192.0.2.1") is not None
    assert throttle.retryAfter("192.0.2.2") is None
    assert throttle.retryAfter("2001:db8::1") is None


def test_failures_spread_out_are_never_refused() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock, failures=3, window=60.0)
    for _ in range(20):
        throttle.failed("192.0.2.1")
        assert throttle.retryAfter("192.0.2.1") is None
        clock.advance(30.1)


def test_ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() -> None:
    throttle = LoginThrottle(Clock(), failures=2)
    throttle.failed("2001:db8:1:2::1")
    throttle.failed("2001:db8:1:2:ffff::9")
    assert throttle.retryAfter("2001:db8:1:2::77") is not None
    assert throttle.retryAfter("2001:db8:1:3::1") is None
    failing(throttle, "::ffff:192.0.2.7", 2)
    assert throttle.retryAfter("192.0.2.7") is not None


def test_memory_is_bounded_and_the_oldest_address_goes() -> None:
    throttle = LoginThrottle(Clock(), failures=2, addresses=100)
    failing(throttle, "192.0.2.1", 2)
    for index in range(150):
        throttle.failed(f"10.0.{index // 256}.{index % 256}")
    assert len(throttle) == 100
    assert throttle.retryAfter("192.0.2.1") is None  # forgotten
    failing(throttle, "10.0.0.149", 1)
    assert throttle.retryAfter("10.0.0.149") is not None


def test_addresses_that_are_not_ip_addresses_count_as_themselves() -> None:
    throttle = LoginThrottle(Clock(), failures=1)
    throttle.failed("unknown")
    assert throttle.retryAfter("unknown") is not None


class Exchange:
    """What the nodes sharing a store pass each other: each node's failures reach the
    others' throttles (as PostgreSQL's notifications do), never the teller's own."""

    def __init__(self) -> None:
        self.heard: list[tuple[object, Callable[[str, float], None]]] = []

    def node(self) -> ISharedLogins:
        exchange = self

        @implementer(ISharedLogins)
        class Node:
            def tellFailedLogin(self, key: str, at: float) -> None:
                for listener, heard in exchange.heard:
                    if listener is not self:
                        heard(key, at)

            def followFailedLogins(self, heard: Callable[[str, float], None]) -> None:
                exchange.heard.append((self, heard))

        return Node()


def test_failures_told_by_other_nodes_count_in_order() -> None:
    clock = Clock()
    exchange = Exchange()
    a, b = (LoginThrottle(clock, failures=3, window=60.0) for _ in range(2))
    a.share(exchange.node())
    b.share(exchange.node())
    clock.advance(100)
    a.failed("192.0.2.1")
    clock.advance(10)
    b.failed("192.0.2.1")
    assert a.retryAfter("192.0.2.1") is None and b.retryAfter("192.0.2.1") is None
    clock.advance(10)
    a.failed("2001:db8::1")  # another address, counted apart
    a.failed("192.0.2.1")  # the third, on either node: both refuse until 160
    assert a.retryAfter("192.0.2.1") == b.retryAfter("192.0.2.1") == 40
    assert b.retryAfter("192.0.2.2") is None


def test_a_failure_told_late_takes_its_place_among_the_newer() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock, failures=2, window=60.0)
    shared = Exchange()
    throttle.share(shared.node())
    teller = shared.node()
    clock.advance(100)
    throttle.failed("192.0.2.1")  # at 100
    teller.tellFailedLogin("192.0.2.1", 30.0)  # long ago: out of the window at 90
    assert throttle.retryAfter("192.0.2.1") is None
    teller.tellFailedLogin("192.0.2.1", 95.0)  # 95 and 100 kept: refused until 155
    assert throttle.retryAfter("192.0.2.1") == 55
