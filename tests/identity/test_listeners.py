"""Which listeners a server may open: loopback only without users, TLS (or loopback) for
Basic credentials, unless --insecure; TLS listeners known, for HSTS."""

from __future__ import annotations

import pytest

from occi_twisted.identity import ListenerError, checkListeners, listenerOf

LOOPBACK = [
    "tcp:8080:interface=127.0.0.1",
    "tcp:8080:127.0.0.1",                       # interface given by position
    "tcp:port=8080:interface=127.0.0.2",
    r"tcp:8080:interface=\:\:1",
    "tcp:8080:interface=localhost",
    r"tcp6:8080:interface=\:\:1",
    "unix:/run/occi/occi.sock",
    "unix:address=/tmp/occi.sock:mode=660",
    "systemd:domain=UNIX:index=0",
]
PLAIN_ABROAD = [
    "tcp:8080",                                 # all interfaces
    "tcp:8080:interface=0.0.0.0",
    "tcp:8080:interface=192.0.2.10",
    r"tcp:8080:interface=\:\:",
    "tcp6:8080",
    "tcp:8080:interface=occi.example.com",
    "systemd:domain=INET:index=0",               # cannot be seen into
]
TLS_ABROAD = [
    "ssl:8443:privateKey=/no/such/key.pem:certKey=/no/such/cert.pem",
    "ssl:8443:/no/such/key.pem",
    "ssl:port=8443:privateKey=k.pem:interface=0.0.0.0",
]
TLS_LOOPBACK = ["ssl:8443:privateKey=k.pem:interface=127.0.0.1"]


@pytest.mark.parametrize("description", LOOPBACK + PLAIN_ABROAD + TLS_ABROAD + TLS_LOOPBACK)
def test_what_each_listens_on(description: str) -> None:
    listener = listenerOf(description)
    assert listener.description == description
    assert listener.local is (description in LOOPBACK or description in TLS_LOOPBACK)
    assert listener.tls is description.startswith("ssl:")


# (descriptions, users configured, --insecure, the start-up error or None)
CASES = [
    (LOOPBACK, False, False, None),
    (LOOPBACK, True, False, None),
    (TLS_LOOPBACK, False, False, None),
    (["tcp:8080"], False, False, "refusing to listen on tcp:8080 (all interfaces): without "
                                 "--users anyone who reaches it acts as admin"),
    (TLS_ABROAD[:1], False, False, "without --users anyone who reaches it acts as admin"),
    (["tcp:8080:interface=192.0.2.10"], True, False,
     "refusing to listen on tcp:8080:interface=192.0.2.10 (192.0.2.10): Basic credentials "
     "would cross the network in clear text"),
    (["systemd:domain=INET:index=0"], True, False, "(a systemd endpoint): Basic credentials"),
    (TLS_ABROAD, True, False, None),
    (["tcp:8080:interface=127.0.0.1", "tcp:8081"], False, False, "on tcp:8081 "),
    (PLAIN_ABROAD, False, True, None),
    (PLAIN_ABROAD, True, True, None),
    (["tcp:http"], True, False, "the port must be a number"),
    (["tcp"], True, True, "--listen 'tcp' is not a Twisted endpoint"),
    (["tcp:8080:interface=127.0.0.1:color=blue"], True, True, "is not a Twisted endpoint"),
    (["carrier-pigeon:8080"], True, True, "is not a Twisted endpoint: Unknown endpoint type"),
    ([""], False, True, "is not a Twisted endpoint"),
]


@pytest.mark.parametrize(("descriptions", "users", "insecure", "error"), CASES)
def test_policy(descriptions: list[str], users: bool, insecure: bool,
                error: str | None) -> None:
    if error is None:
        listeners = checkListeners(descriptions, users=users, insecure=insecure)
        assert [listener.description for listener in listeners] == descriptions
        return
    with pytest.raises(ListenerError) as raised:
        checkListeners(descriptions, users=users, insecure=insecure)
    assert error in str(raised.value)
    assert "\n" not in str(raised.value)


def test_tls_listeners_are_told_apart_for_hsts() -> None:
    listeners = checkListeners(["tcp:8080:interface=127.0.0.1", TLS_ABROAD[0]], users=True,
                               insecure=False)
    assert [listener.tls for listener in listeners] == [False, True]
