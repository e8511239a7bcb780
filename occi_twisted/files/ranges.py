"""What a ``Range`` header asks of a representation of known length (RFC 9110 §14), and how a
multipart/byteranges answer to it is laid out.

Pure functions, no Twisted: the parser decides between three answers -- the whole
representation (``None``: no usable header), nothing (``[]``: 416) or spans to send -- and
never raises, whatever the header holds.  The header line's length is bounded by the HTTP
channel, so the parsing work is too; what the answer costs is bounded here: overlapping or
nearly adjacent spans are coalesced (§14.6 allows it, whatever their order), so a client
cannot have the same bytes sent twice, and a set of more than :data:`MAX_PARTS` spans even
after coalescing is answered with the whole representation (§14.2 allows a server to ignore
such a set).  The whole is what a plain GET gets, so it costs a client nothing it could not
have asked for anyway, while a 416 would fail a legitimate client that asks for many pieces.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: A span of bytes to send: ``(start, end)``, end excluded.
Span = tuple[int, int]

#: The most parts a multipart/byteranges answer has (after coalescing); more: the whole.
MAX_PARTS = 32

#: Spans separated by fewer bytes than this are sent as one: the gap costs less than the
#: boundary and headers of another part (RFC 9110 §14.6).
GAP = 80

#: One range-spec: ``first-pos "-" [ last-pos ]`` or ``"-" suffix-length`` (ASCII digits).
_SPEC = re.compile(r"([0-9]*)-([0-9]*)", re.ASCII)

#: Numbers longer than this many digits are larger than any representation.
_DIGITS = 18


def parseRanges(header: str, length: int) -> list[Span] | None:
    """The spans ``header`` asks of a representation of ``length`` bytes.

    ``None``: serve the whole representation -- the header is not a byte range set (another
    unit, a syntax error, an invalid range such as ``5-3``: RFC 9110 §14.2 has those
    ignored), the representation is empty (no byte range fits it), or too many spans would
    be left after coalescing.  ``[]``: no range is satisfiable (416).  Otherwise the spans,
    each non-empty and within ``length``, in the order asked unless some were coalesced
    (then in ascending order)."""
    unit, equals, rangeSet = header.partition("=")
    if not equals or unit.strip(" \t").lower() != "bytes" or length <= 0:
        return None
    spans: list[Span] = []
    specs = 0
    for element in rangeSet.split(","):
        spec = element.strip(" \t")
        if not spec:  # empty list elements are allowed (RFC 9110 §5.6.1)
            continue
        specs += 1
        match = _SPEC.fullmatch(spec)
        if match is None:
            return None
        first, last = match.groups()
        if first:
            start = _number(first)
            if last and _number(last) < start:
                return None
            if start < length:
                spans.append((start, min(_number(last) + 1, length) if last else length))
        elif last:
            suffix = _number(last)
            if suffix > 0:
                spans.append((max(0, length - suffix), length))
        else:
            return None
    if not specs:
        return None
    if not spans:
        return []
    spans = coalesce(spans)
    return spans if len(spans) <= MAX_PARTS else None


def coalesce(spans: Sequence[Span]) -> list[Span]:
    """``spans`` with those that overlap or lie within :data:`GAP` of each other joined:
    in the order given if none were, else in ascending order."""
    joined: list[Span] = []
    for start, end in sorted(spans):
        if joined and start <= joined[-1][1] + GAP:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return list(spans) if len(joined) == len(spans) else joined


def contentRange(span: Span, length: int) -> str:
    """The ``Content-Range`` of ``span`` of ``length`` bytes."""
    return f"bytes {span[0]}-{span[1] - 1}/{length}"


def multipart(spans: Sequence[Span], length: int, contentType: str,
              boundary: str) -> tuple[list[tuple[bytes, Span]], bytes, int]:
    """A multipart/byteranges body for ``spans``: each part as the bytes that come before
    its span (delimiter and part headers), the closing delimiter, and the total length --
    known before a byte of the representation is read, for ``Content-Length``."""
    parts: list[tuple[bytes, Span]] = []
    total = 0
    for number, span in enumerate(spans):
        # The first delimiter needs no line break before it (RFC 2046 §5.1.1).
        head = (b"" if number == 0 else b"\r\n") + (
            f"--{boundary}\r\nContent-Type: {contentType}\r\n"
            f"Content-Range: {contentRange(span, length)}\r\n\r\n").encode("latin-1")
        parts.append((head, span))
        total += len(head) + span[1] - span[0]
    closing = f"\r\n--{boundary}--\r\n".encode("latin-1")
    return parts, closing, total + len(closing)


def _number(digits: str) -> int:
    """ASCII digits as a number; a number too long to be any length is capped (so that a
    header of 4,000 digits costs no big-number arithmetic)."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _DIGITS else 10 ** _DIGITS
