"""Login throttling: an address that keeps failing waits; the others do not."""

from __future__ import annotations

from twisted.internet.task import Clock

from occi_twisted.identity import LoginThrottle


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
