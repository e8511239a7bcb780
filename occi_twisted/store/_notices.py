"""Telling this process that the store changed: the one notification path of every backend.

Long polls of a request, the XMPP publisher and whatever follows the store later all listen
here, and read what changed from the event log (:meth:`~.interface.IEventLog.eventsAfter`);
nothing else in the process tells them of changes.  A backend calls :meth:`Notices.changed`
once a commit that appended events is durable.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

_log = Logger()

Listener = Callable[[], None]


class Notices:
    """The listeners of one store.

    With a ``clock``, listeners are told once per reactor turn however many commits the turn
    saw (a group commit is many); without one, at once -- the memory store's way, which keeps
    tests that drive a :class:`~twisted.internet.task.Clock` synchronous.
    """

    def __init__(self, clock: IReactorTime | None = None) -> None:
        self._clock = clock
        self._listeners: list[Listener] = []
        self._pending = False

    def add(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def changed(self) -> None:
        """Events were appended and are durable: tell the listeners (soon)."""
        if not self._listeners or self._pending:
            return
        if self._clock is None:
            self._tell()
            return
        self._pending = True
        self._clock.callLater(0, self._tell)

    def _tell(self) -> None:
        self._pending = False
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                _log.failure("A store listener failed")


class Notifying:
    """The listener registration of :class:`~.interface.IEventLog`, for a backend that keeps
    its :class:`Notices` in ``_notices``."""

    _notices: Notices

    def addEventListener(self, listener: Listener) -> None:
        self._notices.add(listener)

    def removeEventListener(self, listener: Listener) -> None:
        self._notices.remove(listener)
