"""The HTML rendering (``text/html``): the server as a web site a person can use.

The walkthrough promises that "full blown browsers" use the API directly.  Every answer a
browser asks for is therefore a page: the landing page and the query interface, every
collection (a table, with a form to create), every entity (its attributes, its links to follow,
a form per action, a form to change it, to add or remove mixins and templates, and to delete
it), the requests of an entity (state, a ``<progress>`` bar, a cancel button), and messages.

Plain semantic HTML with a small inline stylesheet and no script.  The pages are also
well-formed XML -- void elements closed, attribute values quoted, only XML's own character
references, characters XML forbids replaced -- so that tests, and any XML tool, read them with
a strict parser.  Every value from the model is escaped; links are followable only to this
server's paths and to http(s) URLs, never to ``javascript:`` and the like.

Forms post ``application/x-www-form-urlencoded`` with the field names
:func:`occi_twisted.renderings.form.parse` reads: full attribute names, ``kind``, ``mixin``
(repeatable), ``action`` and ``location``.  Browsers only GET and POST, so the forms that delete
carry ``_method=DELETE``, and ``_next``, the page to show once the change is made (the HTTP
layer answers a form POST with 303 See Other); the parser skips fields that start with ``_``.

What a page needs beyond the model objects -- the registry (user mixins come and go), the path
asked for (which collection a listing is), whether an entity is a template's draft -- comes in
a :class:`PageContext`, a :class:`RenderContext` every other rendering accepts unchanged.  With
a plain :class:`RenderContext` the pages use the standard categories and generic headings.

Rendering an entity is on the hot path of every browser GET: all that depends only on an
entity's kind and mixins (its action forms, the shape of its update form, the rows' headings)
is built once per set of categories and joined with the entity's location and values.
"""

from __future__ import annotations

import json as stdjson
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from html import escape
from http import HTTPStatus
from typing import TYPE_CHECKING, Generic, TypeVar
from urllib.parse import quote

from ..model import (
    Action,
    AttributeDefinition,
    AttributeType,
    Category,
    Entity,
    Kind,
    Mixin,
    Registry,
    attributeDefinitions,
    availableActions,
)
from ..model.core import ABSTRACT, LINK
from ..model.infrastructure import OS_TPL, RESOURCE_TPL
from ..model.requests import PREFIX as REQUEST_PREFIX
from ..model.requests import REQUEST
from .document import EntityView, RenderContext, Rendered
from .urilist import uriText

if TYPE_CHECKING:
    from .negotiation import MediaTypes

MEDIA_TYPE = "text/html"
CONTENT_TYPE = "text/html; charset=utf-8"

#: Where the query interface is, and the server-wide event feed and templates.
QUERY_PATH = "/-/"
FEED_PATH = "/log/"
TEMPLATES_PATH = "/templates/"

#: Request states after which nothing more happens.
FINAL_STATES = frozenset({"succeeded", "failed", "cancelled"})
#: Seconds between reloads of the page of a request that is still under way.
REFRESH_SECONDS = 2

_ID, _TITLE, _SUMMARY = "occi.core.id", "occi.core.title", "occi.core.summary"
_SOURCE, _TARGET, _TARGET_KIND = "occi.core.source", "occi.core.target", "occi.core.target.kind"
_REQUEST_STATE = f"{REQUEST_PREFIX}.state"
_REQUEST_ACTION = f"{REQUEST_PREFIX}.action"
_REQUEST_TARGET = f"{REQUEST_PREFIX}.target"
_REQUEST_MESSAGE = f"{REQUEST_PREFIX}.message"
_REQUEST_PERCENT = f"{REQUEST_PREFIX}.percent"
_REQUEST_PROGRESS = f"{REQUEST_PREFIX}.progress"
#: Attributes the server keeps and clients never set (the model drops them on create).
_SERVER_MANAGED = (".state", ".state.message")

#: ``{entity}/requests/``: a listing of an entity's requests.
_REQUESTS_PATH = re.compile(r"(/.+/[^/]+)/requests/?")

#: Stands for an entity's location in fragments built once per kind and mixins.  Data never
#: holds it: :func:`text` replaces NUL like every character XML forbids.
_AT = "\x00"


# -- text ----------------------------------------------------------------------------------

_SPECIAL = re.compile("[&<>\"'\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NOT_TOKEN = re.compile(r"[^A-Za-z0-9_-]+")


def text(value: str) -> str:
    """``value`` as HTML (and XML) text or attribute value.

    Most values need nothing, so one search decides; characters XML forbids (controls, half
    surrogate pairs) become U+FFFD, which also keeps the page encodable as UTF-8.
    """
    if _SPECIAL.search(value) is None:
        return value
    return escape(_NOT_XML.sub("\ufffd", value))


def valueText(value: object) -> str:
    """An attribute value as a person reads and types it: strings as they are, numbers as
    written, booleans as true/false, lists and hashes as JSON (which the model reads back)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, dict)):
        return stdjson.dumps(value, ensure_ascii=False)
    return str(value)


def _number(value: float) -> str:
    """A bound as a person writes it: 1048576, not 1048576.0."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _uri(uri: str) -> str:
    """``uri`` percent-encoded where a URI cannot hold a character, escaped for HTML."""
    return text(uriText(_NOT_XML.sub("\ufffd", uri)))


def href(uri: str) -> str | None:
    """``uri`` ready for ``href`` if following it is safe: a path on this server, or an http(s)
    URL.  Anything else (``javascript:``, ``data:``, a URN) is shown, never linked."""
    if uri.startswith("/"):
        return _uri(uri)
    lowered = uri[:8].lower()
    if lowered.startswith(("http://", "https://")):
        return _uri(uri)
    return None


def _link(uri: str, label: str | None = None) -> str:
    """A link to ``uri`` with ``label`` (already HTML), or the URI as text if unsafe."""
    target = href(uri)
    shown = label if label is not None else text(uri)
    if target is None:
        return f"<code>{shown}</code>"
    return f'<a href="{target}">{shown}</a>'


def _token(value: str) -> str:
    """``value`` as a class name: letters, digits, ``-`` and ``_`` only."""
    return _NOT_TOKEN.sub("-", value)[:64]


def _slug(category: Category) -> str:
    """The element id of a category on the query interface page."""
    return "c-" + _NOT_TOKEN.sub("-", category.identifier).strip("-")


def _titleOf(entity: Entity) -> str:
    title = entity.attributes.get(_TITLE)
    return valueText(title) if title not in (None, "") else entity.id


def _termOf(identifier: str) -> str:
    return identifier.rpartition("#")[2] or identifier


# -- caches --------------------------------------------------------------------------------

_T = TypeVar("_T")


class _Memo(Generic[_T]):
    """Values built from categories, by the identities of those categories.

    Each entry holds the categories themselves, so that an id cannot be reused while cached
    (a user mixin defined anew is a new object with an entry of its own); the table is emptied
    when full, as the text rendering's caches are.
    """

    def __init__(self, size: int = 1024) -> None:
        self._entries: dict[tuple[int, ...], tuple[tuple[object, ...], _T]] = {}
        self._size = size

    def get(self, key: tuple[int, ...]) -> _T | None:
        hit = self._entries.get(key)
        return None if hit is None else hit[1]

    def put(self, key: tuple[int, ...], holders: tuple[object, ...], value: _T) -> _T:
        if len(self._entries) >= self._size:
            self._entries.clear()
        self._entries[key] = (holders, value)
        return value


@cache
def _standardRegistry() -> Registry:
    return Registry.standard()


# -- the context of a page -----------------------------------------------------------------


@dataclass(frozen=True)
class PageContext(RenderContext):
    """A :class:`RenderContext` with what pages need to know besides the model objects.

    ``path`` is the path that was asked for (it names the collection a listing shows, and the
    page a message leads back to); ``registry`` the server's categories, user mixins included
    (for the forms that add mixins); ``draft`` that the entity is not stored yet but a
    template's copy (``GET /templates/small``), which the page offers to create.
    """

    path: str | None = None
    registry: Registry | None = None
    draft: bool = False


def pageContext(
    context: RenderContext, *, path: str | None, registry: Registry | None, draft: bool = False
) -> PageContext:
    """``context`` with what pages need; every rendering accepts the result."""
    return PageContext(context.base, path=path, registry=registry, draft=draft)


def _registryOf(context: RenderContext) -> Registry:
    if isinstance(context, PageContext) and context.registry is not None:
        return context.registry
    return _standardRegistry()


def _pathOf(context: RenderContext) -> str | None:
    return context.path if isinstance(context, PageContext) else None


# -- the layout ----------------------------------------------------------------------------

STYLE = """\
:root{color-scheme:light dark;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;\
--accent:#0b57d0;--bg:#fff;--danger:#b3261e}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;\
--soft:#151b23;--accent:#8ab4f8;--bg:#0d1117;--danger:#f28b82}}
body{margin:0;font:16px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
header nav ul{display:flex;flex-wrap:wrap;gap:.2rem 1rem;list-style:none;margin:0;\
padding:.6rem 1rem;background:var(--soft);border-bottom:1px solid var(--line)}
main{max-width:72rem;margin:0 auto;padding:.5rem 1rem 2rem}
h1{font-size:1.6rem;margin:.8rem 0 .3rem;overflow-wrap:break-word}
h2{font-size:1.2rem;margin:1.6rem 0 .4rem;border-bottom:1px solid var(--line)}
h3{font-size:1.05rem;margin:1rem 0 .2rem}
table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem}
th,td{border-bottom:1px solid var(--line);padding:.25rem .5rem;text-align:left;\
vertical-align:top;overflow-wrap:break-word}
thead th{background:var(--soft)}
code,.field label,th[scope=row]{font-family:ui-monospace,SFMono-Regular,monospace;font-size:.9em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:.3rem 0}
dd{margin:0}
fieldset{border:1px solid var(--line);border-radius:.4rem;margin:0 0 .8rem;padding:.4rem .8rem}
legend{font-weight:600}
.field{margin:.35rem 0}
.field label{display:inline-block;min-width:16rem}
.hint{display:block;color:var(--muted);font-size:.85em}
.required{color:var(--danger);text-decoration:none}
input,select,textarea,button{font:inherit}
input[type=text],input[type=number],textarea{width:min(26rem,100%);box-sizing:border-box}
button{padding:.2rem .9rem;border:1px solid var(--line);border-radius:.3rem;\
background:var(--soft);color:var(--fg);cursor:pointer}
button.danger{border-color:var(--danger);color:var(--danger)}
.actions{display:flex;flex-wrap:wrap;gap:0 1rem}
.actions form{flex:1 1 20rem}
form.inline{display:inline;margin-left:.5rem}
.state{display:inline-block;padding:0 .6rem;border:1px solid var(--line);border-radius:1rem;\
background:var(--soft)}
.state-active,.state-online,.state-succeeded{border-color:#1a7f37}
.state-error,.state-failed{border-color:var(--danger)}
progress{width:min(26rem,100%)}
.about,.muted{color:var(--muted)}
footer{color:var(--muted);font-size:.85em;padding:1rem;text-align:center}
"""

_DOCUMENT_START = (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8" />'
    '<meta name="viewport" content="width=device-width, initial-scale=1" />'
)
_HEAD_END = (
    f"<style>{STYLE}</style>"
    f'<link rel="alternate" type="application/atom+xml" href="{FEED_PATH}" '
    'title="Every change on this server" />'
)
_DOCUMENT_END = (
    '</main><footer><p>occi-twisted &#183; OCCI 1.2 &#183; '
    f'<a href="{QUERY_PATH}">query interface</a> &#183; '
    f'<a href="{FEED_PATH}">event feed</a></p></footer></body></html>'
)

_navCache: _Memo[str] = _Memo(64)


def _nav(registry: Registry) -> str:
    """The navigation: home, the query interface, every kind's collection, the templates and
    the event feed.  Kinds are fixed at start-up, so it is built once per registry."""
    key = (id(registry),)
    hit = _navCache.get(key)
    if hit is not None:
        return hit
    items = ['<li><a href="/">Home</a></li>',
             f'<li><a href="{QUERY_PATH}">Query interface</a></li>']
    for kind in registry.kinds():
        if kind.location:
            items.append(f'<li><a href="{_uri(kind.location)}" title="{text(kind.title)}">'
                         f"{text(kind.term)}</a></li>")
    items.append(f'<li><a href="{TEMPLATES_PATH}">templates</a></li>')
    items.append(f'<li><a href="{FEED_PATH}">events</a></li>')
    nav = ('<header><nav id="nav" aria-label="Server"><ul>' + "".join(items)
           + "</ul></nav></header>")
    return _navCache.put(key, (registry,), nav)


def _start(title: str, registry: Registry, head: str = "") -> str:
    """The page up to the start of its main content."""
    return (f"{_DOCUMENT_START}<title>{text(title)}</title>{_HEAD_END}{head}</head><body>"
            f'{_nav(registry)}<main id="main">')


# -- form fields ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    """One input of a form, built once: the markup before and after its value."""

    head: str
    tail: str
    #: For a select: each option's value, its markup, and its markup when selected.
    values: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    selected: tuple[str, ...] = ()
    #: For a select: the value chosen when none is given.
    default: str | None = None

    def render(self, value: str | None) -> str:
        if not self.options:
            return self.head + (text(value) if value else "") + self.tail
        wanted = value if value is not None else self.default
        if wanted is not None and wanted in self.values:
            at = self.values.index(wanted)
            return (self.head + "".join(self.options[:at]) + self.selected[at]
                    + "".join(self.options[at + 1:]) + self.tail)
        return self.head + "".join(self.options) + self.tail


def _hint(definition: AttributeDefinition) -> str:
    notes: list[str] = []
    if definition.description:
        notes.append(definition.description)
    low, high = definition.minimum, definition.maximum
    if low is not None and high is not None:
        notes.append(f"from {_number(low)} to {_number(high)}")
    elif low is not None:
        notes.append(f"at least {_number(low)}")
    elif high is not None:
        notes.append(f"at most {_number(high)}")
    if definition.pattern is not None:
        notes.append(f"matching {definition.pattern}")
    if definition.type in (AttributeType.LIST, AttributeType.HASH):
        notes.append(f"a {definition.type.value} written as JSON")
    if definition.default is not None:
        notes.append(f"default {valueText(definition.default)}")
    if not notes:
        return ""
    return f' <small class="hint">{text("; ".join(notes))}</small>'


def _field(definition: AttributeDefinition, formId: str) -> _Field:
    """The input for ``definition`` in the form ``formId``, named as the attribute is."""
    name = text(definition.name)
    ident = text(f"{formId}-{definition.name}")
    required = ' required="required"' if definition.required else ""
    marker = (' <abbr class="required" title="required">*</abbr>' if definition.required
              else "")
    opening = f'<p class="field"><label for="{ident}">{name}{marker}</label> '
    closing = _hint(definition) + "</p>"
    kind = definition.type
    default = valueText(definition.default) if definition.default is not None else None
    if kind in (AttributeType.ENUM, AttributeType.BOOLEAN):
        values = list(definition.enum if kind is AttributeType.ENUM else ("true", "false"))
        if default is None or default not in values:
            values.insert(0, "")
        options = tuple(
            f'<option value="{text(v)}">{text(v) if v else _EMPTY_CHOICE[definition.required]}'
            "</option>" for v in values)
        selected = tuple(o.replace("<option ", '<option selected="selected" ', 1)
                         for o in options)
        return _Field(opening + f'<select name="{name}" id="{ident}"{required}>',
                      "</select>" + closing, tuple(values), options, selected, default)
    if kind in (AttributeType.INTEGER, AttributeType.FLOAT):
        bounds = ' step="1"' if kind is AttributeType.INTEGER else ' step="any"'
        if definition.minimum is not None:
            bounds += f' min="{_number(definition.minimum)}"'
        if definition.maximum is not None:
            bounds += f' max="{_number(definition.maximum)}"'
        if default is not None:
            bounds += f' placeholder="{text(default)}"'
        return _Field(opening + f'<input type="number" name="{name}" id="{ident}"{bounds}'
                      f'{required} value="', '" />' + closing)
    if kind in (AttributeType.LIST, AttributeType.HASH):
        return _Field(opening + f'<textarea name="{name}" id="{ident}" rows="3"{required}>',
                      "</textarea>" + closing)
    placeholder = f' placeholder="{text(default)}"' if default is not None else ""
    return _Field(opening + f'<input type="text" name="{name}" id="{ident}"{placeholder}'
                  f'{required} value="', '" />' + closing)


_EMPTY_CHOICE = {False: "(none)", True: "(choose)"}


def _defaultText(definition: AttributeDefinition) -> str | None:
    return valueText(definition.default) if definition.default is not None else None


def _hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{text(name)}" value="{text(value)}" />'


def _isServerManaged(name: str) -> bool:
    return name.endswith(_SERVER_MANAGED)


def _templateBase(mixin: Mixin) -> Mixin | None:
    """``resource_tpl`` or ``os_tpl`` for a template (an entity takes one of each), else
    ``None``."""
    for base in (RESOURCE_TPL, OS_TPL):
        if mixin != base and mixin.isA(base):
            return base
    return None


# -- kinds: what every entity of a kind shares ---------------------------------------------


@dataclass(frozen=True)
class _KindInfo:
    isLink: bool
    #: The attribute that holds the state of entities of the kind, if any.
    state: str | None
    #: The kind's cell in a listing.
    cell: str


_kindCache: _Memo[_KindInfo] = _Memo()


def _kindInfo(kind: Kind) -> _KindInfo:
    key = (id(kind),)
    hit = _kindCache.get(key)
    if hit is not None:
        return hit
    state = next((name for name in attributeDefinitions(kind) if name.endswith(".state")), None)
    cell = f'<td title="{text(kind.identifier)}">{text(kind.term)}</td>'
    return _kindCache.put(key, (kind,), _KindInfo(kind.isA(LINK), state, cell))


def _kindLink(kind: Kind) -> str:
    """The kind's term, linked to its collection, and its title to its definition."""
    term = text(kind.term)
    named = f'<a href="{_uri(kind.location)}">{term}</a>' if kind.location else term
    title = text(kind.title or kind.term)
    return f'{named} (<a href="{QUERY_PATH}#{_slug(kind)}">{title}</a>)'


# -- entities: what every entity of a kind with the same mixins shares ---------------------


@dataclass(frozen=True)
class _Shape:
    """The parts of an entity page that depend only on the kind and mixins.

    Fragments are split at the entity's location (:data:`_AT`), to be joined with it.
    """

    info: _KindInfo
    definitions: Mapping[str, AttributeDefinition]
    #: The opening of each attribute's row.
    heads: Mapping[str, str]
    #: Attributes whose values are URIs (followable when safe).
    uris: frozenset[str]
    about: tuple[str, ...]
    actions: tuple[str, ...]
    updateStart: tuple[str, ...]
    update: tuple[tuple[str, _Field], ...]
    updateEnd: str
    draft: tuple[tuple[str, _Field], ...]
    end: tuple[str, ...]


_shapeCache: _Memo[_Shape] = _Memo()


def _shapeOf(entity: Entity) -> _Shape:
    key = (id(entity.kind), *map(id, entity.mixins))
    hit = _shapeCache.get(key)
    if hit is not None:
        return hit
    shape = _buildShape(entity.kind, entity.mixins)
    return _shapeCache.put(key, (entity.kind, *entity.mixins), shape)


def _buildShape(kind: Kind, mixins: Sequence[Mixin]) -> _Shape:
    definitions = attributeDefinitions(kind, mixins)
    heads = {
        name: (f'<tr data-attribute="{text(name)}"><th scope="row" '
               f'title="{text(definition.description)}">{text(name)}</th><td>')
        for name, definition in definitions.items()
    }
    uris = frozenset(name for name, d in definitions.items() if d.type is AttributeType.URI)
    mutable = [d for d in definitions.values() if d.mutable]
    update = tuple((d.name, _field(d, "update")) for d in mutable)
    draft = tuple((d.name, _field(d, "create")) for d in mutable)
    return _Shape(
        info=_kindInfo(kind),
        definitions=definitions,
        heads=heads,
        uris=uris,
        about=tuple(_about(kind, mixins).split(_AT)),
        actions=tuple(_actionForms(availableActions(kind, mixins)).split(_AT)),
        updateStart=tuple((
            '<section id="update-section"><h2>Change</h2>'
            f'<form id="update" method="post" action="{_AT}" accept-charset="utf-8">'
            "<fieldset><legend>Attributes you can change</legend>"
            '<p class="muted">Fields left empty keep their values.</p>'
        ).split(_AT)) if update else (),
        update=update,
        updateEnd=('<p><button type="submit">Save</button></p></fieldset></form></section>'
                   if update else ""),
        draft=draft,
        end=tuple(_entityEnd(kind).split(_AT)),
    )


def _about(kind: Kind, mixins: Sequence[Mixin]) -> str:
    """The kind, and the mixins each with a button that removes it."""
    parts = [f'<p id="kind" class="kind">A {_kindLink(kind)} at '
             f'<a href="{_AT}"><code>{_AT}</code></a>.</p>']
    if mixins:
        items = []
        for mixin in mixins:
            term = text(mixin.term)
            named = (f'<a href="{_uri(mixin.location)}">{term}</a>' if mixin.location else term)
            title = f" &#8212; {text(mixin.title)}" if mixin.title else ""
            remove = ""
            if mixin.location:
                remove = (f'<form class="inline remove-mixin" method="post" '
                          f'action="{_uri(mixin.location)}" accept-charset="utf-8">'
                          f'{_hidden("_method", "DELETE")}'
                          f'<input type="hidden" name="location" value="{_AT}" />'
                          f'<input type="hidden" name="_next" value="{_AT}" />'
                          f'<button type="submit" title="Remove {term}">Remove</button></form>')
            items.append(f'<li data-mixin="{text(mixin.identifier)}">'
                         f'<a href="{QUERY_PATH}#{_slug(mixin)}" title="{text(mixin.identifier)}">'
                         f"&#8505;</a> {named}{title}{remove}</li>")
        parts.append('<p class="muted">Mixins and templates:</p><ul id="mixins">'
                     + "".join(items) + "</ul>")
    else:
        parts.append('<p id="mixins" class="muted">No mixins.</p>')
    return "".join(parts)


def _actionForms(actions: Sequence[Action]) -> str:
    """One form per action: posted to ``{location}?action=term`` with the action's
    attributes as fields, their defaults filled in.

    The body does not name the action again: Twisted merges a form body into the query
    arguments, the body's winning, so a field ``action`` would replace ``?action=term``.
    """
    if not actions:
        return ""
    forms = []
    for action in actions:
        term = text(action.term)
        formId = f"action-{action.term}"
        fields = "".join(_field(d, formId).render(_defaultText(d)) for d in action.attributes)
        label = text(action.term.replace("_", " ").capitalize())
        forms.append(
            f'<form class="action action-{_token(action.term)}" id="{text(formId)}" '
            f'method="post" action="{_AT}?action={text(quote(action.term, safe=""))}" '
            'accept-charset="utf-8">'
            f"<fieldset><legend>{term}</legend>"
            + (f'<p class="about">{text(action.title)}</p>' if action.title else "")
            + f'{fields}<p><button type="submit">{label}</button></p></fieldset></form>'
        )
    return ('<section id="actions"><h2>Actions</h2><div class="actions">' + "".join(forms)
            + "</div></section>")


def _entityEnd(kind: Kind) -> str:
    """Where to go from an entity (its requests, its log, its other representations), and the
    form that deletes it."""
    after = _uri(kind.location) if kind.location else "/"
    return (
        '<section id="more"><h2>More</h2><ul>'
        f'<li><a id="requests" href="{_AT}/requests/">Requests</a>: the actions asked of it, '
        "running and done</li>"
        f'<li><a id="log" href="{_AT}/log/">Change log</a> (Atom feed)</li>'
        f'<li>As <a href="{_AT}?format=text">text/plain</a> or '
        f'<a href="{_AT}?format=json">JSON</a></li></ul></section>'
        '<section id="delete-section"><h2>Delete</h2>'
        f'<form id="delete" method="post" action="{_AT}" accept-charset="utf-8">'
        f'{_hidden("_method", "DELETE")}{_hidden("_next", after)}'
        f'<button type="submit" class="danger">Delete {_AT}</button></form></section>'
    )


_associateCache: _Memo[str] = _Memo()


def _associate(entity: Entity, registry: Registry) -> str:
    """The form that adds a mixin or template that applies and is not there yet: a partial
    update of the entity naming the mixin.  Split at :data:`_AT`."""
    available = registry.mixins()
    key = (id(entity.kind), len(entity.mixins), *map(id, entity.mixins), *map(id, available))
    hit = _associateCache.get(key)
    if hit is not None:
        return hit
    present = set(entity.mixins)
    taken = {_templateBase(mixin) for mixin in entity.mixins}
    groups: dict[str, list[str]] = {"Resource templates": [], "OS templates": [], "Mixins": []}
    for mixin in available:
        if mixin in present or mixin in (OS_TPL, RESOURCE_TPL):
            continue
        if not mixin.appliesTo(entity.kind):
            continue
        base = _templateBase(mixin)
        if base is not None and base in taken:
            continue  # one template of each sort: remove the one there first
        group = ("Resource templates" if base is RESOURCE_TPL else
                 "OS templates" if base is OS_TPL else "Mixins")
        title = f": {text(mixin.title)}" if mixin.title else ""
        groups[group].append(f'<option value="{text(mixin.identifier)}">'
                             f"{text(mixin.term)}{title}</option>")
    options = "".join(f'<optgroup label="{label}">{"".join(items)}</optgroup>'
                      for label, items in groups.items() if items)
    form = ""
    if options:
        form = (f'<form id="associate" method="post" action="{_AT}" accept-charset="utf-8">'
                '<p class="field"><label for="associate-mixin">Add a mixin or template</label> '
                '<select name="mixin" id="associate-mixin" required="required">'
                f'<option value="">(choose)</option>{options}</select> '
                '<button type="submit">Add</button></p></form>')
    return _associateCache.put(key, (entity.kind, *entity.mixins, *available), form)


# -- entity pages --------------------------------------------------------------------------


def _cell(value: object) -> str:
    if isinstance(value, str):
        return text(value)
    if isinstance(value, (list, dict)):
        return f"<code>{text(valueText(value))}</code>"
    return text(valueText(value))


def _attributesTable(entity: Entity, shape: _Shape) -> str:
    heads, uris = shape.heads, shape.uris
    rows = []
    for name, value in entity.attributes.items():
        head = heads.get(name)
        if head is None:
            head = (f'<tr data-attribute="{text(name)}"><th scope="row">{text(name)}</th><td>')
        if name in uris and isinstance(value, str):
            rows.append(head + _link(value) + "</td></tr>")
        else:
            rows.append(head + _cell(value) + "</td></tr>")
    return ('<section id="attributes-section"><h2>Attributes</h2><table id="attributes">'
            '<thead><tr><th scope="col">Attribute</th><th scope="col">Value</th></tr></thead>'
            "<tbody>" + "".join(rows) + "</tbody></table></section>")


def _stateLine(entity: Entity, info: _KindInfo) -> str:
    if info.state is None:
        return ""
    state = entity.attributes.get(info.state)
    if state is None:
        return ""
    shown = valueText(state)
    message = entity.attributes.get(info.state + ".message")
    note = f' <span class="muted">{text(valueText(message))}</span>' if message else ""
    return (f'<p>State: <span id="state" class="state state-{_token(shown)}">{text(shown)}'
            f"</span>{note}</p>")


def _linksTable(links: Sequence[Entity]) -> str:
    if not links:
        return '<section id="links-section"><h2>Links</h2><p class="muted">No links.</p></section>'
    rows = []
    for link in links:
        info = _kindInfo(link.kind)
        attributes = link.attributes
        target = attributes.get(_TARGET)
        targetKind = attributes.get(_TARGET_KIND)
        state = attributes.get(info.state) if info.state else None
        rows.append(
            f'<tr><td><a href="{_uri(link.location)}">{text(_titleOf(link))}</a></td>'
            f"{info.cell}"
            f"<td>{_link(valueText(target)) if target is not None else ''}"
            + (f" ({text(_termOf(valueText(targetKind)))})" if targetKind else "")
            + f'</td><td class="state-cell">{text(valueText(state)) if state is not None else ""}'
            "</td></tr>"
        )
    return ('<section id="links-section"><h2>Links</h2><table id="links"><thead><tr>'
            '<th scope="col">Link</th><th scope="col">Kind</th><th scope="col">Target</th>'
            '<th scope="col">State</th></tr></thead><tbody>' + "".join(rows)
            + "</tbody></table></section>")


def _ends(entity: Entity) -> str:
    """For a link: where it comes from and goes to."""
    source, target = entity.attributes.get(_SOURCE), entity.attributes.get(_TARGET)
    if source is None and target is None:
        return ""
    return (f'<p id="ends">From {_link(valueText(source or ""))} to '
            f"{_link(valueText(target or ''))}.</p>")


def entityPage(view: EntityView, context: RenderContext) -> str:
    """The page of one entity (a request's page if it is one, a create form if a draft)."""
    entity = view.entity
    registry = _registryOf(context)
    if entity.kind == REQUEST:
        return _requestPage(entity, registry)
    shape = _shapeOf(entity)
    if isinstance(context, PageContext) and context.draft:
        return _draftPage(entity, shape, registry)
    at = _uri(entity.location)
    title = _titleOf(entity)
    parts = [
        _start(f"{title} ({entity.kind.term})", registry,
               f'<link rel="alternate" type="application/atom+xml" href="{at}/log/" '
               'title="Changes of this entity" />'),
        f'<h1 id="title">{text(title)}</h1>',
        at.join(shape.about),
        _stateLine(entity, shape.info),
    ]
    if shape.info.isLink:
        parts.append(_ends(entity))
    parts.append(_attributesTable(entity, shape))
    if not shape.info.isLink:
        parts.append(_linksTable(view.links))
    parts.append(at.join(shape.actions))
    if shape.update:
        values = entity.attributes
        parts.append(at.join(shape.updateStart))
        for name, field in shape.update:
            value = values.get(name)
            parts.append(field.render(valueText(value) if value is not None else None))
        parts.append(shape.updateEnd)
    parts.append('<section id="mixins-section"><h2>Mixins and templates</h2>'
                 f"{at.join(_associate(entity, registry).split(_AT))}</section>")
    parts.append(at.join(shape.end))
    parts.append(_DOCUMENT_END)
    return "".join(parts)


def _draftPage(entity: Entity, shape: _Shape, registry: Registry) -> str:
    """A template's copy, not stored yet: the form that creates it, filled in.  The copy's id
    goes with it, so that submitting the form twice creates once (the second gets 409)."""
    kind = entity.kind
    names = ", ".join(text(m.term) for m in entity.mixins) or text(kind.term)
    parts = [
        _start(f"New {kind.term} from {', '.join(m.term for m in entity.mixins) or 'scratch'}",
               registry),
        f'<h1 id="title">New {text(kind.term)} from {names}</h1>',
        f"<p>A {_kindLink(kind)} made from the template. Change what you like and create it",
        f" in <a href=\"{_uri(kind.location)}\">{_uri(kind.location)}</a>." if kind.location
        else ".",
        "</p>",
    ]
    if kind.location and kind.identifier not in ABSTRACT:
        parts.append(
            f'<form id="create" method="post" action="{_uri(kind.location)}" '
            'accept-charset="utf-8">'
            + _hidden("kind", kind.identifier)
            + "".join(_hidden("mixin", m.identifier) for m in entity.mixins)
            + _hidden(_ID, entity.id)
            + "<fieldset><legend>Attributes</legend>"
        )
        values = entity.attributes
        for name, field in shape.draft:
            value = values.get(name)
            parts.append(field.render(valueText(value) if value is not None else None))
        parts.append('<p><button type="submit">Create</button></p></fieldset></form>')
    parts.append(_attributesTable(entity, shape))
    parts.append(_DOCUMENT_END)
    return "".join(parts)


def _requestPage(entity: Entity, registry: Registry) -> str:
    """A request: its state, how far it got, what it said last, and a button to cancel it
    while it is under way (the page reloads itself meanwhile)."""
    attributes = entity.attributes
    state = valueText(attributes.get(_REQUEST_STATE, ""))
    final = state in FINAL_STATES
    action = _termOf(valueText(attributes.get(_REQUEST_ACTION, "")))
    target = valueText(attributes.get(_REQUEST_TARGET, ""))
    at = _uri(entity.location)
    refresh = (f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}" />' if not final
               else "")
    parts = [
        _start(f"{action} {target}: {state}", registry, refresh),
        f'<h1 id="title">Request: {text(action)} on {_link(target)}</h1>',
        f'<p>State: <span id="state" class="state state-{_token(state)}">{text(state)}</span>'
        "</p>",
    ]
    percent = attributes.get(_REQUEST_PERCENT)
    if isinstance(percent, (int, float)) and not isinstance(percent, bool):
        shown = _number(float(percent))
        parts.append(f'<p><progress id="progress" max="100" value="{shown}">{shown}%</progress>'
                     f' <span id="percent">{shown}%</span>{_progressNote(attributes)}</p>')
    message = attributes.get(_REQUEST_MESSAGE)
    if message:
        parts.append(f'<p id="request-message">{text(valueText(message))}</p>')
    parts.append(f'<p>On {_link(target)} &#183; <a href="{_uri(target)}/requests/">its other '
                 f'requests</a> &#183; <a href="{at}/log/">history</a> (Atom feed)</p>'
                 if href(target) else "")
    parts.append(_attributesTable(entity, _shapeOf(entity)))
    if not final:
        parts.append(
            '<section id="cancel-section"><h2>Cancel</h2>'
            f'<form id="cancel" method="post" action="{at}" accept-charset="utf-8">'
            f'{_hidden("_method", "DELETE")}{_hidden("_next", entity.location)}'
            '<button type="submit" class="danger">Cancel this request</button></form></section>'
        )
    parts.append(_DOCUMENT_END)
    return "".join(parts)


def _progressNote(attributes: Mapping[str, object]) -> str:
    progress = attributes.get(_REQUEST_PROGRESS)
    if not isinstance(progress, dict):
        return ""
    notes = []
    if "pass" in progress and "passes" in progress:
        notes.append(f"pass {valueText(progress['pass'])} of {valueText(progress['passes'])}")
    if "bytes" in progress and "totalBytes" in progress:
        notes.append(f"{valueText(progress['bytes'])} of {valueText(progress['totalBytes'])} "
                     "bytes")
    return f' <span class="muted">{text(", ".join(notes))}</span>' if notes else ""


# -- collections ---------------------------------------------------------------------------

_LISTING_START = (
    '<section id="listing"><h2>Entities</h2><table id="entities"><thead><tr>'
    '<th scope="col">Entity</th><th scope="col">Kind</th><th scope="col">State</th>'
    '<th scope="col">Mixins</th><th scope="col">Details</th></tr></thead>'
    '<tbody class="resources">'
)
_LISTING_END = "</tbody></table></section>"
_LINKS_GROUP = '</tbody><tbody class="links">'

_createCache: _Memo[str] = _Memo()


def _createForm(kind: Kind, registry: Registry) -> str:
    """The form that creates an entity of ``kind``: its attributes left empty (defaults
    apply), a select for each sort of template, a checkbox for each other mixin."""
    available = registry.mixins()
    key = (id(kind), *map(id, available))
    hit = _createCache.get(key)
    if hit is not None:
        return hit
    if not kind.location or kind.identifier in ABSTRACT:
        return _createCache.put(key, (kind, *available), "")
    templates: dict[Mixin, list[Mixin]] = {RESOURCE_TPL: [], OS_TPL: []}
    others: list[Mixin] = []
    for mixin in available:
        if mixin in (OS_TPL, RESOURCE_TPL) or not mixin.appliesTo(kind):
            continue
        base = _templateBase(mixin)
        if base is None:
            others.append(mixin)
        else:
            templates[base].append(mixin)
    parts = [
        f'<section id="create-section"><h2>New {text(kind.term)}</h2>'
        f'<form id="create" method="post" action="{_uri(kind.location)}" '
        f'accept-charset="utf-8">{_hidden("kind", kind.identifier)}'
    ]
    selects = []
    for base, label in ((RESOURCE_TPL, "Resource template"), (OS_TPL, "OS template")):
        if templates[base]:
            ident = f"create-{base.term}"
            options = "".join(
                f'<option value="{text(m.identifier)}">{text(m.term)}'
                + (f": {text(m.title)}" if m.title else "") + "</option>"
                for m in templates[base])
            selects.append(f'<p class="field"><label for="{ident}">{label}</label> '
                           f'<select name="mixin" id="{ident}"><option value="">(none)</option>'
                           f"{options}</select></p>")
    if selects:
        parts.append("<fieldset><legend>Templates</legend>" + "".join(selects) + "</fieldset>")
    fields = [_field(d, "create").render(None)
              for d in attributeDefinitions(kind).values() if d.mutable]
    if fields:
        parts.append('<fieldset><legend>Attributes</legend><p class="muted">Leave a field '
                     "empty for its default (or the template's).</p>" + "".join(fields)
                     + "</fieldset>")
    if others:
        boxes = "".join(
            f'<p class="field"><input type="checkbox" name="mixin" id="create-mixin-{i}" '
            f'value="{text(m.identifier)}" /> <label for="create-mixin-{i}">{text(m.term)}'
            + (f": {text(m.title)}" if m.title else "") + "</label></p>"
            for i, m in enumerate(others))
        parts.append("<fieldset><legend>Mixins</legend>" + boxes + "</fieldset>")
    parts.append(f'<p><button type="submit">Create {text(kind.term)}</button></p></form>'
                 "</section>")
    return _createCache.put(key, (kind, *available), "".join(parts))


def _associateByLocation(mixin: Mixin) -> str:
    """On a mixin's collection: the form that adds the mixin to an entity, by location."""
    if not mixin.location:
        return ""
    return (
        f'<section id="associate-section"><h2>Add {text(mixin.term)} to an entity</h2>'
        f'<form id="associate" method="post" action="{_uri(mixin.location)}" '
        'accept-charset="utf-8"><p class="field"><label for="associate-location">Entity '
        'location</label> <input type="text" name="location" id="associate-location" '
        'placeholder="/compute/..." required="required" value="" /> '
        '<button type="submit">Add</button></p></form></section>'
    )


def collectionStart(context: RenderContext) -> str:
    """The page up to the first row: what the collection is, and the form that adds to it."""
    registry = _registryOf(context)
    path = _pathOf(context)
    collection = None
    if path:
        collection = registry.atLocation(path if path.endswith("/") else path + "/")
    requests = _REQUESTS_PATH.fullmatch(path) if path and collection is None else None
    if isinstance(collection, Kind):
        heading = f"{collection.term} collection"
        intro = (f"<p>Every {_kindLink(collection)} on this server"
                 f' &#183; <a href="{_uri(collection.location or "/")}log/">changes</a>'
                 " (Atom feed)</p>")
        form = _createForm(collection, registry)
    elif isinstance(collection, Mixin):
        heading = f"Entities with {collection.term}"
        intro = (f"<p>Every entity with the mixin <a href=\"{QUERY_PATH}#{_slug(collection)}\">"
                 f"{text(collection.term)}</a>"
                 + (f" ({text(collection.title)})" if collection.title else "") + ".</p>")
        form = _associateByLocation(collection)
    elif requests is not None:
        owner = requests.group(1)
        heading = f"Requests of {owner}"
        intro = (f"<p>The actions asked of {_link(owner)}, newest last. Ask for more on its "
                 "page.</p>")
        form = ""
    else:
        heading = f"Entities at {path}" if path else "Entities"
        intro = form = ""
    return (_start(heading, registry) + f'<h1 id="title">{text(heading)}</h1>' + intro + form
            + _LISTING_START)


def collectionItem(view: EntityView, first: bool) -> str:
    """One row: the entity (linked), its kind, state, mixins, and a detail."""
    entity = view.entity
    info = _kindInfo(entity.kind)
    attributes = entity.attributes
    state = attributes.get(info.state) if info.state is not None else None
    if info.isLink:
        source, target = attributes.get(_SOURCE), attributes.get(_TARGET)
        detail = (f"{_link(valueText(source or ''))} &#8594; {_link(valueText(target or ''))}")
    else:
        summary = attributes.get(_SUMMARY) or attributes.get(_REQUEST_MESSAGE)
        detail = text(valueText(summary)) if summary else ""
    row = (f'<tr><td><a href="{_uri(entity.location)}">{text(_titleOf(entity))}</a></td>'
           f"{info.cell}"
           f'<td class="state-cell">{text(valueText(state)) if state is not None else ""}</td>'
           f"<td>{', '.join(text(m.term) for m in entity.mixins)}</td><td>{detail}</td></tr>")
    return _LINKS_GROUP + row if first and info.isLink else row


def collectionEnd() -> str:
    return _LISTING_END + _DOCUMENT_END


# -- the query interface -------------------------------------------------------------------

_categoryCache: _Memo[str] = _Memo()


def _definitionsTable(definitions: Iterable[AttributeDefinition]) -> str:
    rows = []
    for d in definitions:
        constraints = []
        if d.enum:
            constraints.append("one of " + ", ".join(d.enum))
        if d.minimum is not None:
            constraints.append(f"at least {_number(d.minimum)}")
        if d.maximum is not None:
            constraints.append(f"at most {_number(d.maximum)}")
        if d.pattern is not None:
            constraints.append(f"matches {d.pattern}")
        rows.append(
            f'<tr data-attribute="{text(d.name)}"><th scope="row">{text(d.name)}</th>'
            f"<td>{d.type.value}</td><td>{'yes' if d.mutable else 'no'}</td>"
            f"<td>{'yes' if d.required else 'no'}</td>"
            f"<td>{text(valueText(d.default)) if d.default is not None else ''}</td>"
            f"<td>{text('; '.join(constraints))}</td><td>{text(d.description)}</td></tr>"
        )
    return ('<table class="definitions"><thead><tr><th scope="col">Attribute</th>'
            '<th scope="col">Type</th><th scope="col">Mutable</th><th scope="col">Required</th>'
            '<th scope="col">Default</th><th scope="col">Constraints</th>'
            '<th scope="col">Description</th></tr></thead><tbody>' + "".join(rows)
            + "</tbody></table>")


def _categoryLinks(categories: Iterable[Category]) -> str:
    return ", ".join(f'<a href="{QUERY_PATH}#{_slug(c)}">{text(c.term)}</a>' for c in categories)


def _categoryArticle(category: Category) -> str:
    key = (id(category),)
    hit = _categoryCache.get(key)
    if hit is not None:
        return hit
    cls = category.categoryClass
    facts = [f"<dt>Identifier</dt><dd><code>{text(category.identifier)}</code></dd>"]
    if isinstance(category, (Kind, Mixin)):
        if category.location:
            facts.append(f'<dt>Collection</dt><dd><a href="{_uri(category.location)}">'
                         f"{_uri(category.location)}</a></dd>")
        if isinstance(category, Kind) and category.parent is not None:
            facts.append(f"<dt>Parent</dt><dd>{_categoryLinks([category.parent])}</dd>")
        if isinstance(category, Mixin):
            if category.depends:
                facts.append(f"<dt>Depends on</dt><dd>{_categoryLinks(category.depends)}</dd>")
            if category.applies:
                facts.append(f"<dt>Applies to</dt><dd>{_categoryLinks(category.applies)}</dd>")
        if category.actions:
            facts.append(f"<dt>Actions</dt><dd>{_categoryLinks(category.actions)}</dd>")
    article = (
        f'<article class="category {cls}" id="{_slug(category)}" '
        f'data-identifier="{text(category.identifier)}"><h3>{text(category.term)}</h3>'
        + (f"<p>{text(category.title)}</p>" if category.title else "")
        + "<dl>" + "".join(facts) + "</dl>"
        + (_definitionsTable(category.attributes) if category.attributes else "")
        + "</article>"
    )
    return _categoryCache.put(key, (category,), article)


def categoriesPage(categories: Sequence[Category], context: RenderContext) -> str:
    groups: dict[str, list[str]] = {"kind": [], "mixin": [], "action": []}
    for category in categories:
        group = groups.get(category.categoryClass)
        if group is not None:
            group.append(_categoryArticle(category))
    sections = "".join(
        f'<section id="{cls}s"><h2>{heading} ({len(groups[cls])})</h2>'
        + "".join(groups[cls]) + "</section>"
        for cls, heading in (("kind", "Kinds"), ("mixin", "Mixins"), ("action", "Actions"))
    )
    return (_start("Query interface", _registryOf(context))
            + '<h1 id="title">Query interface</h1>'
            "<p>Every kind, mixin and action this server knows, with their attributes: "
            '<a href="#kinds">kinds</a>, <a href="#mixins">mixins</a>, '
            '<a href="#actions">actions</a>.</p>'
            + sections + _DOCUMENT_END)


# -- locations and messages ----------------------------------------------------------------


def _label(location: str, registry: Registry) -> str:
    """What a location is, in words (HTML)."""
    if location == QUERY_PATH:
        return "Query interface: every kind, mixin and action"
    if location == FEED_PATH:
        return "Event feed: every change on this server (Atom)"
    if location == TEMPLATES_PATH:
        return "Templates: ready-made resources to create"
    category = registry.atLocation(location) if location.endswith("/") else None
    if isinstance(category, Kind):
        return f"{text(category.term)}: {text(category.title or category.term)} collection"
    if isinstance(category, Mixin):
        return f"{text(category.term)}: {text(category.title or category.term)}"
    if location.startswith(TEMPLATES_PATH):
        term = location[len(TEMPLATES_PATH):]
        for mixin in registry.mixins():
            if mixin.term == term and mixin.title:
                return f"{text(term)}: {text(mixin.title)}"
    return text(location)


def locationsPage(locations: Sequence[str], context: RenderContext) -> str:
    registry = _registryOf(context)
    path = _pathOf(context)
    if path == "/":
        heading = "OCCI server"
        intro = ("<p>Everything this server offers is linked from here. Browse the "
                 "collections and create in them with the forms; programs use the same URLs "
                 "with text/plain, text/occi or application/occi+json.</p>")
    elif path == TEMPLATES_PATH:
        heading = "Templates"
        intro = ("<p>Open a template for a ready-made resource, change it or not, and "
                 "create it.</p>")
    else:
        heading, intro = "Locations", ""
    items = "".join(f"<li>{_link(location, _label(location, registry))}</li>"
                    for location in locations)
    return (_start(heading, registry) + f'<h1 id="title">{heading}</h1>' + intro
            + f'<ul id="locations">{items}</ul>' + _DOCUMENT_END)


def messagePage(message: str, context: RenderContext, heading: str = "Done") -> str:
    """One sentence, and the way back: to the page asked for if it is a collection (or was
    an entity's), and home."""
    path = _pathOf(context)
    back = ""
    if path and path.startswith("/") and path != "/":
        parent = path if path.endswith("/") else path.rpartition("/")[0] + "/"
        back = f'<a id="back" href="{_uri(parent)}">Back to {_uri(parent)}</a> &#183; '
    return (_start(message[:80], _registryOf(context)) + f'<h1 id="title">{text(heading)}</h1>'
            f'<p id="message">{text(message)}</p>'
            f'<p>{back}<a href="/">Home</a></p>' + _DOCUMENT_END)


def errorPage(status: int, message: str, context: RenderContext) -> str:
    """What went wrong, for a person: the status, the server's sentence, the way back."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    return messagePage(message, context, heading=f"{status} {reason}")


# -- the renderer --------------------------------------------------------------------------


def _encode(page: str) -> bytes:
    # Half surrogate pairs are already replaced; "replace" keeps a stray one from failing
    # the whole answer.
    return page.encode("utf-8", "replace")


class HTMLRenderer:
    """Writes ``text/html`` pages; listings stream row by row."""

    mediaType = MEDIA_TYPE
    contentType = CONTENT_TYPE
    streams = True

    def entity(self, view: EntityView, context: RenderContext) -> Rendered:
        return Rendered(CONTENT_TYPE, _encode(entityPage(view, context)))

    def categories(self, categories: Sequence[Category], context: RenderContext) -> Rendered:
        return Rendered(CONTENT_TYPE, _encode(categoriesPage(categories, context)))

    def locations(self, locations: Sequence[str], context: RenderContext) -> Rendered:
        return Rendered(CONTENT_TYPE, _encode(locationsPage(locations, context)))

    def message(self, text: str, context: RenderContext) -> Rendered:
        return Rendered(CONTENT_TYPE, _encode(messagePage(text, context)))

    def error(self, status: int, text: str, context: RenderContext) -> Rendered:
        """An error page (not part of the Renderer protocol): for browsers, instead of the
        text/plain sentence every other client gets."""
        return Rendered(CONTENT_TYPE, _encode(errorPage(status, text, context)))

    def collectionStart(self, context: RenderContext) -> bytes:
        return _encode(collectionStart(context))

    def collectionItem(self, view: EntityView, first: bool, context: RenderContext) -> bytes:
        return _encode(collectionItem(view, first))

    def collectionEnd(self, context: RenderContext) -> bytes:
        return _encode(collectionEnd())


HTML = HTMLRenderer()


def register(types: MediaTypes) -> None:
    """Add the HTML rendering to the server's media types (pages are written, never read:
    browsers send forms, which :mod:`.form` reads)."""
    types.add(MEDIA_TYPE, renderer=HTML)
