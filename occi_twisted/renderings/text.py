"""The OCCI text renderings (GFD.229): ``text/plain`` (alias ``text/occi+plain``) and ``text/occi``.

Both renderings share one grammar (GFD.229 section 4) of four fields::

    Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"
    Link: </network/1>; rel="...#network"; self="/networkinterface/2"; category="...#ni"
    X-OCCI-Attribute: occi.compute.cores=2
    X-OCCI-Location: http://example.com/compute/1

``text/plain`` writes them as lines of the body; ``text/occi`` writes them as HTTP header fields
and the body is ``OK``.  Each field may carry several comma-separated values (the ABNF's ``#``
rule), in the body as well as in headers.

Reading (:func:`parsePlain`, :func:`parseOcci`) is liberal where the meaning is plain: header
names in any case, CRLF or LF or CR, extra whitespace, folded continuation lines (including the
spec's own examples, which end lines in ``\\``), values without quotes where nothing else could
be meant, a missing ``class`` (scheme and term name the category), a trailing ``;``.
Everything else -- an unclosed quote, an unknown parameter, a number too long -- raises
:class:`~occi_twisted.model.errors.BadRequest` with one sentence that names the line or header;
nothing else ever escapes, whatever the bytes.  Size limits bound the work.

Attribute values are typed by their spelling: a quoted string is a ``str``, ``2`` an ``int``,
``2.0`` or ``1e3`` a ``float``, ``true``/``false`` a ``bool``; anything else bare is taken as the
string it spells.  Lists and hashes travel as quoted JSON text; the model decides.

Quoted strings are RFC 7230's ``quoted-string``, read and written alike: a backslash quotes
the one character after it (``\\"``, ``\\\\``; ``\\n`` is the letter ``n``), and there is no
other escape.  Characters beyond ASCII are written as they are, in UTF-8: in a ``text/plain``
body, and in ``text/occi`` header fields, where RFC 7230 calls those octets ``obs-text`` and
lets a quoted-string hold them.  RFC 8187's ``title*=UTF-8''caf%C3%A9`` was not chosen: it is
defined for parameters only (an attribute value is not one), no OCCI client reads it, and it
would make the header rendering differ from the body rendering for the same value.  A
quoted-string cannot hold a control character (but a tab) at all, so the model refuses string
values with one on input (400, whatever the rendering); see :func:`quoted`.

Writing follows GFD.229 and what pOCCI 1.0.3 (the compliance tester) can read:

* Category and Link lines use the model's paths (``location="/compute/"``, ``</network/1>``),
  as GFD.229's examples do; pOCCI builds URLs as *its base URL + location*, so an absolute
  location there would break it.  ``X-OCCI-Location`` is always absolute.
* A mixin's ``rel`` is its first ``depends`` only (GFD.229 section 5.6.2); a kind's is its
  parent.
* Empty parameters (``title=""``) are left out: pOCCI fails on an empty quoted parameter.
* Floats are written positionally, never with an exponent (pOCCI reads ``[0-9.+-]+`` only),
  and always with a ``.``, so that they read back as floats, exactly.
* Lines end in CRLF (the ABNF's ``CRLF``).
* Action links follow the links, in GFD.229's full Link form (section 3.2's ``link-value``,
  not the bare ``ActionLink``): ``</compute/1?action=stop>; rel="...#stop";
  category="...#stop"; occi.core.target="/compute/1?action=stop"``.  The bare form breaks
  ooi's parser, which reads a Link only with its ``rel`` and ``occi.core.target``; the full
  form is valid GFD.229 and every parser tried reads it.  A client that sends them back (GET,
  edit, PUT) is not asking for a link, so the parsers drop them.

Rendering is on the hot path of every GET: a category's rendering is cached per category
object, an entity's action links per set of categories, and values are escaped only when they
need it.
"""

from __future__ import annotations

import json as stdjson
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from ..model import Category, Entity, Kind, Mixin, availableActions
from ..model.errors import BadRequest
from .document import CategoryRef, Document, EntityView, LinkRef, RenderContext, Rendered
from .limits import MAX_ATTRIBUTES, MAX_HEADERS, MAX_LINE, MAX_LINES, MAX_VALUES
from .values import (
    ATTRIBUTE_NAME,
    LINE_BREAK,
    QUOTED_STRING,
    TERM,
    URI,
    ByCategories,
    bareValue,
    bodyText,
    fail,
    short,
    show,
    uriText,
)

PLAIN_TYPE = "text/plain"
PLAIN_ALIAS = "text/occi+plain"
OCCI_TYPE = "text/occi"

CATEGORY = "Category"
LINK = "Link"
ATTRIBUTE = "X-OCCI-Attribute"
LOCATION = "X-OCCI-Location"

EOL = "\r\n"

#: Header lines the renderer writes are cut at about this length: few lines for clients that
#: count headers (Python's http.client stops at 100), none too long for those that measure
#: them (curl, Twisted).
MAX_HEADER_LINE = 8 * 1024

#: The ``rel`` of a link whose target's kind is unknown: every link target is a resource.
RESOURCE_KIND = "http://schemas.ogf.org/occi/core#resource"

_SOURCE, _TARGET, _TARGET_KIND = "occi.core.source", "occi.core.target", "occi.core.target.kind"


# -- the lexer ------------------------------------------------------------------------------
#
# A field value is a comma-separated list of values; Category and Link values are themselves
# ';'-separated lists of parameters.  Quoted strings and <URI> may hold either separator.
# Every quantifier is possessive, so that no input can make the matcher backtrack.

_PARAMETERS = re.compile(rf'(?:{QUOTED_STRING}|<[^<>]*+>|[^",;<]++)*+', re.S)
_ITEMS = re.compile(rf'(?:{QUOTED_STRING}|<[^<>]*+>|[^",<]++)*+', re.S)
_QUOTED = re.compile(r'"((?:[^"\\]++|\\.)*+)"', re.S)

_FIELD = re.compile(r"[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*:(.*)", re.S)
_PARAMETER = re.compile(r"[ \t]*([A-Za-z0-9_][A-Za-z0-9_.:-]*)[ \t]*=[ \t]*")
_ATTRIBUTE_DEFINITION = re.compile(
    r"[ \t]*([A-Za-z0-9_][A-Za-z0-9_.:-]{0,254})(?:\{([^{}]*)\})?[ \t]*"
)
#: RFC 7230's quoted-pair: a backslash and the character it stands for.
_QUOTED_PAIR = re.compile(r"\\(.)", re.S)

_FIELDS = {
    "category": CATEGORY,
    "link": LINK,
    "x-occi-attribute": ATTRIBUTE,
    "x-occi-location": LOCATION,
}
#: In a body, pOCCI (and others) also write a location list as ``Location:``.
_BODY_FIELDS = {**_FIELDS, "location": LOCATION}
_CLASSES = frozenset({"kind", "mixin", "action"})
_CATEGORY_PARAMETERS = ("scheme", "class", "title", "rel", "location", "attributes", "actions")
_PROPERTIES = frozenset({"immutable", "required"})


def _split(text: str, pattern: re.Pattern[str], where: str) -> list[list[str]]:
    """The values of a field (split at ``,``), each a list of its parts (split at ``;`` when
    ``pattern`` is :data:`_PARAMETERS`), stripped.  Values with nothing in them are dropped."""
    values: list[list[str]] = []
    parts: list[str] = []
    position, end = 0, len(text)
    while True:
        match = pattern.match(text, position)
        if match is None:  # the pattern matches the empty string, so never
            fail("The value cannot be read", where)
        parts.append(match.group().strip())
        position = match.end()
        if position >= end:
            break
        separator = text[position]
        if separator == '"':
            fail(f"A quoted string is not closed: {show(text[position:])}", where)
        if separator == "<":
            fail(f"A '<' is not closed by '>': {show(text[position:])}", where)
        position += 1
        if separator == ",":
            values.append(parts)
            parts = []
    values.append(parts)
    return [value for value in values if any(value)]


def _unescape(text: str, where: str) -> str:
    """The text a quoted-string's content stands for (RFC 7230: each quoted-pair its
    character)."""
    if "\\" not in text:
        return text
    return _QUOTED_PAIR.sub(r"\1", text)


def _quotedValue(raw: str, what: str, where: str) -> tuple[str, str]:
    """A quoted string at the start of ``raw``: its text, and what follows it."""
    match = _QUOTED.match(raw)
    if match is None:
        fail(f"The quoted {what} is not closed: {show(raw)}", where)
    return _unescape(match.group(1), where), raw[match.end():]


def _parameters(parts: Sequence[str], what: str, where: str) -> list[tuple[str, str, bool]]:
    """``name=value`` parameters as (name as written, text, whether it was quoted).

    Several parameters may share a part when their values are quoted: GFD.229's own example
    leaves out a ``;`` (``scheme="..." class="kind"``), and the meaning is plain.
    """
    found: list[tuple[str, str, bool]] = []
    for part in parts:
        rest = part
        while rest:
            match = _PARAMETER.match(rest)
            if match is None:
                fail(f"The {what} parameter {show(rest)} is not of the form name=value", where)
            name = match.group(1)
            rest = rest[match.end():]
            if rest.startswith('"'):
                value, rest = _quotedValue(rest, f"{what} parameter {name}", where)
                rest = rest.strip()
                if rest and not _PARAMETER.match(rest):
                    fail(f"The {what} parameter {name} has text after its closing quote: "
                         f"{show(rest)}", where)
                found.append((name, value, True))
            else:
                if '"' in rest or "\\" in rest:
                    fail(f"The {what} parameter {name} has a stray quote or backslash: "
                         f"{show(rest)}", where)
                found.append((name, rest.strip(), False))
                rest = ""
    return found


def _uri(text: str, what: str, where: str) -> str:
    if not URI.fullmatch(text):
        fail(f"The {what} {show(text)} is not a URI", where)
    return text


def _identifier(text: str, what: str, where: str) -> str:
    """A category identifier, ``scheme#term``."""
    scheme, hash_, term = text.rpartition("#")
    if not hash_ or not scheme or not term or not URI.fullmatch(text):
        fail(f"The {what} {show(text)} is not a category identifier (scheme#term)", where)
    return text


def _identifiers(text: str, what: str, where: str) -> tuple[str, ...]:
    found = tuple(_identifier(item, what, where) for item in text.split())
    if not found:
        fail(f"The {what} is empty", where)
    return found


def _attributeName(name: str, what: str, where: str) -> str:
    if not ATTRIBUTE_NAME.fullmatch(name):
        fail(f"The {what} names the attribute {show(name)}, which is not an attribute name",
             where)
    return name


def _attributeValue(raw: str, name: str, where: str) -> object:
    """A value as the text renderings type it by its spelling."""
    if not raw:
        fail(f"The attribute {name} has no value", where)
    if raw[0] == '"':
        value, rest = _quotedValue(raw, f"value of {name}", where)
        if rest.strip(" \t;"):
            fail(f"The attribute {name} has text after its closing quote: {show(rest)}", where)
        return value
    return bareValue(raw, name, where)


def _category(parts: list[str], where: str) -> CategoryRef:
    term = parts[0]
    if not term:
        fail("A Category needs a term before its first ';'", where)
    if not TERM.fullmatch(term):
        fail(f"The Category term {show(term)} may hold only letters, digits, '-', '_' and '.'",
             where)
    label = short(term)
    found: dict[str, str] = {}
    for written, value, _quoted in _parameters(parts[1:], "Category", where):
        name = written.lower()
        if name not in _CATEGORY_PARAMETERS:
            fail(f"GFD.229 defines no Category parameter {name}; the parameters are "
                 f"{', '.join(_CATEGORY_PARAMETERS)}", where)
        if name in found:
            fail(f"The Category {label} gives {name} twice", where)
        found[name] = value
    scheme = found.get("scheme")
    if scheme is None:
        fail(f"The Category {label} needs its scheme, e.g. {label}; "
             f'scheme="http://schemas.ogf.org/occi/infrastructure#"', where)
    _uri(scheme, f"scheme of the Category {label}", where)
    cls = found.get("class")
    if cls is not None:
        cls = cls.lower()
        if cls not in _CLASSES:
            fail(f"The class of the Category {label} is {show(found['class'])}; it must be "
                 "kind, mixin or action", where)
    location = found.get("location")
    if location is not None:
        _uri(location, f"location of the Category {label}", where)
    rel = found.get("rel")
    actions = found.get("actions")
    attributes = found.get("attributes")
    return CategoryRef(
        scheme,
        term,
        cls=cls,
        title=found.get("title"),
        location=location,
        rel=_identifiers(rel, f"rel of the Category {label}", where) if rel is not None else (),
        attributes=_definitions(attributes, term, where) if attributes is not None else (),
        actions=(_identifiers(actions, f"actions of the Category {label}", where)
                 if actions is not None else ()),
    )


def _definitions(text: str, term: str, where: str) -> tuple[CategoryRef.Attribute, ...]:
    """``attributes="occi.core.id{immutable required} occi.core.title"``: each attribute
    mutable unless ``immutable``, required only if ``required`` (GFD.229 section 5.6)."""
    found: list[CategoryRef.Attribute] = []
    position = 0
    while position < len(text):
        match = _ATTRIBUTE_DEFINITION.match(text, position)
        if match is None or match.end() == position:
            fail(f"The attributes of the Category {short(term)} cannot be read from "
                 f"{show(text[position:])}", where)
        words = {word.lower() for word in (match.group(2) or "").split()}
        for word in words - _PROPERTIES:
            fail(f"The attribute {short(match.group(1))} of the Category {short(term)} "
                 f"has the property {show(word)}; GFD.229 knows only immutable and "
                 "required", where)
        found.append(CategoryRef.Attribute(match.group(1), mutable="immutable" not in words,
                                  required="required" in words))
        position = match.end()
    return tuple(found)


def _link(parts: list[str], where: str) -> LinkRef | None:
    """A Link value; ``None`` for an action link, which names an action, not a link."""
    first = parts[0]
    if first.startswith("<") and first.endswith(">"):
        first = first[1:-1].strip()
    elif "<" in first or ">" in first:
        fail(f"The Link target {show(first)} must be written as <URI>", where)
    if not first:
        fail("A Link needs a target, written <URI>, before its first ';'", where)
    target = _uri(first, "Link target", where)
    label = short(target)
    rel: tuple[str, ...] = ()
    location: str | None = None
    categories: tuple[str, ...] = ()
    attributes: dict[str, object] = {}
    seen: set[str] = set()
    for written, value, quoted in _parameters(parts[1:], "Link", where):
        name = written.lower()
        if name in ("rel", "self", "category"):
            if name in seen:
                fail(f"The Link to {label} gives {name} twice", where)
            seen.add(name)
            if name == "rel":
                rel = _identifiers(value, f"rel of the Link to {label}", where)
            elif name == "self":
                location = _uri(value, f"self of the Link to {label}", where)
            else:
                categories = _identifiers(value, f"category of the Link to {label}", where)
            continue
        _attributeName(written, "Link", where)
        if written in attributes:
            fail(f"The Link to {label} gives the attribute {written} twice", where)
        if len(attributes) >= MAX_ATTRIBUTES:
            fail(f"The Link to {label} has more than {MAX_ATTRIBUTES} attributes", where)
        attributes[written] = value if quoted else _attributeValue(value, written, where)
    if "?action=" in target:
        return None
    return LinkRef(target=target, rel=rel, location=location, categories=categories,
                   attributes=attributes)


def _attribute(item: str, where: str) -> tuple[str, object]:
    name, equals, raw = item.partition("=")
    name = name.strip()
    if not equals:
        fail(f"The X-OCCI-Attribute {show(item)} is not of the form name=value", where)
    _attributeName(name, "X-OCCI-Attribute", where)
    raw = raw.strip()
    if not raw.startswith('"'):
        raw = raw.rstrip(" \t;")  # the trailing ';' some clients copy from Category lines
    return name, _attributeValue(raw, name, where)


def _location(item: str, where: str) -> str:
    if item.startswith("<") and item.endswith(">"):
        item = item[1:-1].strip()
    return _uri(item, "X-OCCI-Location", where)


class _DocumentBuilder:
    """Collects the values of every field into one :class:`Document`."""

    def __init__(self) -> None:
        self.categories: list[CategoryRef] = []
        self.links: list[LinkRef] = []
        self.attributes: dict[str, object] = {}
        self.locations: list[str] = []
        self.count = 0

    def add(self, field: str, text: str, where: str) -> None:
        pattern = _PARAMETERS if field in (CATEGORY, LINK) else _ITEMS
        for parts in _split(text, pattern, where):
            self.count += 1
            if self.count > MAX_VALUES:
                fail(f"The request has more than {MAX_VALUES} OCCI values", where)
            if field == CATEGORY:
                self.categories.append(_category(parts, where))
            elif field == LINK:
                link = _link(parts, where)
                if link is not None:
                    self.links.append(link)
            elif field == ATTRIBUTE:
                name, value = _attribute(parts[0], where)
                if name in self.attributes:
                    fail(f"The attribute {name} is given twice", where)
                if len(self.attributes) >= MAX_ATTRIBUTES:
                    fail(f"The request has more than {MAX_ATTRIBUTES} attributes", where)
                self.attributes[name] = value
            else:
                self.locations.append(_location(parts[0], where))

    def document(self) -> Document:
        return Document(
            categories=tuple(self.categories),
            attributes=self.attributes,
            links=tuple(self.links),
            locations=tuple(self.locations),
        )


def _isOK(body: bytes) -> bool:
    """Whether a body is empty or the ``OK`` that ``text/occi`` (and pOCCI) send."""
    stripped = body.strip()
    return not stripped or stripped.upper() == b"OK"


def _bodyFields(body: bytes, builder: _DocumentBuilder, mediaType: str) -> None:
    lines = LINE_BREAK.split(bodyText(body, f"The {mediaType} body"))
    if len(lines) > MAX_LINES:
        raise BadRequest(f"The {mediaType} body has more than {MAX_LINES} lines.")
    pending: tuple[str, str, str] | None = None  # field, value so far, where
    for number, line in enumerate(lines, 1):
        if len(line) > MAX_LINE:
            raise BadRequest(f"Line {number} of the {mediaType} body is longer than "
                             f"{MAX_LINE // 1024} KiB.")
        if not line.strip():
            continue
        match = _FIELD.match(line)
        name = match.group(1).lower() if match is not None else ""
        if line[0] in " \t" and pending is not None and name not in _BODY_FIELDS:
            # A folded continuation of the previous line (obs-fold, or the spec's examples,
            # which end the folded line with a backslash).
            field, value, where = pending
            value = value.rstrip()
            value = value[:-1] if value.endswith("\\") else value
            if len(value) + len(line) > MAX_LINE:
                raise BadRequest(f"Line {number} of the {mediaType} body continues a line "
                                 f"to more than {MAX_LINE // 1024} KiB.")
            pending = (field, value + " " + line.strip(), where)
            continue
        if pending is not None:
            builder.add(*pending)
        if match is None:
            raise BadRequest(f"Line {number} of the {mediaType} body is not of the form "
                             f"'Name: value': {show(line)}.")
        known = _BODY_FIELDS.get(name)
        if known is None:
            raise BadRequest(f"Line {number} of the {mediaType} body is a "
                             f"{show(match.group(1))} field; the text rendering has only "
                             "Category, Link, X-OCCI-Attribute and X-OCCI-Location.")
        pending = (known, match.group(2), f"line {number}")
    if pending is not None:
        builder.add(*pending)


def parsePlain(body: bytes, headers: Mapping[str, Sequence[str]] | None = None) -> Document:
    """Read a ``text/plain`` (``text/occi+plain``) request body: OCCI fields as lines.

    ``headers`` are not read: in this rendering everything is in the body.
    """
    builder = _DocumentBuilder()
    if not _isOK(body):
        _bodyFields(body, builder, PLAIN_TYPE)
    return builder.document()


def parseOcci(body: bytes, headers: Mapping[str, Sequence[str]] | None = None) -> Document:
    """Read a ``text/occi`` request: the OCCI fields in its headers.

    Header names are matched in any case; a field may appear several times and each value may
    list several, comma-separated.  The body should be empty or ``OK``; a client that puts the
    fields in the body instead is understood too.
    """
    builder = _DocumentBuilder()
    total = instances = 0
    for rawName, rawValues in (headers or {}).items():
        field = _FIELDS.get(rawName.lower())
        if field is None:
            continue
        values: Sequence[str] = [rawValues] if isinstance(rawValues, str) else rawValues
        for rawValue in values:
            instances += 1
            total += len(rawValue)
            if instances > MAX_LINES:
                raise BadRequest(f"The request has more than {MAX_LINES} OCCI header fields.")
            if total > MAX_HEADERS:
                raise BadRequest(f"The request's OCCI header fields hold more than "
                                 f"{MAX_HEADERS // 1024} KiB.")
            if len(rawValue) > MAX_LINE:
                raise BadRequest(f"A {field} header field is longer than {MAX_LINE // 1024} "
                                 "KiB.")
            builder.add(field, _headerText(rawValue), f"the {field} header")
    if not _isOK(body):
        _bodyFields(body, builder, OCCI_TYPE)
    return builder.document()


def _headerText(value: str) -> str:
    """A header value as text: the HTTP layer decodes headers as Latin-1, clients send UTF-8."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


# -- rendering ------------------------------------------------------------------------------

_NEEDS_CARE = re.compile(r'[\\"\x00-\x08\x0a-\x1f\x7f]')


def _quotedPair(match: re.Match[str]) -> str:
    char = match.group()
    return "\\" + char if char in '\\"' else " "


def quoted(text: str) -> str:
    """``text`` as an RFC 7230 quoted-string: ``"`` and ``\\`` as quoted-pairs, everything
    else as it is (beyond ASCII, UTF-8 once encoded).

    A control character but the tab has no spelling in a quoted-string, not even as a
    quoted-pair, and a raw CR or LF would end the line or the header field.  The model
    refuses them in values a client gives; one that reaches here all the same (a value the
    server wrote, or stored before that rule) is written as a space, the one loss, so that
    no rendering ever breaks its line.
    """
    if _NEEDS_CARE.search(text) is None:
        return f'"{text}"'
    return '"' + _NEEDS_CARE.sub(_quotedPair, text) + '"'


def floatText(number: float) -> str:
    """A float written so that it reads back as the same float, and as a float.

    ``repr`` gives the shortest exact digits; an exponent is spelt out positionally because
    pOCCI reads numbers as ``[0-9.+-]+`` only.
    """
    text = repr(number)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    if "." not in text:
        text += ".0"
    return text


def attributeValue(value: object) -> str:
    """An attribute value as GFD.229 writes it: strings quoted, numbers and booleans bare."""
    kind = type(value)
    if kind is str:  # the common case first, without isinstance chains
        return quoted(value)  # type: ignore[arg-type]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return floatText(value) if math.isfinite(value) else quoted(repr(value))
    if isinstance(value, (list, dict)):
        # JSON escapes the C0 controls in its strings but not DEL, which a quoted-string
        # cannot hold: its JSON escape keeps the value whole.
        return quoted(stdjson.dumps(value, ensure_ascii=False, separators=(",", ":"))
                      .replace("\x7f", "\\u007f"))
    return quoted(str(value))


def _parameter(name: str, value: str) -> str:
    return f"; {name}={quoted(value)}"


#: A category's rendering, by the category's identity, definition or reference.  The cache
#: holds the category object itself, so an id cannot be reused while cached.
_categoryCache: dict[tuple[int, bool], tuple[Category, str]] = {}
_CACHE_SIZE = 1024


def categoryValue(category: Category, definition: bool = False) -> str:
    """A kind, mixin or action as a Category value.

    With ``definition`` (the query interface) it also lists the category's own attributes,
    with their properties, and its actions.
    """
    key = (id(category), definition)
    hit = _categoryCache.get(key)
    if hit is not None:
        return hit[1]
    if len(_categoryCache) >= _CACHE_SIZE:
        _categoryCache.clear()
    text = _categoryValue(category, definition)
    _categoryCache[key] = (category, text)
    return text


def _categoryValue(category: Category, definition: bool) -> str:
    parts = [f"{category.term}; scheme={quoted(category.scheme)}; "
             f'class="{category.categoryClass}"']
    if category.title:
        parts.append(_parameter("title", category.title))
    rel: str | None = None
    location: str | None = None
    actions: Sequence[Category] = ()
    if isinstance(category, Kind):
        rel = category.parent.identifier if category.parent is not None else None
        location, actions = category.location, category.actions
    elif isinstance(category, Mixin):
        # GFD.229 section 5.6.2: only the first of depends; applies is not rendered.
        rel = category.depends[0].identifier if category.depends else None
        location, actions = category.location, category.actions
    if rel:
        parts.append(_parameter("rel", rel))
    if location:
        parts.append(f'; location="{uriText(location)}"')
    if definition:
        if category.attributes:
            parts.append(f'; attributes="{_definitionsText(category)}"')
        if actions:
            parts.append(_parameter("actions", " ".join(a.identifier for a in actions)))
    return "".join(parts)


def _definitionsText(category: Category) -> str:
    return " ".join(_definitionText(d.name, d.mutable, d.required)
                    for d in category.attributes)


def _definitionText(name: str, mutable: bool, required: bool) -> str:
    """One attribute of a Category's ``attributes``: ``occi.core.id{immutable required}``."""
    properties = [word for word, said in (("immutable", not mutable), ("required", required))
                  if said]
    return f"{name}{{{' '.join(properties)}}}" if properties else name


def _actionTailsOf(entity: Entity) -> tuple[tuple[str, str], ...]:
    return tuple(
        (f"?action={action.term}", f'; rel="{action.identifier}"; '
                                   f'category="{action.identifier}"; occi.core.target="')
        for action in availableActions(entity.kind, entity.mixins)
    )


#: Each action link's query (``?action=term``) and parameters (up to the opening quote of
#: its ``occi.core.target``) an entity with these categories offers.
_actionTails = ByCategories(_actionTailsOf, _CACHE_SIZE)


def _actionLinks(entity: Entity) -> list[str]:
    location = uriText(entity.location)
    return [f'<{location}{query}>{parameters}{location}{query}"'
            for query, parameters in _actionTails(entity)]


def _attributeValues(attributes: Mapping[str, object]) -> list[str]:
    return [f"{name}={attributeValue(value)}" for name, value in attributes.items()]


def linkValue(link: Entity) -> str:
    """An outgoing link as a Link value on its source: its target, the target's kind, its
    own location, kind and mixins, and all of its attributes."""
    attributes = link.attributes
    target = uriText(str(attributes.get(_TARGET, "")))
    rel = uriText(str(attributes.get(_TARGET_KIND) or RESOURCE_KIND))
    categories = " ".join([link.kind.identifier, *(m.identifier for m in link.mixins)])
    head = (f'<{target}>; rel="{rel}"; self="{uriText(link.location)}"; '
            f'category="{categories}"')
    return "; ".join([head, *_attributeValues(attributes)])


def entityValues(view: EntityView, *, actions: bool = True
                 ) -> tuple[list[str], list[str], list[str]]:
    """The Category, Link and X-OCCI-Attribute values of an entity (GFD.229 section 5.1);
    without the links to its actions unless ``actions``."""
    entity = view.entity
    categories = [categoryValue(entity.kind)]
    categories.extend(categoryValue(mixin) for mixin in entity.mixins)
    links = [linkValue(link) for link in view.links]
    if actions:
        links.extend(_actionLinks(entity))
    return categories, links, _attributeValues(entity.attributes)


def _lines(name: str, values: Iterable[str]) -> list[str]:
    prefix = name + ": "
    return [prefix + value for value in values]


def _body(lines: list[str]) -> bytes:
    return (EOL.join(lines) + EOL).encode("utf-8") if lines else b""


def _headers(name: str, values: Sequence[str]) -> list[tuple[str, str]]:
    """``values`` as few header fields as fit in :data:`MAX_HEADER_LINE` each."""
    fields: list[tuple[str, str]] = []
    current: list[str] = []
    size = 0
    for value in values:
        if current and size + len(value) > MAX_HEADER_LINE:
            fields.append((name, ", ".join(current)))
            current, size = [], 0
        current.append(value)
        size += len(value) + 2
    if current:
        fields.append((name, ", ".join(current)))
    return fields


class PlainRenderer:
    """Writes ``text/plain``: the OCCI fields as lines of the body."""

    mediaType = PLAIN_TYPE
    contentType = "text/plain; charset=utf-8"
    streams = True

    def entity(self, view: EntityView, context: RenderContext) -> Rendered:
        categories, links, attributes = entityValues(view)
        lines = _lines(CATEGORY, categories)
        lines += _lines(LINK, links)
        lines += _lines(ATTRIBUTE, attributes)
        return Rendered(self.contentType, _body(lines))

    def categories(self, categories: Sequence[Category], context: RenderContext) -> Rendered:
        values = [categoryValue(category, True) for category in categories]
        return Rendered(self.contentType, _body(_lines(CATEGORY, values)))

    def locations(self, locations: Sequence[str], context: RenderContext) -> Rendered:
        values = [uriText(context.absolute(location)) for location in locations]
        return Rendered(self.contentType, _body(_lines(LOCATION, values)))

    def message(self, text: str, context: RenderContext) -> Rendered:
        return Rendered(self.contentType, (text + EOL).encode("utf-8"))

    def collectionStart(self, context: RenderContext) -> bytes:
        return b""

    def collectionItem(self, view: EntityView, first: bool, context: RenderContext) -> bytes:
        location = uriText(context.absolute(view.entity.location))
        return f"{LOCATION}: {location}{EOL}".encode()

    def collectionEnd(self, context: RenderContext) -> bytes:
        return b""


class HeaderRenderer:
    """Writes ``text/occi``: the OCCI fields as response headers, ``OK`` as the body.

    Strings beyond ASCII are written in UTF-8, RFC 7230's ``obs-text`` in a quoted-string
    (see the module's docstring for why).  A listing can only be written whole (``streams``
    is false): the HTTP layer gathers it and calls :meth:`locations`, and the collection
    pieces write nothing.
    """

    mediaType = OCCI_TYPE
    streams = False
    body = b"OK"

    def entity(self, view: EntityView, context: RenderContext) -> Rendered:
        categories, links, attributes = entityValues(view)
        headers = _headers(CATEGORY, categories)
        headers += _headers(LINK, links)
        headers += _headers(ATTRIBUTE, attributes)
        return Rendered(OCCI_TYPE, self.body, tuple(headers))

    def categories(self, categories: Sequence[Category], context: RenderContext) -> Rendered:
        values = [categoryValue(category, True) for category in categories]
        return Rendered(OCCI_TYPE, self.body, tuple(_headers(CATEGORY, values)))

    def locations(self, locations: Sequence[str], context: RenderContext) -> Rendered:
        values = [uriText(context.absolute(location)) for location in locations]
        return Rendered(OCCI_TYPE, self.body, tuple(_headers(LOCATION, values)))

    def message(self, text: str, context: RenderContext) -> Rendered:
        return Rendered(OCCI_TYPE, self.body)

    def collectionStart(self, context: RenderContext) -> bytes:
        return b""

    def collectionItem(self, view: EntityView, first: bool, context: RenderContext) -> bytes:
        return b""

    def collectionEnd(self, context: RenderContext) -> bytes:
        return b""


PLAIN = PlainRenderer()
OCCI = HeaderRenderer()


# -- documents, as a client writes them ---------------------------------------------------


def _refValue(ref: CategoryRef) -> str:
    parts = [ref.term, f"; scheme={quoted(ref.scheme)}"]
    if ref.cls is not None:
        parts.append(f'; class="{ref.cls}"')
    if ref.title is not None:
        parts.append(_parameter("title", ref.title))
    if ref.rel:
        parts.append(f'; rel="{" ".join(ref.rel)}"')
    if ref.location is not None:
        parts.append(f"; location={quoted(ref.location)}")
    if ref.attributes:
        parts.append('; attributes="' + " ".join(
            _definitionText(a.name, a.mutable, a.required) for a in ref.attributes) + '"')
    if ref.actions:
        parts.append(f'; actions="{" ".join(ref.actions)}"')
    return "".join(parts)


def _linkRefValue(link: LinkRef) -> str:
    parts = [f"<{link.target}>"]
    if link.rel:
        parts.append(f'rel="{" ".join(link.rel)}"')
    if link.location is not None:
        parts.append(f'self="{link.location}"')
    if link.categories:
        parts.append(f'category="{" ".join(link.categories)}"')
    parts.extend(_attributeValues(link.attributes))
    return "; ".join(parts)


def documentValues(document: Document) -> list[tuple[str, list[str]]]:
    """The fields that write ``document`` (what a client sends), each with its values."""
    return [
        (CATEGORY, [_refValue(ref) for ref in document.categories]),
        (LINK, [_linkRefValue(link) for link in document.links]),
        (ATTRIBUTE, _attributeValues(document.attributes)),
        (LOCATION, list(document.locations)),
    ]


def formatPlain(document: Document) -> bytes:
    """``document`` as a ``text/plain`` request body."""
    lines: list[str] = []
    for name, values in documentValues(document):
        lines += _lines(name, values)
    return _body(lines)


def formatHeaders(document: Document) -> tuple[tuple[str, str], ...]:
    """``document`` as ``text/occi`` request headers."""
    fields: list[tuple[str, str]] = []
    for name, values in documentValues(document):
        fields += _headers(name, values)
    return tuple(fields)
