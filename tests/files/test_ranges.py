"""The Range header as the server reads it (RFC 9110 §14): whatever a client writes, the parser
answers "the whole", "nothing satisfiable" or spans within the representation, and never
raises; a multipart/byteranges layout is as long as it says and reads back with Python's own
MIME parser."""

from __future__ import annotations

import email.parser
import email.policy

from hypothesis import example, given
from hypothesis import strategies as st

from occi_twisted.files.ranges import GAP, MAX_PARTS, coalesce, multipart, parseRanges

#: Header values as the server reads them: Latin-1 text.
LATIN1 = st.text(st.characters(max_codepoint=255, blacklist_characters="\r\n"), max_size=80)
NUMBER = st.integers(min_value=0, max_value=200) | st.integers(min_value=0, max_value=10**30)
#: Well-formed range-specs: int-ranges (some invalid: last < first), open and suffix ranges.
SPEC = st.one_of(
    st.tuples(NUMBER, NUMBER).map(lambda r: f"{r[0]}-{r[1]}"),
    NUMBER.map("{}-".format),
    NUMBER.map("-{}".format),
)
SPECS = st.lists(SPEC, min_size=1, max_size=40)


@given(LATIN1, st.integers(min_value=0, max_value=2**64))
@example("bytes=" + "9" * 5000 + "-", 10)
@example("bytes=-" + "1" * 5000, 10)
@example("bytes=\u0661-\u0662", 10)
@example("bytes=,,,", 10)
def test_any_header_is_read_without_raising(header: str, length: int) -> None:
    spans = parseRanges(header, length)
    if spans is not None:
        assert len(spans) <= MAX_PARTS
        for start, end in spans:
            assert 0 <= start < end <= length


@given(SPECS, st.integers(min_value=0, max_value=300))
def test_well_formed_sets_cover_exactly_what_was_asked(specs: list[str], length: int) -> None:
    """Within the coalescing gaps, the bytes sent are those the satisfiable ranges name."""
    spans = parseRanges("bytes=" + ", ".join(specs), length)
    asked: set[int] = set()
    invalid = False
    for spec in specs:
        first, last = spec.split("-")
        if first and last and int(last) < int(first):
            invalid = True
        elif first:
            asked.update(range(int(first), min(int(last) + 1 if last else length, length)))
        else:
            asked.update(range(max(0, length - int(last)), length))
    if invalid or length == 0:
        assert spans is None
        return
    if spans is None:  # too many parts even after coalescing: the whole
        assert len(coalesce([(b, b + 1) for b in sorted(asked)])) > MAX_PARTS
        return
    if not asked:
        assert spans == []
        return
    sent = [b for start, end in spans for b in range(start, end)]
    assert len(sent) == len(set(sent)), "no byte is sent twice"
    assert asked <= set(sent)
    extra = set(sent) - asked
    assert all(any(0 < abs(b - a) <= GAP for a in asked) for b in extra)


def test_the_forms_of_ranges() -> None:
    assert parseRanges("bytes=0-0", 100) == [(0, 1)]
    assert parseRanges("bytes=10-", 100) == [(10, 100)]
    assert parseRanges("bytes=-10", 100) == [(90, 100)]
    assert parseRanges("bytes=-1000", 100) == [(0, 100)]
    assert parseRanges("bytes=50-1000", 100) == [(50, 100)]
    assert parseRanges("Bytes = 1-2 ,, 3-4", 1000) == [(1, 5)]  # within GAP: coalesced


def test_unsatisfiable_and_ignored_headers() -> None:
    assert parseRanges("bytes=100-", 100) == []
    assert parseRanges("bytes=-0", 100) == []
    assert parseRanges("bytes=100-200, 300-", 100) == []
    for ignored in ("bytes=5-3", "bytes=-", "bytes=a-b", "lines=1-2", "bytes 1-2", "bytes=",
                    "bytes=1-2;3-4", "bytes=+1-2", "bytes=1 -2"):
        assert parseRanges(ignored, 100) is None, ignored
    assert parseRanges("bytes=-5", 0) is None  # nothing to take a range of: the whole (empty)


def test_order_is_kept_unless_ranges_are_coalesced() -> None:
    assert parseRanges("bytes=500-599,0-99", 1000) == [(500, 600), (0, 100)]
    assert parseRanges("bytes=500-599,0-99,550-", 1000) == [(0, 100), (500, 1000)]
    many = ",".join(f"{n * 1000}-{n * 1000}" for n in range(MAX_PARTS + 1))
    assert parseRanges("bytes=" + many, 10**6) is None
    overlapping = ",".join(["0-"] * 1000)
    assert parseRanges("bytes=" + overlapping, 10**6) == [(0, 10**6)]


@given(st.lists(st.tuples(st.integers(0, 999), st.integers(1, 500)), min_size=2, max_size=8))
def test_multipart_layout_has_the_length_it_says(pieces: list[tuple[int, int]]) -> None:
    length = 1000
    content = bytes(range(256)) * 4
    spans = [(start, min(length, start + size)) for start, size in pieces]
    parts, closing, total = multipart(spans, length, "application/octet-stream", "XyZ")
    body = b"".join(head + content[start:end] for head, (start, end) in parts) + closing
    assert len(body) == total
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: multipart/byteranges; boundary=XyZ\r\n\r\n" + body)
    read = [(part["Content-Range"], part.get_payload(decode=True))
            for part in message.iter_parts()]
    assert read == [(f"bytes {start}-{end - 1}/{length}", content[start:end])
                    for start, end in spans]
