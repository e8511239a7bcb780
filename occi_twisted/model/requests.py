"""The request kind: how a request (the walkthrough's asynchronous operation) looks to clients.

A request is a resource of its own, at ``{entity}/requests/{id}`` under the entity it acts on,
so it renders like any entity -- in every rendering, with no rendering knowing about requests.
It is not a kind collection: the server writes requests, clients only read and cancel them,
which is why the kind has no location of its own (no collection creates one).  The kind is in
the query interface all the same, as every kind the server renders is (GFD.221 section 3).

Beside the kind, the record the store keeps.  A request is work to do on an entity (an action
and its attributes) that outlives the HTTP exchange that asked for it and the process that runs
it: it is written before the client hears 202, claimed by one node when due, checkpointed as it
goes, and resumed from its last checkpoint by whichever node claims it after a crash.  The
store owns every transition, each inside one transaction, so several nodes sharing a store
agree on who runs what.

The types here are plain, frozen values, so a record can cross to a writer thread or be
handed to observers without copies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from .attributes import AttributeDefinition as Attr
from .attributes import AttributeType as T
from .attributes import Value
from .categories import Kind
from .core import ENTITY
from .entity import Entity
from .ids import orderedId

REQUESTS = "http://schemas.occi-twisted.org/occi/request#"
PREFIX = "occi-twisted.request"

REQUEST = Kind(
    REQUESTS,
    "request",
    title="An action running, or waiting to run, on an entity",
    parent=ENTITY,
    attributes=(
        Attr(f"{PREFIX}.action", T.STRING, mutable=False, required=True,
             description="The action's category identifier"),
        Attr(f"{PREFIX}.target", T.URI, mutable=False, required=True,
             description="The location of the entity the action acts on"),
        Attr(f"{PREFIX}.parameters", T.HASH, mutable=False,
             description="The action's attributes"),
        Attr(f"{PREFIX}.state", T.ENUM, mutable=False, required=True,
             enum=("queued", "scheduled", "running", "succeeded", "failed", "cancelled"),
             description="Where the request is in its life"),
        Attr(f"{PREFIX}.message", T.STRING, mutable=False,
             description="What happened last, in one sentence"),
        Attr(f"{PREFIX}.progress", T.HASH, mutable=False,
             description="percent; pass and passes; bytes and totalBytes"),
        Attr(f"{PREFIX}.percent", T.FLOAT, mutable=False, minimum=0, maximum=100,
             description="How much is done"),
        Attr(f"{PREFIX}.not_before", T.STRING, mutable=False,
             description="When it may start (RFC 3339)"),
        Attr(f"{PREFIX}.created", T.STRING, mutable=False, description="RFC 3339"),
        Attr(f"{PREFIX}.started", T.STRING, mutable=False, description="RFC 3339"),
        Attr(f"{PREFIX}.finished", T.STRING, mutable=False, description="RFC 3339"),
        Attr(f"{PREFIX}.attempts", T.INTEGER, mutable=False, minimum=0,
             description="How many times a node started it"),
        Attr(f"{PREFIX}.node", T.STRING, mutable=False,
             description="The node (--node) running it, while it runs"),
    ),
)


@dataclass(frozen=True)
class SubResource(Entity):
    """An entity that lives under another one's location (``{entity}/requests/{id}``) rather
    than in a kind collection."""

    path: str = ""

    @property
    def location(self) -> str:
        return self.path

class RequestState(StrEnum):
    """Where a request is in its life; the value is what clients read."""

    #: Waiting, due now (``notBefore`` had passed when it was queued).
    QUEUED = "queued"
    #: Waiting for ``notBefore``: a time window, or a retry's back-off.
    SCHEDULED = "scheduled"
    #: Claimed by the node ``claimedBy``, which holds a lease until ``leaseUntil``.
    RUNNING = "running"
    #: Done, its effect recorded with its end.
    SUCCEEDED = "succeeded"
    #: Given up: refused by the driver, or still failing after its retries.
    FAILED = "failed"
    #: Stopped at its client's request, before it began or at a checkpoint.
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
        id=requestId or orderedId(now),
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
