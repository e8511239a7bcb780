"""Turning away an address that keeps guessing passwords, without slowing anyone else."""

from __future__ import annotations

import bisect
import ipaddress
import math
from collections import OrderedDict

from twisted.internet.interfaces import IReactorTime

from ..store.interface import ISharedLogins
from .addresses import normalAddress


class LoginThrottle:
    """A sliding window of failed logins per client address: after ``failures`` of them
    within ``window`` seconds, the address is refused until the oldest of those leaves the
    window (:meth:`retryAfter` says in how many seconds, for ``Retry-After``).

    Each address keeps at most ``failures`` timestamps, and at most ``addresses`` addresses
    are kept (the one that failed longest ago is forgotten first), so a flood from many
    addresses costs bounded memory.  IPv6 addresses count per /64, the block one host
    usually holds, so that stepping through it does not reset the count.  A successful
    login does not reset it either: one account of one's own must not buy unlimited
    guesses at the others.

    Where several nodes share the store, each failure is told to the others
    (:meth:`share`), and counted by each as its own.
    """

    def __init__(self, clock: IReactorTime, *, failures: int = 10, window: float = 60.0,
                 addresses: int = 10_000) -> None:
        self._clock = clock
        self._failures = failures
        self._window = window
        self._addresses = addresses
        #: Each address's latest failures, oldest first.
        self._failed: OrderedDict[str, list[float]] = OrderedDict()
        self._shared: ISharedLogins | None = None

    def __len__(self) -> int:
        return len(self._failed)

    def retryAfter(self, address: str) -> int | None:
        """Whole seconds until ``address`` may try again, or None when it may now."""
        times = self._failed.get(_keyOf(address))
        if times is None or len(times) < self._failures:
            return None
        wait = times[0] + self._window - self._clock.seconds()
        return math.ceil(wait) if wait > 0 else None

    def share(self, shared: ISharedLogins) -> None:
        """Count the failures the other nodes sharing the store tell of, and tell them
        this node's."""
        self._shared = shared
        shared.followFailedLogins(self._count)

    def failed(self, address: str) -> None:
        """Count one failed login from ``address``."""
        key, now = _keyOf(address), self._clock.seconds()
        self._count(key, now)
        if self._shared is not None:
            self._shared.tellFailedLogin(key, now)

    def _count(self, key: str, at: float) -> None:
        times = self._failed.get(key)
        if times is None:
            times = self._failed[key] = []
        # In order even when another node's failure arrives after a later one of ours.
        bisect.insort(times, at)
        del times[:-self._failures]
        self._failed.move_to_end(key)
        while len(self._failed) > self._addresses:
            self._failed.popitem(last=False)


def _keyOf(address: str) -> str:
    normal = normalAddress(address)
    if normal is None or ":" not in normal:
        return normal or address
    return str(ipaddress.IPv6Network(f"{normal.split('%')[0]}/64", strict=False))
