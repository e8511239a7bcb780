"""The classes of 500 the fuzz suite knows about and tolerates until they are fixed.

Each is a class of defect (the issue names one example of each), recognised by the failure
the server logged: its exception type and message.  While one is listed here the property
tests record it (``hypothesis.event``) instead of failing, and ``test_regressions.py`` keeps
a strict-xfail reproduction of it; the fix removes both, and from then on the property holds
for that class too.  Any other 500 fails the property at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from twisted.python.failure import Failure

from .world import Request


@dataclass(frozen=True)
class KnownDefect:
    name: str
    recognises: Callable[[BaseException], bool]
    reason: str
    #: The smallest request that shows it.
    example: Request

    def matches(self, failure: Failure) -> bool:
        return self.recognises(failure.value)


#: The 500s found and not fixed yet: none.
KNOWN: tuple[KnownDefect, ...] = ()


_JSON = (b"Content-Type", b"application/json")
_TEXT = (b"Accept", b"text/plain")
_BEYOND = b"9223372036854775808"
_DIGITS = b"9" * 5000

#: Classes of 500 that are fixed, by name: a reproduction of each and the status it gets
#: now.  The property tests try every one on every run, and test_regressions.py holds each
#: to its status.
FIXED: dict[str, tuple[Request, int]] = {
    # Deep nesting: every JSON reader bounds its depth.
    "deep nesting in a note": (Request(b"POST", b"/compute/c1/notes/", (_JSON,),
                                       b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
                               400),
    "half a surrogate pair in a note": (Request(b"PUT", b"/compute/c1/notes/n2", (_JSON,),
                                                b'{"text": "\\ud800"}'), 400),
    # Digits that are not ASCII: str.isdigit takes them, int() and float() do not.
    "a superscript wait": (Request(b"GET", b"/compute/c1/requests/{request}",
                                   ((b"Prefer", b"wait=\xb2"),)), 200),
    # Thousands of digits: past Python's int() limit.
    "a version of thousands of digits": (Request(b"GET", b"/", (
        (b"User-Agent", b"OCCI/" + _DIGITS + b".2"),)), 200),
    "a cursor of thousands of digits": (Request(
        b"GET", b"/compute/?format=atom&after=" + _DIGITS), 400),
    "a note cursor of thousands of digits": (Request(b"GET", b"/compute/c1/notes/?after=" +
                                                     _DIGITS, (_TEXT,)), 400),
    "a request cursor of thousands of digits": (Request(
        b"GET", b"/compute/c1/requests/?after=" + _DIGITS, (_TEXT,)), 400),
    # Beyond 64 bits: what SQLite cannot hold, and what C's integers cannot.
    "a feed cursor beyond 64 bits": (Request(b"GET", b"/log/?before=" + _BEYOND), 400),
    "a page beyond 64 bits": (Request(b"GET", b"/compute/?page=" + _BEYOND, (_TEXT,)), 400),
    "a feed date beyond C's integers": (Request(b"GET", b"/log/", (_TEXT, (
        b"If-Modified-Since", b"Sun, 06 Nov " + _BEYOND + b" 08:49:37 GMT"))), 200),
    "an entity's date beyond C's integers": (Request(b"GET", b"/compute/c1", (_TEXT, (
        b"If-Modified-Since", b"Sun, 06 Nov " + _BEYOND + b" 08:49:37 GMT"))), 200),
}

#: Refusals that logged a traceback: each is a clear 4xx with nothing in the log now.
QUIET: dict[str, tuple[Request, int]] = {
    # Klein decodes the unescaped path as UTF-8 and logs its failure.
    "a path not UTF-8 once unescaped": (Request(b"GET", b"/compute/%ED%A0%80"), 400),
    "a path escaping bytes of no character": (Request(b"DELETE", b"/%FF/x"), 400),
}


def knownDefectOf(failures: list[Failure]) -> KnownDefect | None:
    """The known defect behind a 500, or ``None`` if it is a new one (or nothing logged)."""
    for failure in failures:
        for defect in KNOWN:
            if defect.matches(failure):
                return defect
    return None


#: 5xx answers the server gives on purpose: 501 (an OCCI version or method it does not
#: implement, OCCI.md) and 503 with Retry-After (the store or the listener is saturated).
DELIBERATE = frozenset({501, 503})


def reproduction(name: str) -> Request:
    """The example request of the known or fixed defect called ``name``."""
    if name in FIXED:
        return FIXED[name][0]
    return next(defect.example for defect in KNOWN if defect.name == name)
