"""The recurring backup policy on task.Clock: one backup per policy storage per window, none
twice (restarts, sweeps of the same window), missed windows made once at start-up."""

from __future__ import annotations

from datetime import UTC, time

from twisted.internet.task import Clock

from occi_twisted.model import Description, Entity, Registry, newEntity
from occi_twisted.model.infrastructure import BACKUP, BACKUP_POLICY, STORAGE
from occi_twisted.model.requests import RequestRecord, RequestState
from occi_twisted.operations import Operations
from occi_twisted.operations.policy import policyRequestId
from occi_twisted.plugins.simulated import SimulatedDriver
from occi_twisted.store import CREATE, MemoryStore, Put

from ..scheduler.support import result

#: 2024-06-01T00:00:00Z, a midnight in UTC.
MIDNIGHT = 1_717_200_000.0
DAY = 86_400.0


def storage(now: float, *, policy: bool, keep: int = 3) -> Entity:
    attributes: dict[str, object] = {"occi.storage.size": 1}
    if policy:
        attributes["occi-twisted.backup.keep"] = keep
    return newEntity(Description(kind=STORAGE, mixins=(BACKUP_POLICY,) if policy else (),
                                 attributes=attributes), now=now)


class World:
    """A store with storages, and a clock; each :meth:`node` is one life of the server."""

    def __init__(self, now: float) -> None:
        self.clock = Clock()
        self.clock.advance(now)
        self.store = MemoryStore(Registry.standard())
        result(self.store.start())

    def add(self, entity: Entity) -> Entity:
        result(self.store.apply([Put(entity, expect=CREATE)]))
        return entity

    def node(self) -> Operations:
        return Operations.build(self.store, SimulatedDriver(), self.clock, node="n1",
                                backupAt=time(0, 0), zone=UTC)

    def backups(self) -> list[RequestRecord]:
        page = result(self.store.listRequests(None, None, 1000))
        return [r for r in page.requests if r.action == BACKUP.identifier]


def test_missed_window_is_made_once_at_start_up() -> None:
    # Down for three days: at start-up one backup, for the last window, not three.
    world = World(MIDNIGHT + 3 * DAY + 3600)
    kept = world.add(storage(MIDNIGHT - DAY, policy=True))
    world.add(storage(MIDNIGHT - DAY, policy=False))
    operations = world.node()
    operations.policy.startService()
    assert operations.policy.sweeping is not None
    assert result(operations.policy.sweeping) == 1
    [backup] = world.backups()
    assert backup.entityId == kept.id
    assert backup.notBefore == MIDNIGHT + 3 * DAY
    assert backup.state is RequestState.QUEUED  # due at once
    assert backup.id == policyRequestId(kept.id, MIDNIGHT + 3 * DAY)
    operations.policy.stopService()


def test_restart_adds_nothing_already_there() -> None:
    world = World(MIDNIGHT + 3600)
    world.add(storage(MIDNIGHT - DAY, policy=True))
    for _life in range(3):
        operations = world.node()
        operations.policy.startService()
        assert operations.policy.sweeping is not None
        result(operations.policy.sweeping)
        operations.policy.stopService()
    assert len(world.backups()) == 1


def test_every_window_makes_one_backup_per_policy_storage() -> None:
    world = World(MIDNIGHT + 3600)
    first = world.add(storage(MIDNIGHT - DAY, policy=True))
    second = world.add(storage(MIDNIGHT - DAY, policy=True, keep=5))
    operations = world.node()
    operations.policy.startService()
    world.clock.advance(DAY - 3600 - 1)  # one second before the next midnight
    assert len(world.backups()) == 2
    world.clock.advance(1)
    world.clock.advance(DAY)
    backups = world.backups()
    assert len(backups) == 6
    for entity in (first, second):
        windows = sorted(b.notBefore for b in backups if b.entityId == entity.id)
        assert windows == [MIDNIGHT, MIDNIGHT + DAY, MIDNIGHT + 2 * DAY]
    operations.policy.stopService()
    # Stopped: the next window passes without a sweep.
    world.clock.advance(DAY)
    assert len(world.backups()) == 6


def test_storage_younger_than_the_window_waits_for_the_next() -> None:
    world = World(MIDNIGHT + 3600)
    young = world.add(storage(MIDNIGHT + 60, policy=True))
    operations = world.node()
    operations.policy.startService()
    assert world.backups() == []
    world.clock.advance(DAY)
    [backup] = world.backups()
    assert backup.entityId == young.id and backup.notBefore == MIDNIGHT + DAY
    operations.policy.stopService()


def test_policy_backups_run_through_the_scheduler() -> None:
    # With the scheduler running, a policy backup is claimed when due; the simulated driver
    # without disks cannot back up, so it fails -- but it ran once, and only once.
    world = World(MIDNIGHT + 3600)
    world.add(storage(MIDNIGHT - DAY, policy=True))
    operations = world.node()
    operations.scheduler.startService()
    operations.policy.startService()
    [backup] = world.backups()
    assert backup.state is RequestState.FAILED and backup.attempts == 1
    operations.policy.stopService()
    result(operations.scheduler.stopService())
