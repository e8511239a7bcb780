"""The life of a request, written once for every backend.

Each transition is a pure function from the stored record to the next one, raising the domain
error a caller will read when the transition is not allowed.  A backend reads the record inside
its transaction, applies the function, and writes the result: the memory store and the SQLite
store cannot drift apart, and the rules can be read in one place.

The methods of :class:`~.interface.IRequestStore` that apply these rules are written once too,
in :mod:`._requests`.

Records are stored as rows of plain columns (:data:`COLUMNS`), JSON values as canonical text:
what SQLite keeps, and what the memory store keeps too, so both refuse the same values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, TypeVar, cast

from ..model import Value
from ..model.errors import Conflict, NotFound
from ..model.requests import RequestRecord, RequestState
from .serial import canonical

#: The columns of a stored request, in the order of a row.
COLUMNS = (
    "id", "entity_id", "owner", "action", "attributes", "state", "not_before", "created",
    "updated", "progress", "checkpoint", "attempts", "started", "finished", "message",
    "claimed_by", "lease_until", "cancel_requested", "revision",
)

Row = tuple[Any, ...]


def toRow(record: RequestRecord) -> Row:
    """The columns of ``record``; ``ValueError`` or ``TypeError`` if a value is not JSON."""
    return (
        record.id, record.entityId, record.owner, record.action,
        canonical(dict(record.attributes)), record.state.value, record.notBefore,
        record.created, record.updated, canonical(dict(record.progress)),
        None if record.checkpoint is None else canonical(record.checkpoint),
        record.attempts, record.started, record.finished, record.message, record.claimedBy,
        record.leaseUntil, int(record.cancelRequested), record.revision,
    )


def fromRow(row: Row) -> RequestRecord:
    """The record a stored row describes (JSON decoded afresh: callers share nothing)."""
    (requestId, entityId, owner, action, attributes, state, notBefore, created, updated,
     progress, checkpoint, attempts, started, finished, message, claimedBy, leaseUntil,
     cancelRequested, revision) = row
    return RequestRecord(
        id=requestId, entityId=entityId, owner=owner, action=action,
        attributes=json.loads(attributes), state=RequestState(state),
        notBefore=float(notBefore), created=float(created), updated=float(updated),
        progress=json.loads(progress),
        checkpoint=None if checkpoint is None else json.loads(checkpoint),
        attempts=attempts, started=_time(started), finished=_time(finished), message=message,
        claimedBy=claimedBy, leaseUntil=_time(leaseUntil),
        cancelRequested=bool(cancelRequested), revision=revision,
    )


def _time(value: float | None) -> float | None:
    return None if value is None else float(value)


_J = TypeVar("_J")


def plain(value: _J) -> _J:
    """A private copy of a JSON value (``ValueError``/``TypeError`` if it is not JSON): what
    a caller hands in is copied before a transaction (or another thread) sees it."""
    return value if value is None else cast(_J, json.loads(canonical(value)))


# -- checks ------------------------------------------------------------------------------


def checkNew(record: RequestRecord) -> None:
    """A new request starts waiting, unclaimed; anything else is the caller's mistake."""
    if not record.state.isWaiting or record.claimedBy is not None or record.attempts:
        raise ValueError(f"The new request {record.id} must be waiting and unclaimed.")


def noEntity(entityId: str) -> NotFound:
    return NotFound(f"There is no entity with the id {entityId} to make a request of.")


def duplicate(requestId: str) -> Conflict:
    return Conflict(f"A request with the id {requestId} already exists.")


def found(requestId: str, record: RequestRecord | None) -> RequestRecord:
    if record is None:
        raise NotFound(f"There is no request with the id {requestId}.")
    return record


def _held(record: RequestRecord, node: str) -> None:
    """Only the node holding a running request may change its progress or end it."""
    if record.state is not RequestState.RUNNING or record.claimedBy != node:
        holder = (f"is held by {record.claimedBy}" if record.state is RequestState.RUNNING
                  else f"is {record.state.value}")
        raise Conflict(f"The request {record.id} {holder}, not by {node}.")


# -- transitions ---------------------------------------------------------------------------


def dueAt(record: RequestRecord) -> float | None:
    """When a node may claim the request: its ``notBefore`` while it waits, its lease's end
    while it runs (a node that stops renewing has crashed), never once it is over."""
    if record.state.isWaiting:
        return record.notBefore
    if record.state is RequestState.RUNNING:
        return record.leaseUntil
    return None


def isDue(record: RequestRecord, now: float) -> bool:
    due = dueAt(record)
    return due is not None and due <= now


def claimed(record: RequestRecord, node: str, now: float, leaseSeconds: float) -> RequestRecord:
    """``node`` starts running a due request, leased until ``now + leaseSeconds``."""
    message = record.message
    if record.state is RequestState.RUNNING:
        message = f"Resumed by {node}: {record.claimedBy} stopped renewing its lease."
    return replace(
        record, state=RequestState.RUNNING, claimedBy=node, leaseUntil=now + leaseSeconds,
        attempts=record.attempts + 1, started=now if record.started is None else record.started,
        message=message, updated=now, revision=record.revision + 1,
    )


def checkpointed(
    record: RequestRecord, node: str, *, now: float, leaseSeconds: float,
    progress: Mapping[str, Value] | None, checkpoint: Value | None,
) -> RequestRecord:
    """Save progress and checkpoint (``None``: unchanged) and renew the lease.

    A renewal alone changes nothing a client sees, so it keeps the revision."""
    _held(record, node)
    renewed = replace(record, leaseUntil=now + leaseSeconds)
    if progress is None and checkpoint is None:
        return renewed
    return replace(
        renewed,
        progress=record.progress if progress is None else dict(progress),
        checkpoint=record.checkpoint if checkpoint is None else checkpoint,
        updated=now, revision=record.revision + 1,
    )


def finished(
    record: RequestRecord, node: str, *, now: float, state: RequestState, message: str,
    progress: Mapping[str, Value] | None,
) -> RequestRecord:
    """The running request ends in ``state`` (succeeded, failed or cancelled)."""
    if not state.isFinal:
        raise ValueError(f"A request cannot finish as {state.value}; release it instead.")
    _held(record, node)
    return replace(
        record, state=state, message=message, finished=now, claimedBy=None, leaseUntil=None,
        progress=record.progress if progress is None else dict(progress),
        updated=now, revision=record.revision + 1,
    )


def released(
    record: RequestRecord, node: str, *, now: float, notBefore: float, message: str,
    countAttempt: bool,
) -> RequestRecord:
    """The running request waits again until ``notBefore``, its progress and checkpoint kept.

    A release that does not count (an orderly stop interrupted it) gives its attempt back.  A
    request whose cancellation was asked meanwhile is cancelled instead: nobody would run it.
    """
    _held(record, node)
    if record.cancelRequested:
        return finished(record, node, now=now, state=RequestState.CANCELLED,
                        message=_CANCELLED, progress=None)
    return replace(
        record,
        state=RequestState.QUEUED if notBefore <= now else RequestState.SCHEDULED,
        notBefore=notBefore, message=message, claimedBy=None, leaseUntil=None,
        attempts=record.attempts if countAttempt else max(0, record.attempts - 1),
        updated=now, revision=record.revision + 1,
    )


_CANCELLED = "Cancelled at the client's request."


def cancelled(record: RequestRecord, now: float) -> RequestRecord:
    """A waiting request is cancelled at once; a running one is asked to stop at its next
    checkpoint.  Cancelling again is harmless; a request that already ended otherwise is a
    Conflict.  Returns ``record`` itself when nothing changes."""
    if record.state.isWaiting:
        return replace(
            record, state=RequestState.CANCELLED, finished=now, message=_CANCELLED,
            updated=now, revision=record.revision + 1,
        )
    if record.state is RequestState.RUNNING:
        if record.cancelRequested:
            return record
        return replace(record, cancelRequested=True, updated=now, revision=record.revision + 1)
    if record.state is RequestState.CANCELLED:
        return record
    raise Conflict(f"The request {record.id} has {record.state.value} already; "
                   "it cannot be cancelled.")


def orphaned(record: RequestRecord, now: float) -> RequestRecord:
    """A request its node was running when that node died: waiting again, due at once.

    The interrupted run counts as an attempt, so work that kills its node gives up in the end.
    A request whose cancellation was asked is cancelled instead.
    """
    if record.cancelRequested:
        return replace(
            record, state=RequestState.CANCELLED, finished=now, message=_CANCELLED,
            claimedBy=None, leaseUntil=None, updated=now, revision=record.revision + 1,
        )
    return replace(
        record, state=RequestState.QUEUED, notBefore=min(record.notBefore, now),
        claimedBy=None, leaseUntil=None,
        message=f"Resumed after {record.claimedBy} restarted.", updated=now,
        revision=record.revision + 1,
    )
