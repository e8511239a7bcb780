"""The memory store's requests: rows in a dictionary, the rules of :mod:`._requestrules`.

Rows are kept as the SQLite store keeps them (JSON as canonical text) and decoded on every
read, so callers never share mutable values with the store.  Claims and the next due time scan
every request, which is fine at test sizes; the SQLite store answers both from indexes.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

from ..model.requests import RequestPage, RequestRecord, RequestState
from . import _requestrules as rules
from . import _rules


class RequestTable:
    """Every request, by id, with its creation sequence number."""

    def __init__(self, changed: Callable[[RequestRecord | None, RequestRecord], None]) -> None:
        """``changed(before, after)`` is told of every request stored (for its event)."""
        self._rows: dict[str, tuple[int, rules.Row]] = {}
        self._lastSeq = 0
        self._changed = changed

    def has(self, requestId: str) -> bool:
        return requestId in self._rows

    def insert(self, rows: list[rules.Row]) -> None:
        """Add checked rows (see :meth:`MemoryStore.apply`) in order."""
        for row in rows:
            self._lastSeq += 1
            self._rows[row[0]] = (self._lastSeq, row)
            self._changed(None, rules.fromRow(row))

    def get(self, requestId: str) -> RequestRecord | None:
        found = self._rows.get(requestId)
        return None if found is None else rules.fromRow(found[1])

    def page(self, entityId: str | None, after: str | None, limit: int) -> RequestPage:
        _rules.checkLimit(limit)
        start = _rules.cursorAfter(after)
        taken = sorted(
            (seq, row) for seq, row in self._rows.values()
            if seq > start and (entityId is None or row[1] == entityId)
        )[:limit + 1]
        shown = taken[:limit]
        cursor = str(shown[-1][0]) if len(taken) > limit else None
        return RequestPage([rules.fromRow(row) for _, row in shown], cursor)

    def claimDue(
        self, node: str, now: float, limit: int, leaseSeconds: float
    ) -> list[RequestRecord]:
        """The ``limit`` requests due longest, claimed for ``node``."""
        if limit < 1:
            return []
        due = heapq.nsmallest(limit, (
            (rules.dueAt(record), seq, record)
            for seq, record in self._records() if rules.isDue(record, now)
        ), key=lambda item: item[:2])
        return [self._store(rules.claimed(record, node, now, leaseSeconds))
                for _, _, record in due]

    def nextDue(self, now: float) -> float | None:
        times = [
            due for _, record in self._records()
            if (due := rules.dueAt(record)) is not None and due > now
        ]
        return min(times, default=None)

    def change(
        self, requestId: str, transition: Callable[[RequestRecord], RequestRecord]
    ) -> RequestRecord:
        """Apply ``transition`` to the stored request and store what it gives."""
        record = rules.found(requestId, self.get(requestId))
        after = transition(record)
        return record if after is record else self._store(after)

    def releaseNode(self, node: str, now: float) -> list[RequestRecord]:
        return [
            self._store(rules.orphaned(record, now)) for _, record in self._records()
            if record.state is RequestState.RUNNING and record.claimedBy == node
        ]

    def _records(self) -> list[tuple[int, RequestRecord]]:
        return [(seq, rules.fromRow(row)) for seq, row in self._rows.values()]

    def _store(self, record: RequestRecord) -> RequestRecord:
        """Keep ``record``; returns it as a reader would get it, sharing nothing."""
        seq, before = self._rows[record.id]
        row = rules.toRow(record)
        self._rows[record.id] = (seq, row)
        stored = rules.fromRow(row)
        self._changed(rules.fromRow(before), stored)
        return stored
