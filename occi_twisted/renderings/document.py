"""What parsers produce and renderers consume: rendering-neutral values.

Parsing is split from meaning.  A parser turns bytes (and, for ``text/occi``, headers) into a
:class:`Document` that records what the client *wrote*: category references by scheme and term,
raw attribute values, links, locations.  The HTTP layer then resolves the references against the
registry and validates them against the model.  That keeps every parser free of model lookups,
and gives every rendering the same rules and the same error messages.

Renderers take model objects plus a :class:`RenderContext` and produce a :class:`Rendered`:
headers and a body, because ``text/occi`` puts its content in headers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..model import Category, Entity


@dataclass(frozen=True)
class CategoryRef:
    """A category as written in a rendering.

    ``cls`` is the class the client stated (``kind``, ``mixin`` or ``action``) or ``None`` when
    the rendering does not say (JSON says it by position instead).  The remaining fields appear
    when the client *defines* a mixin through the query interface.

    An empty ``scheme`` means the client gave the term alone (``kind=compute`` in an HTML
    form, written by a person): the resolver picks the one category with that term (for an
    action, among the actions the entity offers) or says the term is ambiguous.
    """

    @dataclass(frozen=True)
    class Attribute:
        """An attribute definition as a category's rendering writes it, with the properties
        that rendering gives one it does not describe: GFD.225 says an unstated ``mutable``
        is false, GFD.229 that an attribute is mutable unless marked ``immutable``.

        ``type`` is the rendering's name for it (GFD.225's ``number``, the XML's ``float``),
        or ``None`` when the rendering does not say; ``pattern`` is GFD.225's JSON Schema
        object.  (A class of the category's own: every rendering that parses a category
        writes one, through the name it has already.)
        """

        name: str
        type: str | None = None
        mutable: bool = True
        required: bool = False
        default: object | None = None
        description: str | None = None
        pattern: Mapping[str, object] | None = None

    scheme: str
    term: str
    cls: str | None = None
    title: str | None = None
    location: str | None = None
    #: Identifiers of related categories: a mixin's ``depends``/``applies``, a kind's parent.
    rel: tuple[str, ...] = ()
    #: The attributes a definition describes (a user mixin's are kept; for the other
    #: classes, which clients do not define, they are informative only).
    attributes: tuple[Attribute, ...] = ()
    actions: tuple[str, ...] = ()

    @property
    def identifier(self) -> str:
        return self.scheme + self.term


@dataclass(frozen=True)
class LinkRef:
    """An inline link written on its source resource."""

    target: str
    #: Identifiers of the target resource's kind, as the client wrote them in ``rel``.
    rel: tuple[str, ...] = ()
    #: The link's own location, if the client named one (``self=``).
    location: str | None = None
    #: Identifiers of the link's kind and mixins (``category=``).
    categories: tuple[str, ...] = ()
    attributes: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Document:
    """One parsed request body: everything a client can say in any rendering."""

    categories: tuple[CategoryRef, ...] = ()
    attributes: Mapping[str, object] = field(default_factory=dict)
    links: tuple[LinkRef, ...] = ()
    #: Entity locations (``X-OCCI-Location``), e.g. for mixin association.
    locations: tuple[str, ...] = ()
    #: Several entities in one body (a JSON collection); empty for a single entity.
    entities: tuple[Document, ...] = ()
    #: For JSON: an ``action`` member names the action to trigger.
    action: CategoryRef | None = None


def _epoch() -> float:
    return 0.0


def _unknownKind(location: str) -> str | None:
    return None


@dataclass(frozen=True)
class RenderContext:
    """What a renderer needs beyond the model objects.

    ``base`` is the absolute URL prefix (scheme, host, port, no trailing slash) that turns the
    model's paths into the absolute URIs OCCI 1.2 requires in ``Location`` headers.

    ``clock`` says when the answer is made (seconds since the epoch), for the renderings that
    state it (an Atom feed's ``updated``): the server gives its own clock, so that no rendering
    reads the wall clock; without one it is the epoch.

    ``linksOnly`` says that a listing holds links and no resource (or, empty, is a listing of
    link kinds): GFD.225 names a collection by what it holds (``{"links": [...]}``), and a
    streamed rendering must know it before its first piece.

    ``kindAt`` names the kind of the resource at a location of this server (None when it
    cannot say): a link records its target's kind but not its source's, which GFD.225
    renders beside the source's location wherever the link is rendered.
    """

    base: str
    clock: Callable[[], float] = _epoch
    linksOnly: bool = False
    kindAt: Callable[[str], str | None] = _unknownKind

    def absolute(self, location: str) -> str:
        """``location`` as an absolute URI; URIs that already have a scheme pass unchanged."""
        if "://" in location or location.startswith("urn:"):
            return location
        return self.base + location


@dataclass(frozen=True)
class Rendered:
    """A rendering's output: extra response headers, and the body."""

    contentType: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class EntityView:
    """An entity with what is rendered alongside it: for a resource, its outgoing links."""

    entity: Entity
    links: Sequence[Entity] = ()


class Parser(Protocol):
    """Reads one media type."""

    def __call__(self, body: bytes, headers: Mapping[str, Sequence[str]]) -> Document: ...


class Renderer(Protocol):
    """Writes one media type.

    ``collectionStart``/``collectionItem``/``collectionEnd`` let large listings stream: the HTTP
    layer writes each piece as the store yields entities, so memory stays flat however long
    the collection.  Renderings that list by reference write only each entity's location;
    pass-by-value renderings (JSON, Atom) write the whole entity.  A media type that can only
    render into headers (``text/occi``) sets ``streams`` to ``False`` and the HTTP layer
    gathers the pieces instead.

    The order of the pieces: the HTTP layer yields every *resource* of a listing before any
    *link*, and passes ``first=True`` for the first resource and again for the first link.
    GFD.225 renders a collection as ``{"resources": [...]}``, ``{"links": [...]}`` or, mixed,
    both, so a rendering that groups by sort must learn where one group ends and the next
    begins, and the pieces are stateless: the context's ``linksOnly`` says whether a
    ``resources`` group comes at all.  Renderings that do not group simply ignore ``first``
    where it repeats.
    """

    mediaType: str
    streams: bool

    def entity(self, view: EntityView, context: RenderContext) -> Rendered: ...

    def categories(self, categories: Sequence[Category], context: RenderContext) -> Rendered: ...

    def locations(self, locations: Sequence[str], context: RenderContext) -> Rendered: ...

    def message(self, text: str, context: RenderContext) -> Rendered: ...

    def collectionStart(self, context: RenderContext) -> bytes: ...

    def collectionItem(self, view: EntityView, first: bool, context: RenderContext) -> bytes: ...

    def collectionEnd(self, context: RenderContext) -> bytes: ...
