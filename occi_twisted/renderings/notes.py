"""Notes (``{entity}/notes/``) in every media type they are offered in: one note as its text,
JSON, an Atom entry or a page; a listing as URIs, JSON, an Atom feed or a page.

Pure functions of the notes and where they are, as every rendering is; the HTTP layer picks
the media type and hands over the bodies, which :func:`readNote` reads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import parse_qs

from ..model.errors import BadRequest, UnsupportedMediaType
from ..model.locations import Notes, notesOf, placeOf
from ..model.notes import Note
from . import atom
from .document import RenderContext, Rendered
from .html.layout import CONTENT_TYPE as HTML_CONTENT_TYPE
from .html.notes import notePage, notesPage
from .limits import MAX_DIGITS
from .values import SURROGATE, Refusals, Refused, strictDecoder

PLAIN_CONTENT_TYPE = "text/plain; charset=utf-8"
#: What one note is offered as, the first preferred.
NOTE_TYPES = ("text/plain", "application/json", "application/occi+json",
              atom.MEDIA_TYPE, "text/html")
#: What a listing of notes is offered as.
LIST_TYPES = ("text/uri-list", *NOTE_TYPES)
#: What a note may be written as.
INPUT_TYPES = ("text/plain", "application/json", "application/occi+json",
               "application/x-www-form-urlencoded")

_DECODER = strictDecoder(Refusals(
    duplicate="The JSON note has the member {} twice.",
    digits=f"A number in the JSON note has more than {MAX_DIGITS} digits.",
    large="The number {} in the JSON note is too large.",
    constant="{} is not a JSON value.",
))
_JSON_NOTE = 'A JSON note is {"title": "...", "text": "..."}.'


def readNote(body: bytes, mediaType: str) -> tuple[str, str]:
    """The title and text of a note written as ``mediaType`` (one of
    :data:`INPUT_TYPES`, parameters left off), or BadRequest saying why there are none."""
    mediaType = mediaType.strip().lower()
    if mediaType not in INPUT_TYPES:
        raise UnsupportedMediaType(f"A note is text/plain, JSON or a form, not {mediaType}.")
    try:
        decoded = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("A note must be UTF-8 text.") from None
    if mediaType == "application/x-www-form-urlencoded":
        fields = parse_qs(decoded)
        return fields.get("title", [""])[-1], fields.get("text", [""])[-1]
    if mediaType == "text/plain":
        first, _, rest = decoded.partition("\n")
        if first.lower().startswith("title:"):
            return first[6:].strip(), rest.lstrip("\r\n")
        return "", decoded
    try:
        value = _DECODER.decode(decoded)
    except Refused as refused:
        raise BadRequest(str(refused)) from None
    except ValueError:
        raise BadRequest("The note is not JSON.") from None
    except RecursionError:
        raise BadRequest(f"The note is not JSON that can be read: it is nested too deeply. "
                         f"{_JSON_NOTE}") from None
    if not isinstance(value, dict):
        raise BadRequest(_JSON_NOTE)
    title, text = value.get("title", ""), value.get("text", "")
    if not isinstance(title, str) or not isinstance(text, str):
        raise BadRequest(_JSON_NOTE)
    if SURROGATE.search(title) or SURROGATE.search(text):
        raise BadRequest("The JSON note holds half a UTF-16 surrogate pair, which no "
                         "encoding can write.")
    return title, text


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
