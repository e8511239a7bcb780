"""Reading the store's event log as it grows: what every follower of the store in this room
(the request watch, the realizer) does the same way.

Told of a change (the store's notification, :meth:`~occi_twisted.store.interface.IEventLog.
addEventListener`), a reader reads the events after its cursor, a batch at a time, and hands
each batch on; one read runs at a time, and a notification during it makes it read again
when it ends, so nothing is missed and nothing read twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from ..model.events import Event
from ..store.interface import IEventLog

_log = Logger()


@dataclass(eq=False)
class EventReader:
    """Follows ``log`` from :attr:`cursor`, handing each batch of events to ``heard``;
    ``who`` names the follower in the log when a read fails."""

    log: IEventLog
    heard: Callable[[Sequence[Event]], Awaitable[None]]
    who: str
    batch: int = 500
    #: The ``seq`` of the last event read; ``None`` while not following.
    cursor: int | None = field(default=None, init=False)
    #: Whether a change was told of that has not been read yet.
    pending: bool = field(default=False, init=False)
    _reading: bool = field(default=False, init=False)

    async def position(self) -> None:
        """Start from the newest event: what came before is never read."""
        self.cursor = await self.log.newestSeq()

    def stop(self) -> None:
        self.cursor = None
        self.pending = False

    def changed(self) -> None:
        """The store's notification: read what came since (once positioned)."""
        self.pending = True
        if self.cursor is None or self._reading:
            return
        self._reading = True
        caughtUp = Deferred.fromCoroutine(self._catchUp())
        caughtUp.addErrback(lambda failure: _log.failure(
            "{who} could not read the store's events", failure, who=self.who))

    async def _catchUp(self) -> None:
        try:
            while self.pending and self.cursor is not None:
                self.pending = False
                while self.cursor is not None:
                    events = await self.log.eventsAfter(self.cursor, self.batch)
                    if not events or self.cursor is None:
                        break
                    self.cursor = events[-1].seq
                    await self.heard(events)
                    if len(events) < self.batch:
                        break
        finally:
            self._reading = False
