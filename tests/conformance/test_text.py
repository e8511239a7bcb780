"""Every text/plain body and every text/occi header the server renders, against GFD.229's
ABNF (``data/gfd229.abnf``), and the strings in them read back as RFC 7230 says."""

from __future__ import annotations

import json
import re

import pytest
import pytest_twisted

from tests.http.support import INFRA, Answer, Client

from .corpus import BY_NAME, CHECKS, EXCHANGES, OCCI, PLAIN, TITLE, Exchange, Shape, corpus
from .validators import abnfError, unquoted

#: The OCCI header fields of the header rendering, each with its rules.
FIELDS = {"category": ("Category",), "link": ("Link", "ActionLink"),
          "x-occi-attribute": ("Attribute",), "x-occi-location": ("Location-header",)}


def _textShape(exchange: Exchange) -> Shape:
    return exchange.textShape or exchange.shape


def _firstError(rules: tuple[str, ...], text: bytes) -> str | None:
    errors = [abnfError(rule, text) for rule in rules]
    return None if None in errors else errors[0]


@pytest.mark.parametrize("name", [e.name for e in EXCHANGES])
def test_text_plain_body(name: str) -> None:
    """The body is one of section 4's renderings, its lines ending in CRLF."""
    answer = corpus().answer(name, PLAIN)
    assert 200 <= answer.code < 300, (answer.code, answer.text)
    assert (answer.header("content-type") or "").startswith(PLAIN)
    assert _firstError(CHECKS[_textShape(BY_NAME[name])].renderings, answer.body) is None


@pytest.mark.parametrize("name", [e.name for e in EXCHANGES])
def test_text_occi_headers(name: str) -> None:
    """Each OCCI header field matches its rule, only the rendering's fields are there (a
    resource has its Category), and the body is ``OK``."""
    answer = corpus().answer(name, OCCI)
    assert 200 <= answer.code < 300, (answer.code, answer.text)
    assert answer.body == b"OK"
    shape = _textShape(BY_NAME[name])
    present = {field for field in FIELDS if field in answer.headers}
    assert present <= CHECKS[shape].fields
    if shape in (Shape.RESOURCE, Shape.LINK):
        assert "category" in present
    # The client decoded the header octets as UTF-8; encoding gives them back.
    errors = [_firstError(FIELDS[field], f"{field}: {value}".encode())
              for field in present for value in answer.headers[field]]
    assert [error for error in errors if error] == []


_TITLE = re.compile(r'occi\.core\.title=("(?:[^"\\]|\\.)*")')


def _titles(answer: Answer, media: str) -> list[str]:
    """Every occi.core.title in a text rendering, read as RFC 7230 says."""
    if media == PLAIN:
        text = answer.body.decode("utf-8")
    else:
        # Header values reach the client as octets; UTF-8 in them is obs-text.
        text = "\n".join(answer.headers.get("x-occi-attribute", []))
    return [unquoted(match.group(1)) for match in _TITLE.finditer(text)]


async def _titled(title: str, media: str) -> Answer | None:
    """A compute titled ``title`` (sent as JSON, which can carry any string) as ``media``;
    None if the server refused the title."""
    client = Client()
    made = await client.request(
        "POST", "/compute/", json.dumps({"kind": f"{INFRA}compute", "id": "titled",
                                         "title": title}),
        Content_Type="application/occi+json", Accept=PLAIN)
    if made.code == 400:
        return None
    assert made.code == 201, made.text
    return await client.request("GET", "/compute/titled", Accept=media)


@pytest.mark.parametrize("media", [PLAIN, OCCI])
def test_strings_read_back(media: str) -> None:
    """The corpus's title, beyond ASCII and Latin-1, reads back from the text rendering
    with RFC 7230's quoted-string rules (quoted-pair is the only escape)."""
    assert _titles(corpus().answer("compute", media), media) == [TITLE]


@pytest.mark.parametrize("media", [PLAIN, OCCI])
@pytest_twisted.ensureDeferred
async def test_quotes_and_backslashes_read_back(media: str) -> None:
    title = 'say "hi" to C:\\temp\\'
    answer = await _titled(title, media)
    assert answer is not None and _titles(answer, media) == [title]


@pytest.mark.parametrize("media", [PLAIN, OCCI])
@pytest_twisted.ensureDeferred
async def test_control_characters_read_back_or_are_refused(media: str) -> None:
    """A quoted-string cannot hold a newline: a value with one is either refused, or
    rendered so that it reads back."""
    title = "two\nlines"
    answer = await _titled(title, media)
    assert answer is None or _titles(answer, media) == [title]
