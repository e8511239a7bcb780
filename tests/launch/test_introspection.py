"""Introspection by address against a real ``twistd -n occi --users``: a client at a second
loopback address (127.0.0.2) that is a compute's network interface address reads that compute
without credentials, and nothing else; a ``Forwarded`` header from an untrusted peer changes
nothing."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import RunningServer
from ..identity.support import ask, usersFile

ALICE = ("alice", "wonderland")
INFRA = "http://schemas.ogf.org/occi/infrastructure#"
NIC = "http://schemas.ogf.org/occi/infrastructure/networkinterface#"
GUEST = "127.0.0.2"


def call(server: RunningServer, method: str, path: str, body: str = "", *,
         source: str = "127.0.0.1", user: tuple[str, str] | None = None,
         headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    """One request from ``source`` (a loopback address the guest would have)."""
    return ask(server, method, path, body, source=source, user=user, headers=headers)[0]


def create(server: RunningServer, collection: str, *lines: str) -> str:
    response = call(server, "POST", collection, "\n".join(lines) + "\n", user=ALICE)
    assert response.status == 201, response.status
    location = response.getheader("Location")
    assert location is not None
    return location.split(f":{server.port}", 1)[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = RunningServer(tmp_path / "occi-data", "--users",
                            str(usersFile(tmp_path, alice=ALICE[1])))
    running.start(timeout=30)
    yield running
    running.stop()


def test_a_guest_reads_its_own_compute_and_nothing_else(server: RunningServer) -> None:
    compute = create(server, "/compute/", f'Category: compute; scheme="{INFRA}"; class="kind"')
    other = create(server, "/compute/", f'Category: compute; scheme="{INFRA}"; class="kind"')
    network = create(server, "/network/", f'Category: network; scheme="{INFRA}"; class="kind"')
    create(server, "/networkinterface/",
           f'Category: networkinterface; scheme="{INFRA}"; class="kind"',
           f'Category: ipnetworkinterface; scheme="{NIC}"; class="mixin"',
           f'X-OCCI-Attribute: occi.core.source="{compute}"',
           f'X-OCCI-Attribute: occi.core.target="{network}"',
           'X-OCCI-Attribute: occi.networkinterface.interface="eth0"',
           'X-OCCI-Attribute: occi.networkinterface.mac="52:54:00:12:34:56"',
           f'X-OCCI-Attribute: occi.networkinterface.address="{GUEST}"')

    found = call(server, "GET", "/-/self", source=GUEST)
    assert found.status == 303
    assert (found.getheader("Location") or "").endswith(compute)
    assert call(server, "GET", compute, source=GUEST).status == 200
    assert call(server, "GET", f"{compute}/log/", source=GUEST,
                headers={"Accept": "application/atom+xml"}).status == 200
    note = call(server, "PUT", f"{compute}/notes/boot", "configured", source=GUEST)
    assert note.status in (200, 201)
    for method, path in [("GET", other), ("GET", "/compute/"), ("GET", "/-/"),
                         ("GET", network), ("DELETE", compute), ("GET", "/log/")]:
        refused = call(server, method, path, source=GUEST)
        assert refused.status == 401, (method, path, refused.status)
        assert refused.getheader("WWW-Authenticate", "").startswith("Basic")
    # The compute is still there, unchanged by the refused DELETE.
    assert call(server, "GET", compute, user=ALICE).status == 200

    # From anywhere else, no credentials is no one; a forged Forwarded from an untrusted
    # peer does not make the request the guest's.
    assert call(server, "GET", "/-/self").status == 401
    forged = call(server, "GET", compute, headers={"Forwarded": f"for={GUEST}",
                                                   "X-Forwarded-For": GUEST})
    assert forged.status == 401
