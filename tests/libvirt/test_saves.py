"""A compute's save without a daemon: on libvirt's in-process ``test:///default`` (a stopped
guest's storages copied, a copy cut short and resumed, a deferred save waiting for the stop,
the refusals), and the hypervisor's backup job read from statistics as libvirt gives them.
Real guests are saved in test_guests.py."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater

from occi_twisted.drivers import InvalidTransition
from occi_twisted.drivers.libvirt.definitions import backupXML, diskFiles
from occi_twisted.drivers.libvirt.driver import LibvirtDriver
from occi_twisted.drivers.libvirt.saves import jobFailure, jobProgress
from occi_twisted.model import Entity, Value, withState
from occi_twisted.model.errors import BadRequest, Conflict
from occi_twisted.model.infrastructure import RESTORE, SAVE, START, STOP, STORAGELINK

from ..drivers.test_disks import Context, storage
from .test_definitions import compute

libvirt: Any = pytest.importorskip("libvirt")
Driver = tuple[LibvirtDriver, list[Any]]


def _in(entity: Entity, state: str) -> Entity:
    return withState(entity, {"occi.compute.state": state})


async def _withDisk(made: LibvirtDriver) -> tuple[Entity, Entity]:
    """A compute defined with a storage of 0.1 GiB as its disk vdb, a mark at its start."""
    machine, disk = compute(**{"occi.compute.memory": 0.125}), storage(0.1)
    link = Entity(kind=STORAGELINK, mixins=(), attributes={
        "occi.core.id": f"link-{disk.id}", "occi.core.source": machine.location,
        "occi.core.target": disk.location, "occi.storagelink.deviceid": "/dev/vdb"})
    made.host.store.entities.update({machine.id: machine, disk.id: disk, link.id: link})
    await made.realize(None, disk)
    with made.disks.imagePath(disk.id).open("r+b") as image:
        image.write(b"the mark of the save")
    await made.realize(None, machine)
    return machine, disk


class Killed(Exception):
    """The server died here."""


class Crashing(Context):
    """A run context whose server dies at the first checkpoint of a copy (that checkpoint
    stored, as the store would have it)."""

    def checkpoint(self, progress: Mapping[str, Value] | None = None,
                   checkpoint: Value | None = None) -> Deferred[None]:
        stored = super().checkpoint(progress, checkpoint)
        if isinstance(checkpoint, dict) and "job" in checkpoint:
            raise Killed()
        return stored


@pytest_twisted.ensureDeferred
async def test_a_save_is_refused_without_storage_in_error_or_with_a_bad_name(
        driver: Driver) -> None:
    made, _ = driver
    bare = compute(**{"occi.compute.memory": 0.125})
    await made.realize(None, bare)  # its links read: none
    with pytest.raises(Conflict, match="has no storage attached"):
        made.check(_in(bare, "inactive"), SAVE, {})
    with pytest.raises(InvalidTransition, match="it is error"):
        made.check(_in(bare, "error"), SAVE, {})
    with pytest.raises(BadRequest, match=r"A save's name '\.\./x' must be"):
        made.check(_in(bare, "active"), SAVE, {"name": "../x"})
    # A compute whose links were not read yet is let through; the save reads them.
    unread = compute(**{"occi.compute.memory": 0.125})
    made.check(_in(unread, "inactive"), SAVE, {})
    with pytest.raises(Conflict, match="has no storage attached"):
        await made.perform(_in(unread, "inactive"), SAVE, {}, Context(reactor))
    await made.realize(bare, None)


@pytest_twisted.ensureDeferred
async def test_a_stopped_computes_save_is_its_storages_backup_resumed_after_a_crash(
        driver: Driver) -> None:
    made, _ = driver
    machine, disk = await _withDisk(made)
    images, path = made.disks.images, made.disks.imagePath(disk.id)
    crashing = Crashing(reactor)
    with pytest.raises(Killed):
        await made.perform(_in(machine, "inactive"), SAVE, {"name": "nightly"}, crashing)
    assert images.backups(disk.id) == []  # half-written: not a backup
    resumed = Context(reactor, saved=crashing.saved)
    outcome = await made.perform(_in(machine, "inactive"), SAVE, {"name": "nightly"}, resumed)
    assert outcome.message == (f"Saved as nightly (hot, copied while the guest was stopped): "
                               f"storage {disk.id} backed up.")
    assert outcome.progress == {"percent": 100}
    [kept] = images.backups(disk.id)
    assert kept.name == "nightly" and kept.path.read_bytes() == path.read_bytes()
    assert 0 < resumed.progress[0]["percent"] < 100  # the copy went on from its checkpoint
    with pytest.raises(Conflict, match="has a backup called nightly already"):
        await made.perform(_in(machine, "inactive"), SAVE, {"name": "nightly"},
                           Context(reactor))
    # The storage's own restore brings the save back.
    with path.open("r+b") as image:
        image.write(b"written after the save")
    await made.perform(disk, RESTORE, {"backup": "nightly"}, Context(reactor))
    assert path.read_bytes().startswith(b"the mark of the save")
    await made.realize(machine, None)


@pytest_twisted.ensureDeferred
async def test_a_running_guest_needs_the_backup_job_or_a_deferred_save(driver: Driver) -> None:
    made, _ = driver
    machine, disk = await _withDisk(made)
    await made.perform(_in(machine, "inactive"), START, {}, Context(reactor))
    running = _in(machine, "active")
    # test:///default has no backup job: said, and nothing left behind.
    with pytest.raises(Conflict, match="cannot copy the disks of a running guest"):
        await made.perform(running, SAVE, {"method": "hot"}, Context(reactor))
    assert list((made.disks.images.dataDir / "backups" / disk.id).iterdir()) == []
    context = Context(reactor)
    saving = made.perform(running, SAVE, {"method": "deferred"}, context)
    await deferLater(reactor, 0.3, lambda: None)
    assert not saving.called
    assert context.progress[-1]["phase"] == "waiting for the guest to stop"
    await made.perform(running, STOP, {"method": "poweroff"}, Context(reactor))
    outcome = await saving
    assert "(deferred, copied while the guest was stopped)" in outcome.message
    [kept] = made.disks.images.backups(disk.id)
    assert kept.path.read_bytes() == made.disks.imagePath(disk.id).read_bytes()
    await made.realize(machine, None)


def test_the_backup_job_is_read_from_libvirts_statistics() -> None:
    running = {"type": libvirt.VIR_DOMAIN_JOB_UNBOUNDED, "operation": 9,
               "disk_processed": 64 << 20, "disk_total": 256 << 20}
    assert jobProgress(running) == 0.25
    assert jobProgress({"type": libvirt.VIR_DOMAIN_JOB_NONE}) is None
    done = {"operation": 9, "disk_total": 256 << 20, "disk_processed": 256 << 20,
            "success": True, "type": libvirt.VIR_DOMAIN_JOB_COMPLETED}
    assert jobFailure(done) is None
    aborted = {"operation": 9, "disk_processed": 72351744, "success": False,
               "errmsg": "Operation canceled", "type": libvirt.VIR_DOMAIN_JOB_CANCELLED}
    assert jobFailure(aborted) == ("the hypervisor's copy of the disks failed: Operation "
                                   "canceled")
    full = {**aborted, "errmsg": "No space left on device", "type": 4}
    assert jobFailure(full) == ("the hypervisor's copy of the disks failed: No space left on "
                                "device")
    assert jobFailure({}) == "the hypervisor's copy of the disks ended without saying why"


def test_a_backup_job_names_each_disk_of_the_guest(tmp_path: Path) -> None:
    xml = ("<domain><devices><disk type='file'><source file='/d/storage/a.img'/>"
           "<target dev='vdb'/></disk><disk type='file'><source file='/d/other.img'/>"
           "<target dev='vdc'/></disk><disk type='network'><target dev='vdd'/></disk>"
           "</devices></domain>")
    files = diskFiles(xml)
    assert files == {"vdb": Path("/d/storage/a.img"), "vdc": Path("/d/other.img")}
    root = ElementTree.fromstring(backupXML({"vdb": tmp_path / "a.partial", "vdc": None}))
    assert root.get("mode") == "push"
    copied, left = root.findall("disks/disk")
    assert (copied.get("name"), copied.get("backup")) == ("vdb", "yes")
    assert copied.find("target").get("file") == str(tmp_path / "a.partial")  # type: ignore[union-attr]
    assert copied.find("driver").get("type") == "raw"  # type: ignore[union-attr]
    assert (left.get("name"), left.get("backup")) == ("vdc", "no")
