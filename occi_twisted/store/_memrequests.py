"""The memory store's requests: rows in a dictionary, read and written as :mod:`._requests`
asks (:class:`~._requests.RequestRows`).

Rows are kept as the SQLite store keeps them (JSON as canonical text) and decoded on every
read, so callers never share mutable values with the store.  Claims and the next due time scan
every request, which is fine at test sizes; the SQLite store answers both from indexes.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable

from ..model.requests import RequestRecord, RequestState
from . import _requestrules as rules

_ACTION, _STATE = rules.COLUMNS.index("action"), rules.COLUMNS.index("state")


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

    def page(
        self, entityId: str | None, after: int, limit: int
    ) -> tuple[list[tuple[int, RequestRecord]], bool]:
        taken = sorted(
            (seq, row) for seq, row in self._rows.values()
            if seq > after and (entityId is None or row[1] == entityId)
        )[:limit + 1]
        return [(seq, rules.fromRow(row)) for seq, row in taken[:limit]], len(taken) > limit

    def due(self, now: float, limit: int) -> list[RequestRecord]:
        due = heapq.nsmallest(limit, (
            (rules.dueAt(record), seq, record)
            for seq, record in self.records() if rules.isDue(record, now)
        ), key=lambda item: item[:2])
        return [record for _, _, record in due]

    def heldBy(self, node: str) -> list[RequestRecord]:
        return [record for _, record in self.records()
                if record.state is RequestState.RUNNING and record.claimedBy == node]

    def nextDue(self, now: float) -> float | None:
        times = [
            due for _, record in self.records()
            if (due := rules.dueAt(record)) is not None and due > now
        ]
        return min(times, default=None)

    def counts(self) -> dict[tuple[str, str], int]:
        return dict(Counter((row[_ACTION], row[_STATE]) for _, row in self._rows.values()))

    def update(self, before: RequestRecord, after: RequestRecord) -> RequestRecord:
        seq, _ = self._rows[after.id]
        row = rules.toRow(after)
        self._rows[after.id] = (seq, row)
        stored = rules.fromRow(row)
        self._changed(before, stored)
        return stored

    def records(self) -> list[tuple[int, RequestRecord]]:
        return [(seq, rules.fromRow(row)) for seq, row in self._rows.values()]
