"""Notes (``{entity}/notes/``) in every media type they are offered in: one note as its text,
JSON, an Atom entry or a page; a listing as URIs, JSON, an Atom feed or a page.

Pure functions of the notes and where they are, as every rendering is; the HTTP layer picks
the media type and reads the bodies.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..model.locations import Notes, notesOf, placeOf
from ..model.notes import Note
from . import atom
from .document import RenderContext, Rendered
from .html.layout import CONTENT_TYPE as HTML_CONTENT_TYPE
from .html.notes import notePage, notesPage

PLAIN_CONTENT_TYPE = "text/plain; charset=utf-8"
#: What one note is offered as, the first preferred.
NOTE_TYPES = ("text/plain", "application/json", "application/occi+json",
              atom.MEDIA_TYPE, "text/html")
#: What a listing of notes is offered as.
LIST_TYPES = ("text/uri-list", *NOTE_TYPES)
#: What a note's body may be: its text, JSON ``{"title", "text"}`` or a form.
INPUT_TYPES = ("text/plain", "application/json", "application/occi+json",
               "application/x-www-form-urlencoded")


def note(note: Note, location: str, mediaType: str, context: RenderContext) -> Rendered:
    """The note at ``location`` as ``mediaType`` (one of :data:`NOTE_TYPES`)."""
    if mediaType == "text/plain":
        text = f"Title: {note.title}\n\n{note.text}" if note.title else note.text
        return Rendered(PLAIN_CONTENT_TYPE, text.encode())
    if mediaType == "text/html":
        return Rendered(HTML_CONTENT_TYPE, notePage(note, _collectionOf(location), context))
    if mediaType == atom.MEDIA_TYPE:
        entry = atom.PROLOG + _entry(note, location, context, standalone=True)
        return Rendered(atom.ENTRY_CONTENT_TYPE, entry.encode())
    return Rendered(mediaType, json.dumps(_json(note, location, context)).encode())


def notes(notes: Sequence[Note], collection: str, mediaType: str,
          context: RenderContext) -> Rendered:
    """The ``notes`` of the collection at ``collection`` as ``mediaType`` (one of
    :data:`LIST_TYPES`)."""
    located = [(one, f"{collection}{one.id}") for one in notes]
    if mediaType == "text/html":
        return Rendered(HTML_CONTENT_TYPE, notesPage(located, collection, context))
    if mediaType in ("text/uri-list", "text/plain"):
        text = "".join(f"{context.absolute(location)}\r\n" for _, location in located)
        return Rendered(f"{mediaType}; charset=utf-8", text.encode())
    if mediaType == atom.MEDIA_TYPE:
        updated = max((one.updated for one in notes), default=0.0)
        url = context.absolute(collection)
        feed = "".join((
            atom.PROLOG, f"<feed xmlns={atom.attribute(atom.NAMESPACE)}>",
            f"<id>{atom.text(url)}</id><title>Notes</title>",
            f"<updated>{atom.timestamp(updated)}</updated>",
            f"<author><name>{atom.text(atom.AUTHOR)}</name></author>",
            f"<link rel=\"self\" href={atom.attribute(url)}/>",
            *(_entry(one, location, context, standalone=False) for one, location in located),
            "</feed>"))
        return Rendered(atom.FEED_CONTENT_TYPE, feed.encode())
    listed = [_json(one, location, context) for one, location in located]
    return Rendered(mediaType, json.dumps({"notes": listed}).encode())


def _collectionOf(location: str) -> str:
    place = placeOf(location)
    return notesOf(place.entity) if isinstance(place, Notes) else location


def _json(note: Note, location: str, context: RenderContext) -> dict[str, object]:
    return {"id": note.id, "location": context.absolute(location), "title": note.title,
            "text": note.text, "owner": note.owner, "created": atom.timestamp(note.created),
            "updated": atom.timestamp(note.updated), "revision": note.revision}


def _entry(note: Note, location: str, context: RenderContext, *, standalone: bool) -> str:
    namespace = f" xmlns={atom.attribute(atom.NAMESPACE)}" if standalone else ""
    url = context.absolute(location)
    return (f"<entry{namespace}><id>{atom.text(url)}</id>"
            f"<title>{atom.text(note.title or note.id)}</title>"
            f"<updated>{atom.timestamp(note.updated)}</updated>"
            f"<author><name>{atom.text(note.owner)}</name></author>"
            f"<link rel=\"alternate\" href={atom.attribute(url)}/>"
            f"<content type=\"text\">{atom.text(note.text)}</content></entry>")
