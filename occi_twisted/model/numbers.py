"""Whole numbers as clients and operators write them (a page, a cursor, a wait, a port): one
reading for every room, so that none trips on what Python's own functions let through.

``str.isdigit`` takes superscripts (``²``) that ``int()`` then refuses, and ``int()`` takes
other scripts' digits (``٣``) and thousands of digits (raising past 4300, slowly before
that); SQLite holds 64 bits, and a larger number sent on to it raises ``OverflowError``.
Here a number is ASCII digits, and its size is bounded before it is converted.
"""

from __future__ import annotations

#: The largest integer SQLite (and a signed 64-bit column) holds.
INT64_MAX = 2**63 - 1


def wholeNumber(text: str, largest: int = INT64_MAX, *, saturate: bool = False) -> int | None:
    """``text`` as a whole number -- ASCII digits only, nothing around them -- or ``None``.

    A number above ``largest`` is ``None`` too, unless ``saturate``: then it counts as
    ``largest`` (as RFC 9111 §1.2.2 reads a delta-seconds too large to represent)."""
    if not text or not text.isascii() or not text.isdigit():
        return None
    significant = text.lstrip("0")
    if len(significant) > len(str(largest)):
        return largest if saturate else None
    value = int(significant or "0")
    if value > largest:
        return largest if saturate else None
    return value
