"""What one client may cost the listener: body size, time to send a request head, idle time,
connections per address, and the file descriptors kept back for the server itself.

These are settings (``twistd occi --max-body ...``, or the same names in the TOML file); the
listener (:mod:`.listener`) and its channel (:mod:`.channel`) enforce them.  This module
imports nothing from Twisted Web so that ``twistd occi --help`` stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ..model.numbers import wholeNumber

MiB = 1024 * 1024
#: The largest request body, unless ``--max-body`` says otherwise.
DEFAULT_MAX_BODY = MiB

#: ``[name, None, None, help]`` rows for :class:`twisted.python.usage.Options`.
LIMIT_OPTIONS: list[list[Any]] = [
    ["max-body", None, None, "Largest request body accepted, in bytes (K, M, G suffixes "
                             "allowed); larger ones are refused with 413 before they are "
                             "read [default: 1M]"],
    ["header-timeout", None, None, "Seconds a client has to send a complete request head "
                                   "[default: 10]"],
    ["idle-timeout", None, None, "Seconds a connection may stay silent [default: 60]"],
    ["connections-per-address", None, None, "Connections one client address may hold open; "
                                            "0 for no cap [default: 2048]"],
    ["fd-headroom", None, None, "File descriptors kept back for the server below its limit "
                                "(RLIMIT_NOFILE); near it, new connections displace the "
                                "oldest ones still waiting to send a request [default: a "
                                "tenth of the limit, at least 64]"],
]
#: The same settings' names in the TOML file.
LIMIT_SETTINGS = frozenset(row[0] for row in LIMIT_OPTIONS)

_SIZE = re.compile(r"([0-9]{1,15})\s*([KMG]?)(?:i?B)?", re.IGNORECASE)
T = TypeVar("T")
_UNITS = {"": 1, "k": 1024, "m": MiB, "g": 1024 * MiB}


@dataclass(frozen=True, kw_only=True)
class Limits:
    """The listener's limits (OCCI.md, "Limits").

    The defaults let a thousand long polls share one address (a reverse proxy, or a test
    client) while a slow client still cannot hold a socket for more than ``headerTimeout``
    seconds before it has asked for anything."""

    maxBody: int = DEFAULT_MAX_BODY
    headerTimeout: float = 10.0
    idleTimeout: float = 60.0
    #: 0: no cap.
    connectionsPerAddress: int = 2048
    #: ``None``: a tenth of the descriptor limit, at least 64.
    fdHeadroom: int | None = None

    def headroomBelow(self, descriptors: int) -> int:
        """The descriptors kept back for the store, images and logs when the process may
        open ``descriptors`` in all."""
        if self.fdHeadroom is not None:
            return self.fdHeadroom
        return max(64, descriptors // 10)

    @classmethod
    def resolve(cls, options: Mapping[str, Any], fromFile: Mapping[str, Any]) -> Limits:
        """The limits from the command line over the configuration file; a value that
        cannot be used raises :class:`ValueError` with the line to show the operator."""
        defaults = cls()

        def setting(name: str, parse: Callable[[str, object], T], default: T) -> T:
            value = options.get(name)
            if value is None:
                value = fromFile.get(name)
            return default if value is None else parse(f"--{name}", value)

        return cls(
            maxBody=setting("max-body", _size, defaults.maxBody),
            headerTimeout=setting("header-timeout", _seconds, defaults.headerTimeout),
            idleTimeout=setting("idle-timeout", _seconds, defaults.idleTimeout),
            connectionsPerAddress=setting("connections-per-address", _count,
                                          defaults.connectionsPerAddress),
            fdHeadroom=setting("fd-headroom", _count, defaults.fdHeadroom),
        )


def _size(name: str, value: object) -> int:
    match = _SIZE.fullmatch(str(value).strip())
    if match is None or isinstance(value, bool | float):
        raise ValueError(f"{name} must be a number of bytes such as 1048576 or 1M, not "
                         f"{str(value)[:40]!r}")
    size = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if size < 1:
        raise ValueError(f"{name} must be at least one byte")
    return size


def _seconds(name: str, value: object) -> float:
    try:
        seconds = -1.0 if isinstance(value, bool) else float(str(value))
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 86400:
        raise ValueError(f"{name} must be a number of seconds above 0 and at most 86400, "
                         f"not {str(value)[:40]!r}")
    return seconds


def _count(name: str, value: object) -> int:
    text = str(value).strip()
    count = None if isinstance(value, bool) else wholeNumber(text, 999_999_999)
    if count is None:
        raise ValueError(f"{name} must be a whole number, not {text[:40]!r}")
    return count
