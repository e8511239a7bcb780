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


def _nonASCIIDigits(error: BaseException) -> bool:
    # int('²') and float('²') name the literal they refused.
    literal = str(error).rpartition(": ")[2]
    return isinstance(error, ValueError) and any(
        c.isdigit() and not c.isascii() for c in literal)


KNOWN = (
    KnownDefect(
        "deep nesting", lambda error: isinstance(error, RecursionError),
        "A deeply nested body (JSON in notes) exhausts the recursion limit: a parser "
        "needs a depth limit (issue 11, 'RecursionError').",
        Request(b"POST", b"/compute/c1/notes/", ((b"Content-Type", b"application/json"),),
                b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")),
    KnownDefect(
        "non-ASCII digits", _nonASCIIDigits,
        "str.isdigit accepts superscripts and other scripts' digits that int() and float() "
        "refuse ('Prefer: wait=\u00b2'): check digits as ASCII (issue 11).",
        # Latin-1, as the server reads headers.
        Request(b"GET", b"/compute/c1/requests/{request}", ((b"Prefer", b"wait=\xb2"),))),
    KnownDefect(
        "huge integer literal",
        lambda error: isinstance(error, ValueError) and "digits) for integer" in str(error),
        "A number of thousands of digits (an OCCI version in User-Agent) passes Python's "
        "int() limit: bound the length before converting (issue 11).",
        Request(b"GET", b"/", ((b"User-Agent", b"OCCI/" + b"9" * 5000 + b".2"),))),
    KnownDefect(
        "beyond 64 bits", lambda error: isinstance(error, OverflowError),
        "A number beyond 64 bits (a paging cursor, ?before=9223372036854775808) reaches "
        "the store, which cannot hold it: bound it where it is read (issue 11).",
        Request(b"GET", b"/log/?before=9223372036854775808")),
)


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
    """The example request of the known defect called ``name``."""
    return next(defect.example for defect in KNOWN if defect.name == name)
