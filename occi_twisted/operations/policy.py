"""The recurring backup policy: in every daily window, a backup of each storage that carries
the ``backup_policy`` mixin, keeping the newest N (the mixin's ``occi-twisted.backup.keep``).

The policy itself keeps no state: each window's backup is an ordinary request whose id is
derived from the storage and the window, so a second sweep of the same window -- after a
restart, or by another node sharing the store -- finds it there already and adds nothing.  At
start-up the last window is swept too: a server that was down at midnight makes the backups
it missed, once.
"""

from __future__ import annotations

import uuid
from datetime import time, tzinfo

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from ..model.errors import Conflict
from ..model.infrastructure import BACKUP, BACKUP_POLICY, STORAGE
from ..model.requests import RequestRecord, newRequest
from ..scheduler import lastWindow, nextWindow
from ..store.interface import IStore, Query
from .desk import RequestDesk

_log = Logger()

#: Namespace of the ids of policy backups (uuid5 of storage id and window).
_NAMESPACE = uuid.UUID("6f0d5a2e-8c1b-4c39-9a57-3f1e0b7d2c44")
_BATCH = 500


def policyRequestId(storageId: str, window: float) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{storageId}@{window:.0f}"))


class BackupPolicy(Service):
    """Sweeps the storages with a backup policy at every window of ``backupAt``."""

    def __init__(self, store: IStore, desk: RequestDesk, clock: IReactorTime, *,
                 backupAt: time, zone: tzinfo) -> None:
        self._store = store
        self._desk = desk
        self._clock = clock
        self._backupAt = backupAt
        self._zone = zone
        self._timer: IDelayedCall | None = None
        #: The sweep in progress, if any (tests wait for it).
        self.sweeping: Deferred[int] | None = None

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        self._sweepAt(lastWindow(self._clock.seconds(), self._backupAt, self._zone))

    def stopService(self) -> None:
        super().stopService()  # type: ignore[no-untyped-call]
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _sweepAt(self, window: float) -> None:
        self.sweeping = Deferred.fromCoroutine(self.sweep(window))
        self.sweeping.addErrback(lambda failure: _log.failure(
            "The backup policy could not sweep the window of {window}", failure,
            window=window))
        if self.running:
            upcoming = nextWindow(self._clock.seconds(), self._backupAt, self._zone)
            self._timer = self._clock.callLater(
                max(0.0, upcoming - self._clock.seconds()), self._onWindow, upcoming)

    def _onWindow(self, window: float) -> None:
        self._timer = None
        if self.running:
            self._sweepAt(window)

    async def sweep(self, window: float) -> int:
        """Add the backups of ``window`` that are not there yet; how many were added."""
        query = Query(kinds=frozenset({STORAGE.identifier}),
                      mixins=frozenset({BACKUP_POLICY.identifier}))
        added, after = 0, None
        while True:
            page = await self._store.page(query, after, _BATCH)
            records = [
                newRequest(entity.id, BACKUP.identifier, owner=entity.owner,
                           now=self._clock.seconds(), notBefore=window,
                           requestId=policyRequestId(entity.id, window))
                for entity in page.entities if entity.created <= window
            ]
            added += await self._add(records)
            if page.cursor is None:
                break
            after = page.cursor
        if added:
            _log.info("Backup policy: {count} backups queued for the window", count=added)
        return added

    async def _add(self, records: list[RequestRecord]) -> int:
        if not records:
            return 0
        try:
            await self._desk.submit(records)
            return len(records)
        except Conflict:
            pass  # some are there already (swept before): add the others one by one
        added = 0
        for record in records:
            try:
                await self._desk.submit([record])
                added += 1
            except Conflict:
                continue
        return added
