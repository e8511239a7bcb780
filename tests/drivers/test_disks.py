"""The storage driver on real files: images follow the stored storages, and the actions run
as sliced jobs that checkpoint into the request and resume from it."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import Clock, deferLater

from occi_twisted.drivers import InvalidTransition
from occi_twisted.drivers.disks import MAX_GIB, DiskDriver
from occi_twisted.drivers.storage import GIB, DiskImages
from occi_twisted.drivers.storage.errors import NoSuchImage
from occi_twisted.model import Description, Entity, Value, newEntity, withState
from occi_twisted.model.errors import BadRequest
from occi_twisted.model.infrastructure import (
    BACKUP,
    BACKUP_POLICY,
    RESIZE,
    RESTORE,
    SECURE_ERASE,
    SNAPSHOT,
    STORAGE,
)

MIB = 1 << 20


@dataclass
class Context:
    """A request's run context, as the scheduler gives it, recording every checkpoint."""

    clock: IReactorTime
    saved: Value | None = None
    progress: list[Mapping[str, Value]] = field(default_factory=list)

    def checkpoint(self, progress: Mapping[str, Value] | None = None,
                   checkpoint: Value | None = None) -> Deferred[None]:
        if progress is not None:
            self.progress.append(progress)
        if checkpoint is not None:
            self.saved = checkpoint
        return succeed(None)


def storage(sizeGiB: float, *, state: str = "offline", keep: int | None = None) -> Entity:
    attributes: dict[str, object] = {"occi.storage.size": sizeGiB}
    mixins = ()
    if keep is not None:
        attributes["occi-twisted.backup.keep"] = keep
        mixins = (BACKUP_POLICY,)
    made = newEntity(Description(kind=STORAGE, mixins=mixins, attributes=attributes))
    return withState(made, {"occi.storage.state": state}, now=0.0)


@pytest.fixture
def driver(tmp_path: Path) -> DiskDriver:
    disks = DiskDriver(DiskImages(tmp_path), reactor, sliceSeconds=0.05)
    disks.start()
    yield disks  # type: ignore[misc]
    disks.stop()


def image(driver: DiskDriver, entity: Entity) -> Path:
    return driver.images.imagePath(entity.id)


@pytest_twisted.ensureDeferred
async def test_images_follow_the_store(driver: DiskDriver) -> None:
    entity = storage(4 / 1024)
    await driver.realize(None, entity)
    path = image(driver, entity)
    assert path.stat().st_size == 4 * MIB
    assert path.stat().st_blocks == 0  # sparse: no space until written
    bigger = replace(entity, attributes={**entity.attributes, "occi.storage.size": 8 / 1024},
                     revision=entity.revision + 1)
    await driver.realize(entity, bigger)
    assert path.stat().st_size == 8 * MIB
    # Idempotent: the server repeats realize for every storage after a crash.
    await driver.realize(bigger, bigger)
    assert path.stat().st_size == 8 * MIB
    await driver.realize(bigger, None)
    assert not path.exists()
    await driver.realize(bigger, None)  # deleting what is gone is harmless


@pytest_twisted.ensureDeferred
async def test_a_revision_followed_twice_is_made_once(driver: DiskDriver) -> None:
    """The HTTP layer and the realizer both follow each change: the second follow of a
    revision does not make again an image removed since (readers are told it is missing);
    the next change does."""
    entity = storage(1 / 1024)
    await driver.realize(None, entity)
    path = image(driver, entity)
    path.unlink()
    await driver.realize(entity, entity)
    assert not path.exists()
    online = replace(entity, attributes={**entity.attributes, "occi.storage.state": "online"},
                     revision=entity.revision + 1)
    await driver.realize(entity, online)
    assert path.stat().st_size == MIB
    # Deleted, then made again under its id: a new image, whatever revision it starts at.
    await driver.realize(online, None)
    await driver.realize(None, entity)
    path.unlink()
    await driver.realize(None, entity)
    assert path.exists()


@pytest_twisted.ensureDeferred
async def test_an_image_another_node_makes_meanwhile_is_the_one_sized(
        tmp_path: Path, driver: DiskDriver) -> None:
    """Two nodes share the data directory and both follow a new storage: the one that finds
    no image, then fails to make it because the other just did, sizes that one."""
    entity = storage(4 / 1024)
    other = DiskDriver(DiskImages(tmp_path), reactor)
    looked = driver.images.sizeOf

    def lookedTooEarly(storageId: str) -> int:
        driver.images.sizeOf = looked  # type: ignore[method-assign]
        other.images.create(storageId, 2 / 1024)  # the other node, between look and make
        raise NoSuchImage(storageId)

    driver.images.sizeOf = lookedTooEarly  # type: ignore[method-assign]
    await driver.realize(entity, entity)
    assert image(driver, entity).stat().st_size == 4 * MIB


@pytest_twisted.ensureDeferred
async def test_a_new_storage_keeps_the_image_another_node_made_for_it(
        driver: DiskDriver) -> None:
    """realize(None, storage) on a node that follows a creation another node has realized
    already (and written to): that image, newer than the storage, is the storage's."""
    made = storage(1 / 1024)
    fresh = replace(made, created=time.time() - 60)
    path = image(driver, fresh)
    driver.images.create(fresh.id, 1 / 1024)
    path.write_bytes(b"uploaded" * (MIB // 8))
    await driver.realize(None, fresh)
    assert path.read_bytes().startswith(b"uploaded")


def test_refuses_what_the_file_system_cannot_hold(driver: DiskDriver,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(driver.images, "freeBytes", lambda: 1 << 60)
    with pytest.raises(BadRequest, match="largest disk image"):
        driver.provision(storage(MAX_GIB + 1))
    # ext4 refuses a file of exactly 16 TiB: that size had no image.
    with pytest.raises(BadRequest, match=r"occi.storage.size 16384 GiB .* largest disk image"):
        driver.provision(storage(16 * 1024))
    with pytest.raises(BadRequest):
        driver.check(storage(1), RESIZE, {"size": float(MAX_GIB * 2)})
    driver.provision(storage(MAX_GIB))


@pytest_twisted.ensureDeferred
async def test_refuses_a_size_beyond_the_free_space(driver: DiskDriver,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(driver.images, "freeBytes", lambda: 3 * MIB)
    with pytest.raises(BadRequest, match=r"occi.storage.size 0.00390625 GiB does not fit: "
                                         r"the file system of the data directory has 0.0 GiB "
                                         r"free"):
        driver.provision(storage(4 / 1024))
    entity = storage(2 / 1024)
    driver.provision(entity)
    await driver.realize(None, entity)
    # What the image has already counts: growing by 3 MiB fits, by 4 MiB does not.
    driver.provision(replace(entity, attributes={**entity.attributes,
                                                 "occi.storage.size": 5 / 1024}))
    with pytest.raises(BadRequest, match=r"\(its image has 0.00195312 GiB\)"):
        driver.check(entity, RESIZE, {"size": 6 / 1024})
    # The real free space of the data directory: a size beyond it is refused.
    monkeypatch.undo()
    free = driver.images.freeBytes()
    with pytest.raises(BadRequest, match="GiB free"):
        driver.provision(storage(min(MAX_GIB, (free + GIB) / GIB)))


@pytest_twisted.ensureDeferred
async def test_cancelling_a_realize_does_not_stop_its_disk_work(driver: DiskDriver) -> None:
    """The HTTP layer waits on realize for a client that may hang up: Klein then cancels
    what it waits on, which must not cancel the deletion of the storage's data (nor the
    making of a new storage's image), even while it waits for another job to end."""
    entity = storage(1 / 1024)
    path = image(driver, entity)
    await driver.realize(None, entity)
    busy = driver.realize(entity, entity)  # holds the storage: one job at a time
    deleted = driver.realize(entity, None)
    deleted.cancel()
    await busy
    await _until(lambda: not path.exists() and not driver._locks)
    await driver.realize(None, entity)
    busy = driver.realize(entity, None)
    created = driver.realize(None, entity)
    created.cancel()
    await busy
    await _until(lambda: path.exists() and not driver._locks)
    assert path.stat().st_size == MIB
    for cancelled in (deleted, created):
        assert cancelled.called
        cancelled.addErrback(lambda _: None)


@pytest_twisted.ensureDeferred
async def test_a_new_storage_does_not_get_the_bytes_of_a_deleted_one(
        driver: DiskDriver) -> None:
    entity = storage(1 / 1024)
    await driver.realize(None, entity)
    image(driver, entity).write_bytes(b"secret" * 1000)
    # The removal never happened (a crash, say); a storage with the same id is made.
    await driver.realize(None, replace(entity, created=time.time() + 1))
    assert image(driver, entity).read_bytes() == bytes(MIB)
    assert await driver.held() == [(STORAGE, entity.id)]


async def _until(condition: Callable[[], bool]) -> None:
    """Give the reactor turns until ``condition`` holds (a bound for slow machines)."""
    for _ in range(1000):
        if condition():
            return
        await deferLater(reactor, 0.01, lambda: None)
    raise AssertionError("never happened")


def test_destructive_actions_need_an_offline_storage(driver: DiskDriver) -> None:
    online = storage(1, state="online")
    for action in (SECURE_ERASE, RESTORE):
        with pytest.raises(InvalidTransition, match="offline first"):
            driver.check(online, action, {})
    driver.check(online, BACKUP, {})
    driver.check(online, SNAPSHOT, {})
    driver.check(storage(1), SECURE_ERASE, {})


@pytest_twisted.ensureDeferred
async def test_secure_erase_reports_passes_and_leaves_the_last_pattern(
        driver: DiskDriver) -> None:
    entity = storage(2 / 1024)
    await driver.realize(None, entity)
    context = Context(reactor)
    outcome = await driver.perform(entity, SECURE_ERASE, {"passes": 3, "pattern": "ones"},
                                   context)
    assert "verified" in outcome.message
    assert outcome.progress is not None and outcome.progress["percent"] == 100
    assert image(driver, entity).read_bytes() == b"\xff" * (2 * MIB)
    passes = [p["pass"] for p in context.progress]
    assert passes == sorted(passes) and passes[-1] == 3
    done = [p["bytes"] for p in context.progress]
    assert done == sorted(done) and done[-1] == 4 * 2 * MIB  # three passes and a read back


@pytest_twisted.ensureDeferred
async def test_erase_resumes_from_the_saved_checkpoint(driver: DiskDriver) -> None:
    entity = storage(2 / 1024)
    await driver.realize(None, entity)
    first = Context(reactor)
    await driver.perform(entity, SECURE_ERASE, {"passes": 1, "pattern": "zeros"}, first)
    # A resume from the finished state does no more I/O and ends at once.
    again = Context(reactor, saved=first.saved)
    outcome = await driver.perform(entity, SECURE_ERASE, {"passes": 1, "pattern": "zeros"},
                                   again)
    assert outcome.progress is not None and outcome.progress["percent"] == 100
    assert again.progress == []


@pytest_twisted.ensureDeferred
async def test_resize_snapshot_backup_restore(driver: DiskDriver) -> None:
    entity = storage(1 / 1024, keep=2)
    await driver.realize(None, entity)
    path = image(driver, entity)
    path.write_bytes(b"first" * 1000)
    clock = Clock()
    clock.advance(1_717_200_000)

    resized = await driver.perform(entity, RESIZE, {"size": 2 / 1024}, Context(clock))
    assert resized.changes == {"occi.storage.size": 2 / 1024}
    assert path.stat().st_size == 2 * MIB

    snapshot = await driver.perform(entity, SNAPSHOT, {}, Context(clock))
    assert "Snapshot snapshot-20240601T000000Z taken" in snapshot.message
    assert driver.images.snapshots(entity.id) == ["snapshot-20240601T000000Z"]

    for _ in range(3):  # the policy keeps two
        clock.advance(60)
        made = await driver.perform(entity, BACKUP, {}, Context(clock))
        assert "SHA-256" in made.message
    backups = driver.images.backups(entity.id)
    assert [b.created for b in backups] == [1_717_200_120.0, 1_717_200_180.0]

    path.write_bytes(b"changed")
    restored = await driver.perform(entity, RESTORE, {}, Context(clock))
    assert backups[-1].name in restored.message
    assert path.read_bytes().startswith(b"first" * 1000)
    assert path.stat().st_size == 2 * MIB


@pytest_twisted.ensureDeferred
async def test_restore_without_backups_is_refused(driver: DiskDriver) -> None:
    entity = storage(1 / 1024)
    await driver.realize(None, entity)
    with pytest.raises(InvalidTransition, match="no backup"):
        await driver.perform(entity, RESTORE, {}, Context(reactor))


@pytest_twisted.ensureDeferred
async def test_a_missing_image_is_made_before_an_action(driver: DiskDriver) -> None:
    # The store recorded the storage but the server died before the image was made.
    entity = storage(1 / 1024)
    outcome = await driver.perform(entity, SECURE_ERASE, {"passes": 1, "pattern": "zeros"},
                                   Context(reactor))
    assert outcome.progress is not None and outcome.progress["bytes"] == 2 * MIB
    assert image(driver, entity).stat().st_size == MIB
    assert GIB == 1024 * MIB


@pytest_twisted.ensureDeferred
async def test_start_up_catches_up_with_the_store(tmp_path: Path) -> None:
    # Storages stored, images missing (the server died between the two): the driver service
    # makes them when it starts.
    from occi_twisted.model import Registry
    from occi_twisted.service import DriverService
    from occi_twisted.store import CREATE, MemoryStore, Put

    store = MemoryStore(Registry.standard())
    await store.start()
    entities = [storage(n / 1024) for n in (1, 2, 3)]
    await store.apply([Put(entity, expect=CREATE) for entity in entities])
    from occi_twisted.operations import Realizer

    disks = DiskDriver(DiskImages(tmp_path), reactor)
    service = DriverService(disks, Realizer(store, disks, reactor))
    service.startService()
    assert service.reconciled is not None
    assert await service.reconciled == 3
    sizes = [disks.images.imagePath(e.id).stat().st_size for e in entities]
    assert sizes == [MIB, 2 * MIB, 3 * MIB]
    await service.stopService()
