"""The component's connection: retried quickly and boundedly, through a refused handshake and
an XMPP server that is not there yet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.endpoints import clientFromString

from occi_twisted.xmpp import ReconnectingComponent

from .prosody import Prosody
from .support import sleep, until


def component(prosody: Prosody, secret: str) -> ReconnectingComponent:
    return ReconnectingComponent(
        clientFromString(reactor, prosody.componentEndpoint), prosody.componentJID, secret,
        clock=reactor, initialDelay=0.05, maxDelay=0.2)


@pytest.fixture
def stopped(tmp_path: Path) -> Iterator[Prosody]:
    """A Prosody configured, not started."""
    server = Prosody(tmp_path / "prosody")
    yield server
    server.stop()


def test_the_retry_delay_is_bounded(stopped: Prosody) -> None:
    made = component(stopped, "secret")
    assert all(0.05 <= made._policy(attempt) <= 0.2 + 0.05 for attempt in range(1000))
    made._refusals = 50
    assert made._policy(0) <= 0.25


@pytest_twisted.ensureDeferred
async def test_a_refused_handshake_is_retried_more_slowly(stopped: Prosody) -> None:
    stopped.start()
    made = component(stopped, "not the secret")
    made.startService()
    try:
        await until(lambda: made._refusals >= 3, timeout=5)
        assert made.running and not made.initialized
    finally:
        await made.stopService()


@pytest_twisted.ensureDeferred
async def test_it_connects_once_the_server_is_up(stopped: Prosody) -> None:
    made = component(stopped, stopped.secret)
    made.startService()
    try:
        await sleep(0.3)  # a few refused connections
        assert not made.initialized
        stopped.start()
        await until(lambda: made.initialized, timeout=5)
        stopped.restart()
        await until(lambda: made.connections == 2, timeout=5)
    finally:
        await made.stopService()
    assert not made.initialized
