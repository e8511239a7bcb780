"""The walkthrough's key/value descriptor (``text/x-occi-descriptor``): one ``key value`` a line.

The walkthrough writes a compute as::

    occi.compute.cores 2
    compute.speed 3200
    compute.memory 2048

and says it translates trivially to and from the other renderings.  This module makes that
literal: every attribute of the model, and everything else a rendering carries, survives the
trip.  An entity::

    kind http://schemas.ogf.org/occi/infrastructure#compute
    mixin http://schemas.occi-twisted.org/occi/infrastructure/resource_tpl#medium
    occi.core.id vm1
    occi.core.title "web server"
    occi.compute.cores 2
    occi.compute.memory 4.0
    link /network/net1
      rel http://schemas.ogf.org/occi/infrastructure#network
      self /networkinterface/nic1
      kind http://schemas.ogf.org/occi/infrastructure#networkinterface
      occi.core.id nic1
      occi.networkinterface.interface eth0

A line is a keyword or an attribute name, blanks, and its value.  The keywords ``kind``,
``mixin``, ``action`` and ``category`` (class not stated) name a category by its identifier
(``scheme#term``, or the term alone, which the resolver looks up); ``link`` names a link's
target; ``location`` an entity location (listings, mixin association).  A ``kind``, ``mixin``,
``action``, ``category`` or ``link`` line opens a block: the lines after it that are indented
further belong to it --

* a category's: ``title``, ``location``, ``rel`` (also spelt ``parent``, ``depends``,
  ``applies``), ``attribute name [type] [immutable] [required]`` and ``action``, which define a
  category (the query interface; a user mixin POSTed to it);
* a link's: ``rel`` (the target's kind), ``self`` (the link's location), ``kind``, ``mixin`` or
  ``category`` (the link's own categories) and the link's attributes.

Values are typed by their spelling, as in the text rendering: ``2`` is an integer, ``2.0`` or
``1e3`` a float, ``true``/``false`` a boolean, ``"..."`` a string with JSON's escapes, ``[...]``
and ``{...}`` a list and a hash in JSON; anything else is the string it spells (``x64``,
``/compute/1``, ``My VM``).  The renderer quotes exactly the strings that would otherwise read
back as something else.  An attribute name that is a keyword where it stands is written quoted
(``"kind" x``); so is a name in one of the OCCI namespaces (``compute.speed``), because unquoted
such a name means the OCCI attribute (``occi.compute.speed``) as in the walkthrough and in HTML
forms.

Reading skips blank lines and lines starting with ``#``, takes any line ending and leading
blanks, and refuses everything else that is malformed with one sentence that names the line;
it never raises anything but :class:`~occi_twisted.model.errors.BadRequest`.  The size limits
are every rendering's (:mod:`~occi_twisted.renderings.limits`), and lists and hashes are read
and written as the XML form of the descriptor (:mod:`occi_twisted.renderings.xml`) does, with
:mod:`~occi_twisted.renderings.values`.
"""

from __future__ import annotations

import json as stdjson
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..model import AttributeType, Category, Entity, Kind, Mixin
from ..model.errors import BadRequest
from .document import CategoryRef, Document, EntityView, LinkRef, RenderContext, Rendered
from .form import SHORT_NAMESPACES
from .limits import MAX_ATTRIBUTES, MAX_LINE, MAX_LINES, MAX_VALUES
from .values import (
    ATTRIBUTE_NAME,
    BARE,
    FLOAT,
    INTEGER,
    LINE_BREAK,
    QUOTED_STRING,
    SURROGATE,
    TERM,
    URI,
    bareValue,
    bodyText,
    fail,
    jsonQuoted,
    jsonText,
    jsonValue,
    short,
    show,
    uriText,
)

MEDIA_TYPE = "text/x-occi-descriptor"
CONTENT_TYPE = f"{MEDIA_TYPE}; charset=utf-8"
EOL = "\r\n"
INDENT = "  "

_TARGET, _TARGET_KIND = "occi.core.target", "occi.core.target.kind"

#: Keywords of the top level, and the class of category each names.
_CATEGORY_KEYWORDS: dict[str, str | None] = {
    "kind": "kind", "mixin": "mixin", "action": "action", "category": None,
}
_KEYWORD_OF_CLASS = {cls: keyword for keyword, cls in _CATEGORY_KEYWORDS.items()}
_TOP_KEYWORDS = frozenset({*_CATEGORY_KEYWORDS, "link", "location"})
_LINK_CATEGORY_KEYWORDS = frozenset({"kind", "mixin", "category"})
_LINK_KEYWORDS = frozenset({"rel", "self", *_LINK_CATEGORY_KEYWORDS})
_REL_KEYWORDS = frozenset({"rel", "parent", "depends", "applies"})
_DEFINITION_WORDS = frozenset({"immutable", "required", *(t.value for t in AttributeType)})

# A key (a word, or a quoted string), blanks, the rest.  Possessive: no backtracking, ever.
_KEY = re.compile(rf'({QUOTED_STRING}|[^ \t"]++)(?:[ \t]++(.*+))?', re.S)
_QUOTED = re.compile(QUOTED_STRING, re.S)
_BLANKS = re.compile(r"[ \t]+")


# -- values --------------------------------------------------------------------------------


def jsonString(raw: str, name: str, where: str) -> tuple[str, str]:
    """A JSON string at the start of ``raw``: its text, and what follows it."""
    match = _QUOTED.match(raw)
    if match is None:
        fail(f"The quoted {name} is not closed: {show(raw)}", where)
    try:
        text = stdjson.loads(match.group(), strict=False)
    except ValueError:
        fail(f"The quoted {name} has an escape JSON does not know: {show(match.group())}",
             where)
    if not isinstance(text, str):  # a matched quoted string decodes to a string; be sure
        fail(f"The quoted {name} is not a string", where)
    if SURROGATE.search(text):
        fail(f"The quoted {name} holds half a UTF-16 surrogate pair as a \\u escape", where)
    return text, raw[match.end():]


def parseValue(raw: str, name: str, where: str) -> object:
    """A value as the descriptor types it by its spelling (``raw`` without outer blanks)."""
    if not raw:
        fail(f"The attribute {name} has no value", where)
    first = raw[0]
    if first == '"':
        text, rest = jsonString(raw, f"value of {name}", where)
        if rest.strip(" \t"):
            fail(f"The attribute {name} has text after its closing quote: {show(rest)}",
                 where)
        return text
    if first in "[{":
        return jsonValue(raw, name, where)
    if raw.lower() == "null":
        fail(f"The attribute {name} is null; leave it out to mean no value, or quote the "
             'string "null"', where)
    return bareValue(raw, name, where)


def _isBare(text: str) -> bool:
    """Whether ``text`` reads back, unquoted, as this very string."""
    if not text or not text.isprintable() or text[0] in '"[{':
        return False
    if any(char.isspace() or char in '"\\' for char in text):
        return False
    lowered = text.lower()
    if lowered in ("true", "false", "null"):
        return False
    return not (INTEGER.fullmatch(text) or FLOAT.fullmatch(text))


def floatText(number: float) -> str:
    """A float that reads back as the same float, and as a float (``repr`` always has a
    ``.`` or an exponent)."""
    return repr(number)


def valueText(value: object) -> str:
    """An attribute value as the descriptor writes it."""
    if isinstance(value, str):
        return value if _isBare(value) else jsonQuoted(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return floatText(value) if math.isfinite(value) else jsonQuoted(repr(value))
    if isinstance(value, (list, dict)):
        return jsonText(value)
    return jsonQuoted(str(value))


# -- parsing -------------------------------------------------------------------------------


def _identifier(token: str, what: str, where: str, termAlone: bool = False) -> CategoryRef:
    """A category identifier, ``scheme#term``; with ``termAlone`` also a bare term."""
    scheme, hash_, term = token.rpartition("#")
    if hash_ and scheme and TERM.fullmatch(term) and URI.fullmatch(token):
        return CategoryRef(scheme + "#", term)
    if not (termAlone and not hash_ and TERM.fullmatch(token)):
        fail(f"The {what} {show(token)} is not a category identifier (scheme#term)", where)
    return CategoryRef("", token)


def _uri(token: str, what: str, where: str) -> str:
    if token.startswith("<") and token.endswith(">"):
        token = token[1:-1]
    if not URI.fullmatch(token):
        fail(f"The {what} {show(token)} is not a URI", where)
    return token


def _tokens(rest: str | None, keyword: str, where: str) -> list[str]:
    tokens = _BLANKS.split(rest.strip(" \t")) if rest else []
    tokens = [token for token in tokens if token]
    if not tokens:
        fail(f"The {keyword} line needs a value", where)
    return tokens


def _one(rest: str | None, keyword: str, where: str) -> str:
    tokens = _tokens(rest, keyword, where)
    if len(tokens) > 1:
        fail(f"The {keyword} line takes one value, not {len(tokens)}; give each its own line",
             where)
    return tokens[0]


def _attributeName(key: str, where: str) -> str:
    """The attribute a key names: quoted, literally; unquoted, with the walkthrough's short
    OCCI names (``compute.speed``) spelt out."""
    if key.startswith('"'):
        name, rest = jsonString(key, "attribute name", where)
        if rest:
            fail(f"The attribute name {show(key)} has text after its closing quote", where)
    else:
        name = key
    if not ATTRIBUTE_NAME.fullmatch(name):
        fail(f"The key {show(name)} is neither a keyword nor an attribute name", where)
    if not key.startswith('"'):
        namespace, dot, _rest = name.partition(".")
        if dot and namespace in SHORT_NAMESPACES:
            name = "occi." + name
    return name


@dataclass
class _CategoryBlock:
    ref: CategoryRef
    indent: int
    title: str | None = None
    location: str | None = None
    rel: list[str] = field(default_factory=list)
    attributes: list[CategoryRef.Attribute] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)

    def add(self, keyword: str, rest: str | None, where: str) -> None:
        label = show(self.ref.term)
        if keyword == "title":
            if self.title is not None:
                fail(f"The category {label} gives its title twice", where)
            self.title = _title(rest or "", label, where)
        elif keyword == "location":
            if self.location is not None:
                fail(f"The category {label} gives its location twice", where)
            self.location = _uri(_one(rest, keyword, where), "location", where)
        elif keyword in _REL_KEYWORDS:
            for token in _tokens(rest, keyword, where):
                self.rel.append(_identifier(token, keyword, where).identifier)
        elif keyword == "action":
            for token in _tokens(rest, keyword, where):
                self.actions.append(_identifier(token, keyword, where).identifier)
        elif keyword == "attribute":
            name, *words = _tokens(rest, keyword, where)
            if not ATTRIBUTE_NAME.fullmatch(name):
                fail(f"The category {label} defines {show(name)}, which is not an attribute "
                     "name", where)
            said = {word.lower() for word in words}
            for word in said - _DEFINITION_WORDS:
                fail(f"The attribute {short(name)} of the category {label} is said to be "
                     f"{show(word)}; say its type, immutable or required", where)
            types = said - {"immutable", "required"}
            if len(types) > 1:
                fail(f"The attribute {short(name)} of the category {label} is given two "
                     "types", where)
            self.attributes.append(CategoryRef.Attribute(
                name, type=next(iter(types), None), mutable="immutable" not in said,
                required="required" in said))
        else:
            fail(f"A category's lines are title, location, rel, parent, depends, applies, "
                 f"attribute and action, not {show(keyword)}", where)
        if len(self.rel) + len(self.attributes) + len(self.actions) > MAX_VALUES:
            fail(f"The category {label} lists more than {MAX_VALUES} values", where)

    def finished(self) -> CategoryRef:
        return CategoryRef(
            self.ref.scheme, self.ref.term, cls=self.ref.cls, title=self.title,
            location=self.location, rel=tuple(self.rel), attributes=tuple(self.attributes),
            actions=tuple(self.actions),
        )


def _title(rest: str, label: str, where: str) -> str:
    rest = rest.strip(" \t")
    if rest.startswith('"'):
        title, after = jsonString(rest, f"title of the category {label}", where)
        if after.strip(" \t"):
            fail(f"The title of the category {label} has text after its closing quote", where)
        return title
    if not rest:
        fail(f'The title line of the category {label} needs a value (an empty one is "")',
             where)
    if not BARE.fullmatch(rest):
        fail(f"The title of the category {label} has a stray quote, backslash or control "
             "character; quote it as a string", where)
    return rest


@dataclass
class _LinkBlock:
    target: str
    indent: int
    rel: list[str] = field(default_factory=list)
    location: str | None = None
    categories: list[str] = field(default_factory=list)
    attributes: dict[str, object] = field(default_factory=dict)

    def add(self, key: str, rest: str | None, where: str) -> None:
        label = show(self.target)
        if key == "rel":
            for token in _tokens(rest, key, where):
                self.rel.append(_identifier(token, "rel", where).identifier)
        elif key == "self":
            if self.location is not None:
                fail(f"The link to {label} gives self twice", where)
            self.location = _uri(_one(rest, key, where), "self of the link", where)
        elif key in _LINK_CATEGORY_KEYWORDS:
            for token in _tokens(rest, key, where):
                self.categories.append(_identifier(token, key, where).identifier)
        else:
            name = _attributeName(key, where)
            if name in self.attributes:
                fail(f"The link to {label} gives the attribute {short(name)} twice", where)
            if len(self.attributes) >= MAX_ATTRIBUTES:
                fail(f"The link to {label} has more than {MAX_ATTRIBUTES} attributes", where)
            self.attributes[name] = parseValue((rest or "").strip(" \t"), short(name), where)
        if len(self.rel) + len(self.categories) > MAX_VALUES:
            fail(f"The link to {label} lists more than {MAX_VALUES} categories", where)

    def link(self) -> LinkRef:
        return LinkRef(target=self.target, rel=tuple(self.rel), location=self.location,
                       categories=tuple(self.categories), attributes=self.attributes)


class _DocumentBuilder:
    def __init__(self) -> None:
        self.categories: list[CategoryRef] = []
        self.attributes: dict[str, object] = {}
        self.links: list[LinkRef] = []
        self.locations: list[str] = []
        self.block: _CategoryBlock | _LinkBlock | None = None
        self.count = 0

    def close(self) -> None:
        if isinstance(self.block, _CategoryBlock):
            self.categories.append(self.block.finished())
        elif isinstance(self.block, _LinkBlock):
            self.links.append(self.block.link())
        self.block = None

    def line(self, indent: int, key: str, rest: str | None, where: str) -> None:
        if self.block is not None and indent > self.block.indent:
            self.block.add(key, rest, where)
            return
        self.close()
        self.count += 1
        if self.count > MAX_VALUES:
            fail(f"The descriptor has more than {MAX_VALUES} values", where)
        if key in _CATEGORY_KEYWORDS:
            ref = _identifier(_one(rest, key, where), key, where, termAlone=True)
            self.block = _CategoryBlock(
                CategoryRef(ref.scheme, ref.term, cls=_CATEGORY_KEYWORDS[key]), indent)
        elif key == "link":
            self.block = _LinkBlock(_uri(_one(rest, key, where), "link target", where), indent)
        elif key == "location":
            self.locations.append(_uri(_one(rest, key, where), "location", where))
        else:
            name = _attributeName(key, where)
            if name in self.attributes:
                fail(f"The attribute {short(name)} is given twice", where)
            if len(self.attributes) >= MAX_ATTRIBUTES:
                fail(f"The descriptor has more than {MAX_ATTRIBUTES} attributes", where)
            self.attributes[name] = parseValue((rest or "").strip(" \t"), short(name), where)

    def document(self) -> Document:
        self.close()
        return Document(
            categories=tuple(self.categories),
            attributes=self.attributes,
            links=tuple(self.links),
            locations=tuple(self.locations),
        )


def parse(body: bytes, headers: Mapping[str, Sequence[str]] | None = None) -> Document:
    """Read a descriptor: an entity, a definition, an action invocation or a location list.

    An empty body (or one of comments alone) is an empty document.
    """
    lines = LINE_BREAK.split(bodyText(body, "The descriptor"))
    if len(lines) > MAX_LINES:
        raise BadRequest(f"The descriptor has more than {MAX_LINES} lines.")
    builder = _DocumentBuilder()
    for number, line in enumerate(lines, 1):
        if len(line) > MAX_LINE:
            raise BadRequest(f"Line {number} of the descriptor is longer than "
                             f"{MAX_LINE // 1024} KiB.")
        content = line.lstrip(" \t")
        if not content.rstrip(" \t") or content.startswith("#"):
            continue
        where = f"line {number}"
        match = _KEY.fullmatch(content)
        if match is None:
            fail(f"The line is not of the form 'key value': {show(content)}", where)
        builder.line(len(line) - len(content), match.group(1), match.group(2), where)
    return builder.document()


# -- rendering -----------------------------------------------------------------------------


def _token(uri: str) -> str:
    """A URI as one token: as it is when it is one, percent-encoded where it must be."""
    return uri if URI.fullmatch(uri) else uriText(uri)


def _key(name: str, keywords: frozenset[str]) -> str:
    """An attribute name as a key: quoted where unquoted it would mean something else."""
    namespace, dot, _rest = name.partition(".")
    if name in keywords or (dot and namespace in SHORT_NAMESPACES):
        return jsonQuoted(name)
    return name


def _attributeLines(
    attributes: Mapping[str, object], keywords: frozenset[str], indent: str = ""
) -> list[str]:
    return [f"{indent}{_key(name, keywords)} {valueText(value)}"
            for name, value in attributes.items()]


def _identifierText(ref: CategoryRef) -> str:
    return ref.identifier if ref.scheme else ref.term


def _refLines(ref: CategoryRef) -> list[str]:
    lines = [f"{_KEYWORD_OF_CLASS.get(ref.cls, 'category')} {_identifierText(ref)}"]
    if ref.title is not None:
        lines.append(f"{INDENT}title {jsonQuoted(ref.title)}")
    if ref.location is not None:
        lines.append(f"{INDENT}location {_token(ref.location)}")
    lines.extend(f"{INDENT}rel {identifier}" for identifier in ref.rel)
    lines.extend(f"{INDENT}attribute {_definitionWords(a.name, a.type, a.mutable, a.required)}"
                 for a in ref.attributes)
    lines.extend(f"{INDENT}action {identifier}" for identifier in ref.actions)
    return lines


def _linkRefLines(link: LinkRef) -> list[str]:
    lines = [f"link {_token(link.target)}"]
    lines.extend(f"{INDENT}rel {identifier}" for identifier in link.rel)
    if link.location is not None:
        lines.append(f"{INDENT}self {_token(link.location)}")
    lines.extend(f"{INDENT}category {identifier}" for identifier in link.categories)
    lines += _attributeLines(link.attributes, _LINK_KEYWORDS, INDENT)
    return lines


def documentLines(document: Document) -> list[str]:
    """The lines that write ``document`` (what a client sends).

    ``action`` (a JSON invocation's) is written as an ``action`` line, which reads back as an
    action category; ``entities`` cannot be written.
    """
    lines: list[str] = []
    for ref in document.categories:
        lines += _refLines(ref)
    if document.action is not None:
        lines += _refLines(document.action)
    lines += _attributeLines(document.attributes, _TOP_KEYWORDS)
    for link in document.links:
        lines += _linkRefLines(link)
    lines.extend(f"location {_token(location)}" for location in document.locations)
    return lines


def formatDescriptor(document: Document) -> bytes:
    """``document`` as a descriptor request body."""
    return _body(documentLines(document))


def _body(lines: list[str]) -> bytes:
    return (EOL.join(lines) + EOL).encode("utf-8") if lines else b""


def _linkLines(link: Entity) -> list[str]:
    attributes = link.attributes
    lines = [f"link {_token(str(attributes.get(_TARGET, '')))}"]
    targetKind = attributes.get(_TARGET_KIND)
    if targetKind:
        lines.append(f"{INDENT}rel {targetKind}")
    lines.append(f"{INDENT}self {_token(link.location)}")
    lines.append(f"{INDENT}kind {link.kind.identifier}")
    lines.extend(f"{INDENT}mixin {mixin.identifier}" for mixin in link.mixins)
    lines += _attributeLines(attributes, _LINK_KEYWORDS, INDENT)
    return lines


def entityLines(view: EntityView) -> list[str]:
    """An entity: its kind, its mixins, its attributes and, for a resource, its links."""
    entity = view.entity
    lines = [f"kind {entity.kind.identifier}"]
    lines.extend(f"mixin {mixin.identifier}" for mixin in entity.mixins)
    lines += _attributeLines(entity.attributes, _TOP_KEYWORDS)
    for link in view.links:
        lines += _linkLines(link)
    return lines


def categoryLines(category: Category, context: RenderContext) -> list[str]:
    """A kind, mixin or action as the query interface defines it."""
    lines = [f"{_KEYWORD_OF_CLASS.get(category.categoryClass, 'category')} "
             f"{category.identifier}"]
    if category.title:
        lines.append(f"{INDENT}title {jsonQuoted(category.title)}")
    if isinstance(category, (Kind, Mixin)) and category.location:
        lines.append(f"{INDENT}location {_token(context.absolute(category.location))}")
    if isinstance(category, Kind) and category.parent is not None:
        lines.append(f"{INDENT}parent {category.parent.identifier}")
    if isinstance(category, Mixin):
        lines.extend(f"{INDENT}depends {mixin.identifier}" for mixin in category.depends)
        lines.extend(f"{INDENT}applies {kind.identifier}" for kind in category.applies)
    lines.extend(f"{INDENT}attribute " + _definitionWords(
        d.name, d.type.value, d.mutable, d.required) for d in category.attributes)
    if isinstance(category, (Kind, Mixin)):
        lines.extend(f"{INDENT}action {action.identifier}" for action in category.actions)
    return lines


class DescriptorRenderer:
    """Writes the descriptor.  Listings are by reference: one ``location`` line an entity."""

    mediaType = MEDIA_TYPE
    contentType = CONTENT_TYPE
    streams = True

    def entity(self, view: EntityView, context: RenderContext) -> Rendered:
        return Rendered(self.contentType, _body(entityLines(view)))

    def categories(self, categories: Sequence[Category], context: RenderContext) -> Rendered:
        lines: list[str] = []
        for category in categories:
            if lines:
                lines.append("")
            lines += categoryLines(category, context)
        return Rendered(self.contentType, _body(lines))

    def locations(self, locations: Sequence[str], context: RenderContext) -> Rendered:
        lines = [f"location {_token(context.absolute(location))}" for location in locations]
        return Rendered(self.contentType, _body(lines))

    def message(self, text: str, context: RenderContext) -> Rendered:
        # A comment: a reader of descriptors skips it, a person reads it.
        return Rendered(self.contentType, f"# {' '.join(text.split())}{EOL}".encode())

    def collectionStart(self, context: RenderContext) -> bytes:
        return b""

    def collectionItem(self, view: EntityView, first: bool, context: RenderContext) -> bytes:
        return f"location {_token(context.absolute(view.entity.location))}{EOL}".encode()

    def collectionEnd(self, context: RenderContext) -> bytes:
        return b""


DESCRIPTOR = DescriptorRenderer()


def _definitionWords(name: str, type: str | None, mutable: bool, required: bool) -> str:
    """What follows ``attribute`` in a category's definition."""
    words = [name, *([type] if type else [])]
    words += [word for word, said in (("immutable", not mutable), ("required", required))
              if said]
    return " ".join(words)
