"""The libvirt driver without a daemon: its XML read whole, the guest's parts, and the driver
on libvirt's in-process ``test:///default`` hypervisor (definitions, actions, lifecycle
events, the domains it leaves alone)."""

from __future__ import annotations

import struct
import time
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import deferLater

from occi_twisted.drivers.libvirt.connection import (
    Hypervisor,
    HypervisorError,
    HypervisorTimeout,
)
from occi_twisted.drivers.libvirt.definitions import (
    Boot,
    Disk,
    Nic,
    bridgeName,
    domainXML,
    networkXML,
    ownerOf,
    targetOf,
)
from occi_twisted.drivers.libvirt.driver import LibvirtDriver
from occi_twisted.drivers.libvirt.guest import _cpio, moduleOrder, uncompressed
from occi_twisted.drivers.libvirt.images import readImages
from occi_twisted.drivers.libvirt.screens import png
from occi_twisted.model import Description, Entity, Value, newEntity
from occi_twisted.model.errors import Conflict
from occi_twisted.model.infrastructure import COMPUTE, IPNETWORK, NETWORK, START, STOP, SUSPEND
from occi_twisted.model.registry import Registry

from ..drivers.test_disks import Context

libvirt: Any = pytest.importorskip("libvirt")


def compute(**attributes: Value) -> Entity:
    return newEntity(Description(kind=COMPUTE, mixins=(), attributes=attributes))


def test_a_domain_says_what_the_compute_says(tmp_path: Path) -> None:
    entity = compute(**{"occi.compute.cores": 2, "occi.compute.memory": 0.25,
                        "occi.compute.hostname": "web1", "occi.compute.architecture": "x64"})
    xml = domainXML(entity, domainType="qemu", owner="me",
                    boot=Boot(tmp_path / "kernel", tmp_path / "initrd", "console=ttyS0"),
                    console=tmp_path / "c.log",
                    disks=[Disk("link1", tmp_path / "s.img", "vdb")],
                    nics=[Nic("link2", "occi-net", "52:54:00:01:02:03")])
    root = ElementTree.fromstring(xml)
    assert root.get("type") == "qemu"
    assert root.findtext("name") == entity.id
    assert root.findtext("vcpu") == "2"
    assert root.findtext("memory") == "256"
    assert root.find("os/type").get("arch") == "x86_64"  # type: ignore[union-attr]
    assert root.findtext("os/cmdline") == "console=ttyS0 occi.hostname=web1"
    assert root.find("devices/serial/log").get("file") == str(tmp_path / "c.log")  # type: ignore[union-attr]
    disk = root.find("devices/disk")
    assert disk is not None and disk.find("target").get("dev") == "vdb"  # type: ignore[union-attr]
    assert disk.findtext("serial") == "vdb"
    assert root.find("devices/interface/mac").get("address") == "52:54:00:01:02:03"  # type: ignore[union-attr]
    assert ownerOf(xml) == ("me", entity.location)
    # The same UUID at every definition: libvirt refuses a known name with another.
    again = ElementTree.fromstring(domainXML(entity, domainType="qemu", owner="me", boot=None,
                                             console=tmp_path / "c.log", disks=[], nics=[]))
    assert again.findtext("uuid") == root.findtext("uuid")


def test_a_network_is_an_isolated_bridge_with_dhcp() -> None:
    entity = newEntity(Description(kind=NETWORK, mixins=(IPNETWORK,), attributes={
        "occi.network.address": "10.9.0.0/24"}))
    root = ElementTree.fromstring(networkXML(entity, owner="me"))
    assert root.find("forward") is None
    assert len(root.find("bridge").get("name", "")) <= 15  # type: ignore[union-attr]
    assert root.find("bridge").get("name") == bridgeName(entity.id)  # type: ignore[union-attr]
    assert root.find("ip").get("address") == "10.9.0.1"  # type: ignore[union-attr]
    assert root.find("ip/dhcp/range").get("start") == "10.9.0.128"  # type: ignore[union-attr]
    static = newEntity(Description(kind=NETWORK, mixins=(IPNETWORK,), attributes={
        "occi.network.address": "10.9.0.0/24", "occi.network.allocation": "static"}))
    assert ElementTree.fromstring(networkXML(static, owner="me")).find("ip/dhcp") is None


def test_device_ids_name_virtio_disks() -> None:
    assert targetOf("/dev/vdb") == "vdb"
    assert targetOf("vdc") == "vdc"
    assert targetOf("/dev/sda") is None
    assert targetOf(None) is None


def test_the_guest_is_built_from_modules_in_dependency_order(tmp_path: Path) -> None:
    for name, depends in (("a", "b,c"), ("b", "c"), ("c", ""), ("d", "")):
        (tmp_path / f"{name}.ko").write_bytes(b"\0name=" + name.encode()
                                              + b"\0depends=" + depends.encode() + b"\0")
    assert [path.stem for path in moduleOrder(tmp_path, ("a", "d"))] == ["c", "b", "a", "d"]
    archive = _cpio({"etc"}, {"init": (0o755, b"#!/bin/sh\n")}, {"bin/sh": "busybox"})
    assert archive.startswith(b"070701") and archive.endswith(b"\0" * 4)
    assert b"TRAILER!!!" in archive and len(archive) % 4 == 0
    assert uncompressed(b"no payload") == b"no payload"


def test_image_directories_are_os_templates(tmp_path: Path) -> None:
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "kernel").write_bytes(b"k")
    (tmp_path / "tiny" / "title").write_text("Tiny Linux guest\n")
    (tmp_path / "Bad Name").mkdir()
    (tmp_path / "empty").mkdir()
    images = readImages(tmp_path)
    assert list(images) == ["tiny"]
    mixin = images["tiny"].mixin()
    assert mixin.title == "Tiny Linux guest" and mixin.location == "/os_tpl/tiny/"
    assert images["tiny"].initrd is None and images["tiny"].cmdline == "console=ttyS0"


# -- the driver on test:///default ---------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_a_compute_lives_as_a_domain(driver: tuple[LibvirtDriver, list[Any]]) -> None:
    made, reports = driver
    entity = compute(**{"occi.compute.memory": 0.125})
    made.provision(entity)
    await made.realize(None, entity)
    domain = await made.host.call("look", lambda c: c.lookupByName(entity.id))
    assert not domain.isActive()
    outcome = await made.perform(entity, START, {}, Context(reactor))
    assert outcome.changes["occi.compute.state"] == "active"
    assert domain.isActive()
    running = _with(entity, "active")
    outcome = await made.perform(running, SUSPEND, {"method": "suspend"}, Context(reactor))
    assert outcome.changes["occi.compute.state"] == "suspended"
    # Resumed behind the server's back: the event reaches the reactor and becomes a report.
    await made.host.call("resume", lambda c: c.lookupByName(entity.id).resume())
    for _ in range(50):
        if any(change.get("occi.compute.state") == "active" for _, change in reports):
            break
        await deferLater(reactor, 0.02, lambda: None)
    assert (entity.id, {"occi.compute.state": "active",
                        "occi.compute.state.message": "Running."}) in reports
    outcome = await made.perform(_with(entity, "active"), STOP, {"method": "poweroff"},
                                 Context(reactor))
    assert outcome.changes["occi.compute.state"] == "inactive"
    assert not domain.isActive()
    await made.realize(entity, None)
    with pytest.raises(HypervisorError, match="ot found"):
        await made.host.call("look", lambda c: c.lookupByName(entity.id))


@pytest_twisted.ensureDeferred
async def test_an_event_heard_after_the_next_action_changes_nothing(
        driver: tuple[LibvirtDriver, list[Any]]) -> None:
    """The "stopped" of a power-off heard only once the following start has run: the domain
    runs, and the store must go on saying so.  An action's own event heard after it ended is
    left to its outcome, which may not be stored yet: a suspend's "suspended" reported first
    had the suspend's outcome refused as written on an older revision, and the suspend run
    again and refused.  An event that is still true, and no action's, is reported."""
    made, reports = driver
    entity = compute(**{"occi.compute.memory": 0.125})
    made.provision(entity)
    await made.realize(None, entity)
    await made.perform(entity, START, {}, Context(reactor))
    del reports[:]
    await made.computes.lifecycle(entity.id, libvirt.VIR_DOMAIN_EVENT_STOPPED,
                                  libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED)
    await made.computes.lifecycle(entity.id, libvirt.VIR_DOMAIN_EVENT_STARTED, 0)
    assert reports == []
    await made.perform(_with(entity, "active"), SUSPEND, {"method": "suspend"},
                       Context(reactor))
    await made.computes.lifecycle(entity.id, libvirt.VIR_DOMAIN_EVENT_SUSPENDED, 0)
    assert reports == []
    # Resumed behind the server's back, then its start heard: that is no action's.
    await made.host.call("resume", lambda c: c.lookupByName(entity.id).resume())
    await made.computes.lifecycle(entity.id, libvirt.VIR_DOMAIN_EVENT_STARTED, 0)
    assert reports[-1] == (entity.id, {"occi.compute.state": "active",
                                       "occi.compute.state.message": "Running."})
    # Heard as an action begins: whatever the state read, it is older than the action's.
    heard = len(reports)
    late = made.computes.lifecycle(entity.id, libvirt.VIR_DOMAIN_EVENT_STARTED, 0)
    await made.perform(_with(entity, "active"), STOP, {"method": "poweroff"}, Context(reactor))
    await late
    assert all(change["occi.compute.state"] == "inactive" for _, change in reports[heard:])
    await made.realize(entity, None)


@pytest_twisted.ensureDeferred
async def test_a_definition_read_across_an_action_reports_nothing(
        driver: tuple[LibvirtDriver, list[Any]]) -> None:
    """The store's change followed (the domain defined again) while a start runs: libvirt
    has the domain running before the store says so, and a report of that would have the
    start's outcome refused as written on an older revision (the start was run again, and
    refused as the guest was active)."""
    made, reports = driver
    entity = compute(**{"occi.compute.memory": 0.125})
    made.provision(entity)
    await made.realize(None, entity)
    start = made.computes._start

    async def startThenFollow(*args: Any) -> tuple[str, str]:
        started: tuple[str, str] = await start(*args)
        await made.computes.define(entity)  # the follow, as the store had it: inactive
        return started

    made.computes._start = startThenFollow  # type: ignore[method-assign]
    del reports[:]
    await made.perform(entity, START, {}, Context(reactor))
    made.computes._start = start  # type: ignore[method-assign]
    assert not [change for _, change in reports
                if "The hypervisor has it" in str(change.get(MESSAGE_NAME))], reports
    await made.perform(_with(entity, "active"), STOP, {"method": "poweroff"}, Context(reactor))
    # Once the action has ended, a definition from the revision it began from -- read
    # before its outcome was stored -- says nothing either; from a newer one that finds the
    # store wrong, it says so.
    await made.perform(entity, START, {}, Context(reactor))
    del reports[:]
    await made.computes.define(entity)
    assert not [change for _, change in reports
                if "The hypervisor has it" in str(change.get(MESSAGE_NAME))], reports
    await made.computes.define(replace(entity, revision=entity.revision + 1))
    assert reports[-1][1][MESSAGE_NAME] == "The hypervisor has it active.", reports
    await made.realize(entity, None)


@pytest_twisted.ensureDeferred
async def test_a_link_of_a_domain_removed_meanwhile_detaches_from_nothing(
        driver: tuple[LibvirtDriver, list[Any]]) -> None:
    """A compute deleted with its links: its domain may be gone between the link's look-up
    and its reading; the link then has nothing to be taken from, which is no failure."""
    made, _ = driver
    entity = compute(**{"occi.compute.memory": 0.125})
    made.provision(entity)
    await made.realize(None, entity)

    def lookUpThenRemove(connection: Any) -> None:
        domain = connection.lookupByName(entity.id)
        connection.lookupByName(entity.id).undefine()

        class Stale:
            def lookupByName(self, name: str) -> Any:
                return domain

        made.devices._detach(Stale(), entity.id, "ua-gone")

    await made.host.call("race", lookUpThenRemove)


@pytest_twisted.ensureDeferred
async def test_a_device_taken_meanwhile_is_detached_already(
        driver: tuple[LibvirtDriver, list[Any]]) -> None:
    """A link's change followed twice (by the answer to its request and by the realizer):
    the second detach finds the device in the domain's XML, and libvirt no longer has it."""
    made, _ = driver
    entity = compute(**{"occi.compute.memory": 0.125})
    made.provision(entity)
    await made.realize(None, entity)
    xml = await made.host.call("read", lambda connection: connection.lookupByName(
        entity.id).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    withDisk = xml.replace("</devices>", "<disk type='file' device='disk'><source file='/x'/>"
                           "<target dev='vdb' bus='virtio'/><alias name='ua-taken'/></disk>"
                           "</devices>")
    missing = libvirt.libvirtError("Device not found: disk vdb not found")
    missing.err = (libvirt.VIR_ERR_DEVICE_MISSING, libvirt.VIR_FROM_DOMAIN,
                   "Device not found: disk vdb not found", 2, None, None, None, 0, 0)
    tried: list[int] = []

    class Taken:
        def XMLDesc(self, flags: int) -> str:
            return withDisk

        def isActive(self) -> bool:
            return True

        def detachDeviceFlags(self, device: str, flags: int) -> None:
            tried.append(flags)
            raise missing

    class Connection:
        def lookupByName(self, name: str) -> Any:
            return Taken()

    made.devices._detach(Connection(), entity.id, "ua-taken")
    assert tried == [libvirt.VIR_DOMAIN_AFFECT_LIVE, libvirt.VIR_DOMAIN_AFFECT_CONFIG]
    await made.realize(entity, None)


@pytest_twisted.ensureDeferred
async def test_domains_of_others_are_never_touched(
        driver: tuple[LibvirtDriver, list[Any]]) -> None:
    made, _ = driver
    # test:///default has a domain called "test" that this server did not make.
    held = await made.held()
    assert all(entityId != "test" for _, entityId in held)
    stranger = Entity(kind=COMPUTE, mixins=(), attributes={"occi.core.id": "test"})
    with pytest.raises(Conflict, match="did not make"):
        await made.realize(None, stranger)
    await made.realize(stranger, None)  # a deletion leaves it alone too
    domain = await made.host.call("look", lambda c: c.lookupByName("test"))
    assert domain.isActive()


MESSAGE_NAME = "occi.compute.state.message"


def test_actions_follow_the_state_machine(driver: tuple[LibvirtDriver, list[Any]]) -> None:
    made, _ = driver
    from occi_twisted.drivers import InvalidTransition

    with pytest.raises(InvalidTransition):
        made.check(_with(compute(), "inactive"), SUSPEND, {})
    made.check(_with(compute(), "inactive"), START, {})
    with pytest.raises(Conflict, match="no boot image"):
        made.provision(Entity(kind=COMPUTE, mixins=(Registry.standard().get(
            "http://schemas.occi-twisted.org/occi/infrastructure/os_tpl#debian-12"),),
            attributes={"occi.core.id": "x"}))  # type: ignore[arg-type]


def _with(entity: Entity, state: str) -> Entity:
    return Entity(kind=entity.kind, mixins=entity.mixins,
                  attributes={**entity.attributes, "occi.compute.state": state})


def test_a_screen_is_sent_as_png() -> None:
    ppm = b"P6\n# QEMU\n2 2\n255\n" + bytes(range(12))
    image = png(ppm)
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", image[16:24])
    assert (width, height) == (2, 2)
    start = image.index(b"IDAT") + 4
    length = struct.unpack(">I", image[start - 8:start - 4])[0]
    assert zlib.decompress(image[start:start + length]) == (b"\0" + bytes(range(6))
                                                            + b"\0" + bytes(range(6, 12)))
    with pytest.raises(ValueError):
        png(b"P6\n2 2\n255\n" + bytes(5))


@pytest_twisted.ensureDeferred
async def test_a_hung_call_fails_with_a_message_and_libvirt_errors_are_conflicts() -> None:
    hypervisor = Hypervisor("test:///default", reactor)
    hypervisor.timeout = 0.2
    hypervisor.start()
    try:
        with pytest.raises(HypervisorTimeout, match=r"Waiting: libvirt did not answer "
                                                    r"within 0\.2 s"):
            await hypervisor.call("Waiting", lambda connection: time.sleep(0.5))
        with pytest.raises(HypervisorError, match="Looking: Domain not found") as refused:
            await hypervisor.call("Looking", lambda connection: connection.lookupByName(
                "no-such-domain"))
        assert isinstance(refused.value, Conflict)  # a 409, never a 500
        assert refused.value.code == libvirt.VIR_ERR_NO_DOMAIN
    finally:
        await hypervisor.stop()


@pytest_twisted.ensureDeferred
async def test_a_guest_deaf_to_acpi_is_powered_off_or_left_running_after_the_deadline(
        driver: tuple[LibvirtDriver, list[Any]]) -> None:
    made, _ = driver
    entity = compute(**{"occi.compute.memory": 0.125})
    await made.realize(None, entity)
    await made.perform(entity, START, {}, Context(reactor))
    made.host.stopDeadline = 0.0  # the guest never gets the time to hear the button
    made.host.destroyAfterDeadline = False
    with pytest.raises(Conflict, match=r"did not stop within 0 s .* it runs on"):
        await made.perform(_with(entity, "active"), STOP, {"method": "graceful"},
                           Context(reactor))
    domain = await made.host.call("look", lambda c: c.lookupByName(entity.id))
    assert domain.isActive()
    made.host.destroyAfterDeadline = True
    outcome = await made.perform(_with(entity, "active"), STOP, {"method": "graceful"},
                                 Context(reactor))
    assert outcome.changes["occi.compute.state.message"] == (
        "The guest did not stop within 0 s of an ACPI shutdown: powered off.")
    assert not domain.isActive()
    await made.realize(entity, None)
