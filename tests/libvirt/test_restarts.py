"""The server comes and goes, the guests stay: a start interrupted by kill -9 resumes, and a
restart reconciles the store with the hypervisor without touching a running guest (nor a
domain that is not the server's).  One tiny guest, booted once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from occi_twisted.drivers.libvirt.guest import READY

from .support import INFRA, Server

STRANGER = "occi-test-stranger"


@pytest.fixture(scope="module")
def dataDir(tmp_path_factory: pytest.TempPathFactory, connection: Any) -> Iterator[Path]:
    data = tmp_path_factory.mktemp("restarts") / "data"
    yield data
    server = Server(data, connection).start()
    _, _, body = server.request("GET", "/compute/")
    made = [item["id"] for item in json.loads(body).get("resources", [])]
    server.remove([f"/compute/{each}" for each in made])


def test_a_start_cut_short_by_kill_9_resumes(dataDir: Path, connection: Any) -> None:
    server = Server(dataDir, connection).start()
    computeId = server.create("compute", INFRA + "compute", {
        "occi.compute.hostname": "phoenix", "occi.compute.memory": 0.125})["id"]
    status, _, body = server.request(
        "POST", f"/compute/{computeId}?action=start",
        {"action": "http://schemas.ogf.org/occi/infrastructure/compute/action#start"},
        {"Prefer": "respond-async"})
    assert status in (200, 202), body
    server.process.kill()
    again = Server(dataDir, connection).start()
    again.waitState(f"/compute/{computeId}", "active", 90)
    again.waitReady(computeId)
    assert connection.lookupByName(computeId).isActive()
    assert again.console(computeId).count(READY) == 1  # started once
    again.process.stop()


def test_a_restart_reconciles_without_touching_running_guests(dataDir: Path,
                                                              connection: Any) -> None:
    server = Server(dataDir, connection).start()
    made = server.get("/compute/").get("resources", [])  # the guest the test before booted
    computeId = made[0]["id"] if made else server.create("compute", INFRA + "compute", {
        "occi.compute.hostname": "phoenix", "occi.compute.memory": 0.125})["id"]
    location = f"/compute/{computeId}"
    if server.state(location) != "active":
        server.act(location, "start")
        server.waitReady(computeId)
    domain = connection.lookupByName(computeId)
    running = domain.ID()
    boots = server.console(computeId).count(READY)
    stranger = connection.defineXML(
        f"<domain type='qemu'><name>{STRANGER}</name><memory unit='MiB'>64</memory>"
        "<os><type>hvm</type></os></domain>")
    try:
        server.process.stop()
        again = Server(dataDir, connection).start()
        deadline = time.monotonic() + 30
        while STRANGER not in again.process.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert f"{STRANGER} is not this server's: left alone" in again.process.log.read_text()
        assert again.state(location) == "active"
        assert domain.isActive() and domain.ID() == running  # the same QEMU, untouched
        assert again.console(computeId).count(READY) == boots
        assert connection.lookupByName(STRANGER).name() == STRANGER
        # Changed behind the server's back: the store follows.
        domain.suspend()
        again.waitState(location, "suspended", 10)
        domain.resume()
        again.waitState(location, "active", 10)
        again.process.stop()
    finally:
        stranger.undefine()


