"""The rules of forwards that every backend shares (see :class:`~.interface.IForwardStore`)."""

from __future__ import annotations

from collections.abc import Sequence

from ..model.errors import Conflict, NotFound
from ..model.forwards import Forward


def paged(rows: Sequence[tuple[int, Forward]], limit: int
          ) -> tuple[list[Forward], str | None]:
    """A page of forwards from rows in order (one more than ``limit`` if there are more),
    and the next page's cursor."""
    shown = list(rows[:limit])
    cursor = str(shown[-1][0]) if len(rows) > limit else None
    return [forward for _, forward in shown], cursor


def noForward(location: str) -> NotFound:
    return NotFound(f"Nothing migrated from {location[:200]}.")


def idForwarded(entityId: str) -> Conflict:
    """A new entity would take the id of one that migrated from here."""
    return Conflict(f"The id {entityId} belongs to an entity that migrated from here; it "
                    "cannot be taken again.")
