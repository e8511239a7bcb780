"""Writes entities to a SQLite store as fast as it can, printing each id once acknowledged.

Run by ``test_sqlite.test_acknowledged_writes_survive_sigkill``, which kills it mid-way: every id
printed here must be in the store afterwards.  Many writes are in flight at once, so the kill
lands amid group commits.
"""

from __future__ import annotations

import sys

from twisted.internet import task
from twisted.internet.defer import Deferred, DeferredSemaphore, ensureDeferred

from occi_twisted.model import Description, Registry, newEntity
from occi_twisted.model.infrastructure import COMPUTE
from occi_twisted.store.interface import CREATE, Put
from occi_twisted.store.sqlite import SQLiteStore

IN_FLIGHT = 64


async def writeForever(reactor: object, path: str) -> None:
    store = SQLiteStore(path, Registry.standard(), reactor)  # type: ignore[arg-type]
    await store.start()
    slots = DeferredSemaphore(IN_FLIGHT)

    def acknowledge(_: object, entityId: str) -> None:
        sys.stdout.write(entityId + "\n")
        sys.stdout.flush()

    def write(n: int) -> Deferred[None]:
        entity = newEntity(Description(kind=COMPUTE), entityId=f"crash-{n:07}")
        written = store.apply([Put(entity, expect=CREATE)])
        written.addCallback(acknowledge, entity.id)
        return written

    n = 0
    while True:
        await slots.acquire()
        done = write(n)
        done.addBoth(lambda result: (slots.release(), result)[1])
        n += 1


if __name__ == "__main__":
    task.react(lambda reactor: ensureDeferred(writeForever(reactor, sys.argv[1])))
