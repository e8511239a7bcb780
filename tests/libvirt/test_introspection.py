"""Introspection end to end: a guest on an isolated network asks the server ``GET /-/self``
from inside, without credentials, and is given its own compute."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.identity.support import usersFile

from .support import INFRA, Server, freeSubnet

ALICE = ("alice", "wonderland")


@pytest.fixture
def subnet(connection: Any) -> str:
    return freeSubnet(connection)


@pytest.fixture
def server(tmp_path: Path, connection: Any, subnet: str) -> Iterator[Server]:
    users = usersFile(tmp_path, alice=ALICE[1])
    made = Server(tmp_path / "data", connection, "--users", str(users), "--insecure",
                  "--allowed-host", f"{subnet}.1", listen="tcp:{port}", user=ALICE).start()
    yield made
    made.process.stop()


def test_a_guest_reads_its_own_compute_from_inside(server: Server, subnet: str) -> None:
    network = server.create("network", INFRA + "network", {
        "occi.network.address": f"{subnet}.0/24"}, mixins=[INFRA[:-1] + "/network#ipnetwork"])
    locations = [f"/network/{network['id']}"]
    try:
        status, body = server.act(locations[0], "up")
        assert status == 200, body
        compute = server.create("compute", INFRA + "compute", {
            "occi.compute.hostname": "inside", "occi.compute.memory": 0.125}, links=[{
                "kind": INFRA + "networkinterface",
                "target": {"location": locations[0], "kind": INFRA + "network"},
                "mixins": [INFRA[:-1] + "/networkinterface#ipnetworkinterface"],
                "attributes": {"occi.networkinterface.address": f"{subnet}.21",
                               "occi.networkinterface.allocation": "static"}}])
        locations.insert(0, f"/compute/{compute['id']}")
        status, body = server.act(locations[0], "start")
        assert status == 200, body
        server.waitReady(compute["id"])
        seen = server.run(compute["id"], "wget -qO- --header 'Accept: text/plain' "
                                         f"http://{subnet}.1:{server.process.port}/-/self",
                          seconds=60)
        assert f"occi.core.id=\"{compute['id']}\"" in seen
        assert 'occi.compute.hostname="inside"' in seen
    finally:
        server.remove(locations)
