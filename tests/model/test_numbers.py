"""Whole numbers from clients and operators: ASCII digits, bounded before conversion."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from occi_twisted.model.numbers import INT64_MAX, wholeNumber

#: What str.isdigit or int() take and a number here is not.
NOT_NUMBERS = ["", " 1", "1 ", "+1", "-1", "1_000", "0x10", "1e3", "1.0", "\u00b2", "\u00b9",
               "\u0661\u0662", "\uff11", "\U0001d7cf", "\u00bd", "one"]


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_only_ascii_digits_are_a_number(text: str) -> None:
    assert wholeNumber(text) is None


def test_the_bound_is_read_before_the_digits_are_converted() -> None:
    assert wholeNumber(str(INT64_MAX)) == INT64_MAX
    assert wholeNumber(str(INT64_MAX + 1)) is None
    assert wholeNumber("9" * 5000) is None  # past int()'s 4300 digits: no ValueError
    assert wholeNumber("0" * 5000 + "7") == 7
    assert wholeNumber("0" * 5000) == 0
    assert wholeNumber("65536", 65535) is None


def test_saturating_reads_a_larger_number_as_the_largest() -> None:
    assert wholeNumber("9" * 5000, 60, saturate=True) == 60
    assert wholeNumber("61", 60, saturate=True) == 60
    assert wholeNumber("59", 60, saturate=True) == 59
    assert wholeNumber("\u00b2", 60, saturate=True) is None


@given(st.text() | st.integers(min_value=0).map(str), st.integers(0, 2**70), st.booleans())
@example("9" * 5000, INT64_MAX, False)
def test_a_number_is_in_range_or_none(text: str, largest: int, saturate: bool) -> None:
    value = wholeNumber(text, largest, saturate=saturate)
    digits = text.isascii() and text.isdigit()
    if not digits:
        assert value is None
    elif value is None:
        assert not saturate and len(text.lstrip("0")) >= len(str(largest))
    else:
        assert 0 <= value <= largest
        if len(text.lstrip("0")) <= len(str(largest)) and int(text) <= largest:
            assert value == int(text)
