"""Properties of what the HTTP room reads from a request's headers and query: whatever a
client writes, a number, a date or a cursor is read within its range or refused with a 4xx
(never an exception that would be a 500)."""

from __future__ import annotations

import math

from hypothesis import example, given
from hypothesis import strategies as st
from twisted.web.test.requesthelper import DummyRequest

from occi_twisted.http import parts
from occi_twisted.http.prefer import MAX_WAIT, preferences
from occi_twisted.model.errors import BadRequest, NotImplementedByServer, TooLarge
from occi_twisted.model.numbers import INT64_MAX
from occi_twisted.model.requestview import parseTimestamp
from occi_twisted.store._rules import cursorAfter

#: Numbers as attackers spell them (tests/fuzz/space.py has the same idea for whole requests).
NUMBERS = st.sampled_from([
    "", "0", "1", "-1", "+1", " 1", "1_000", "0x10", "1e3", ".5", "NaN", "9223372036854775807",
    "9223372036854775808", "9" * 4301, "1" + "0" * 5000, "\u00b2", "\u0661\u0662", "\uff11",
]) | st.integers().map(str) | st.text(max_size=20)
#: Header values as the server reads them: Latin-1 text.
LATIN1 = st.text(st.characters(max_codepoint=255, blacklist_characters="\r\n"), max_size=60)


def request(headers: dict[bytes, str] | None = None,
            args: dict[bytes, str] | None = None) -> DummyRequest:
    made = DummyRequest([b""])
    for name, value in (headers or {}).items():
        made.requestHeaders.setRawHeaders(name, [value.encode("latin-1", "replace")])
    made.args = {name: [value.encode("utf-8", "surrogatepass")]
                 for name, value in (args or {}).items()}
    return made


@given(st.lists(NUMBERS.map("wait={}".format) | LATIN1, max_size=3))
@example(["wait=\u00b2"])
@example(["wait=" + "9" * 5000])
def test_a_wait_is_within_the_servers_longest(values: list[str]) -> None:
    wait = preferences(values).wait
    assert wait is None or 0 <= wait <= MAX_WAIT


def test_a_wait_longer_than_the_longest_is_the_longest() -> None:
    assert preferences(["wait=" + "9" * 5000]).wait == MAX_WAIT
    assert preferences(["wait=5"]).wait == 5
    assert preferences(["wait=\u00b2", "wait=\u0661"]).wait is None


@given(NUMBERS, NUMBERS)
@example("9" * 5000, "2")
@example("1", "9" * 5000)
def test_an_occi_version_is_compared_or_ignored(major: str, minor: str) -> None:
    try:
        parts.checkVersion(request({b"user-agent": f"client OCCI/{major}.{minor}"}))
    except NotImplementedByServer as refused:
        assert "OCCI/1.2" in refused.message


#: Dates with a number in each place (RFC 5322's, which parsedate reads, and HTTP's).
DATES = st.tuples(NUMBERS, NUMBERS, NUMBERS, NUMBERS, NUMBERS, NUMBERS, NUMBERS | LATIN1).map(
    lambda t: "Sun, {} Nov {} {}:{}:{} {}".format(*t[1:])) | st.tuples(NUMBERS, NUMBERS).map(
    lambda t: f"Sun, 06 Nov {t[0]} 08:49:37 {t[1]}")


@given(LATIN1 | DATES | st.sampled_from([
    "Sun, 06 Nov 9223372036854775808 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 +99999999999",
    "Sun, 06 Nov 99999 08:49:37 GMT", "Sun, 06 Nov 1994 99999999999:49:37 GMT"]))
def test_if_modified_since_is_a_time_or_ignored(value: str) -> None:
    since = parts.modifiedSince(request({b"if-modified-since": value}))
    assert since is None or math.isfinite(since)


@given(st.dictionaries(st.sampled_from([b"page", b"number"]), NUMBERS))
def test_a_page_is_in_range_or_refused(args: dict[bytes, str]) -> None:
    try:
        page, size = parts.paging(request(args=args))
    except (BadRequest, TooLarge):
        return
    assert (page is None and size == 0) or (page is not None and 1 <= page <= INT64_MAX
                                            and 1 <= size <= parts.MAX_PAGE)


@given(st.dictionaries(st.sampled_from([b"before", b"number"]), NUMBERS))
@example({b"before": "9223372036854775808"})
def test_a_feed_cursor_is_one_the_store_can_hold_or_refused(args: dict[bytes, str]) -> None:
    try:
        before, number = parts.feedPaging(request(args=args), 50, 1000)
    except (BadRequest, TooLarge):
        return
    assert before is None or 1 <= before <= INT64_MAX
    assert 1 <= number <= 1000


@given(NUMBERS)
def test_a_page_cursor_is_one_the_store_can_hold_or_refused(after: str) -> None:
    try:
        seq = cursorAfter(after)
    except BadRequest:
        return
    assert 0 <= seq <= INT64_MAX and seq == int(after)


@given(NUMBERS | st.text(max_size=40) | st.sampled_from([
    "2023-11-14T23:00:00Z", "\u0662\u0660\u0662\u0663-11-14T23:00:00Z", "1e999", "nan"]))
def test_a_time_is_epoch_seconds_in_range_or_refused(text: str) -> None:
    try:
        seconds = parseTimestamp(text)
    except ValueError:
        return
    assert text.strip().isascii() and 0 <= seconds <= 253402300799.0
