"""The nightly backup window on several nodes sharing one PostgreSQL database: each node's
policy sweeps the window at the same moment, and each storage gets its one backup."""

from __future__ import annotations

from datetime import UTC, time

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, gatherResults

from occi_twisted.model import Registry
from occi_twisted.model.infrastructure import BACKUP
from occi_twisted.operations import Operations
from occi_twisted.plugins.simulated import SimulatedDriver
from occi_twisted.store import CREATE, Put
from occi_twisted.store.postgres import PostgresStore

from .test_policy import DAY, MIDNIGHT, storage


@pytest_twisted.ensureDeferred
async def test_three_nodes_sweeping_one_window_make_one_backup_per_storage(
        database: str) -> None:
    stores = [PostgresStore(database, Registry.standard(), reactor) for _ in range(3)]
    for store in stores:
        await store.start()
    try:
        made = [storage(MIDNIGHT - DAY, policy=True) for _ in range(30)]
        await stores[0].apply([Put(entity, expect=CREATE) for entity in made])
        nodes = [Operations.build(store, SimulatedDriver(), reactor, node=f"n{n}",
                                  backupAt=time(0, 0), zone=UTC)
                 for n, store in enumerate(stores)]
        added = await gatherResults([Deferred.fromCoroutine(node.policy.sweep(MIDNIGHT))
                                     for node in nodes])
        assert sum(added) == len(made)
        # And again, as a node that restarts sweeps the last window.
        assert await nodes[1].policy.sweep(MIDNIGHT) == 0

        page = await stores[2].listRequests(None, None, 1000)
        backups = [r for r in page.requests if r.action == BACKUP.identifier]
        assert sorted(r.entityId for r in backups) == sorted(e.id for e in made)
    finally:
        for store in stores:
            await store.stop()
