"""Content negotiation: which rendering reads a request body, which one writes the answer.

Two questions, two answers:

* ``Content-Type`` → parser: :func:`parserKey` / :func:`parser`.  Parameters (``charset``) are
  ignored and case does not matter; aliases (``text/occi+plain`` is ``text/plain``) are folded
  in.  ``None`` means the server cannot read the body (415).
* ``Accept`` → renderer: :func:`choose` picks among the types the HTTP layer offers, in the
  server's order of preference, following RFC 9110 section 12.5.1 (q-values, ``type/*`` and
  ``*/*``, the most specific range decides, ``q=0`` excludes).  ``None`` means nothing fits
  (406).  :func:`acceptsAnything` tells the HTTP layer that the client stated no preference, so
  that an entity can be answered with 300 Multiple Choices as the walkthrough asks.

Clients send all kinds of ``Accept`` headers (old Java sends ``*; q=.2``), so parsing is
lenient: a range that cannot be understood is skipped, never an error, and a header with
nothing usable in it counts as no header at all.

A :class:`MediaTypes` table says which parser and renderer stand for each media type; the
server's own table is :mod:`occi_twisted.renderings.standard`, which imports every rendering.
This module imports none of them, so that any rendering may be imported on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from .document import Parser, Renderer

#: Spellings that mean a type the server registers under another name.
ALIASES: dict[str, str] = {
    "text/occi+plain": "text/plain",
}

#: Longest Accept header considered; the rest is ignored (it is advice, not a command).
MAX_ACCEPT = 4096
#: Most media ranges considered in one Accept header.
MAX_RANGES = 64

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"({_TOKEN})/({_TOKEN})")
_QVALUE = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")  # ASCII digits, as float() is not
# Parameters that never change which representation fits: we always write UTF-8.
_IGNORED_PARAMETERS = frozenset({"charset"})


@dataclass(frozen=True)
class MediaRange:
    """One element of an Accept header: ``type/subtype`` (either may be ``*``), its
    parameters (lower-case names, as written values) and its weight."""

    type: str
    subtype: str
    parameters: tuple[tuple[str, str], ...] = ()
    q: float = 1.0

    @property
    def isWildcard(self) -> bool:
        return self.type == "*"

    def specificity(self, mediaType: str, parameters: dict[str, str]) -> int:
        """How specifically this range names ``mediaType`` (-1: it does not).

        RFC 9110: ``type/subtype;param`` beats ``type/subtype`` beats ``type/*`` beats
        ``*/*``.
        """
        if self.type == "*":
            return 0
        kind, _, sub = mediaType.partition("/")
        if self.type != kind:
            return -1
        if self.subtype == "*":
            return 1
        if self.subtype != sub:
            return -1
        for name, value in self.parameters:
            if parameters.get(name) != value:
                return -1
        return 2 + len(self.parameters)


def canonical(mediaType: str) -> str:
    """``mediaType`` lower-cased, without parameters, with aliases resolved."""
    bare = mediaType.split(";", 1)[0].split(",", 1)[0].strip().lower()
    return ALIASES.get(bare, bare)


def parseAccept(header: str | None) -> tuple[MediaRange, ...]:
    """The media ranges of an Accept header, skipping what cannot be understood."""
    if not header:
        return ()
    return _parseAccept(header[:MAX_ACCEPT])


@lru_cache(maxsize=512)
def _parseAccept(header: str) -> tuple[MediaRange, ...]:
    # Cached: a server sees the same few Accept headers over and over.
    ranges: list[MediaRange] = []
    for element in _split(header, ","):
        parsed = _parseRange(element)
        if parsed is not None:
            ranges.append(parsed)
            if len(ranges) >= MAX_RANGES:
                break
    return tuple(ranges)


def _parseRange(element: str) -> MediaRange | None:
    parts = _split(element, ";")
    if not parts:
        return None
    name = parts[0].strip().lower()
    if name == "*":
        name = "*/*"  # a common mistake (old Java clients); it can only mean anything
    match = _MEDIA_TYPE.fullmatch(name)
    if match is None:
        return None
    kind, sub = match.group(1), match.group(2)
    if kind == "*" and sub != "*":
        return None
    canon = ALIASES.get(name)
    if canon is not None:
        kind, sub = canon.split("/")
    parameters: list[tuple[str, str]] = []
    q = 1.0
    for part in parts[1:]:
        key, equals, value = part.partition("=")
        key = key.strip().lower()
        if not equals or not key:
            continue
        value = value.strip()
        if value.startswith('"') and (len(value) < 2 or not value.endswith('"')):
            return None  # an unterminated quote: the rest of the range is unreadable
        value = _unquote(value)
        if key == "q":
            weight = _weight(value)
            if weight is None:
                return None
            q = weight
            break  # what follows the weight is no longer about the media type
        if key not in _IGNORED_PARAMETERS:
            parameters.append((key, value))
    return MediaRange(kind, sub, tuple(parameters), q)


def _weight(text: str) -> float | None:
    if not _QVALUE.fullmatch(text):
        return None
    return min(1.0, float(text))


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _split(text: str, separator: str) -> list[str]:
    """Split at ``separator`` outside double quotes (parameter values may hold commas)."""
    if '"' not in text:
        return [piece for piece in text.split(separator) if piece.strip()]
    pieces: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            pieces.append("".join(current))
            current = []
            continue
        current.append(char)
    pieces.append("".join(current))
    return [piece for piece in pieces if piece.strip()]


@lru_cache(maxsize=64)
def _typeParameters(mediaType: str) -> tuple[str, dict[str, str]]:
    # Cached: the server offers the same handful of types on every request.  Callers only
    # read the parameters.
    name, _, rest = mediaType.partition(";")
    parameters: dict[str, str] = {}
    for part in _split(rest, ";"):
        key, equals, value = part.partition("=")
        if equals:
            parameters[key.strip().lower()] = _unquote(value.strip())
    return canonical(name), parameters


def choose(accept: str | None, available: Sequence[str]) -> str | None:
    """The entry of ``available`` (the server's types, preferred first) to answer with.

    An absent, empty or unintelligible Accept header accepts anything: the server's first
    choice.  Otherwise each type gets the weight of the most specific range naming it; the
    heaviest wins, the server's order breaks ties, and weight 0 means "never".
    """
    if not accept:
        return available[0] if available else None
    return _choose(accept[:MAX_ACCEPT], tuple(available))


@lru_cache(maxsize=1024)
def _choose(accept: str, available: tuple[str, ...]) -> str | None:
    # Cached: a few Accept headers (each browser's, each client library's) meet the few lists
    # of types the HTTP layer offers.
    ranges = _parseAccept(accept)
    if not ranges:
        return available[0] if available else None
    best: str | None = None
    bestQ = 0.0
    for offered in available:
        mediaType, parameters = _typeParameters(offered)
        specific = -1
        q = 0.0
        for candidate in ranges:
            level = candidate.specificity(mediaType, parameters)
            if level > specific:
                specific, q = level, candidate.q
            elif level == specific and level >= 0:
                q = max(q, candidate.q)
        if specific >= 0 and q > bestQ:
            best, bestQ = offered, q
    return best


def acceptsAnything(accept: str | None) -> bool:
    """Whether the client stated no preference: no Accept, or only ``*/*``.

    The HTTP layer answers such a GET on an entity with 300 Multiple Choices.
    """
    ranges = parseAccept(accept)
    return all(r.isWildcard and r.q > 0 for r in ranges)


@dataclass(frozen=True)
class _Output:
    renderer: Renderer
    listingOnly: bool


class MediaTypes:
    """The registry: media type → parser (for request bodies) and renderer (for answers).

    Registration order is the server's order of preference among renderings.
    """

    def __init__(self) -> None:
        self._parsers: dict[str, Parser] = {}
        self._outputs: dict[str, _Output] = {}

    def add(
        self,
        mediaType: str,
        *,
        parser: Parser | None = None,
        renderer: Renderer | None = None,
        listingOnly: bool = False,
    ) -> None:
        """Register what reads and/or writes ``mediaType``.

        ``listingOnly`` marks renderings that can only list (``text/uri-list``).
        """
        key = canonical(mediaType)
        if parser is not None:
            self._parsers[key] = parser
        if renderer is not None:
            self._outputs[key] = _Output(renderer, listingOnly)

    def parserKey(self, contentType: str | None) -> str | None:
        """The registered type whose parser reads ``contentType``, or ``None`` (415)."""
        if not contentType or not contentType.strip():
            return None
        key = canonical(contentType)
        return key if key in self._parsers else None

    def parser(self, contentType: str | None) -> Parser | None:
        """The parser for a request's ``Content-Type``, or ``None`` (415)."""
        key = self.parserKey(contentType)
        return None if key is None else self._parsers[key]

    def renderer(self, mediaType: str) -> Renderer:
        """The renderer registered for ``mediaType`` (as :meth:`outputTypes` lists it)."""
        return self._outputs[canonical(mediaType)].renderer

    def inputTypes(self) -> list[str]:
        """Every type a request body may have."""
        return list(self._parsers)

    def outputTypes(self, listing: bool = False) -> list[str]:
        """Every type an answer may have, preferred first; listing-only types for listings."""
        return [t for t, output in self._outputs.items() if listing or not output.listingOnly]

    def choose(self, accept: str | None, available: Iterable[str] | None = None) -> str | None:
        """:func:`choose` among ``available`` (default: every non-listing output type)."""
        offered = list(available) if available is not None else self.outputTypes()
        return choose(accept, offered)
