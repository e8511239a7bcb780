"""Real guests on a real libvirtd: two tiny guests on one isolated network, booted once for
the module (TCG, 128 MiB each), driven through a ``twistd occi --driver libvirt``."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from occi_twisted.drivers.libvirt.guest import READY
from occi_twisted.model.locations import consoleOf, logOf

from ..conftest import call
from ..drivers.support import punches
from .support import INFRA, Server, flat, freeSubnet, libvirt


class Guests:
    def __init__(self, server: Server, network: str, computes: list[str],
                 subnet: str) -> None:
        self.server = server
        self.network = network
        self.computes = computes
        #: The network's first three octets: the guests are .11 and .12.
        self.subnet = subnet

    def location(self, index: int) -> str:
        return f"/compute/{self.computes[index]}"

    def ensureRunning(self, index: int) -> None:
        """The guest running and ready (a test before may have stopped it)."""
        location = self.location(index)
        if self.server.state(location) != "active":
            since = len(self.server.console(self.computes[index]))
            status, body = self.server.act(location, "start")
            assert status == 200, body
            self.server.waitReady(self.computes[index], since)


@pytest.fixture(scope="module")
def guests(tmp_path_factory: pytest.TempPathFactory, connection: Any) -> Iterator[Guests]:
    server = Server(tmp_path_factory.mktemp("libvirt") / "data", connection).start()
    computes: list[str] = []
    network = None
    subnet = freeSubnet(connection)
    try:
        network = server.create("network", INFRA + "network", {
            "occi.network.address": f"{subnet}.0/24", "occi.network.allocation": "dynamic",
        }, mixins=[INFRA[:-1] + "/network#ipnetwork"])["id"]
        status, body = server.act(f"/network/{network}", "up")
        assert status == 200, body
        for index in (1, 2):
            compute = server.create("compute", INFRA + "compute", {
                "occi.compute.hostname": f"guest{index}", "occi.compute.memory": 0.125,
            }, links=[{
                "kind": INFRA + "networkinterface", "target": {"location": f"/network/{network}",
                                                               "kind": INFRA + "network"},
                "mixins": [INFRA[:-1] + "/networkinterface#ipnetworkinterface"],
                "attributes": {"occi.networkinterface.address": f"{subnet}.1{index}",
                               "occi.networkinterface.allocation": "static"},
            }])
            computes.append(compute["id"])
        found = Guests(server, network, computes, subnet)
        for index in (0, 1):
            found.ensureRunning(index)
        yield found
    finally:
        server.remove([f"/compute/{each}" for each in computes]
                      + ([f"/network/{network}"] if network else []))


def test_a_started_compute_boots_and_an_acpi_stop_reaches_inactive(guests: Guests) -> None:
    server, computeId = guests.server, guests.computes[0]
    console = server.console(computeId)
    assert f"{READY} guest1" in console
    assert server.run(computeId, "hostname").strip() == "guest1"
    status, body = server.act(guests.location(0), "stop", "graceful")
    assert status == 200, body
    assert server.state(guests.location(0)) == "inactive"
    assert not server.connection.lookupByName(computeId).isActive()
    guests.ensureRunning(0)


def test_restart_and_suspend_resume(guests: Guests) -> None:
    server, computeId, location = guests.server, guests.computes[0], guests.location(0)
    status, body = server.act(location, "suspend", "suspend")
    assert status == 200, body
    assert server.state(location) == "suspended"
    state, _ = server.connection.lookupByName(computeId).state()
    assert state == libvirt.VIR_DOMAIN_PAUSED
    status, body = server.act(location, "start")
    assert status == 200, body
    assert server.state(location) == "active"
    assert server.run(computeId, "echo resumed").strip() == "resumed"
    since = len(server.console(computeId))
    status, body = server.act(location, "restart", "warm")
    assert status == 200, body
    server.waitReady(computeId, since)  # booted again
    assert server.state(location) == "active"


def test_a_storage_attached_live_is_seen_by_the_guest(guests: Guests) -> None:
    server, computeId = guests.server, guests.computes[0]
    guests.ensureRunning(0)
    storage = server.create("storage", INFRA + "storage", {"occi.storage.size": 0.01})["id"]
    link = server.create("storagelink", INFRA + "storagelink", {
        "occi.storagelink.deviceid": "/dev/vdb"},
        source={"location": guests.location(0), "kind": INFRA + "compute"},
        target={"location": f"/storage/{storage}", "kind": INFRA + "storage"})
    # Linux names virtio disks as it finds them; the deviceid is the disk's serial.
    found = server.run(computeId, "for i in $(seq 20); do grep -l vdb /sys/block/*/serial "
                                  "&& break; sleep 0.5; done; "
                                  "cat $(dirname $(grep -l vdb /sys/block/*/serial))/size")
    image = server.dataDir / "storage" / f"{storage}.img"
    assert found.split()[-1] == str(-(-image.stat().st_size // 512))  # whole sectors
    server.waitState(f"/storagelink/{link['id']}", "active", 10)
    # Its image is in use: no erase, backup or restore under a running guest.
    status, _, body = server.request(
        "POST", f"/storage/{storage}?action=backup",
        {"action": "http://schemas.ogf.org/occi/infrastructure/storage/action#backup"})
    assert status == 409, body
    assert b"running compute" in body
    status, _, body = server.request("DELETE", f"/storagelink/{link['id']}")
    assert status in (200, 204), body
    gone = server.run(computeId, "for i in $(seq 20); do grep -q vdb /sys/block/*/serial "
                                 "2>/dev/null || break; sleep 0.5; done; "
                                 "cat /sys/block/*/serial 2>/dev/null; echo")
    assert "vdb" not in gone


def test_two_guests_on_one_network_reach_each_other(guests: Guests) -> None:
    server = guests.server
    for index in (0, 1):
        guests.ensureRunning(index)
    address = server.run(guests.computes[0], "ip -4 addr show eth0")
    assert f"{guests.subnet}.11" in address
    pinged = server.run(guests.computes[0], f"ping -c 2 -W 3 {guests.subnet}.12", seconds=60)
    assert " 0% packet loss" in pinged


def test_a_guest_that_powers_itself_off_is_seen_inactive_with_an_event(
        guests: Guests) -> None:
    server, computeId, location = guests.server, guests.computes[1], guests.location(1)
    guests.ensureRunning(1)
    server.type(computeId, "poweroff -f")
    server.waitState(location, "inactive", seconds=30)
    attributes = flat(server.get(location))
    assert attributes["occi.compute.state.message"] == "The guest powered off."
    status, _, body = server.request("GET", logOf(location), headers={
        "Accept": "application/atom+xml"})
    assert status == 200
    assert b"The guest powered off." in body or b"inactive" in body


def test_the_tiny_guest_is_an_os_template(guests: Guests) -> None:
    status, _, body = guests.server.request("GET", "/-/")
    assert status == 200
    mixins = json.loads(body)["mixins"]
    tiny = next(m for m in mixins if m["term"] == "tiny")
    assert "Tiny Linux guest" in tiny["title"]
    assert tiny["location"].endswith("/os_tpl/tiny/")




def test_a_compute_shows_its_console_and_its_screen(guests: Guests) -> None:
    server, location = guests.server, guests.location(1)
    guests.ensureRunning(1)
    status, headers, body = server.request("GET", consoleOf(location),
                                           {"Accept": "text/plain"})
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert READY.encode() in body
    # Following a boot: the bytes after those already read.
    status, headers, rest = server.request("GET", consoleOf(location), headers={
        "Range": f"bytes={len(body) - 10}-"})
    assert status == 206 and rest == body[-10:] + rest[10:]
    status, headers, image = server.request("GET", f"{location}?format=png")
    assert status == 200 and headers["content-type"] == "image/png"
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    status, _, page = server.request("GET", location, headers={"Accept": "text/html"})
    assert status == 200  # the page shows the screen and leads to the console
    assert f'<img src="{location}?format=png" id="screen"'.encode() in page
    assert f'href="{location}/console" id="console"'.encode() in page
    status, _, listed = server.request("GET", location, headers={"Accept": ""})
    assert status == 300  # every alternate is listed, one a line
    assert f"image/png: {server.process.url}{location}?format=png".encode() in listed
    assert f"text/plain: {server.process.url}{location}/console".encode() in listed


def test_memory_changed_while_running_applies_at_the_next_start(guests: Guests) -> None:
    server, computeId, location = guests.server, guests.computes[1], guests.location(1)
    guests.ensureRunning(1)
    status, _, body = call(server.process.port, "POST", location,
                           b"X-OCCI-Attribute: occi.compute.memory=0.1875\n",
                           {"Content-Type": "text/occi", "Accept": "text/plain"})
    assert status == 200, body
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        message = flat(server.get(location)).get("occi.compute.state.message", "")
        if "next start" in message:
            break
        time.sleep(0.2)
    assert "the new ones apply at the next start" in message
    domain = server.connection.lookupByName(computeId)
    assert domain.info()[1] == 128 * 1024  # running as it started
    inactive = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert "<memory unit='KiB'>196608</memory>" in inactive


# -- save: every attached storage kept as its backup ------------------------------------------

OWN = "http://schemas.occi-twisted.org/occi/infrastructure"


def _diskOf(guests: Guests, device: str) -> str:
    """The disk the first guest sees for the storagelink whose deviceid is ``device`` (Linux
    names disks as it finds them; the deviceid is the disk's serial)."""
    found = guests.server.run(guests.computes[0], f"for i in $(seq 20); do grep -l {device} "
                                                  "/sys/block/*/serial && break; sleep 0.5; done")
    return "/dev/" + found.split()[-1].split("/")[-2]


def _attached(guests: Guests, device: str) -> str:
    """A new storage linked to the first guest as ``device``: its id."""
    server = guests.server
    storage = server.create("storage", INFRA + "storage", {"occi.storage.size": 0.01})["id"]
    server.create("storagelink", INFRA + "storagelink", {
        "occi.storagelink.deviceid": f"/dev/{device}"},
        source={"location": guests.location(0), "kind": INFRA + "compute"},
        target={"location": f"/storage/{storage}", "kind": INFRA + "storage"})
    return str(storage)


def _attachedOnce(guests: Guests, device: str) -> str:
    """The storage linked to the first guest as ``device``, linked now if none is (a test
    before may have linked it): its id."""
    for link in guests.server.get(guests.location(0))["links"]:
        if link["kind"] == INFRA + "storagelink" and flat(link).get(
                "occi.storagelink.deviceid") == f"/dev/{device}":
            return str(link["target"]["location"].rstrip("/").rsplit("/", 1)[-1])
    return _attached(guests, device)


def _backup(server: Server, storage: str, name: str) -> bytes:
    """The backup's bytes, checked against the SHA-256 its manifest records."""
    manifest = json.loads((server.dataDir / "backups" / storage / f"{name}.json").read_text())
    kept = (server.dataDir / "backups" / storage / f"{name}.img").read_bytes()
    assert manifest["sha256"] == hashlib.sha256(kept).hexdigest()
    return kept


def _requestOf(server: Server, path: str) -> dict[str, Any]:
    return flat(server.get(path.split("://", 1)[-1].split("/", 1)[-1]))


def test_a_hot_save_copies_a_running_guests_storage_and_a_bare_compute_has_none(
        guests: Guests) -> None:
    server, computeId, location = guests.server, guests.computes[0], guests.location(0)
    guests.ensureRunning(0)
    running = server.connection.lookupByName(computeId).ID()
    storage = _attachedOnce(guests, "vdc")
    server.run(computeId, f"printf before-the-save > {_diskOf(guests, 'vdc')}; sync")
    status, body = server.act(location, "save", "hot", name="first")
    assert status == 200, body
    assert _backup(server, storage, "first").startswith(b"before-the-save")
    # QEMU wrote the disk whole; what is kept takes the space of the data, not the disk's.
    kept = (server.dataDir / "backups" / storage / "first.img").stat()
    if punches(server.dataDir):
        assert kept.st_blocks * 512 < kept.st_size // 4, (kept.st_blocks * 512, kept.st_size)
    assert server.state(location) == "active"
    assert server.connection.lookupByName(computeId).ID() == running  # it ran on
    assert not list((server.dataDir / "backups" / storage).glob("*.partial"))
    # The name is taken now; and a compute with no storage has nothing to save.
    status, body = server.act(location, "save", "hot", name="first")
    assert status == 409 and b"has a backup called first already" in body
    status, body = server.act(guests.location(1), "save")
    assert status == 409 and b"has no storage attached" in body


def test_a_hot_save_cut_by_kill_9_during_the_hypervisors_copy_ends_whole(
        guests: Guests) -> None:
    """The server is killed while QEMU copies a disk full of data: once started again, it
    cancels that job, copies afresh and keeps a backup equal to the disk, with no side file
    left behind."""
    server, location = guests.server, guests.location(0)
    guests.ensureRunning(0)
    size = 384 << 20
    storage = server.create("storage", INFRA + "storage", {"occi.storage.size": size / 2**30})
    image = server.dataDir / "storage" / f"{storage['id']}.img"
    with image.open("r+b") as disk:  # data the copy must carry, before the guest has it
        for _ in range(size // (8 << 20)):
            disk.write(os.urandom(8 << 20))
    wanted = hashlib.sha256(image.read_bytes()).hexdigest()
    link = server.create("storagelink", INFRA + "storagelink", {
        "occi.storagelink.deviceid": "/dev/vdd"},
        source={"location": location, "kind": INFRA + "compute"},
        target={"location": f"/storage/{storage['id']}", "kind": INFRA + "storage"})
    try:
        status, headers, body = server.ask(location, "save", "hot",
                                           {"Prefer": "respond-async"}, name="cut")
        assert status == 202, body
        asked = headers["location"]
        deadline = time.monotonic() + 30
        while (_requestOf(server, asked).get("occi-twisted.request.progress") or {}).get(
                "phase") != "copying (hypervisor)":
            assert time.monotonic() < deadline, _requestOf(server, asked)
            time.sleep(0.02)
        server.process.kill()
        server.process.start(timeout=60)
        deadline = time.monotonic() + 120
        while (ended := _requestOf(server, asked))["occi-twisted.request.state"] != "succeeded":
            assert ended["occi-twisted.request.state"] in ("queued", "scheduled", "running"), \
                ended
            assert time.monotonic() < deadline, ended
            time.sleep(0.2)
        kept = server.dataDir / "backups" / storage["id"]
        assert hashlib.sha256((kept / "cut.img").read_bytes()).hexdigest() == wanted
        assert json.loads((kept / "cut.json").read_text())["sha256"] == wanted
        assert not [p.name for p in kept.iterdir() if p.name.endswith(".partial")]
        assert "was copying when the server stopped" in server.process.log.read_text()
    finally:
        status, _, body = server.request("DELETE", f"/storagelink/{link['id']}")
        assert status in (200, 204), body
        server.request("DELETE", f"/storage/{storage['id']}")


def test_a_deferred_save_waits_for_the_next_stop_across_a_restart(guests: Guests) -> None:
    server, computeId, location = guests.server, guests.computes[0], guests.location(0)
    guests.ensureRunning(0)
    storage = _attachedOnce(guests, "vdc")
    server.run(computeId, f"printf at-the-stop!! > {_diskOf(guests, 'vdc')}; sync")
    status, headers, body = server.ask(location, "save", "deferred",
                                       {"Prefer": "respond-async"}, name="second")
    assert status == 202, body
    asked = headers["location"]
    deadline = time.monotonic() + 20
    while _requestOf(server, asked).get("occi-twisted.request.progress", {}).get(
            "phase") != "waiting for the guest to stop":
        assert time.monotonic() < deadline, _requestOf(server, asked)
        time.sleep(0.2)
    server.process.kill()  # the wait is the request's: it survives the server
    server.process.start(timeout=60)
    assert _requestOf(server, asked)["occi-twisted.request.state"] != "succeeded"
    assert not (server.dataDir / "backups" / storage / "second.json").exists()
    status, body = server.act(location, "stop", "graceful")
    assert status == 200, body
    deadline = time.monotonic() + 60
    while (ended := _requestOf(server, asked))["occi-twisted.request.state"] != "succeeded":
        assert ended["occi-twisted.request.state"] in ("queued", "scheduled", "running"), ended
        assert time.monotonic() < deadline, ended
        time.sleep(0.2)
    assert _backup(server, storage, "second").startswith(b"at-the-stop!!")
    # A stopped guest is saved at once, its images copied.
    image = (server.dataDir / "storage" / f"{storage}.img").read_bytes()
    status, body = server.act(location, "save", "hot")
    assert status == 200, body
    named = sorted(path.stem for path in (server.dataDir / "backups" / storage).glob("*.json"))
    assert [_backup(server, storage, name) for name in named if name[0].isdigit()] == [image]
    # The storage's restore brings the deferred save back, and the guest reads it.
    guests.ensureRunning(0)
    server.run(computeId, f"printf overwritten! > {_diskOf(guests, 'vdc')}; sync")
    status, body = server.act(location, "stop", "poweroff")
    assert status == 200, body
    status, body = server.act(f"/storage/{storage}", "restore", scheme=OWN, backup="second")
    assert status == 200, body
    guests.ensureRunning(0)
    assert server.run(computeId, f"head -c 13 {_diskOf(guests, 'vdc')}; echo").strip() == (
        "at-the-stop!!")
