"""Renderings kept for the next GET: most GETs ask again for what has not changed.

An entity's answers are kept by the entity's id -- one per media type and base URL -- with the
entity and its links as the store gave them; a whole listing's answer by its path, media type,
base URL and the owner it is narrowed to, with its members.  With SQLite, the store hands back
the very objects it decoded before, so comparing what is read with what is kept costs next to
nothing; any change (of the entity, of one of its links, a link added or removed, a member more
or less) fails the comparison and renders anew.

What is kept is also stamped with the newest event of the store's log, read *before* the store
was: every change of an entity appends an event in the change's own transaction, so while the
log's newest event is still the stamp, what is kept stands and the store need not be read at
all (for a listing, a hundred members; for an entity, itself and its links).  Read first, the
stamp can only be older than what was read, never newer: a change that lands between the two
reads makes the next GET read again, so a stale rendering is never sent, whatever the order in
which the store's listeners learn of commits.  Who may see a kept entity is asked each time.
Pages (HTML) are not kept: they show more than the entities.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from ..model import Entity
from ..renderings.document import EntityView, RenderContext, Rendered

#: Entities whose renderings are kept at most; past it the cache starts again, empty.
MAX_ENTITIES = 4096
#: Listings kept at most (one per path, media type and base URL), and the longest kept.
_MAX_LISTINGS = 64
_MAX_LISTING_BYTES = 256 * 1024


@dataclass(frozen=True)
class Prepared:
    """An entity's answer with every header value encoded, ready to send again."""

    etag: bytes
    lastModified: bytes
    contentType: bytes
    #: The rendering's own headers (``text/occi`` writes the entity there).
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    length: bytes

    @classmethod
    def of(cls, rendered: Rendered, etag: str, lastModified: bytes) -> Prepared:
        return cls(etag.encode(), lastModified, rendered.contentType.encode(),
                   tuple((name.encode(), value.encode()) for name, value in rendered.headers),
                   rendered.body, str(len(rendered.body)).encode())


@dataclass
class _Listing:
    entities: list[Entity]
    links: dict[str, Sequence[Entity]]
    rendered: Rendered
    #: The newest event of the log when the members were read.
    stamp: int


@dataclass
class _Entry:
    entity: Entity
    links: Sequence[Entity]
    answers: dict[tuple[str, RenderContext], Prepared] = field(default_factory=dict)
    #: The log's newest event before the entity was last found as it is (-1: never).
    stamp: int = -1


class Renditions:
    """The kept renderings of one server's entities, and of its listings that fit a page."""

    def __init__(self, limit: int = MAX_ENTITIES) -> None:
        self._entries: dict[str, _Entry] = {}
        self._listings: dict[Hashable, _Listing] = {}
        self._limit = limit

    def standing(self, key: Hashable, stamp: int) -> Rendered | None:
        """The listing kept under ``key`` if the log's newest event is still ``stamp``."""
        kept = self._listings.get(key)
        return kept.rendered if kept is not None and kept.stamp == stamp else None

    def listing(self, key: Hashable, stamp: int, entities: Sequence[Entity],
                links: Mapping[str, Sequence[Entity]], render: Callable[[], Rendered]
                ) -> Rendered:
        """The listing of ``entities`` (with their ``links``), read after the log's newest
        event was ``stamp``: the one kept under ``key`` if it lists exactly them (stamped
        anew), else ``render()``, kept."""
        kept = self._listings.get(key)
        if kept is not None and kept.entities == list(entities) and kept.links == links:
            kept.stamp = stamp
            return kept.rendered
        rendered = render()
        if len(rendered.body) > _MAX_LISTING_BYTES:
            return rendered  # large listings are rarely asked for twice unchanged
        if len(self._listings) >= _MAX_LISTINGS:
            self._listings.clear()
        self._listings[key] = _Listing(list(entities), dict(links), rendered, stamp)
        return rendered

    def standingView(self, entityId: str, stamp: int) -> EntityView | None:
        """The entity ``entityId`` with its links as kept, if the log's newest event is still
        the ``stamp`` it was read after (see the module's docstring)."""
        entry = self._entries.get(entityId)
        if entry is None or entry.stamp != stamp:
            return None
        return EntityView(entry.entity, list(entry.links))

    def find(self, view: EntityView, mediaType: str, context: RenderContext,
             stamp: int | None = None) -> Prepared | None:
        """The answer kept for ``view`` exactly as it is now, if there is one; ``stamp``: the
        log's newest event before ``view`` was read, from which on what is kept stands."""
        entry = self._entries.get(view.entity.id)
        if entry is None or entry.entity != view.entity or entry.links != tuple(view.links):
            return None
        if stamp is not None:
            entry.stamp = max(entry.stamp, stamp)
        return entry.answers.get((mediaType, context))

    def keep(self, view: EntityView, mediaType: str, context: RenderContext,
             prepared: Prepared, stamp: int | None = None) -> Prepared:
        """Keep ``prepared`` as the answer for ``view`` (dropping what was kept for an older
        state of the entity); ``stamp`` as for :meth:`find`."""
        entry = self._entries.get(view.entity.id)
        if entry is None or entry.entity != view.entity or entry.links != tuple(view.links):
            if len(self._entries) >= self._limit:
                self._entries.clear()
            entry = self._entries[view.entity.id] = _Entry(view.entity, tuple(view.links))
        if stamp is not None:
            entry.stamp = max(entry.stamp, stamp)
        entry.answers[(mediaType, context)] = prepared
        return prepared
