"""Daily windows across DST changes, with the zone given explicitly or by ``TZ``; and windows
missed while the server was down, run once when it starts."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from occi_twisted.model.requests import RequestState, newRequest
from occi_twisted.scheduler import (
    lastWindow,
    localZone,
    nextWindow,
    parseTimeOfDay,
    windowDue,
)

from .support import STOP, Harness, result, succeedAt, tick

BERLIN = "Europe/Berlin"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
        second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


def test_plain_days() -> None:
    assert nextWindow(utc(2024, 6, 1, 12), "00:00", BERLIN) == utc(2024, 6, 1, 22)
    # Strictly after: at the window itself, the next one is tomorrow's.
    assert nextWindow(utc(2024, 6, 1, 22), "00:00", BERLIN) == utc(2024, 6, 2, 22)
    assert nextWindow(utc(2024, 6, 1, 12), "23:59:30", BERLIN) == utc(2024, 6, 1, 21, 59, 30)
    assert nextWindow(utc(2024, 1, 1, 11), "13:00", BERLIN) == utc(2024, 1, 1, 12)
    assert nextWindow(utc(2024, 1, 1, 11), time(13), ZoneInfo(BERLIN)) == utc(2024, 1, 1, 12)
    assert lastWindow(utc(2024, 6, 1, 12), "00:00", BERLIN) == utc(2024, 5, 31, 22)
    assert lastWindow(utc(2024, 6, 1, 22), "00:00", BERLIN) == utc(2024, 6, 1, 22)


def test_spring_forward_moves_to_the_jump() -> None:
    """Berlin, 2024-03-31: 02:00 CET is followed by 03:00 CEST (01:00 UTC); the local times in
    between do not exist, and a window there happens when the clocks jump."""
    saturday = utc(2024, 3, 30, 12)
    jump = utc(2024, 3, 31, 1)
    for gap in ["02:00", "02:30", "02:59:59"]:
        assert nextWindow(saturday, gap, BERLIN) == jump, gap
    assert nextWindow(saturday, "03:00", BERLIN) == jump
    assert nextWindow(saturday, "01:59:59", BERLIN) == jump - 1
    assert nextWindow(jump, "02:30", BERLIN) == utc(2024, 4, 1, 0, 30)  # CEST the day after
    assert lastWindow(jump + 60, "02:30", BERLIN) == jump
    # That night is 23 hours long.
    first = nextWindow(saturday, "00:00", BERLIN)
    assert first == utc(2024, 3, 30, 23)
    assert nextWindow(first, "00:00", BERLIN) - first == 23 * 3600


def test_fall_back_takes_the_first_occurrence() -> None:
    """Berlin, 2024-10-27: 03:00 CEST goes back to 02:00 CET; 02:30 happens at 00:30 UTC and
    again at 01:30 UTC.  The window is the first; within the repeated hour, the next window
    is tomorrow's, not the repeat."""
    saturday = utc(2024, 10, 26, 12)
    assert nextWindow(saturday, "02:30", BERLIN) == utc(2024, 10, 27, 0, 30)
    between = utc(2024, 10, 27, 0, 45)
    assert nextWindow(between, "02:30", BERLIN) == utc(2024, 10, 28, 1, 30)
    assert lastWindow(utc(2024, 10, 27, 1, 45), "02:30", BERLIN) == utc(2024, 10, 27, 0, 30)
    first = nextWindow(saturday, "00:00", BERLIN)
    assert nextWindow(first, "00:00", BERLIN) - first == 25 * 3600


def test_other_zones() -> None:
    # New York springs forward at 02:00 EST to 03:00 EDT (07:00 UTC).
    assert nextWindow(utc(2024, 3, 9, 12), "02:30", "America/New_York") == utc(2024, 3, 10, 7)
    # Lord Howe Island moves by half an hour: 02:00 becomes 02:30 (+11:00).
    assert nextWindow(utc(2024, 10, 5), "02:15", "Australia/Lord_Howe") == utc(
        2024, 10, 5, 15, 30)
    assert nextWindow(utc(2024, 6, 1, 12), "00:00", "UTC") == utc(2024, 6, 2)


def test_tz_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    saturday = utc(2024, 3, 30, 12)
    for setting in [BERLIN, ":" + BERLIN]:
        monkeypatch.setenv("TZ", setting)
        assert nextWindow(saturday, "02:30") == utc(2024, 3, 31, 1)
    zoneFile = Path("/usr/share/zoneinfo") / BERLIN
    if zoneFile.exists():
        monkeypatch.setenv("TZ", str(zoneFile))
        assert nextWindow(saturday, "02:30") == utc(2024, 3, 31, 1)
    monkeypatch.setenv("TZ", "")
    assert localZone() is UTC
    monkeypatch.setenv("TZ", "Nowhere/Special")
    with pytest.raises(ValueError, match="Nowhere/Special"):
        nextWindow(saturday, "02:30")
    with pytest.raises(ValueError, match="Atlantis"):
        nextWindow(saturday, "02:30", "Atlantis/Capital")


def test_parse_time_of_day() -> None:
    assert parseTimeOfDay("7:05") == time(7, 5)
    assert parseTimeOfDay("23:59:59") == time(23, 59, 59)
    for bad in ["24:00", "7", "12:60", "12:00:60", "noon", "12:00:00:00", ""]:
        with pytest.raises(ValueError, match="time of day"):
            parseTimeOfDay(bad)


@settings(max_examples=200, deadline=None)
@given(
    now=st.floats(min_value=utc(1990, 1, 1), max_value=utc(2060, 1, 1)),
    wanted=st.times().map(lambda t: t.replace(microsecond=0)),
    zone=st.sampled_from([BERLIN, "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]),
)
def test_next_window_is_the_first_occurrence_after_now(now: float, wanted: time, zone: str) -> None:
    """Always after ``now``, within about a day, at the wanted wall time -- or, when that time
    does not exist, at the moment the clocks jump past it."""
    tz = ZoneInfo(zone)
    when = nextWindow(now, wanted, tz)
    assert now < when <= now + 26 * 3600
    local = datetime.fromtimestamp(when, tz).replace(tzinfo=None)
    if local.time() != wanted:
        before = datetime.fromtimestamp(when - 1, tz).replace(tzinfo=None)
        wall = datetime.combine(local.date(), wanted)
        assert before < wall < local and local - before > timedelta(seconds=1)
    assert lastWindow(when, wanted, tz) == when


def test_missed_windows_run_once_at_start_up() -> None:
    """A backup set for midnight, Berlin time: the server is down for three midnights.  When
    it starts, the backup is simply due, and runs once; the next one waits for its window."""
    harness = Harness().start()
    now = harness.clock.seconds()
    window = nextWindow(now, "00:00", BERLIN)
    backup = newRequest("c1", STOP, owner="alice", now=now, notBefore=window)
    assert backup.state is RequestState.SCHEDULED
    result(harness.store.addRequest(backup))
    harness.clock.advance(3 * 86400)  # nobody runs: the server is down
    times: list[float] = []
    harness.scheduler({STOP: succeedAt(times, harness.clock)}).startService()
    assert times == [harness.clock.seconds()]
    done = harness.get(backup.id)
    assert done.state is RequestState.SUCCEEDED
    # The daily job's next request: the windows missed meanwhile count once, already run.
    due = windowDue(harness.clock.seconds(), "00:00", BERLIN, lastRun=done.finished)
    assert due == nextWindow(harness.clock.seconds(), "00:00", BERLIN)
    # Had it last run before the three windows, one (the latest) would be due, not three.
    missed = windowDue(harness.clock.seconds(), "00:00", BERLIN, lastRun=now)
    assert missed == lastWindow(harness.clock.seconds(), "00:00", BERLIN)
    assert missed <= harness.clock.seconds()
    assert windowDue(now, "00:00", BERLIN) == window  # never ran: the next window
    tomorrow = newRequest("c1", STOP, owner="alice", now=harness.clock.seconds(), notBefore=due)
    harness.schedulers[0].submit(tomorrow)
    harness.clock.advance(due - harness.clock.seconds() - 1)  # one timer: one jump will do
    assert len(times) == 1
    tick(harness.clock, 1)
    assert times[-1] == due
    harness.stopAll()
