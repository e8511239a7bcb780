"""Reading a note as a client writes it: text, JSON or a form; whatever the bytes, a title
and a text that every rendering can write, or a refusal that says why."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from occi_twisted.model.errors import BadRequest, UnsupportedMediaType
from occi_twisted.renderings.notes import INPUT_TYPES, readNote

JSON_BODIES = st.one_of(
    st.sampled_from([10, 900, 100_000]).map(lambda n: '{"text": ' + "[" * n + "]" * n + "}"),
    st.sampled_from(['{"text": "\\ud800"}', '{"title": "\\udfff", "text": ""}',
                     '{"text": 1e999}', '{"text": NaN}', '{"text": "a", "text": "b"}',
                     '{"text": ' + "9" * 5000 + "}", "[]", "null", '"x"', "{}"]),
    st.text().map(lambda s: '{"text": "' + s + '"}'),
).map(lambda s: s.encode("utf-8", "surrogatepass"))


@given(st.sampled_from(INPUT_TYPES), JSON_BODIES | st.binary(max_size=300))
@example("application/json", b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
def test_a_note_reads_as_text_every_rendering_can_write_or_is_refused(
        mediaType: str, body: bytes) -> None:
    try:
        title, text = readNote(body, mediaType)
    except BadRequest:
        return
    (title + text).encode("utf-8")  # no half surrogate pairs


@pytest.mark.parametrize(("body", "says"), [
    (b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    (b'{"text": "\\ud800"}', "surrogate"),
    (b'{"text": "a", "text": "b"}', "twice"),
    (b'{"text": NaN}', "NaN is not a JSON value"),
    (b'{"text": 2}', '{"title": "...", "text": "..."}'),
])
def test_a_json_note_is_refused_with_a_reason(body: bytes, says: str) -> None:
    with pytest.raises(BadRequest, match=None) as refused:
        readNote(body, "application/json")
    assert says in refused.value.message


def test_each_way_of_writing_a_note() -> None:
    assert readNote(b"Title: Hi\n\nBody", "text/plain") == ("Hi", "Body")
    assert readNote(b'{"title": "Hi", "text": "Body"}', " Application/JSON ") == ("Hi", "Body")
    assert readNote(b"title=Hi&text=Body", "application/x-www-form-urlencoded") == ("Hi", "Body")
    with pytest.raises(UnsupportedMediaType):
        readNote(b"<note/>", "application/xml")
