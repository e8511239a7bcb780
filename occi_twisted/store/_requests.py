"""The requests' side of every backend, written once: :class:`~.interface.IRequestStore` over
a backend's requests table.

A backend provides its table as :class:`RequestRows` -- reads and one write, inside one of its
transactions -- and two ways to use it: :meth:`RequestMethods._readRequests` and
:meth:`RequestMethods._writeRequests` (a transaction, committed with a change set when there
is one, durable before its Deferred fires).  Every claim, checkpoint, end, release and
cancellation is then one rule of :mod:`._requestrules` applied here, the same for the memory
store and the SQLite store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Protocol, TypeVar

from twisted.internet.defer import Deferred, fail

from ..model import Value
from ..model.requests import AddRequest, RequestPage, RequestRecord, RequestState
from . import _requestrules as rules
from . import _rules
from .interface import Change

_T = TypeVar("_T")

Transition = Callable[[RequestRecord], RequestRecord]


class RequestRows(Protocol):
    """A backend's requests, as one of its transactions (or reads) sees them."""

    def get(self, requestId: str) -> RequestRecord | None:
        """The request with this id, if there is one."""

    def page(
        self, entityId: str | None, after: int, limit: int
    ) -> tuple[list[tuple[int, RequestRecord]], bool]:
        """Up to ``limit`` (seq, request) pairs of the entity (``None``: any) after the
        sequence number ``after``, in creation order, and whether more follow."""

    def due(self, now: float, limit: int) -> list[RequestRecord]:
        """Up to ``limit`` (at least 1) requests due at ``now``, longest due first (see
        :func:`~._requestrules.dueAt`; ties in creation order)."""

    def heldBy(self, node: str) -> list[RequestRecord]:
        """The running requests ``node`` holds."""

    def nextDue(self, now: float) -> float | None:
        """The first due time after ``now``."""

    def counts(self) -> dict[tuple[str, str], int]:
        """How many requests of each action are in each state."""

    def update(self, before: RequestRecord, after: RequestRecord) -> RequestRecord:
        """Store ``after`` in place of ``before`` (and the event of that step); returns it
        as a reader would get it."""


class RequestMethods:
    """:class:`~.interface.IRequestStore`, for a backend that provides the three methods
    below."""

    def apply(self, changes: Sequence[Change]) -> Deferred[None]:
        raise NotImplementedError

    def _readRequests(self, work: Callable[[RequestRows], _T]) -> Deferred[_T]:
        """Run ``work`` on the committed requests."""
        raise NotImplementedError

    def _writeRequests(
        self, work: Callable[[RequestRows], _T], changes: Sequence[Change] = ()
    ) -> Deferred[_T]:
        """Run ``work`` and apply ``changes`` in one transaction: a refusal from either (a
        domain error) leaves both undone.  Fires with what ``work`` returned once durable."""
        raise NotImplementedError

    # -- reads ------------------------------------------------------------------------------

    def getRequest(self, requestId: str) -> Deferred[RequestRecord | None]:
        return self._readRequests(lambda rows: rows.get(requestId))

    def listRequests(
        self, entityId: str | None, after: str | None, limit: int
    ) -> Deferred[RequestPage]:
        def listRequests(rows: RequestRows) -> RequestPage:
            _rules.checkLimit(limit)
            found, more = rows.page(entityId, _rules.cursorAfter(after), limit)
            cursor = str(found[-1][0]) if more else None
            return RequestPage([record for _, record in found], cursor)

        return self._readRequests(listRequests)

    def nextDue(self, now: float) -> Deferred[float | None]:
        return self._readRequests(lambda rows: rows.nextDue(now))

    def countRequests(self) -> Deferred[dict[tuple[str, str], int]]:
        return self._readRequests(lambda rows: rows.counts())

    # -- transitions --------------------------------------------------------------------------

    def addRequest(
        self, *records: RequestRecord, alongside: Sequence[Change] = ()
    ) -> Deferred[None]:
        return self.apply([*(AddRequest(record) for record in records), *alongside])

    def claimDue(
        self, node: str, now: float, limit: int, leaseSeconds: float
    ) -> Deferred[list[RequestRecord]]:
        def claimDue(rows: RequestRows) -> list[RequestRecord]:
            if limit < 1:
                return []
            return [rows.update(due, rules.claimed(due, node, now, leaseSeconds))
                    for due in rows.due(now, limit)]

        return self._writeRequests(claimDue)

    def checkpoint(
        self, requestId: str, node: str, *, now: float, leaseSeconds: float,
        progress: Mapping[str, Value] | None = None, checkpoint: Value | None = None,
    ) -> Deferred[RequestRecord]:
        try:
            progress, checkpoint = rules.plain(progress), rules.plain(checkpoint)
        except (TypeError, ValueError):
            return fail()
        return self._change(requestId, partial(
            rules.checkpointed, node=node, now=now, leaseSeconds=leaseSeconds,
            progress=progress, checkpoint=checkpoint))

    def finish(
        self, requestId: str, node: str, *, now: float, state: RequestState, message: str,
        progress: Mapping[str, Value] | None = None, changes: Sequence[Change] = (),
    ) -> Deferred[RequestRecord]:
        try:
            progress = rules.plain(progress)
        except (TypeError, ValueError):
            return fail()
        return self._change(requestId, partial(
            rules.finished, node=node, now=now, state=state, message=message,
            progress=progress), changes)

    def release(
        self, requestId: str, node: str, *, now: float, notBefore: float, message: str,
        countAttempt: bool = True,
    ) -> Deferred[RequestRecord]:
        return self._change(requestId, partial(
            rules.released, node=node, now=now, notBefore=notBefore, message=message,
            countAttempt=countAttempt))

    def cancel(self, requestId: str, now: float) -> Deferred[RequestRecord]:
        return self._change(requestId, partial(rules.cancelled, now=now))

    def releaseNode(self, node: str, now: float) -> Deferred[list[RequestRecord]]:
        def releaseNode(rows: RequestRows) -> list[RequestRecord]:
            return [rows.update(held, rules.orphaned(held, now)) for held in rows.heldBy(node)]

        return self._writeRequests(releaseNode)

    def _change(
        self, requestId: str, transition: Transition, changes: Sequence[Change] = ()
    ) -> Deferred[RequestRecord]:
        """Apply ``transition`` to the stored request (and ``changes`` with it)."""

        def change(rows: RequestRows) -> RequestRecord:
            before = rules.found(requestId, rows.get(requestId))
            after = transition(before)
            return before if after is before else rows.update(before, after)

        return self._writeRequests(change, changes)
