"""Failed logins passed from node to node (``NOTIFY occi_logins``), so that the login
throttle of each node counts the guesses every node saw (see
:class:`~occi_twisted.store.interface.ISharedLogins`).

A notification is not kept: one that a node misses (its listening connection was being opened
again) is one guess less counted there, as a throttle that restarts forgets them all.  Each
node tells its own failures and hears its own notifications too; its own are recognised by an
origin drawn at start and ignored, having been counted already.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from uuid import uuid4

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

_log = Logger()

#: The channel failed logins are told on.
LOGINS = "occi_logins"


class FailedLogins:
    """Tells failed logins through ``notify`` (which sends a payload on :data:`LOGINS`) and
    passes on those other nodes tell (:meth:`received`, a payload heard on it)."""

    def __init__(self, notify: Callable[[str], Deferred[object]]) -> None:
        self._notify = notify
        self._origin = uuid4().hex
        self._followers: list[Callable[[str, float], None]] = []

    def tell(self, key: str, at: float) -> None:
        told = self._notify(json.dumps([self._origin, key, at]))
        told.addErrback(self._untold, key)

    def follow(self, heard: Callable[[str, float], None]) -> None:
        self._followers.append(heard)

    def received(self, payload: str) -> None:
        told = _parsed(payload)
        if told is None:
            _log.warn("A notification on {channel} that is not a failed login: {payload!r}",
                      channel=LOGINS, payload=payload)
            return
        origin, key, at = told
        if origin == self._origin:
            return
        for heard in self._followers:
            heard(key, at)

    def _untold(self, failure: Failure, key: str) -> None:
        _log.warn("The other nodes could not be told of a failed login from {key}: "
                  "{problem}", key=key, problem=failure.getErrorMessage())


def _parsed(payload: str) -> tuple[str, str, float] | None:
    """A payload's origin, address and time, or None if it is not one :meth:`tell` sends."""
    try:
        told = json.loads(payload)
    except ValueError:
        return None
    match told:
        case [str(origin), str(key), int(at) | float(at)] if not isinstance(at, bool):
            return origin, key, float(at)
    return None
