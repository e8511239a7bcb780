"""RFC 7240 ``Prefer``: how long a client is willing to wait for an action.

``respond-async`` asks for 202 at once; ``wait=N`` for up to N seconds of waiting (N capped by
the server).  Unknown preferences are ignored, as the RFC asks; a malformed ``wait`` too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..model.numbers import wholeNumber

#: The longest wait a client may ask for: a connection held longer is a resource held.
MAX_WAIT = 60.0


@dataclass(frozen=True)
class Preferences:
    respondAsync: bool = False
    wait: float | None = None

    def budget(self, default: float) -> float:
        """Seconds to wait for the work before answering 202."""
        if self.respondAsync:
            return 0.0
        return default if self.wait is None else self.wait

    def applied(self) -> str | None:
        """The ``Preference-Applied`` value for what was honoured."""
        if self.respondAsync:
            return "respond-async"
        if self.wait is not None:
            return f"wait={self.wait:g}"
        return None


def preferences(headers: Sequence[str]) -> Preferences:
    """Read every ``Prefer`` header value."""
    respondAsync, wait = False, None
    for header in headers:
        for preference in header.split(","):
            token = preference.partition(";")[0]
            name, _, value = token.partition("=")
            name, value = name.strip().lower(), value.strip().strip('"')
            if name == "respond-async":
                respondAsync = True
            elif name == "wait":
                # delta-seconds: a longer one than the server waits is its longest wait.
                seconds = wholeNumber(value, int(MAX_WAIT), saturate=True)
                if seconds is not None:
                    wait = float(seconds)
    return Preferences(respondAsync, wait)
