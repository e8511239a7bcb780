"""The failed logins nodes tell each other through PostgreSQL: what a payload says reaches
the followers, a node's own is not counted twice, and no payload breaks the listener."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.defer import Deferred, succeed

from occi_twisted.store.postgres.logins import FailedLogins


def pair() -> tuple[FailedLogins, FailedLogins, list[str], list[tuple[str, float]]]:
    """Two nodes' ends; what the first sends is kept in the list returned."""
    sent: list[str] = []
    heard: list[tuple[str, float]] = []

    def notify(payload: str) -> Deferred[object]:
        sent.append(payload)
        return succeed(None)

    teller, listener = FailedLogins(notify), FailedLogins(notify)
    for node in (teller, listener):
        node.follow(lambda key, at: heard.append((key, at)))
    return teller, listener, sent, heard


def test_what_one_node_tells_the_other_hears_and_the_teller_ignores() -> None:
    teller, listener, sent, heard = pair()
    teller.tell("2001:db8::/64", 1700000000.25)
    for payload in sent:  # PostgreSQL delivers to every listening node, the teller too
        teller.received(payload)
        listener.received(payload)
    assert heard == [("2001:db8::/64", 1700000000.25)]


@given(st.one_of(st.text(), st.builds(
    lambda *parts: json.dumps(list(parts)),
    st.text(), st.one_of(st.text(), st.integers(), st.none()),
    st.one_of(st.floats(allow_nan=False), st.text(), st.none()))))
def test_no_payload_breaks_the_listener(payload: str) -> None:
    _, listener, _, heard = pair()
    listener.received(payload)  # a payload that is no failed login is logged, not raised
    assert all(isinstance(key, str) and isinstance(at, float) for key, at in heard)


def test_a_failure_that_cannot_be_told_is_only_logged() -> None:
    failed: Deferred[object] = Deferred()
    FailedLogins(lambda payload: failed).tell("192.0.2.1", 1.0)
    failed.errback(RuntimeError("the store is gone"))  # no unhandled error left behind
