"""How HTML pages are written: fragments flattened once and filled later say exactly what the
flattener says, and nothing a value holds becomes markup or breaks the page as XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.web.template import Flattenable, flattenString, slot, tags

from occi_twisted.renderings.html.markup import (
    NOT_XML,
    Markup,
    Memo,
    around,
    compiled,
    escaped,
    flattened,
)


def flattenedByTwisted(root: Flattenable) -> bytes:
    written: list[bytes] = []
    flattenString(None, root).addCallback(written.append)
    return written[0]


def canonical(body: bytes) -> str:
    return ET.canonicalize(body.decode("utf-8"))


def sample() -> Flattenable:
    return tags.div(
        tags.a("go to ", slot("where"), href=[slot("where"), "?format=text"], title=slot("title")),
        tags.input(type="text", name="x", value=slot("title")),
        tags.p(slot("title")),
        slot("more"),
        id="sample")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_a_filled_fragment_is_what_the_flattener_writes(where: str, title: str) -> None:
    fragment = compiled(sample(), "where", "title", "more")
    filled = fragment(where=where, title=title, more=flattened(tags.b("more")))
    # The flattener writes what XML allows; the fragment replaces what it does not.
    clean = {name: NOT_XML.sub("\ufffd", value) for name, value in
             (("where", where), ("title", title))}
    expected = flattenedByTwisted(tags.transparent(sample()).fillSlots(
        **clean, more=tags.b("more")))
    assert canonical(filled) == canonical(expected)
    shown = "".join(ET.fromstring(filled).findall("p")[0].itertext())
    assert shown == clean["title"].replace("\r\n", "\n").replace("\r", "\n")


def test_holes_take_markup_as_it_is_and_text_escaped() -> None:
    fragment = compiled(tags.p(slot("a"), slot("b")), "a", "b")
    assert fragment(a="<b>", b=Markup(b"<b>x</b>")) == b"<p>&lt;b&gt;<b>x</b></p>"
    assert escaped('"<&>\x00') == b"&quot;&lt;&amp;&gt;\xef\xbf\xbd"


def test_around_a_hole_is_the_start_and_end_of_a_page() -> None:
    start, end = around(tags.html(tags.body(slot("main"))), "main")
    assert (start, end) == (b"<html><body>", b"</body></html>")


def test_what_xml_cannot_carry_is_replaced_wherever_it_is() -> None:
    # A half surrogate pair cannot even be encoded: the flattener would fail on it.
    body = flattened(tags.p("a\ud800\x1bb\ufffe", title="\udfff\x00"))
    assert body == '<p title="\ufffd\ufffd">a\ufffd\ufffdb\ufffd</p>'.encode()
    ET.fromstring(body)


def test_a_memo_keeps_what_it_built_for_the_same_objects() -> None:
    memo: Memo[list[int]] = Memo(size=2)
    first, second, third = object(), object(), object()
    built = memo.get((first,), lambda: [1])
    assert memo.get((first,), lambda: [2]) is built
    memo.get((second,), lambda: [3])
    memo.get((third,), lambda: [4])  # full: emptied, then this one kept
    assert memo.get((first,), lambda: [5]) == [5]
