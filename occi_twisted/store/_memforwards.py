"""The memory store's forwards (:class:`~.interface.IForwardStore`), in a dictionary."""

from __future__ import annotations

from dataclasses import replace

from twisted.internet.defer import Deferred

from ..model.forwards import Forward
from . import _forwardrules, _rules
from ._memlog import MemoryState


class ForwardsInMemory(MemoryState):
    """Forwards by location, each with the sequence number that orders a listing."""

    def __init__(self) -> None:
        super().__init__()
        self._forwards: dict[str, tuple[int, Forward]] = {}

    def forward(self, location: str) -> Deferred[Forward | None]:
        return self._run(lambda: self._forwards.get(location, (0, None))[1])

    def forwards(self, owner: str | None, after: str | None, limit: int
                 ) -> Deferred[tuple[list[Forward], str | None]]:
        def page() -> tuple[list[Forward], str | None]:
            _rules.checkLimit(limit)
            start = _rules.cursorAfter(after)
            rows = sorted((seq, forward) for seq, forward in self._forwards.values()
                          if seq > start and owner in (None, forward.owner))
            return _forwardrules.paged(rows, limit)

        return self._run(page)

    def forgetForward(self, location: str) -> Deferred[Forward]:
        def forget() -> Forward:
            seq, forward = self._forwards.get(location, (0, None))
            if forward is None:
                raise _forwardrules.noForward(location)
            forgotten = self._forwards[location] = (seq, replace(forward, url=None))
            return forgotten[1]

        return self._run(forget)

    def _keepForwards(self, forwards: list[Forward]) -> None:
        for forward in forwards:
            self._forwards[forward.location] = (self._nextSeq(), forward)

    def _forwarded(self, entityId: str) -> bool:
        return any(forward.entityId == entityId for _, forward in self._forwards.values())
