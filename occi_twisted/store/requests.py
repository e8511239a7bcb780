"""Persistent requests: the walkthrough's asynchronous operations, as the store keeps them.

A request is work to do on an entity (an action and its attributes) that outlives the HTTP
exchange that asked for it and the process that runs it: it is written before the client hears
202, claimed by one node when due, checkpointed as it goes, and resumed from its last
checkpoint by whichever node claims it after a crash.  The store owns every transition, each
inside one transaction, so several nodes sharing a store agree on who runs what.

The types here are plain, frozen values, so a record can cross to a writer thread or be
handed to observers without copies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ..model import Value
from .ids import orderedId


class RequestState(StrEnum):
    """Where a request is in its life; the value is what clients read."""

    #: Waiting, due now (``notBefore`` had passed when it was queued).
    QUEUED = "queued"
    #: Waiting for ``notBefore``: a time window, or a retry's back-off.
    SCHEDULED = "scheduled"
    #: Claimed by the node ``claimedBy``, which holds a lease until ``leaseUntil``.
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def isWaiting(self) -> bool:
        """Whether a node may claim the request once it is due."""
        return self in (RequestState.QUEUED, RequestState.SCHEDULED)

    @property
    def isFinal(self) -> bool:
        """Whether the request is over: nothing changes it any more."""
        return self in (RequestState.SUCCEEDED, RequestState.FAILED, RequestState.CANCELLED)


@dataclass(frozen=True)
class RequestRecord:
    """One request, as stored.

    ``progress`` is JSON for clients: by convention ``percent`` (0-100), ``pass`` and
    ``passes`` (pass n of m), ``bytes`` and ``totalBytes``.  ``checkpoint`` is JSON for the
    runner alone: whatever it needs to resume (the store never looks inside; ``None`` means
    "from the start").  Times are epoch seconds.  ``revision`` changes with every change a
    client could see (the base of its ETag); renewing a lease is not one.
    """

    id: str
    entityId: str
    owner: str
    #: The action's category identifier (scheme + term).
    action: str
    attributes: Mapping[str, Value]
    state: RequestState
    notBefore: float
    created: float
    updated: float
    progress: Mapping[str, Value] = field(default_factory=dict)
    checkpoint: Value | None = None
    #: How many times a node started running it (claims), the one running now included.
    attempts: int = 0
    started: float | None = None
    finished: float | None = None
    message: str = ""
    claimedBy: str | None = None
    leaseUntil: float | None = None
    #: Set when a running request is cancelled: its runner stops at its next checkpoint.
    cancelRequested: bool = False
    revision: int = 1


def newRequest(
    entityId: str,
    action: str,
    *,
    owner: str,
    now: float,
    attributes: Mapping[str, Value] | None = None,
    notBefore: float | None = None,
    requestId: str | None = None,
) -> RequestRecord:
    """A request ready for :meth:`~.interface.IStore.addRequest`, with a random (type 4) id.

    Without ``notBefore`` it is due at once (``queued``); with a time still to come it is
    ``scheduled`` until then.
    """
    due = now if notBefore is None else notBefore
    return RequestRecord(
        id=requestId or orderedId(),
        entityId=entityId,
        owner=owner,
        action=action,
        attributes=dict(attributes or {}),
        state=RequestState.QUEUED if due <= now else RequestState.SCHEDULED,
        notBefore=due,
        created=now,
        updated=now,
    )


@dataclass(frozen=True)
class AddRequest:
    """A change that stores a new request, in the same transaction as a change set's entity
    changes: an action and the entity state it leaves behind commit together or not at all.

    The request's entity must exist (earlier changes of the set count), and its id must be
    new; else :class:`~occi_twisted.model.errors.NotFound` or
    :class:`~occi_twisted.model.errors.Conflict`.
    """

    record: RequestRecord


@dataclass(frozen=True)
class RequestPage:
    """One page of an entity's requests in creation order; ``cursor`` as for ``Page``."""

    requests: Sequence[RequestRecord]
    cursor: str | None
