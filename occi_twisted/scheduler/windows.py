"""Daily windows: the next time a local wall-clock time comes round, DST and all.

Operators say "back up at 00:00" in their own time (``--backup-at``, ``TZ`` honoured), but the
store and the scheduler count in epoch seconds.  Turning the one into the other is where the
traps are: the clocks skip an hour in spring (02:30 does not exist that night) and repeat one
in autumn (02:30 happens twice).  The rules here: a time that does not exist moves to the first
instant after the gap (when the clocks jump); a time that happens twice is taken the first time.

A window that passed while the server was down is not lost: :func:`windowDue` gives it as due
now, once, however many were missed -- as buildbot's nightly schedulers do.
"""

from __future__ import annotations

import math
import os
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_TIME_OF_DAY = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")


def parseTimeOfDay(text: str) -> time:
    """``HH:MM`` or ``HH:MM:SS`` (24-hour clock), or a ``ValueError`` that says what is wrong."""
    match = _TIME_OF_DAY.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a time of day: write HH:MM or HH:MM:SS.")
    hours, minutes, seconds = (int(part) if part else 0 for part in match.groups())
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(f"{text!r} is not a time of day: hours go to 23, minutes and "
                         "seconds to 59.")
    return time(hours, minutes, seconds)


def localZone() -> tzinfo:
    """The server's time zone: ``TZ`` (a zone name, or a path to a zone file) if set, else
    ``/etc/localtime``, else UTC.

    Unlike ``datetime.now().astimezone()``, which gives today's fixed offset, this knows the
    zone's DST rules.  A ``TZ`` that names no zone is a ``ValueError``, not a silent UTC: a
    backup an hour off is worse than a server that says why it will not start.
    """
    name = os.environ.get("TZ")
    if name is not None:
        name = name.removeprefix(":")
        if not name:
            return UTC
        try:
            if name.startswith("/"):
                with open(name, "rb") as data:
                    return ZoneInfo.from_file(data, key=name)
            return ZoneInfo(name)
        except (OSError, ValueError, ZoneInfoNotFoundError):
            raise ValueError(f"TZ={name!r} names no time zone this server knows; use a name "
                             "such as Europe/Berlin.") from None
    try:
        with open("/etc/localtime", "rb") as data:
            return ZoneInfo.from_file(data, key="localtime")
    except (OSError, ValueError):
        return UTC


def _zone(tz: tzinfo | str | None) -> tzinfo:
    if tz is None:
        return localZone()
    if isinstance(tz, str):
        try:
            return ZoneInfo(tz)
        except (ValueError, ZoneInfoNotFoundError):
            raise ValueError(f"{tz!r} names no time zone this server knows.") from None
    return tz


def _timeOfDay(at: str | time) -> time:
    return parseTimeOfDay(at) if isinstance(at, str) else at


def occurrence(day: date, at: time, zone: tzinfo) -> float:
    """When the wall-clock time ``at`` happens on ``day`` in ``zone``, in epoch seconds."""
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=zone, fold=0)  # fold=0: the first of two occurrences
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
        return first.timestamp()
    # In a gap.  Read with the offsets before and after it, the wall time gives two instants
    # that bracket the jump; the jump is the first instant whose wall time is not before ours.
    lo, hi = sorted((first.timestamp(), wall.replace(tzinfo=zone, fold=1).timestamp()))
    low, high = math.floor(lo), math.ceil(hi)
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return float(high)


def nextWindow(now: float, at: str | time, tz: tzinfo | str | None = None) -> float:
    """The first occurrence of the local time ``at`` (``"HH:MM[:SS]"``) strictly after ``now``.

    ``tz`` is a zone, a zone name, or ``None`` for :func:`localZone`.
    """
    zone, wanted = _zone(tz), _timeOfDay(at)
    today = datetime.fromtimestamp(now, zone).date()
    for days in range(3):
        when = occurrence(today + timedelta(days=days), wanted, zone)
        if when > now:
            return when
    raise AssertionError("a day always comes round")  # pragma: no cover


def lastWindow(now: float, at: str | time, tz: tzinfo | str | None = None) -> float:
    """The latest occurrence of the local time ``at`` at or before ``now``."""
    zone, wanted = _zone(tz), _timeOfDay(at)
    today = datetime.fromtimestamp(now, zone).date()
    for days in range(3):
        when = occurrence(today - timedelta(days=days), wanted, zone)
        if when <= now:
            return when
    raise AssertionError("a day always comes round")  # pragma: no cover


def windowDue(
    now: float, at: str | time, tz: tzinfo | str | None = None, lastRun: float | None = None
) -> float:
    """When a daily job at ``at`` should run next, as a request's ``notBefore``.

    If a window passed since ``lastRun`` (the server was down, or busy), the answer is that
    window -- in the past, so the request is due at once, and only once however many windows
    were missed.  Otherwise, and for a job that never ran, it is the next window.
    """
    if lastRun is not None:
        missed = lastWindow(now, at, tz)
        if lastRun < missed:
            return missed
    return nextWindow(now, at, tz)
