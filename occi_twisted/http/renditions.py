"""Renderings kept for the next GET: most GETs ask again for what has not changed.

An entity's answer is found by the entity's id and is used only for the very state the store
has just read -- the entity and its links -- in the same media type for the same base URL.  The
store is read as for any GET; what is saved is the rendering.  With SQLite, the store hands back
the very objects it decoded before, so comparing costs next to nothing; any change (of the
entity, of one of its links, a link added or removed) fails the comparison, so a stale rendering
is never sent, whatever the order in which the store's listeners learn of commits.

A whole listing is found by its path, media type, base URL and the owner it is narrowed to, and
is stamped with the newest event of the store's log read *before* its members were: every change
of an entity appends an event in the change's own transaction, so while the log's newest event
is the stamp, the listing stands and the store need not be read at all (reading a hundred
members cost more than the rest of the answer).  Read first, the stamp can only be older than
the members, never newer: a change that lands between the two reads makes the next GET read
again.  Pages (HTML) are not kept: they show more than the entities.
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

    def find(self, view: EntityView, mediaType: str, context: RenderContext) -> Prepared | None:
        """The answer kept for ``view`` exactly as it is now, if there is one."""
        entry = self._entries.get(view.entity.id)
        if entry is None or entry.entity != view.entity or entry.links != tuple(view.links):
            return None
        return entry.answers.get((mediaType, context))

    def keep(self, view: EntityView, mediaType: str, context: RenderContext,
             prepared: Prepared) -> Prepared:
        """Keep ``prepared`` as the answer for ``view`` (dropping what was kept for an older
        state of the entity)."""
        entry = self._entries.get(view.entity.id)
        if entry is None or entry.entity != view.entity or entry.links != tuple(view.links):
            if len(self._entries) >= self._limit:
                self._entries.clear()
            entry = self._entries[view.entity.id] = _Entry(view.entity, tuple(view.links))
        entry.answers[(mediaType, context)] = prepared
        return prepared
