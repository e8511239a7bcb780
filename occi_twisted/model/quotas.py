"""Quotas: what one owner's things add up to, and the sentence that refuses going beyond.

The store adds up an owner's usage inside the transaction of a change set that carries a
:class:`WithinQuota` (after the set's other changes), so two concurrent creates cannot both
slip under a limit: the second one's transaction sees the first one's entity.

A storage being resized counts at the larger of its size and the size its unfinished resize
asks for: the request is stored in the transaction that checks the quota, the new size only
when the request ends, so two concurrent resizes cannot both slip under either.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from .errors import QuotaExceeded
from .infrastructure import RESIZE

_MEASURES = (
    # (limit, attribute summed, unit)
    ("cores", "occi.compute.cores", ""),
    ("memory", "occi.compute.memory", " GiB"),
    ("storage", "occi.storage.size", " GiB"),
)


class Limits(Protocol):
    """A user's limits (``identity.Quota`` is one), each ``None`` when unlimited."""

    @property
    def cores(self) -> int | None: ...
    @property
    def memory(self) -> float | None: ...
    @property
    def storage(self) -> float | None: ...
    @property
    def entities(self) -> int | None: ...
    @property
    def requests(self) -> int | None: ...


@dataclass(frozen=True)
class WithinQuota:
    """A change that changes nothing: it refuses its change set (QuotaExceeded) when
    ``owner``'s things, with the set's other changes, go beyond ``limits``."""

    owner: str
    limits: Limits


def checkWithin(limits: Limits, documents: Iterable[str], running: int,
                resizing: Mapping[str, float] | None = None) -> None:
    """Refuse when the owner's entities (their stored documents) or their ``running``
    requests go beyond ``limits``; ``resizing``: the size each storage's unfinished resize
    asks for, by the storage's id.  The sentence names the first limit passed."""
    resizing = resizing or {}
    totals = dict.fromkeys(("cores", "memory", "storage"), 0.0)
    count = 0
    for text in documents:
        count += 1
        attributes = json.loads(text).get("attributes", {})
        for name, attribute, _ in _MEASURES:
            value = attributes.get(attribute)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if name == "storage":
                    value = max(value, resizing.get(attributes.get("occi.core.id"), 0.0))
                totals[name] += value
    for name, _, unit in _MEASURES:
        _refuseBeyond(name, totals[name], getattr(limits, name), unit)
    _refuseBeyond("entities", count, limits.entities, "")
    _refuseBeyond("requests", running, limits.requests, " running")


def resizeTo(action: str, attributes: Mapping[str, object]) -> float | None:
    """The size an unfinished request asks its storage to take, if it is a resize."""
    size = attributes.get("size")
    if action != RESIZE.identifier or not isinstance(size, (int, float)) \
            or isinstance(size, bool):
        return None
    return float(size)


def _refuseBeyond(name: str, used: float, limit: float | None, unit: str) -> None:
    if limit is not None and used > limit:
        raise QuotaExceeded(f"quota exceeded: {name} {used:g} of {limit:g}{unit}.")
