"""The descriptor as XML (``application/occi+xml``), the walkthrough's "OCCI descriptor format".

The same content as the key/value descriptor (:mod:`occi_twisted.renderings.descriptor`), as
elements in the namespace :data:`NAMESPACE`::

    <entity xmlns="http://schemas.occi-twisted.org/occi/xml#">
      <kind scheme="http://schemas.ogf.org/occi/infrastructure#" term="compute"/>
      <mixin scheme="http://schemas.occi-twisted.org/occi/infrastructure/resource_tpl#"
             term="medium"/>
      <attribute name="occi.core.id" type="string">vm1</attribute>
      <attribute name="occi.compute.cores" type="integer">2</attribute>
      <attribute name="occi.compute.memory" type="float">4.0</attribute>
      <link target="/network/net1" rel="http://schemas.ogf.org/occi/infrastructure#network"
            self="/networkinterface/nic1">
        <kind scheme="http://schemas.ogf.org/occi/infrastructure#" term="networkinterface"/>
        <attribute name="occi.core.id" type="string">nic1</attribute>
      </link>
    </entity>

* An ``<attribute>``'s ``type`` is ``string`` (the default), ``integer``, ``float``,
  ``number`` (typed by its spelling, as in the text renderings), ``boolean``, ``list`` or
  ``hash`` (lists and hashes as JSON text).  A string holding characters XML 1.0 cannot carry
  (most control characters) is written as a JSON string with ``encoding="json"``, so every
  string the model holds survives.
* ``<kind>``, ``<mixin>``, ``<action>`` and ``<category>`` (class not stated) name categories by
  ``scheme`` and ``term``; defining one (the query interface, ``<categories>``) adds ``title``,
  ``location``, ``parent``/``depends``/``applies``/``rel`` and ``actions`` (identifiers,
  blank-separated) and ``<attribute name=".." type=".." mutable=".." required=".."/>``
  definitions.
* A listing is a ``<collection>`` of ``<entity>`` elements (pass-by-value, like JSON) or of
  ``<location>`` elements; a message is ``<message>``.

Reading is strict, and safe: the body must be UTF-8 (its size is the HTTP layer's to bound); a
document type declaration or entity declaration anywhere (billion laughs, external entities)
is refused before the parser sees the body, and the parser's target refuses one again; no
element nests deeper than :data:`MAX_DEPTH` and there are at most :data:`MAX_ELEMENTS`.  The
parser is given the decoded text, so no encoding declaration can make it read other
characters than were checked.  Anything malformed -- XML, an unknown element or attribute, a
value not of its type -- raises :class:`~occi_twisted.model.errors.BadRequest` with one
sentence that names the element by its path; nothing else ever escapes.  Elements and
attributes may be in :data:`NAMESPACE` or in no namespace; attributes in other namespaces
(``xml:lang``, ``xsi:schemaLocation``) are ignored.
"""

from __future__ import annotations

import json as stdjson
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import NoReturn
from xml.parsers.expat import ErrorString

from ..model import AttributeType, Category, Entity, Kind, Mixin
from ..model.errors import BadRequest
from .descriptor import floatText
from .document import CategoryRef, Document, EntityView, LinkRef, RenderContext, Rendered
from .limits import MAX_ATTRIBUTES, MAX_VALUES
from .values import (
    ATTRIBUTE_NAME,
    INTEGER,
    NOT_XML,
    TERM,
    URI,
    bodyText,
    jsonText,
    jsonValue,
    numberValue,
    short,
    show,
    uriText,
    xmlAttribute,
    xmlChars,
    xmlText,
)

MEDIA_TYPE = "application/occi+xml"
CONTENT_TYPE = f"{MEDIA_TYPE}; charset=utf-8"
NAMESPACE = "http://schemas.occi-twisted.org/occi/xml#"

#: Deepest element nesting read (the format needs four: collection, entity, link, attribute).
MAX_DEPTH = 8
#: Most elements read in one body.
MAX_ELEMENTS = 100_000
#: The parser is fed this many characters at a time, so that limits stop it early.
_CHUNK = 64 * 1024

_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
_INDENT = "  "
_TARGET, _TARGET_KIND = "occi.core.target", "occi.core.target.kind"

_CATEGORY_TAGS: dict[str, str | None] = {
    "kind": "kind", "mixin": "mixin", "action": "action", "category": None,
}
_TAG_OF_CLASS = {cls: tag for tag, cls in _CATEGORY_TAGS.items()}
_CATEGORY_ATTRIBUTES = frozenset(
    {"scheme", "term", "title", "location", "rel", "parent", "depends", "applies", "actions"}
)
_REL_ATTRIBUTES = ("parent", "depends", "applies", "rel")
_DEFINITION_ATTRIBUTES = frozenset(
    {"name", "type", "mutable", "required", "default", "description"}
)
_VALUE_ATTRIBUTES = frozenset({"name", "type", "encoding"})
_LINK_ATTRIBUTES = frozenset({"target", "rel", "self"})
_REF_ATTRIBUTES = frozenset({"scheme", "term"})
_VALUE_TYPES = frozenset({"string", "integer", "float", "number", "boolean", "list", "hash"})
_MODEL_TYPES = frozenset(t.value for t in AttributeType)

_DTD = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.I)
_ENCODING = re.compile(r"""<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']""")
_READABLE_ENCODINGS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


def _fail(problem: str, where: str) -> NoReturn:
    raise BadRequest(f"{problem} (at {where}).")


def _short(name: str) -> str:
    """A name to quote in a message (an element's path names several, so shorter still)."""
    return short(name, 40)


# -- parsing -------------------------------------------------------------------------------


class _Target:
    """Builds the tree as ElementTree does, and stops the parser at a limit or a DTD."""

    def __init__(self, maxDepth: int) -> None:
        self.builder = ET.TreeBuilder()
        self.maxDepth = maxDepth
        self.depth = 0
        self.elements = 0

    def start(self, tag: str, attributes: dict[str, str]) -> ET.Element:
        self.depth += 1
        self.elements += 1
        if self.depth > self.maxDepth:
            raise BadRequest(f"The XML body nests elements more than {self.maxDepth} deep.")
        if self.elements > MAX_ELEMENTS:
            raise BadRequest(f"The XML body has more than {MAX_ELEMENTS} elements.")
        return self.builder.start(tag, attributes)

    def end(self, tag: str) -> ET.Element:
        self.depth -= 1
        return self.builder.end(tag)

    def data(self, data: str) -> None:
        self.builder.data(data)

    def close(self) -> ET.Element:
        return self.builder.close()

    def doctype(self, name: str, pubid: str | None, system: str | None) -> NoReturn:
        # Refused before parsing already; this is the second lock on the same door.
        raise BadRequest("The XML body has a document type declaration, which this server "
                         "refuses.")


def safeRoot(body: bytes, maxDepth: int = MAX_DEPTH) -> ET.Element | None:
    """The root element of ``body``, parsed safely (see the module's docstring); ``None`` for
    an empty body.  Atom entries and OVF envelopes are read with it too (an envelope nests
    deeper than our format: ``maxDepth``)."""
    text = bodyText(body, "The XML body")
    if not text.strip():
        return None
    if _DTD.search(text):
        raise BadRequest("The XML body has a document type or entity declaration, which this "
                         "server refuses.")
    declared = _ENCODING.match(text)
    if declared is not None and declared.group(1).lower() not in _READABLE_ENCODINGS:
        raise BadRequest(f"The XML body declares the encoding {show(declared.group(1))}; "
                         "send it as UTF-8.")
    parser = ET.XMLParser(target=_Target(maxDepth))
    try:
        for start in range(0, len(text), _CHUNK):
            parser.feed(text[start:start + _CHUNK])
        root = parser.close()
    except ET.ParseError as error:
        line, column = error.position
        raise BadRequest(f"The XML body is not well-formed: {ErrorString(error.code)} at "
                         f"line {line}, column {column}.") from None
    if not isinstance(root, ET.Element):  # the target returns the root element; be sure
        raise BadRequest("The XML body has no root element.")
    return root


def _name(element: ET.Element, where: str) -> str:
    """An element's local name; it must be in no namespace or in ours."""
    tag = element.tag
    if not isinstance(tag, str):
        _fail("The XML body holds something that is not an element", where)
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        if namespace != NAMESPACE:
            _fail(f"The element <{_short(local)}> is in the namespace "
                  f"{show(namespace)}, not in {NAMESPACE}", where)
        return local
    return tag


def _attributes(
    element: ET.Element, allowed: frozenset[str], what: str, where: str
) -> dict[str, str]:
    """An element's attributes in no namespace, all of them ``allowed``."""
    found = {key: value for key, value in element.attrib.items() if not key.startswith("{")}
    unknown = found.keys() - allowed
    if unknown:
        names = ", ".join(show(key) for key in sorted(unknown)[:3])
        _fail(f"A <{what}> has no attribute {names}", where)
    return found


def _noText(element: ET.Element, what: str, where: str) -> None:
    texts = [element.text, *(child.tail for child in element)]
    if any(text and text.strip() for text in texts):
        _fail(f"A <{what}> holds elements only, not text", where)


def _noChildren(element: ET.Element, what: str, where: str) -> None:
    if len(element):
        _fail(f"A <{what}> holds no elements", where)


def _children(element: ET.Element, where: str) -> list[tuple[str, ET.Element, str]]:
    """Each child: its local name, itself, and its path (``/entity/link[2]``)."""
    counts: dict[str, int] = {}
    found = []
    for child in element:
        name = _name(child, where)
        counts[name] = counts.get(name, 0) + 1
        found.append((name, child, f"{where}/{_short(name)}[{counts[name]}]"))
    return found


def _uri(text: str, what: str, where: str) -> str:
    if not URI.fullmatch(text):
        _fail(f"The {what} {show(text)} is not a URI", where)
    return text


def _identifiers(text: str, what: str, where: str) -> tuple[str, ...]:
    found = []
    for token in text.split():
        scheme, hash_, term = token.rpartition("#")
        if not hash_ or not scheme or not TERM.fullmatch(term) or not URI.fullmatch(token):
            _fail(f"The {what} {show(token)} is not a category identifier (scheme#term)",
                  where)
        found.append(token)
    if len(found) > MAX_VALUES:
        _fail(f"The {what} lists more than {MAX_VALUES} identifiers", where)
    return tuple(found)


def _schemeAndTerm(attributes: dict[str, str], what: str, where: str) -> tuple[str, str]:
    term = attributes.get("term")
    if term is None:
        _fail(f"A <{what}> needs a term", where)
    if not TERM.fullmatch(term):
        _fail(f"The term {show(term)} may hold only letters, digits, '-', '_' and '.'", where)
    scheme = attributes.get("scheme")
    if scheme is None:
        return "", term  # the term alone: the resolver looks it up
    _uri(scheme, f"scheme of the {what} {_short(term)}", where)
    return scheme, term


def _category(element: ET.Element, tag: str, where: str) -> CategoryRef:
    attributes = _attributes(element, _CATEGORY_ATTRIBUTES, tag, where)
    _noText(element, tag, where)
    scheme, term = _schemeAndTerm(attributes, tag, where)
    label = _short(term)
    location = attributes.get("location")
    if location is not None:
        _uri(location, f"location of the {tag} {label}", where)
    rel: list[str] = []
    for key in _REL_ATTRIBUTES:
        if key in attributes:
            rel += _identifiers(attributes[key], f"{key} of the {tag} {label}", where)
    actions = attributes.get("actions")
    definitions: list[CategoryRef.Attribute] = []
    for name, child, childWhere in _children(element, where):
        if name != "attribute":
            _fail(f"A <{tag}> holds <attribute> definitions only, not <{_short(name)}>", where)
        definitions.append(_definition(child, childWhere))
    return CategoryRef(
        scheme, term, cls=_CATEGORY_TAGS[tag], title=attributes.get("title"), location=location,
        rel=tuple(rel), attributes=tuple(definitions),
        actions=(_identifiers(actions, f"actions of the {tag} {label}", where)
                 if actions is not None else ()),
    )


def _definition(element: ET.Element, where: str) -> CategoryRef.Attribute:
    """An ``<attribute>`` definition: mutable and not required unless it says otherwise."""
    attributes = _attributes(element, _DEFINITION_ATTRIBUTES, "attribute", where)
    _noChildren(element, "attribute", where)
    if element.text and element.text.strip():
        _fail("An attribute definition holds no text", where)
    name = attributes.get("name")
    if name is None or not ATTRIBUTE_NAME.fullmatch(name):
        _fail("An attribute definition needs a name that is an attribute name", where)
    kind = attributes.get("type")
    if kind is not None and kind not in _MODEL_TYPES:
        _fail(f"The attribute {_short(name)} has the type {show(kind)}; the types are "
              f"{', '.join(sorted(_MODEL_TYPES))}", where)
    for flag in ("mutable", "required"):
        if flag in attributes and attributes[flag] not in ("true", "false"):
            _fail(f"The {flag} of the attribute {_short(name)} must be true or false", where)
    return CategoryRef.Attribute(name, type=kind, mutable=attributes.get("mutable") != "false",
                        required=attributes.get("required") == "true",
                        default=attributes.get("default"),
                        description=attributes.get("description"))


def _value(element: ET.Element, where: str) -> tuple[str, object]:
    """An attribute's name and typed value."""
    attributes = _attributes(element, _VALUE_ATTRIBUTES, "attribute", where)
    _noChildren(element, "attribute", where)
    name = attributes.get("name")
    if name is None:
        _fail("An <attribute> needs a name", where)
    if not ATTRIBUTE_NAME.fullmatch(name):
        _fail(f"The name {show(name)} is not an attribute name", where)
    label = _short(name)
    kind = attributes.get("type", "string")
    if kind not in _VALUE_TYPES:
        _fail(f"The attribute {label} has the type {show(kind)}; the types are "
              f"{', '.join(sorted(_VALUE_TYPES))}", where)
    text = element.text or ""
    encoding = attributes.get("encoding")
    if encoding is not None:
        if encoding != "json":
            _fail(f"The attribute {label} has the encoding {show(encoding)}; the one "
                  "encoding is json", where)
        value = jsonValue(text.strip(), label, where)
    elif kind == "string":
        return name, text
    else:
        value = _spelt(text.strip(), kind, label, where)
    return name, _typed(value, kind, label, where)


def _spelt(text: str, kind: str, name: str, where: str) -> object:
    """A value written as text (not as JSON): typed as ``kind`` says."""
    if not text:
        _fail(f"The attribute {name} has no value", where)
    if kind == "boolean":
        lowered = text.lower()
        if lowered not in ("true", "false"):
            _fail(f"The attribute {name} is a boolean, true or false, not {show(text)}", where)
        return lowered == "true"
    if kind in ("list", "hash"):
        return jsonValue(text, name, where)
    number = numberValue(text, name, where)
    if number is None or (kind == "integer" and not INTEGER.fullmatch(text)):
        article = "an" if kind == "integer" else "a"
        _fail(f"The attribute {name} is {article} {kind}, not {show(text)}", where)
    return number


def _typed(value: object, kind: str, name: str, where: str) -> object:
    """``value`` checked against the ``type`` the element states."""
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    expected: dict[str, tuple[type, ...]] = {
        "string": (str,), "integer": (int,), "float": (float,), "number": (int, float),
        "boolean": (bool,), "list": (list,), "hash": (dict,),
    }
    wrongBool = isinstance(value, bool) and kind != "boolean"
    if wrongBool or not isinstance(value, expected[kind]):
        _fail(f"The attribute {name} is said to be of type {kind} but holds "
              f"{show(stdjson.dumps(value))[1:-1]}", where)
    return value


def _link(element: ET.Element, where: str) -> LinkRef:
    attributes = _attributes(element, _LINK_ATTRIBUTES, "link", where)
    _noText(element, "link", where)
    target = attributes.get("target")
    if target is None:
        _fail("A <link> needs a target", where)
    _uri(target, "link target", where)
    location = attributes.get("self")
    if location is not None:
        _uri(location, "self of the link", where)
    rel = attributes.get("rel")
    categories: list[str] = []
    values: dict[str, object] = {}
    for name, child, childWhere in _children(element, where):
        if name in _CATEGORY_TAGS:
            refAttributes = _attributes(child, _REF_ATTRIBUTES, name, childWhere)
            _noChildren(child, name, childWhere)
            _noText(child, name, childWhere)
            scheme, term = _schemeAndTerm(refAttributes, name, childWhere)
            if not scheme:
                _fail(f"A link's <{name}> needs its scheme", childWhere)
            categories.append(scheme + term)
        elif name == "attribute":
            key, value = _value(child, childWhere)
            if key in values:
                _fail(f"The link to {show(target)} gives the attribute {_short(key)} twice",
                      childWhere)
            if len(values) >= MAX_ATTRIBUTES:
                _fail(f"The link to {show(target)} has more than {MAX_ATTRIBUTES} attributes",
                      childWhere)
            values[key] = value
        else:
            _fail("A <link> holds kind, mixin, category and attribute elements, not "
                  f"<{_short(name)}>",
                  childWhere)
    return LinkRef(
        target=target,
        rel=_identifiers(rel, "rel of the link", where) if rel is not None else (),
        location=location,
        categories=tuple(categories),
        attributes=values,
    )


def _location(element: ET.Element, where: str) -> str:
    _attributes(element, frozenset(), "location", where)
    _noChildren(element, "location", where)
    return _uri((element.text or "").strip(), "location", where)


def _entity(element: ET.Element, where: str) -> Document:
    _attributes(element, frozenset(), "entity", where)
    _noText(element, "entity", where)
    categories: list[CategoryRef] = []
    attributes: dict[str, object] = {}
    links: list[LinkRef] = []
    locations: list[str] = []
    for count, (name, child, childWhere) in enumerate(_children(element, where), 1):
        if count > MAX_VALUES:
            _fail(f"An <entity> holds more than {MAX_VALUES} elements", childWhere)
        if name in _CATEGORY_TAGS:
            categories.append(_category(child, name, childWhere))
        elif name == "attribute":
            key, value = _value(child, childWhere)
            if key in attributes:
                _fail(f"The attribute {_short(key)} is given twice", childWhere)
            if len(attributes) >= MAX_ATTRIBUTES:
                _fail(f"The entity has more than {MAX_ATTRIBUTES} attributes", childWhere)
            attributes[key] = value
        elif name == "link":
            links.append(_link(child, childWhere))
        elif name == "location":
            locations.append(_location(child, childWhere))
        else:
            _fail("An <entity> holds kind, mixin, action, category, attribute, link and "
                  f"location elements, not <{_short(name)}>", childWhere)
    return Document(categories=tuple(categories), attributes=attributes, links=tuple(links),
                    locations=tuple(locations))


def _collection(element: ET.Element, where: str) -> Document:
    _attributes(element, frozenset(), "collection", where)
    _noText(element, "collection", where)
    entities: list[Document] = []
    locations: list[str] = []
    for name, child, childWhere in _children(element, where):
        if name == "entity":
            entities.append(_entity(child, childWhere))
        elif name == "location":
            locations.append(_location(child, childWhere))
        else:
            _fail(f"A <collection> holds entity and location elements, not <{_short(name)}>",
                  childWhere)
    return Document(entities=tuple(entities), locations=tuple(locations))


def _categories(element: ET.Element, where: str) -> Document:
    _attributes(element, frozenset(), "categories", where)
    _noText(element, "categories", where)
    categories: list[CategoryRef] = []
    for name, child, childWhere in _children(element, where):
        if name not in _CATEGORY_TAGS:
            _fail("A <categories> element holds kind, mixin, action and category elements, "
                  f"not <{_short(name)}>",
                  childWhere)
        categories.append(_category(child, name, childWhere))
    return Document(categories=tuple(categories))


def parse(body: bytes, headers: Mapping[str, Sequence[str]] | None = None) -> Document:
    """Read an ``application/occi+xml`` body: an ``<entity>`` (also an action invocation or a
    mixin definition), a ``<collection>``, ``<categories>`` or one category alone, or a
    ``<message>``.  An empty body is an empty document."""
    root = safeRoot(body)
    if root is None:
        return Document()
    name = _name(root, "the root element")
    where = "/" + name
    if name == "entity":
        return _entity(root, where)
    if name == "collection":
        return _collection(root, where)
    if name == "categories":
        return _categories(root, where)
    if name in _CATEGORY_TAGS:
        # One category alone, as the query interface takes it (GFD.223: "at least one full
        # category instance rendering").
        return Document(categories=(_category(root, name, where),))
    if name == "message":
        _attributes(root, frozenset(), name, where)
        _noChildren(root, name, where)
        return Document()
    _fail(f"The root element is <{_short(name)}>; it must be <entity>, <collection>, "
          "<categories>, <kind>, <mixin>, <action>, <category> or <message>",
          "the root element")


# -- rendering -----------------------------------------------------------------------------


def _uriAttribute(uri: str) -> str:
    return xmlAttribute(uriText(uri) if NOT_XML.search(uri) else uri)


def valueElement(name: str, value: object, indent: str = "") -> str:
    """One ``<attribute>`` with its value, typed."""
    head = f"{indent}<attribute name={xmlAttribute(name)} type="
    if isinstance(value, str):
        if NOT_XML.search(value):
            return f'{head}"string" encoding="json">{xmlText(stdjson.dumps(value))}</attribute>'
        return f'{head}"string">{xmlText(value)}</attribute>'
    if isinstance(value, bool):
        return f'{head}"boolean">{"true" if value else "false"}</attribute>'
    if isinstance(value, int):
        return f'{head}"integer">{int(value)}</attribute>'
    if isinstance(value, float):
        if math.isfinite(value):
            return f'{head}"float">{floatText(value)}</attribute>'
        return f'{head}"string">{xmlText(repr(value))}</attribute>'
    if isinstance(value, (list, dict)):
        text = jsonText(value)
        if NOT_XML.search(text):
            text = stdjson.dumps(value, separators=(",", ":"))
        kind = "list" if isinstance(value, list) else "hash"
        return f'{head}"{kind}">{xmlText(text)}</attribute>'
    return valueElement(name, str(value), indent)


def _refElement(tag: str, scheme: str, term: str, indent: str) -> str:
    schemeText = f" scheme={xmlAttribute(scheme)}" if scheme else ""
    return f"{indent}<{tag}{schemeText} term={xmlAttribute(term)}/>"


def _splitIdentifier(identifier: str) -> tuple[str, str]:
    scheme, hash_, term = identifier.rpartition("#")
    return (scheme + hash_, term) if hash_ else ("", identifier)


def _linkLines(link: Entity, indent: str) -> list[str]:
    attributes = link.attributes
    head = f"{indent}<link target={_uriAttribute(str(attributes.get(_TARGET, '')))}"
    targetKind = attributes.get(_TARGET_KIND)
    if targetKind:
        head += f" rel={xmlAttribute(str(targetKind))}"
    inner = indent + _INDENT
    lines = [f"{head} self={_uriAttribute(link.location)}>"]
    lines.append(_refElement("kind", link.kind.scheme, link.kind.term, inner))
    lines.extend(_refElement("mixin", m.scheme, m.term, inner) for m in link.mixins)
    lines.extend(valueElement(name, value, inner) for name, value in attributes.items())
    lines.append(f"{indent}</link>")
    return lines


def entityLines(view: EntityView, indent: str = "", namespace: bool = True) -> list[str]:
    """An ``<entity>``: kind, mixins, attributes and, for a resource, its links."""
    entity = view.entity
    inner = indent + _INDENT
    lines = [f"{indent}<entity{_xmlns(namespace)}>"]
    lines.append(_refElement("kind", entity.kind.scheme, entity.kind.term, inner))
    lines.extend(_refElement("mixin", m.scheme, m.term, inner) for m in entity.mixins)
    lines.extend(valueElement(name, value, inner)
                 for name, value in entity.attributes.items())
    for link in view.links:
        lines += _linkLines(link, inner)
    lines.append(f"{indent}</entity>")
    return lines


def _xmlns(namespace: bool) -> str:
    return f" xmlns={xmlAttribute(NAMESPACE)}" if namespace else ""


def categoryLines(category: Category, context: RenderContext, indent: str = "") -> list[str]:
    """A kind, mixin or action as the query interface defines it."""
    tag = _TAG_OF_CLASS.get(category.categoryClass, "category")
    head = (f"{indent}<{tag} scheme={xmlAttribute(category.scheme)} "
            f"term={xmlAttribute(category.term)}")
    if category.title:
        head += f" title={xmlAttribute(category.title)}"
    if isinstance(category, (Kind, Mixin)) and category.location:
        head += f" location={_uriAttribute(context.absolute(category.location))}"
    if isinstance(category, Kind) and category.parent is not None:
        head += f" parent={xmlAttribute(category.parent.identifier)}"
    if isinstance(category, Mixin):
        if category.depends:
            head += f" depends={xmlAttribute(' '.join(m.identifier for m in category.depends))}"
        if category.applies:
            head += f" applies={xmlAttribute(' '.join(k.identifier for k in category.applies))}"
    if isinstance(category, (Kind, Mixin)) and category.actions:
        head += f" actions={xmlAttribute(' '.join(a.identifier for a in category.actions))}"
    if not category.attributes:
        return [head + "/>"]
    lines = [head + ">"]
    lines.extend(indent + _INDENT + _definitionElement(
        d.name, d.type.value, d.mutable, d.required, d.description)
        for d in category.attributes)
    lines.append(f"{indent}</{tag}>")
    return lines


def _document(lines: list[str]) -> bytes:
    return (_DECLARATION + "\n".join(lines) + "\n").encode("utf-8")


class XMLRenderer:
    """Writes ``application/occi+xml``.  Listings are by value: a collection of entities."""

    mediaType = MEDIA_TYPE
    contentType = CONTENT_TYPE
    streams = True

    def entity(self, view: EntityView, context: RenderContext) -> Rendered:
        return Rendered(self.contentType, _document(entityLines(view)))

    def categories(self, categories: Sequence[Category], context: RenderContext) -> Rendered:
        lines = [f"<categories{_xmlns(True)}>"]
        for category in categories:
            lines += categoryLines(category, context, _INDENT)
        lines.append("</categories>")
        return Rendered(self.contentType, _document(lines))

    def locations(self, locations: Sequence[str], context: RenderContext) -> Rendered:
        lines = [f"<collection{_xmlns(True)}>"]
        lines.extend(f"{_INDENT}<location>{xmlText(_locationText(location, context))}</location>"
                     for location in locations)
        lines.append("</collection>")
        return Rendered(self.contentType, _document(lines))

    def message(self, text: str, context: RenderContext) -> Rendered:
        body = xmlText(xmlChars(text))
        return Rendered(self.contentType, _document([f"<message{_xmlns(True)}>{body}</message>"]))

    def collectionStart(self, context: RenderContext) -> bytes:
        return f"{_DECLARATION}<collection{_xmlns(True)}>\n".encode()

    def collectionItem(self, view: EntityView, first: bool, context: RenderContext) -> bytes:
        return ("\n".join(entityLines(view, _INDENT, namespace=False)) + "\n").encode("utf-8")

    def collectionEnd(self, context: RenderContext) -> bytes:
        return b"</collection>\n"


def _locationText(location: str, context: RenderContext) -> str:
    absolute = context.absolute(location)
    return uriText(absolute) if NOT_XML.search(absolute) else absolute


XML = XMLRenderer()


# -- documents, as a client writes them ----------------------------------------------------


def _refLines(ref: CategoryRef, indent: str) -> list[str]:
    tag = _TAG_OF_CLASS.get(ref.cls, "category")
    head = f"{indent}<{tag}"
    if ref.scheme:
        head += f" scheme={xmlAttribute(ref.scheme)}"
    head += f" term={xmlAttribute(ref.term)}"
    if ref.title is not None:
        head += f" title={xmlAttribute(ref.title)}"
    if ref.location is not None:
        head += f" location={_uriAttribute(ref.location)}"
    if ref.rel:
        head += f" rel={xmlAttribute(' '.join(ref.rel))}"
    if ref.actions:
        head += f" actions={xmlAttribute(' '.join(ref.actions))}"
    if not ref.attributes:
        return [head + "/>"]
    lines = [head + ">"]
    lines.extend(indent + _INDENT + _definitionElement(
        a.name, a.type, a.mutable, a.required, a.description) for a in ref.attributes)
    lines.append(f"{indent}</{tag}>")
    return lines


def _definitionElement(name: str, type: str | None, mutable: bool, required: bool,
                       description: str | None) -> str:
    """An ``<attribute>`` definition of a category."""
    element = f"<attribute name={xmlAttribute(name)}"
    if type is not None:
        element += f" type={xmlAttribute(type)}"
    element += (f' mutable="{"true" if mutable else "false"}" '
                f'required="{"true" if required else "false"}"')
    if description:
        element += f" description={xmlAttribute(description)}"
    return element + "/>"


def _linkRefLines(link: LinkRef, indent: str) -> list[str]:
    head = f"{indent}<link target={_uriAttribute(link.target)}"
    if link.rel:
        head += f" rel={xmlAttribute(' '.join(link.rel))}"
    if link.location is not None:
        head += f" self={_uriAttribute(link.location)}"
    inner = indent + _INDENT
    lines = [head + ">"]
    lines.extend(_refElement("category", *_splitIdentifier(identifier), inner)
                 for identifier in link.categories)
    lines.extend(valueElement(name, value, inner) for name, value in link.attributes.items())
    lines.append(f"{indent}</link>")
    return lines


def _documentEntity(document: Document, indent: str, namespace: bool) -> list[str]:
    inner = indent + _INDENT
    lines = [f"{indent}<entity{_xmlns(namespace)}>"]
    for ref in document.categories:
        lines += _refLines(ref, inner)
    if document.action is not None:
        lines += _refLines(document.action, inner)
    lines.extend(valueElement(name, value, inner)
                 for name, value in document.attributes.items())
    for link in document.links:
        lines += _linkRefLines(link, inner)
    lines.extend(f"{inner}<location>{xmlText(location)}</location>"
                 for location in document.locations)
    lines.append(f"{indent}</entity>")
    return lines


def formatXML(document: Document) -> bytes:
    """``document`` as an XML request body: an ``<entity>``, or a ``<collection>`` when it
    holds several entities.  Titles lose what XML 1.0 cannot hold (as U+FFFD)."""
    if not document.entities:
        return _document(_documentEntity(document, "", True))
    lines = [f"<collection{_xmlns(True)}>"]
    for entity in document.entities:
        lines += _documentEntity(entity, _INDENT, False)
    lines.extend(f"{_INDENT}<location>{xmlText(location)}</location>"
                 for location in document.locations)
    lines.append("</collection>")
    return _document(lines)
