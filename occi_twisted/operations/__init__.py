"""Operations: what turns a client's action into work done -- the request desk the HTTP layer
hands actions to, the runner that performs them through the driver, and the daily backup
policy -- put together around one scheduler; and the realizer, which has the driver follow
every change the store commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time, tzinfo
from typing import Any

from twisted.internet.interfaces import IReactorTime

from ..drivers import IDriver, IImages, IInfrastructure
from ..migration.peers import Peer
from ..migration.runner import MigrationRunner
from ..model.infrastructure import MIGRATIONS
from ..scheduler import RetryPolicy, Runner, Scheduler
from ..store.interface import IStore
from .desk import WINDOWED, RequestDesk, RequestWatch
from .policy import BackupPolicy
from .realizer import Realizer
from .runner import ActionRunner


@dataclass(frozen=True)
class Operations:
    """The parts that run requests on one node."""

    desk: RequestDesk
    scheduler: Scheduler
    policy: BackupPolicy
    realizer: Realizer

    @classmethod
    def build(
        cls, store: IStore, driver: IDriver, clock: IReactorTime, *, node: str,
        backupAt: time, zone: tzinfo, concurrency: int = 32, leaseSeconds: float = 60.0,
        retry: RetryPolicy | None = None, pollInterval: float | None = None,
        follow: bool = False, peers: Sequence[Peer] = (), reactor: Any = None,
    ) -> Operations:
        """The parts, wired.  ``follow``: the store tells every node of every node's commits
        (PostgreSQL), and the scheduler follows them to take over a dead node's work.
        ``peers`` are where resources may migrate to, reached through ``reactor`` (the clock
        unless given)."""
        runner = ActionRunner(store, driver, clock)
        runners: dict[str, Runner] = {action.identifier: runner
                                      for action in store.registry.actions()}
        migration = MigrationRunner(store, IImages(driver, None), reactor or clock, peers)
        runners.update(dict.fromkeys(MIGRATIONS, migration))
        watch = RequestWatch(store, store, clock)
        scheduler = Scheduler(store, clock, node, runners, concurrency=concurrency,
                              leaseSeconds=leaseSeconds, retry=retry,
                              pollInterval=pollInterval, follow=store if follow else None)
        desk = RequestDesk(store, scheduler, watch, clock, backupAt=backupAt, zone=zone)
        policy = BackupPolicy(store, desk, clock, backupAt=backupAt, zone=zone)
        infrastructure = IInfrastructure(driver, None)
        realizer = (Realizer(store, driver, clock, kinds=infrastructure.kinds)
                    if infrastructure is not None else Realizer(store, driver, clock))
        return cls(desk, scheduler, policy, realizer)


__all__ = [
    "WINDOWED", "ActionRunner", "BackupPolicy", "Operations", "Realizer", "RequestDesk",
    "RequestWatch",
]
