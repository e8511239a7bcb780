"""Pages from :mod:`twisted.web.template` trees: escaping by construction, flattened once.

Every page is written as a tree of :data:`~twisted.web.template.tags`; the flattener escapes
each string it meets, in text and in attributes, so that no value can become markup.  The
pages are also well-formed XML (tests and any XML tool read them with a strict parser): the
flattener closes void elements and quotes every attribute, and what it writes is rid of the
characters XML 1.0 forbids (controls, U+FFFE, U+FFFF, half surrogate pairs), which become
U+FFFD.

Flattening walks the tree a node at a time, which costs far more than the HTTP answer around
an entity page.  What depends only on an entity's kind and mixins is therefore flattened
once into a :class:`Fragment`: the tree is written with :class:`~twisted.web.template.slot`\\ s
where the per-entity values go, :func:`compiled` flattens it around those holes, and filling
a hole escapes the value exactly as the flattener would have.  A hole also takes
:class:`Markup` -- bytes this module flattened -- to nest one fragment in another.

Flattening is Deferred-based, but the trees here hold no Deferred that is not already fired,
so every flattening finishes before :func:`compiled` returns; pages stay synchronous, as the
:class:`~occi_twisted.renderings.document.Renderer` protocol wants.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from twisted.internet.defer import succeed
from twisted.python.failure import Failure
from twisted.web.error import FlattenerError, MissingRenderMethod
from twisted.web.iweb import IRenderable, IRequest
from twisted.web.template import Flattenable, Tag, flatten, tags
from zope.interface import implementer

#: Characters XML 1.0 cannot carry, however escaped (its ``Char`` production).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: The same in UTF-8 (every one is unambiguous there: no longer sequence contains it).
_NOT_XML_UTF8 = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]")
_REPLACEMENT = "\ufffd".encode()
#: What a hole's value needs done to it: XML's specials and what XML forbids.
_SPECIAL = re.compile("[&<>\"\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class Markup(bytes):
    """Bytes this module flattened: markup, to be written as it is where a hole takes it.

    Model values are never bytes, so the type tells a fragment's piece of page from text
    to escape."""

    __slots__ = ()


#: No markup: where a part of a page is left out.
NOTHING = Markup()

def escaped(value: str) -> bytes:
    """``value`` as the flattener writes a string inside an attribute (which is also right
    as text): ``&<>"`` escaped, characters XML forbids replaced, UTF-8.  Most values need
    nothing, so one search decides."""
    if _SPECIAL.search(value) is None:
        return value.encode()
    return (NOT_XML.sub("\ufffd", value).encode().replace(b"&", b"&amp;")
            .replace(b"<", b"&lt;").replace(b">", b"&gt;").replace(b'"', b"&quot;"))


@dataclass(frozen=True)
class Fragment:
    """Flattened markup with holes: bytes to write as they are, and the names of the holes
    (each filled with a value when the fragment is written)."""

    pieces: tuple[bytes | str, ...]
    #: Where each hole is among the pieces, and its name.
    _holes: tuple[tuple[int, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        holes = tuple((at, piece) for at, piece in enumerate(self.pieces)
                      if isinstance(piece, str))
        object.__setattr__(self, "_holes", holes)

    def __call__(self, **values: str | Markup) -> Markup:
        """The fragment with its holes filled: ``str`` values escaped, :class:`Markup` as
        it is."""
        written = list(self.pieces)
        for at, name in self._holes:
            value = values[name]
            written[at] = value if isinstance(value, Markup) else escaped(value)
        return Markup(b"".join(written))  # type: ignore[arg-type]  # every hole is filled

    def split(self, hole: str) -> tuple[Fragment, Fragment]:
        """The fragment before the one hole named ``hole`` and after it: a page's start and
        end around the content that streams between them."""
        at = self.pieces.index(hole)
        return Fragment(self.pieces[:at]), Fragment(self.pieces[at + 1:])

    @property
    def markup(self) -> Markup:
        """The fragment itself, when it has no holes."""
        assert not self._holes, self.pieces
        return Markup(b"".join(piece for piece in self.pieces if isinstance(piece, bytes)))


@implementer(IRenderable)
@dataclass(frozen=True)
class _Hole:
    """What a slot is filled with while a fragment is flattened: it notes where it is."""

    name: str
    pieces: list[bytes | str]

    def lookupRenderMethod(self, name: str) -> Callable[[IRequest | None, Tag], Flattenable]:
        raise MissingRenderMethod(self, name)

    def render(self, request: IRequest | None) -> Flattenable:
        # The flattener hands on what it has written before it waits for a Deferred (each
        # hole is reached through one), so the pieces are in document order.
        self.pieces.append(self.name)
        return ""


def compiled(root: Flattenable, *holes: str) -> Fragment:
    """``root`` flattened, with a hole wherever a :class:`~twisted.web.template.slot` named
    in ``holes`` is."""
    try:
        return _compiled(root, holes)
    except FlattenerError as error:
        if not isinstance(error.args[0], UnicodeEncodeError):
            raise
    # Half a surrogate pair somewhere (the flattener encodes strings as they are): again,
    # with every string rid of what XML cannot carry.
    return _compiled(_xmlOnly(root), holes)


def flattened(root: Flattenable) -> Markup:
    """``root`` as markup."""
    return compiled(root).markup


def script(source: str) -> Markup:
    """A ``<script>`` element running ``source``, which is written as it is: the flattener
    would escape it, and a script's text is not unescaped by browsers.  So that the page
    stays well-formed XML and the element cannot end early, ``source`` holds no ``<`` and
    no ``&`` (a ValueError otherwise)."""
    if set("<&") & set(source) or NOT_XML.search(source):
        raise ValueError("a script written into a page may not hold < or & (write b > a, "
                         "nested ifs) nor characters XML cannot carry")
    return Markup(b"<script>" + source.encode() + b"</script>")


def around(root: Flattenable, hole: str) -> tuple[Markup, Markup]:
    """``root`` flattened before the slot ``hole`` and after it: the start and end of a page
    or table whose content is written between them."""
    start, end = compiled(root, hole).split(hole)
    return start.markup, end.markup


def _compiled(root: Flattenable, holes: Iterable[str]) -> Fragment:
    written: list[bytes | str] = []
    slots = {name: succeed(_Hole(name, written)) for name in holes}
    done = flatten(None, tags.transparent(root).fillSlots(**slots), written.append)
    failed: list[Failure] = []
    done.addErrback(failed.append)
    if failed:
        failed[0].raiseException()
    assert done.called, "a tree waited for something: pages are synchronous"
    return Fragment(tuple(_joined(written)))


def _joined(written: Iterable[bytes | str]) -> Iterable[bytes | str]:
    """The pieces with neighbouring bytes joined (and rid of what XML cannot carry)."""
    run: list[bytes] = []
    for piece in written:
        if isinstance(piece, bytes):
            run.append(piece)
            continue
        if run:
            yield _NOT_XML_UTF8.sub(_REPLACEMENT, b"".join(run))
            run = []
        yield piece
    if run:
        yield _NOT_XML_UTF8.sub(_REPLACEMENT, b"".join(run))


def _xmlOnly(root: Flattenable) -> Flattenable:
    """A copy of ``root`` whose strings hold only what XML can carry."""
    if isinstance(root, str):
        return NOT_XML.sub("\ufffd", root)
    if isinstance(root, Tag):
        copy = root.clone(deep=False)
        copy.children = [_xmlOnly(child) for child in root.children]
        copy.attributes = {name: _xmlOnly(value) for name, value in root.attributes.items()}
        return copy
    if isinstance(root, (list, tuple)):
        return [_xmlOnly(child) for child in root]
    return root


# -- caches ------------------------------------------------------------------------------------

_T = TypeVar("_T")


class Memo(Generic[_T]):
    """Values built from categories, by the identities of those categories.

    Each entry holds the categories themselves, so that an id cannot be reused while cached
    (a user mixin defined anew is a new object with an entry of its own); the table is emptied
    when full, as the text rendering's caches are.
    """

    def __init__(self, size: int = 1024) -> None:
        self._entries: dict[tuple[int, ...], tuple[tuple[object, ...], _T]] = {}
        self._size = size

    def get(self, holders: tuple[object, ...], build: Callable[[], _T]) -> _T:
        """The value for ``holders``, built by ``build`` the first time."""
        key = tuple(map(id, holders))
        hit = self._entries.get(key)
        if hit is not None:
            return hit[1]
        value = build()
        if len(self._entries) >= self._size:
            self._entries.clear()
        self._entries[key] = (holders, value)
        return value


def dashed(**named: Flattenable) -> Mapping[str, Flattenable]:
    """Attributes whose names Python cannot spell as keywords, written with ``_`` for ``-``:
    ``tags.tr(**dashed(data_attribute=name))``."""
    return {name.rstrip("_").replace("_", "-"): value for name, value in named.items()}
