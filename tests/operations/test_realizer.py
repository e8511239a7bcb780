"""The realizer: the images on a real data directory follow what the store commits, with no
client to ask for it; start-up removes the images of storages the store no longer has and
makes the missing ones; a storage whose image cannot be made is logged and marked ``error``
and holds back no other, and is unmarked once its image can be made."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.logger import globalLogPublisher

from occi_twisted.drivers.disks import DiskDriver
from occi_twisted.drivers.storage import DiskImages
from occi_twisted.drivers.storage.files import sidecarOf
from occi_twisted.model import Description, Entity, Registry, newEntity
from occi_twisted.model.infrastructure import COMPUTE, STORAGE
from occi_twisted.operations import Realizer
from occi_twisted.operations.realizer import NOT_FOLLOWED
from occi_twisted.plugins.simulated import SimulatedDriver
from occi_twisted.store import CREATE, Delete, Put
from occi_twisted.store.interface import IStore
from occi_twisted.store.sqlite import SQLiteStore

MIB = 1 << 20


def storage(entityId: str, mib: float = 1, now: float = 1.0) -> Entity:
    return newEntity(Description(kind=STORAGE, attributes={"occi.storage.size": mib / 1024}),
                     entityId=entityId, owner="alice", now=now)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[IStore]:
    opened = SQLiteStore(tmp_path / "occi.db", Registry.standard(), reactor)
    pytest_twisted.blockon(opened.start())
    yield opened
    pytest_twisted.blockon(opened.stop())


@pytest.fixture
def images(tmp_path: Path) -> DiskImages:
    return DiskImages(tmp_path / "data")


@pytest.fixture
def realizer(store: IStore, images: DiskImages) -> Iterator[Realizer]:
    driver = SimulatedDriver(disks=DiskDriver(images, reactor))
    driver.start()
    following = Realizer(store, driver, reactor)
    pytest_twisted.blockon(following.start())
    yield following
    pytest_twisted.blockon(following.stop())
    pytest_twisted.blockon(driver.stop())


@pytest.fixture
def restarted(store: IStore, images: DiskImages, realizer: Realizer
              ) -> Iterator[Callable[[], Awaitable[Realizer]]]:
    """What a server that starts again follows the store with: a new driver that has
    followed nothing yet, over the same store and data directory (the old realizer stops
    following, as a killed one would)."""
    made: list[tuple[Realizer, SimulatedDriver]] = []

    async def restart() -> Realizer:
        await realizer.stop()
        driver = SimulatedDriver(disks=DiskDriver(images, reactor))
        driver.start()
        following = Realizer(store, driver, reactor)
        made.append((following, driver))
        await following.start()
        return following

    yield restart
    for following, driver in made:
        pytest_twisted.blockon(following.stop())
        pytest_twisted.blockon(driver.stop())


@pytest.fixture
def logged() -> Iterator[list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


async def until(condition: Callable[[], bool]) -> None:
    """Give the reactor turns until ``condition`` holds (a bound for slow machines, not a
    measurement)."""
    for _ in range(2000):
        if condition():
            return
        await deferLater(reactor, 0.005, lambda: None)
    raise AssertionError("never happened")


def imageOf(images: DiskImages, entityId: str) -> Path:
    return images.imagePath(entityId)


@pytest_twisted.ensureDeferred
async def test_what_the_store_commits_reaches_the_disk_with_nobody_asking(
        store: IStore, images: DiskImages, realizer: Realizer) -> None:
    disk = storage("disk")
    await store.apply([Put(disk, expect=CREATE),
                       Put(newEntity(Description(kind=COMPUTE), entityId="vm"), expect=CREATE)])
    await until(lambda: imageOf(images, "disk").exists())
    grown = replace(disk, attributes={**disk.attributes, "occi.storage.size": 2 / 1024},
                    revision=2)
    await store.apply([Put(grown, expect=1)])
    await until(lambda: imageOf(images, "disk").stat().st_size == 2 * MIB)
    await store.apply([Delete("disk")])
    await until(lambda: not imageOf(images, "disk").exists())


@pytest_twisted.ensureDeferred
async def test_a_storage_deleted_and_made_again_gets_a_fresh_image(
        store: IStore, images: DiskImages, realizer: Realizer) -> None:
    await store.apply([Put(storage("disk"), expect=CREATE)])
    await until(lambda: imageOf(images, "disk").exists())
    await realizer.follow(STORAGE, "disk")
    imageOf(images, "disk").write_bytes(b"the first one's data" * 100)
    await store.apply([Delete("disk")])
    await store.apply([Put(storage("disk", now=time.time() + 1), expect=CREATE)])
    await until(lambda: imageOf(images, "disk").exists()
                and imageOf(images, "disk").read_bytes() == bytes(MIB))


@pytest_twisted.ensureDeferred
async def test_start_up_removes_orphans_and_makes_missing_images(
        store: IStore, images: DiskImages, realizer: Realizer,
        restarted: Callable[[], Awaitable[Realizer]], logged: list[dict[str, Any]]) -> None:
    await store.apply([Put(storage(name, mib), expect=CREATE)
                       for name, mib in (("a", 1), ("b", 2))])
    await realizer.follow(STORAGE, "a")
    await realizer.follow(STORAGE, "b")
    # A crash left: b without its image, and the image of a storage deleted meanwhile.
    imageOf(images, "b").unlink()
    images.create("orphan", 1 / 1024)
    assert await (await restarted()).reconcile() == 2
    assert images.storageIds() == ["a", "b"]
    assert imageOf(images, "b").stat().st_size == 2 * MIB
    removals = [event for event in logged
                if "the store has no such entity" in event.get("log_format", "")]
    assert [event["location"] for event in removals] == ["/storage/orphan"]


@pytest_twisted.ensureDeferred
async def test_start_up_removes_the_digest_a_deleted_image_left(
        store: IStore, images: DiskImages, realizer: Realizer,
        restarted: Callable[[], Awaitable[Realizer]]) -> None:
    await store.apply([Put(storage("kept"), expect=CREATE)])
    await realizer.follow(STORAGE, "kept")
    for name in ("kept", "gone"):
        sidecarOf(imageOf(images, name)).write_text("{}")
    assert images.storageIds() == ["gone", "kept"]
    assert await (await restarted()).reconcile() == 1
    assert sorted(p.name for p in imageOf(images, "kept").parent.iterdir()) == [
        "kept.img", "kept.img.sha256"]


@pytest_twisted.ensureDeferred
async def test_one_storage_that_cannot_be_fixed_holds_back_no_other(
        store: IStore, images: DiskImages, realizer: Realizer,
        restarted: Callable[[], Awaitable[Realizer]], logged: list[dict[str, Any]]) -> None:
    names = [f"s{n}" for n in range(5)]
    await store.apply([Put(storage(name), expect=CREATE) for name in names])
    await until(lambda: images.storageIds() == names)
    for name in names:
        await realizer.follow(STORAGE, name)
        imageOf(images, name).unlink()
    # Where s1's image goes there is a directory: no image can be made there.
    imageOf(images, "s1").mkdir()
    realizer = await restarted()
    assert await realizer.reconcile() == 5
    assert [name for name in names if imageOf(images, name).is_file()] == \
        ["s0", "s2", "s3", "s4"]
    await until(lambda: _state(store, "s1")[0] == "error")
    _, message = _state(store, "s1")
    assert message.startswith(NOT_FOLLOWED) and "Is a directory" in message
    assert str(images.dataDir) not in message  # no path of the server's for clients
    assert all(_state(store, name)[0] == "offline" for name in names if name != "s1")
    assert any(event.get("location") == "/storage/s1" and "log_failure" in event
               for event in logged)
    # Once the obstacle is gone, the next change of s1 makes its image and unmarks it.
    imageOf(images, "s1").rmdir()
    await realizer.reconcile()
    await until(lambda: _state(store, "s1")[0] == "offline")
    assert imageOf(images, "s1").stat().st_size == MIB


def _state(store: IStore, entityId: str) -> tuple[str, str]:
    found: list[Entity | None] = []
    store.get(entityId).addCallback(found.append)
    entity = found[0]
    assert entity is not None
    return (str(entity.attributes["occi.storage.state"]),
            str(entity.attributes.get("occi.storage.state.message", "")))
