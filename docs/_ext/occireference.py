"""``.. occi-reference:: TABLE``: the reference pages' tables, read from the code at build time.

What the server offers -- its launch options, its routes and the places they resolve, its
renderings, its categories, its events -- is listed in the code once (``tap.Options``, the
Klein app, ``http.methods.TABLE``, ``renderings.standard``, ``Registry.standard()``,
``model.events``).  Each table here is made from that listing when Sphinx builds, so a new
option, route, rendering, category or event appears in the docs without anyone writing it,
and nothing the code has dropped lingers there.  Words come from the code too: option help,
docstrings and ``#:`` comments; text that is not reStructuredText (help strings, titles,
attribute descriptions) is escaped, docstrings are kept as the markup they are.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.docutils import SphinxDirective

from occi_twisted.files.types import SIGNED, fileTypesOf
from occi_twisted.http.app import OCCIServer
from occi_twisted.http.methods import TABLE, Shape
from occi_twisted.http.representations import FORMATS
from occi_twisted.model.categories import Action, Kind, Mixin
from occi_twisted.model.events import EventType
from occi_twisted.model.registry import Registry
from occi_twisted.model.requests import RequestState
from occi_twisted.renderings.atom import EVENT_SCHEME
from occi_twisted.renderings.negotiation import ALIASES
from occi_twisted.renderings.standard import MEDIA_TYPES, inputTypes
from occi_twisted.tap import Options

_DEFAULT = re.compile(r"\s*\[default:\s*(.*?)\]\s*$", re.DOTALL)
_INLINE = re.compile(r"([\\`*_|])")
_NONE = "—"


def escaped(text: str) -> str:
    """Plain text as reStructuredText that shows it as it is."""
    return _INLINE.sub(r"\\\1", " ".join(text.split()))


def literal(text: str) -> str:
    return f"``{text}``" if text else _NONE


def firstParagraph(doc: str | None) -> str:
    """A docstring's first paragraph, on one line (it stays reStructuredText)."""
    if not doc:
        return _NONE
    return " ".join(inspect.cleandoc(doc).split("\n\n", 1)[0].split())


def firstSentence(doc: str | None) -> str:
    paragraph = firstParagraph(doc)
    end = re.search(r"[.:](\s|$)", paragraph)
    return (paragraph if end is None else paragraph[:end.start()]).rstrip(".") + "."


def listTable(headers: Sequence[str], rows: Iterable[Sequence[str]],
              widths: Sequence[int] | None = None) -> list[str]:
    """A ``list-table`` of ``rows``, each cell reStructuredText on one line."""
    lines = [".. list-table::", "   :header-rows: 1"]
    if widths:
        lines.append(f"   :widths: {' '.join(str(width) for width in widths)}")
    lines.append("")
    for row in [headers, *rows]:
        if len(row) != len(headers):
            raise ValueError(f"a row of {len(row)} cells under {len(headers)} headers: {row}")
        for column, cell in enumerate(row):
            lines.append(("   * - " if column == 0 else "     - ") + (cell or _NONE))
    return [*lines, ""]


def attributeDocs(module: str) -> dict[tuple[str, str], str]:
    """The ``#:`` comments of a module's names, by (class, name)."""
    found = ModuleAnalyzer.for_module(module).find_attr_docs()
    return {key: " ".join(" ".join(lines).split()) for key, lines in found.items()}


# -- launch options ---------------------------------------------------------------------------

def options() -> list[str]:
    """Every option ``twistd occi`` takes: parameters, flags and ``opt_`` handlers alike."""
    parsed = Options()
    shorts = {long: short for short, long in parsed.synonyms.items()
              if len(short) == 1 and short != long}
    rows = []
    for spelled in sorted(parsed.longOpt):
        name = spelled.rstrip("=")
        if name in ("help", "version"):
            continue
        doc = " ".join(parsed.docs.get(name, "").split())
        default = _DEFAULT.search(doc)
        meaning = doc[:default.start()] if default else doc
        rows.append([literal(f"--{name}"), literal(f"-{shorts[name]}") if name in shorts
                     else _NONE, "a value" if spelled.endswith("=") else "flag",
                     escaped(meaning), escaped(default.group(1)) if default else _NONE])
    return listTable(["option", "short", "takes", "meaning", "default"], rows,
                     [18, 6, 7, 49, 20])


# -- routes and places ------------------------------------------------------------------------

def routes() -> list[str]:
    """The Klein app's routes, in the order Klein matches them."""
    rows = []
    for rule in OCCIServer.app.url_map.iter_rules():
        handler = getattr(OCCIServer, rule.endpoint)
        rows.append([literal(rule.rule), literal(rule.endpoint),
                     firstParagraph(handler.__doc__)])
    return listTable(["path template", "handler", "what it is for"], rows, [30, 22, 48])


def _shapeComments() -> dict[str, str]:
    """The example path each :class:`~occi_twisted.http.methods.Shape` has as a comment."""
    found = re.findall(r"^\s+([A-Z_]+) = auto\(\)\s*#\s*(.*)$", inspect.getsource(Shape),
                       re.MULTILINE)
    return dict(found)


def places() -> list[str]:
    """Each shape of place, with what it takes (the table 405 and ``Accept`` answer from)."""
    renderings = inputTypes()

    def reads(types: Sequence[str]) -> str:
        if not set(renderings) <= set(types):
            return ", ".join(literal(mediaType) for mediaType in types) or _NONE
        others = [literal(mediaType) for mediaType in types if mediaType not in renderings]
        return ", ".join(["every rendering read (see below)", *others])

    comments = _shapeComments()
    rows = [[escaped(shape.name.lower().replace("_", " ")),
             escaped(comments.get(shape.name, "")) or _NONE,
             ", ".join(takes.methods), reads(takes.reads)]
            for shape, takes in TABLE.items()]
    return listTable(["place", "where", "methods", "request bodies read"], rows,
                     [14, 36, 18, 32])


def collections() -> list[str]:
    """The collections the standard categories bring (user mixins add their own)."""
    rows = [[literal(category.location or ""), category.categoryClass,
             literal(category.identifier), escaped(category.title)]
            for category in Registry.standard()
            if isinstance(category, (Kind, Mixin)) and category.location]
    return listTable(["location", "of a", "category", "title"], rows, [24, 8, 40, 28])


# -- renderings -------------------------------------------------------------------------------

def renderings() -> list[str]:
    """The renderings table, in the server's order of preference, and the file types."""
    formats = {mediaType: name for name, mediaType in FORMATS.items()}
    aliases: dict[str, list[str]] = {}
    for alias, mediaType in ALIASES.items():
        aliases.setdefault(mediaType, []).append(alias)
    entities = MEDIA_TYPES.outputTypes()
    inputs = MEDIA_TYPES.inputTypes()
    ordered = list(dict.fromkeys([*MEDIA_TYPES.outputTypes(listing=True), *inputs]))
    rows = []
    for mediaType in ordered:
        written = mediaType in MEDIA_TYPES.outputTypes(listing=True)
        source = MEDIA_TYPES.renderer(mediaType) if written else MEDIA_TYPES.parser(mediaType)
        module = sys.modules[type(source).__module__ if written else source.__module__]
        names = [literal(mediaType), *(f"(also {literal(alias)})"
                                       for alias in aliases.get(mediaType, []))]
        rows.append([" ".join(names), "yes" if mediaType in inputs else "no",
                     ("yes" if mediaType in entities else "listings") if written else "no",
                     literal(f"?format={formats[mediaType]}") if mediaType in formats
                     else _NONE, firstSentence(module.__doc__)])
    return listTable(["media type", "read", "written", "URL", "the rendering"], rows,
                     [26, 6, 9, 19, 40])


def files() -> list[str]:
    """The media types that are files, not renderings, and the kinds that have them."""
    byType: dict[str, list[str]] = {}
    for kind in Registry.standard().kinds():
        for mediaType in fileTypesOf(kind):
            byType.setdefault(mediaType, []).append(kind.term)
    formats = {mediaType: name for name, mediaType in FORMATS.items()}
    rows = [[literal(mediaType), ", ".join(kinds), literal(f"?format={formats[mediaType]}"),
             "303 to a signed URL" if mediaType in SIGNED else "in the answer"]
            for mediaType, kinds in byType.items()]
    return listTable(["media type", "of a", "URL", "GET answers"], rows, [30, 20, 20, 30])


# -- categories -------------------------------------------------------------------------------

def _constraint(definition: Any) -> str:
    if definition.enum:
        return "one of " + ", ".join(literal(value) for value in definition.enum)
    bounds = [f"{label} {int(bound) if bound == int(bound) else bound}" for label, bound in
              (("at least", definition.minimum), ("at most", definition.maximum))
              if bound is not None]
    if definition.pattern:
        bounds.append(f"matching {literal(definition.pattern)}")
    return ", ".join(bounds) or _NONE


def _attributes(category: Any) -> list[str]:
    if not category.attributes:
        return []
    rows = [[literal(definition.name), definition.type.name.lower(),
             "yes" if definition.mutable else "no", "yes" if definition.required else "no",
             literal(str(definition.default)) if definition.default is not None else _NONE,
             _constraint(definition), escaped(definition.description) or _NONE]
            for definition in category.attributes]
    return listTable(["attribute", "type", "mutable", "required", "default", "values",
                      "description"], rows, [22, 8, 7, 7, 9, 17, 30])


def _fields(pairs: Iterable[tuple[str, str]]) -> list[str]:
    return [f":{name}: {value}" for name, value in pairs if value] + [""]


def _terms(categories: Iterable[Any]) -> str:
    return ", ".join(literal(category.term) for category in categories)


def categories() -> list[str]:
    """Every kind, mixin and action of the standard registry, with their attributes."""
    registry = Registry.standard()
    lines: list[str] = []
    for heading, members in (("Kinds", registry.kinds()), ("Mixins", registry.mixins()),
                             ("Actions", registry.actions())):
        lines += [heading, "~" * len(heading), ""]
        for category in members:
            lines += [f".. rubric:: {category.term}", ""]
            pairs = [("identifier", literal(category.identifier)),
                     ("title", escaped(category.title))]
            if isinstance(category, Kind):
                pairs += [("parent", literal(category.parent.identifier)
                           if category.parent else ""),
                          ("location", literal(category.location or "")),
                          ("actions", _terms(category.actions))]
            elif isinstance(category, Mixin):
                pairs += [("applies to", _terms(category.applies)),
                          ("depends on", _terms(category.depends)),
                          ("location", literal(category.location or "")),
                          ("actions", _terms(category.actions))]
            else:  # an action: its attributes, the parameters, say the rest
                assert isinstance(category, Action)
            lines += _fields(pairs) + _attributes(category)
    return lines


# -- events -----------------------------------------------------------------------------------

def events() -> list[str]:
    """The kinds of event, and the states of a request that its steps move it through."""
    eventDocs = attributeDocs("occi_twisted.model.events")
    stateDocs = attributeDocs("occi_twisted.model.requests")
    rows = [[literal(kind.value), "a request's step" if kind.isRequestStep else
             "an entity's change", eventDocs.get(("EventType", kind.name), _NONE)]
            for kind in EventType]
    states = [[literal(state.value), "waiting" if state.isWaiting else
               "final" if state.isFinal else "under way",
               stateDocs.get(("RequestState", state.name), _NONE)]
              for state in RequestState]
    return [f"An event's Atom entry names its kind as a category of the scheme "
            f"``{EVENT_SCHEME}``; an XMPP notification carries the same entry.", "",
            *listTable(["event", "of", "when"], rows, [14, 18, 68]),
            "The states of a request (``occi-twisted.request.state``):", "",
            *listTable(["state", "is", "meaning"], states, [14, 12, 74])]


TABLES: dict[str, Callable[[], list[str]]] = {
    "options": options, "routes": routes, "places": places, "collections": collections,
    "renderings": renderings, "files": files, "categories": categories, "events": events,
}


class OCCIReference(SphinxDirective):
    """``.. occi-reference:: options`` (or any name of :data:`TABLES`)."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        make = TABLES.get(self.arguments[0])
        if make is None:
            raise self.error(f"occi-reference: no table {self.arguments[0]!r}; "
                             f"one of {', '.join(TABLES)}")
        return self.parse_text_to_nodes("\n".join(make()), allow_section_headings=True)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("occi-reference", OCCIReference)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
