"""A form's body read as it arrives: only the file field's bytes reach the file, however the
body is cut into chunks, whatever the file holds; bodies that are no such form say why."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from occi_twisted.files.form import FORM_SLACK, FormSink, boundaryOf
from occi_twisted.files.sink import UploadSink

BOUNDARY = b"----WebKitFormBoundaryz8Qf3KnTSxR2m9Ph"


class Recorder(UploadSink):
    """Keeps what would be written to the file (nothing is: no thread, no file)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


class Probe(FormSink, Recorder):
    """A form sink whose file writes are recorded (FormSink's ``super().write`` is
    Recorder's)."""


def probe(boundary: bytes = BOUNDARY, field: str = "image") -> Probe:
    return Probe(Path("/nonexistent/upload"), cast(Any, None), cast(Any, None),
                 boundary=boundary, field=field, pause=lambda: None, resume=lambda: None)


def part(name: str, content: bytes, filename: str | None = None,
         boundary: bytes = BOUNDARY) -> bytes:
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    kind = b"Content-Type: application/octet-stream\r\n" if filename is not None else b""
    return (b"--" + boundary + b"\r\nContent-Disposition: " + disposition.encode() + b"\r\n"
            + kind + b"\r\n" + content + b"\r\n")


def form(*parts: bytes, boundary: bytes = BOUNDARY) -> bytes:
    return b"".join(parts) + b"--" + boundary + b"--\r\n"


def fed(sink: Probe, body: bytes, cuts: list[int]) -> bytes:
    """``body`` given to ``sink`` in the pieces ``cuts`` makes; what reached the file."""
    at = 0
    for cut in sorted(set(cuts)):
        sink.write(body[at:cut])
        at = cut
    sink.write(body[at:])
    return b"".join(sink.written)


def test_a_browsers_form_gives_the_file_fields_bytes() -> None:
    data = b"\x00\x01image bytes\r\n--not the boundary\r\n"
    body = form(part("note", b"hello"), part("image", data, "disk.img"), part("x", b"y"))
    sink = probe()
    assert fed(sink, body, []) == data
    assert sink.complaint() is None


# Bytes that look like parts of a boundary, to be mixed into file contents.
TRICKY = st.sampled_from([b"\r\n", b"--", b"\r\n--", b"\r\n--" + BOUNDARY[:-1], BOUNDARY,
                          b"--" + BOUNDARY, b"\r", b"\n", b"-"])


@given(content=st.lists(st.one_of(st.binary(max_size=40), TRICKY), max_size=12).map(b"".join),
       before=st.lists(st.binary(max_size=20), max_size=3),
       cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=30))
@example(content=b"\r\n--" + BOUNDARY[:-1], before=[], cuts=list(range(200)))
def test_any_file_in_any_chunks_arrives_whole(content: bytes, before: list[bytes],
                                             cuts: list[int]) -> None:
    assume(b"\r\n--" + BOUNDARY not in b"\r\n" + content)  # a browser picks one that is not
    fields = [part(f"f{i}", value.replace(b"\r\n--", b"")) for i, value in enumerate(before)]
    body = form(*fields, part("image", content, "x.img"), *fields)
    sink = probe()
    assert fed(sink, body, cuts) == content
    assert sink.complaint() is None


def test_only_the_first_file_of_the_field_is_written() -> None:
    body = form(part("image", b"first", "a"), part("image", b"second", "b"))
    sink = probe()
    assert fed(sink, body, [3, 50, 51]) == b"first"
    assert sink.complaint() is None


def test_a_preamble_and_white_space_after_a_boundary_are_allowed() -> None:
    body = b"ignored preamble\r\n" + form(part("image", b"data", "a")).replace(
        b"\r\nContent-Disposition", b"  \r\nContent-Disposition", 1)
    sink = probe()
    assert fed(sink, body, [10]) == b"data"
    assert sink.complaint() is None


@pytest.mark.parametrize(("body", "said"), [
    (form(part("note", b"no file here")), "no file in a field named 'image'"),
    (form(part("image", b"a field, not a file")), "no file in a field named 'image'"),
    (part("image", b"cut short", "a"), "ended before its last boundary"),
    (b"--" + BOUNDARY + b"\r\n" + b"X-Long: " + b"x" * 20_000, "bytes of headers"),
    (b"--" + BOUNDARY + b"garbage\r\n", "damaged boundary line"),
    (b"not a form at all", "no file in a field named 'image'"),
])
def test_what_is_no_form_with_a_file_says_why(body: bytes, said: str) -> None:
    sink = probe()
    fed(sink, body, [7])
    complaint = sink.complaint()
    assert complaint is not None and said in complaint


def test_nothing_more_is_written_once_the_body_is_damaged() -> None:
    sink = probe()
    sink.write(b"--" + BOUNDARY + b"\r\n" + b"X: " + b"x" * 20_000)
    sink.write(b"\r\n\r\nmore")
    assert sink.written == [] and sink.complaint() is not None


@pytest.mark.parametrize(("header", "boundary"), [
    ("multipart/form-data; boundary=----WebKitFormBoundaryAbC", b"----WebKitFormBoundaryAbC"),
    ('Multipart/Form-Data; boundary="a b:c"', b"a b:c"),
    ("multipart/form-data", None),
    ("multipart/form-data; boundary=" + "x" * 71, None),
    ('multipart/form-data; boundary="ends with space "', None),
    ("multipart/mixed; boundary=abc", None),
    ("application/x-www-form-urlencoded", None),
])
def test_the_boundary_is_read_from_the_content_type(header: str,
                                                    boundary: bytes | None) -> None:
    assert boundaryOf(header) == boundary


def test_a_form_adds_little_to_its_file() -> None:
    body = form(part("image", b"", "a name " * 200))
    assert len(body) < FORM_SLACK
