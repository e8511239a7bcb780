"""Preconditions on a change (RFC 9110 §13), and last-writer-wins for a change without one.

A change reads what it changes and writes expecting the revision it read, so that the store
refuses it if another writer came in between.  That refusal is no answer for the client: a
PUT, POST or DELETE without ``If-Match`` means "whatever is there", so the change is made
again on what is there now -- the last writer wins.  A precondition is checked anew on each
attempt, against the state that attempt read: ``If-Match`` with an ETag another writer has
made stale fails then (412), as it would have had the client come a moment later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from twisted.web.iweb import IRequest

from ..model import Entity
from ..model.errors import AlreadyExists, Conflict, NotFound, PreconditionFailed
from ..store.interface import Change, IStore
from . import parts
from .answering import checkIfMatch, isCurrent

T = TypeVar("T")

#: How often a change is made again on a newer state before the client is told to retry:
#: a change beaten by another writer that often is beaten by a crowd.
ATTEMPTS = 64


class Raced(Exception):
    """What a change read was changed by another writer before the change was written."""


def check(request: IRequest, existing: Entity | None, location: str) -> None:
    """412 unless the request's preconditions hold for ``existing`` (``None``: nothing is
    at ``location``): ``If-Match`` needs the entity at one of its ETags (or, with ``*``, at
    all); ``If-None-Match`` needs it at none of them (or, with ``*``, absent)."""
    if existing is None:
        if parts.header(request, b"if-match") is not None:
            raise PreconditionFailed(f"Nothing exists at {location} yet.")
        return
    checkIfMatch(request, existing)
    unwanted = parts.header(request, b"if-none-match")
    if unwanted is None:
        return
    tags = [tag.strip().removeprefix("W/") for tag in unwanted.split(",")]
    if "*" in tags:
        raise PreconditionFailed(f"{location} exists already, and If-None-Match: * asks "
                                 "for it not to.")
    named = [tag for tag in tags if isCurrent(existing, tag)]
    if named:
        raise PreconditionFailed(f"{location} is still at {named[0]}, which "
                                 "If-None-Match names.")


async def lastWriterWins(location: str, attempt: Callable[[], Awaitable[T]]) -> T:
    """``attempt`` -- read, check the preconditions, change, write expecting what was read
    -- made again for as long as another writer beats it (:class:`Raced`)."""
    for _ in range(ATTEMPTS):
        try:
            return await attempt()
        except Raced:
            continue
    raise Conflict(f"{location} was changed {ATTEMPTS} times by others while this change "
                   "was being made; send it again.")


async def applyUnlessBeaten(store: IStore, changes: list[Change],
                            creating: str | None = None) -> None:
    """Apply ``changes``, each made on an entity as it was read: :class:`Raced` if the store
    refuses them because another writer changed one of those entities first (it is at
    another revision, or gone), or made the entity ``creating`` meanwhile.  Any other
    refusal is the change's own."""
    try:
        await store.apply(changes)
    except (AlreadyExists, NotFound, PreconditionFailed) as refused:
        if isinstance(refused, AlreadyExists) and refused.entityId != creating:
            raise
        raise Raced() from None
