"""What the renderings spell alike, written once.

* Names and values quoted in error messages (:func:`show`, :func:`short`), and the sentence
  that names where a problem is (:func:`fail`); a body read as text (:func:`bodyText`).
* Words typed by their spelling (:func:`numberValue`, :func:`bareValue`): ``2`` an integer,
  ``2.0`` or ``1e3`` a float, ``true`` a boolean, anything else the string it spells.
* JSON read strictly (:func:`strictDecoder`, :func:`unfit`, :func:`jsonValue`) and written on
  one line (:func:`jsonText`, :func:`jsonQuoted`), for the JSON rendering and for the list and
  hash values of the text-like ones.
* URIs as URIs (:func:`uriText`) and strings as XML can hold them (:func:`xmlChars`), escaped
  as character data (:func:`xmlText`) or as a quoted attribute (:func:`xmlAttribute`).
* What depends only on an entity's kind and mixins, kept per set of categories
  (:class:`ByCategories`): rendering is on the hot path of every GET.
"""

from __future__ import annotations

import json as stdjson
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Generic, NoReturn, TypeVar
from urllib.parse import quote

from ..model import Category, Entity
from ..model.errors import BadRequest
from .limits import MAX_DEPTH, MAX_DIGITS, MAX_FLOAT, MAX_NAME

# -- spellings ------------------------------------------------------------------------------
#
# Every quantifier that may meet a long input is possessive, so that no input can make the
# matcher backtrack.

#: A category's term.
TERM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,255}")
#: An attribute's name.
ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,254}")
#: A URI as the text renderings take it: no blanks, quotes, angle brackets or controls.
URI = re.compile(rf'[^\s"<>\\\x00-\x1f\x7f]{{1,{MAX_NAME}}}')
# ASCII digits only: \d would take any script's digits, and int() would read them.
INTEGER = re.compile(r"[+-]?[0-9]+")
FLOAT = re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: An unquoted value: no quote, backslash or control character.
BARE = re.compile(r'[^"\\\x00-\x1f\x7f]+')
#: A double-quoted string with backslash escapes (a pattern to build others with).
QUOTED_STRING = r'"(?:[^"\\]++|\\.)*+"'
LINE_BREAK = re.compile(r"\r\n|\r|\n")
#: Half a UTF-16 surrogate pair, which JSON escapes can spell and no encoding can write.
SURROGATE = re.compile("[\ud800-\udfff]")
#: Characters XML 1.0 cannot hold, whatever the escaping (its ``Char`` production).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: What RFC 3986 lets a URI hold (with ``%`` for escapes already made).
_URI_SAFE = "!#$%&'()*+,/:;=?@[]~"
_NOT_URI = re.compile(r"[^A-Za-z0-9\-._~!#$%&'()*+,/:;=?@\[\]]")
# A carriage return, and in attributes tabs and line feeds too, are escaped: a parser would
# otherwise normalise them to other characters.
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE_ESCAPES = str.maketrans({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
    "\t": "&#9;", "\n": "&#10;", "\r": "&#13;",
})


# -- messages -------------------------------------------------------------------------------


def show(text: str) -> str:
    """``text`` quoted as Python writes it (controls visible), cut to about 60 characters."""
    shown = repr(text)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def short(text: str, width: int = 60) -> str:
    """A name or URI to quote in a message, cut to ``width`` so that messages stay short."""
    return text if len(text) <= width else text[:width - 3] + "..."


def fail(problem: str, where: str) -> NoReturn:
    """Refuse the request with ``problem``, saying ``where`` it is (a line, a header)."""
    raise BadRequest(f"{problem} ({where}).")


def bodyText(body: bytes, what: str) -> str:
    """A body as text: UTF-8 (the one encoding every rendering here is read in), without
    the byte order mark some editors put first; ``what`` names the body in the refusal."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(f"{what} is not valid UTF-8.") from None
    return text.removeprefix("\ufeff")


# -- words typed by their spelling ----------------------------------------------------------


def numberValue(raw: str, name: str, where: str) -> int | float | None:
    """``raw`` as a number if it is spelt as one (``2``, ``-2.5``, ``1e3``), else ``None``."""
    if INTEGER.fullmatch(raw):
        if len(raw) > MAX_DIGITS:
            fail(f"The attribute {name} has a number of more than {MAX_DIGITS} digits", where)
        return int(raw)
    if FLOAT.fullmatch(raw):
        if len(raw) > MAX_FLOAT:
            fail(f"The attribute {name} has a number longer than {MAX_FLOAT} characters", where)
        number = float(raw)
        if not math.isfinite(number):
            fail(f"The attribute {name} has a number too large for a float", where)
        return number
    return None


def bareValue(raw: str, name: str, where: str) -> object:
    """An unquoted, non-empty value: a boolean, a number, or else the string it spells
    (``x86``, ``My VM``) if nothing in it needs quoting."""
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    number = numberValue(raw, name, where)
    if number is not None:
        return number
    if not BARE.fullmatch(raw):
        fail(f"The value of the attribute {name} has a stray quote, backslash or control "
             f"character; quote it as a string: {show(raw)}", where)
    return raw


# -- JSON -----------------------------------------------------------------------------------


class Refused(Exception):
    """Raised inside a strict decoder's hooks, with the sentence its :class:`Refusals` give."""


@dataclass(frozen=True)
class Refusals:
    """What a strict decoder says of what it refuses, each the reader's own way.

    ``duplicate`` and ``large`` are given the member or number as :func:`show` writes it,
    ``constant`` the constant as written (``NaN``); ``digits`` takes nothing.
    """

    duplicate: str
    digits: str
    large: str
    constant: str


def strictDecoder(refusals: Refusals, *, strict: bool = True) -> stdjson.JSONDecoder:
    """A JSON decoder that raises :class:`Refused` for what RFC 8259 leaves undefined or a
    value cannot be: a member twice in one object, an integer of more than
    :data:`MAX_DIGITS` digits, a number too large for a float, ``NaN`` and the infinities.
    ``strict=False`` lets strings hold control characters."""

    def pairs(found: list[tuple[str, object]]) -> dict[str, object]:
        members: dict[str, object] = {}
        for key, value in found:
            if key in members:
                raise Refused(refusals.duplicate.format(show(key)))
            members[key] = value
        return members

    def integer(text: str) -> int:
        # Beyond about 308 digits an integer no longer fits a float, and the model turns
        # numbers into floats for float attributes; no OCCI value needs that many digits.
        if len(text) > MAX_DIGITS:
            raise Refused(refusals.digits)
        return int(text)

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise Refused(refusals.large.format(show(text)))
        return value

    def constant(text: str) -> NoReturn:
        raise Refused(refusals.constant.format(text))

    return stdjson.JSONDecoder(object_pairs_hook=pairs, parse_int=integer, parse_float=number,
                               parse_constant=constant, strict=strict)


class Unfit(Enum):
    """Why a decoded value cannot be an attribute's."""

    NESTED = "nested"
    NULL = "null"
    SURROGATE = "surrogate"


def unfit(value: object) -> Unfit | None:
    """What makes ``value`` unfit for an attribute (the first found), or ``None``: nesting
    deeper than :data:`MAX_DEPTH`, a null, or half a surrogate pair in a string or a key."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return Unfit.NESTED
        if item is None:
            return Unfit.NULL
        if isinstance(item, str):
            if SURROGATE.search(item):
                return Unfit.SURROGATE
        elif isinstance(item, list):
            stack.extend((element, depth + 1) for element in item)
        elif isinstance(item, dict):
            for key, element in item.items():
                if SURROGATE.search(key):
                    return Unfit.SURROGATE
                stack.append((element, depth + 1))
    return None


_VALUE_DECODER = strictDecoder(Refusals(
    duplicate="has the member {} twice in one object",
    digits=f"has a number of more than {MAX_DIGITS} digits",
    large="has a number too large for a float",
    constant="has {}, which is not a JSON value",
), strict=False)

_UNFIT_VALUE = {
    Unfit.NESTED: f"is nested more than {MAX_DEPTH} deep",
    Unfit.NULL: "holds null; leave a value out instead",
    Unfit.SURROGATE: "holds half a UTF-16 surrogate pair",
}


def jsonValue(text: str, name: str, where: str) -> object:
    """A list or hash attribute value written as JSON inside another rendering: no null, no
    duplicate members, no half surrogate pairs, no deeper than :data:`MAX_DEPTH`."""
    try:
        value = _VALUE_DECODER.decode(text)
    except Refused as refused:
        fail(f"The value of the attribute {name} {refused}", where)
    except stdjson.JSONDecodeError as error:
        fail(f"The value of the attribute {name} is not valid JSON: {error.msg.lower()} at "
             f"column {error.colno}", where)
    except RecursionError:
        fail(f"The value of the attribute {name} is nested too deeply", where)
    problem = unfit(value)
    if problem is not None:
        fail(f"The value of the attribute {name} {_UNFIT_VALUE[problem]}", where)
    return value


def jsonQuoted(text: str) -> str:
    """``text`` as a JSON string: UTF-8 where it can be, escapes where it must."""
    written = stdjson.dumps(text, ensure_ascii=False)
    if SURROGATE.search(written):
        written = stdjson.dumps(text)
    return written


def jsonText(value: object) -> str:
    """A list or hash as one line of JSON (non-ASCII kept, except half surrogate pairs)."""
    try:
        text = stdjson.dumps(value, ensure_ascii=False, separators=(",", ":"),
                             allow_nan=False)
    except (ValueError, TypeError):
        # Not finite, or not JSON-like: the model never holds such values; say something.
        return jsonQuoted(str(value))
    if SURROGATE.search(text):
        text = stdjson.dumps(value, separators=(",", ":"))
    return text


# -- URIs and XML ---------------------------------------------------------------------------


def uriText(uri: str) -> str:
    """``uri`` with every character a URI cannot hold percent-encoded (UTF-8).

    The model's locations are plain ASCII paths, so this is almost always the string itself:
    the check is one regular-expression search.
    """
    if _NOT_URI.search(uri) is None:
        return uri
    return quote(uri, safe=_URI_SAFE)


def xmlChars(value: str) -> str:
    """``value`` with each character XML 1.0 cannot hold replaced by U+FFFD."""
    return NOT_XML.sub("\ufffd", value)


def xmlText(value: str) -> str:
    """``value`` as character data (the caller keeps out what XML cannot hold)."""
    return value.translate(_TEXT_ESCAPES)


def xmlAttribute(value: str) -> str:
    """``value`` as a quoted XML attribute; what XML cannot hold becomes U+FFFD."""
    return '"' + xmlChars(value).translate(_ATTRIBUTE_ESCAPES) + '"'


# -- kept per set of categories -------------------------------------------------------------

_T = TypeVar("_T")


class ByCategories(Generic[_T]):
    """What ``compute`` makes of an entity that depends only on its kind and mixins, kept by
    the categories' identities.

    The cache holds the category objects themselves, so an id cannot be reused while cached;
    a user mixin defined anew is a new object and gets its own entry.  Past ``size`` entries
    it starts afresh.
    """

    def __init__(self, compute: Callable[[Entity], _T], size: int = 1024) -> None:
        self._compute = compute
        self._size = size
        self._kept: dict[tuple[int, ...], tuple[tuple[Category, ...], _T]] = {}

    def __call__(self, entity: Entity) -> _T:
        key = (id(entity.kind), *map(id, entity.mixins))
        hit = self._kept.get(key)
        if hit is not None:
            return hit[1]
        if len(self._kept) >= self._size:
            self._kept.clear()
        value = self._compute(entity)
        self._kept[key] = ((entity.kind, *entity.mixins), value)
        return value


_BYTES = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def byteSize(count: float) -> str:
    """A number of bytes as a person reads it: ``64.0 MiB`` (the script of a request's page
    writes the same, see :mod:`.html.live`; the ``occi`` client too)."""
    unit = 0
    while count >= 1024 and unit < len(_BYTES) - 1:
        count /= 1024
        unit += 1
    return f"{count:.0f} {_BYTES[unit]}" if unit == 0 else f"{count:.1f} {_BYTES[unit]}"
