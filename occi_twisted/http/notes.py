"""``{entity}/notes/``: notes users write about a resource (the walkthrough's sub-resource
collections), with every creating POST exactly once.

- ``GET`` lists them (text/uri-list, text/plain, JSON, Atom); ``GET`` a note gives its text
  (text/plain), or JSON, or an Atom entry.
- ``PUT {entity}/notes/{id}`` creates at a client-chosen id or replaces (``If-Match``).
- ``POST {entity}/notes/`` lets the server choose the id.  With ``Idempotency-Key`` the id is
  derived from the key, so a retry finds the note made by the first try and answers as it
  did; the same key with another body is 422.
- POST Once Exactly: a ``GET``/``HEAD`` with ``POE: 1`` is answered with ``POE-Links:`` a
  fresh note URL; that URL accepts one POST, which creates the note, and answers 405 after.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from twisted.web.iweb import IRequest

from ..model.answers import Answer, KeyTaken, RememberAnswer
from ..model.errors import (
    BadRequest,
    Conflict,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    PreconditionFailed,
    UnsupportedMediaType,
)
from ..model.locations import noteAt, notesOf
from ..model.notes import NEW, Note
from ..renderings import negotiation
from ..renderings.atom import NAMESPACE, timestamp
from ..renderings.document import RenderContext
from ..store.interface import IStore
from . import idempotency, parts

#: Largest note text accepted.
MAX_TEXT = 256 * 1024
_NOTE_TYPES = ["text/plain", "application/json", "application/occi+json",
               "application/atom+xml", "text/html"]
_LIST_TYPES = ["text/uri-list", *_NOTE_TYPES]
_POE_NAMESPACE = uuid.UUID("0b8f0f53-64a4-4bd9-8f55-2a1e3c8d7e61")


@dataclass
class NoteRoutes:
    """The notes of the entities of ``store``; the HTTP layer routes here."""

    store: IStore
    now: Callable[[], float]

    async def collection(self, request: IRequest, method: str, entityId: str, location: str,
                         context: RenderContext) -> bytes:
        base = notesOf(location)
        if method in ("GET", "HEAD"):
            if parts.lastHeader(request, b"poe") == "1":
                request.setHeader(b"POE-Links", f"<{context.absolute(base + str(uuid.uuid4()))}>"
                                  .encode())
            return await self._list(request, entityId, base, context)
        if method != "POST":
            raise MethodNotAllowed(f"{base} takes GET and POST; PUT and DELETE go to a note.",
                                   ("GET", "HEAD", "POST"))
        key = idempotency.keyOf(request)
        if key is None:
            return await self._create(request, entityId, base, str(uuid.uuid4()), context)
        printed = idempotency.fingerprint(request, parts.body(request))
        remembered = await self.store.recall(parts.ownerOf(request), key)
        if remembered is not None:
            return idempotency.replay(request, remembered, printed)
        noteId = str(uuid.uuid5(_POE_NAMESPACE, f"{parts.ownerOf(request)}\0{key}"))
        made = await self._create(request, entityId, base, noteId, context, replayable=True)
        status: int = getattr(request, "code", 201)
        answer = Answer(parts.ownerOf(request), key, printed, status,
                        idempotency.keptHeaders(request), made, self.now())
        with suppress(KeyTaken):  # a concurrent retry remembered it first: the same answer
            await self.store.apply([RememberAnswer(answer)])
        return made

    async def note(self, request: IRequest, method: str, entityId: str, location: str, *,
                   noteId: str, context: RenderContext) -> bytes:
        url = noteAt(location, noteId)
        existing = await self.store.getNote(entityId, noteId)
        if method == "POST":
            if existing is not None:
                raise MethodNotAllowed(f"{url} has been posted to already (POST Once Exactly); "
                                       "PUT replaces it.", ("GET", "HEAD", "PUT", "DELETE"))
            return await self._create(request, entityId, notesOf(location), noteId, context)
        if method == "PUT":
            title, text = self._read(request)
            expect = _ifMatch(request, existing)
            note = Note(entityId, noteId, parts.ownerOf(request), title, text,
                        existing.created if existing else self.now(), self.now())
            stored = await self.store.putNote(note, NEW if expect == NEW else expect)
            if existing is None:
                request.setResponseCode(201)
                request.setHeader(b"Location", context.absolute(url).encode())
            return self._send(request, stored, url, context)
        if existing is None:
            raise NotFound(f"{location} has no note {noteId}.")
        if method == "DELETE":
            await self.store.deleteNote(entityId, noteId, _ifMatch(request, existing) or None)
            request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
            return f"Deleted {url}.\n".encode()
        if parts.lastHeader(request, b"if-none-match") == _etag(existing):
            request.setResponseCode(304)
            request.setHeader(b"ETag", _etag(existing).encode())
            return b""
        body = self._send(request, existing, url, context)
        return b"" if method == "HEAD" else body

    # -- helpers -------------------------------------------------------------------------------

    async def _create(self, request: IRequest, entityId: str, base: str, noteId: str,
                      context: RenderContext, *, replayable: bool = False) -> bytes:
        title, text = self._read(request)
        now = self.now()
        note = Note(entityId, noteId, parts.ownerOf(request), title, text, now, now)
        try:
            stored = await self.store.putNote(note, NEW)
        except Conflict:
            if not replayable:
                raise
            found = await self.store.getNote(entityId, noteId)
            if found is None:
                raise
            stored = found  # the first try of this key made it
        request.setResponseCode(201)
        request.setHeader(b"Location", context.absolute(base + noteId).encode())
        return self._send(request, stored, base + noteId, context)

    def _read(self, request: IRequest) -> tuple[str, str]:
        """Title and text from a text/plain, JSON or form body."""
        contentType = (parts.lastHeader(request, b"content-type") or "text/plain").split(";")[0]
        raw = parts.body(request)
        if len(raw) > MAX_TEXT:
            raise BadRequest(f"A note holds at most {MAX_TEXT // 1024} KiB.")
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("A note must be UTF-8 text.") from None
        contentType = contentType.strip().lower()
        if contentType in ("application/json", "application/occi+json"):
            try:
                value = json.loads(decoded)
            except ValueError:
                raise BadRequest("The note is not JSON.") from None
            if not isinstance(value, dict) or not isinstance(value.get("text", ""), str) \
                    or not isinstance(value.get("title", ""), str):
                raise BadRequest('A JSON note is {"title": "...", "text": "..."}.')
            return value.get("title", ""), value.get("text", "")
        if contentType == "application/x-www-form-urlencoded":
            fields = parse_qs(decoded)
            return fields.get("title", [""])[-1], fields.get("text", [""])[-1]
        if contentType == "text/plain":
            first, _, rest = decoded.partition("\n")
            if first.lower().startswith("title:"):
                return first[6:].strip(), rest.lstrip("\r\n")
            return "", decoded
        raise UnsupportedMediaType(f"A note is text/plain, JSON or a form, not {contentType}.")

    def _send(self, request: IRequest, note: Note, url: str, context: RenderContext) -> bytes:
        chosen = negotiation.choose(parts.lastHeader(request, b"accept"), _NOTE_TYPES)
        if chosen is None:
            raise NotAcceptable(f"A note is available as {', '.join(_NOTE_TYPES)}.")
        request.setHeader(b"ETag", _etag(note).encode())
        if chosen == "text/plain":
            body = (f"Title: {note.title}\n\n{note.text}" if note.title else note.text)
            return _typed(request, "text/plain; charset=utf-8", body.encode())
        if chosen == "text/html":
            return _typed(request, "text/html; charset=utf-8", _page(
                note.title or note.id, f"<pre>{escape(note.text)}</pre>"
                f'<p><a href="{escape(url.rpartition("/")[0])}/">All notes</a></p>'))
        if chosen == "application/atom+xml":
            entry = f'<?xml version="1.0" encoding="utf-8"?>\n{_entry(note, url, context, True)}'
            return _typed(request, "application/atom+xml; type=entry; charset=utf-8",
                          entry.encode())
        return _typed(request, chosen, json.dumps(_json(note, url, context)).encode())

    async def _list(self, request: IRequest, entityId: str, base: str,
                    context: RenderContext) -> bytes:
        chosen = negotiation.choose(parts.lastHeader(request, b"accept"), _LIST_TYPES)
        if chosen is None:
            raise NotAcceptable(f"Notes are listed as {', '.join(_LIST_TYPES)}.")
        page = await self.store.listNotes(entityId, parts.argument(request, "after"), 1000)
        if page.cursor is not None:
            request.responseHeaders.addRawHeader(b"Link", (
                f'<{context.absolute(base)}?after={page.cursor}>; rel="next"').encode())
        urls = [base + n.id for n in page.notes]
        if chosen == "text/html":
            items = "".join(f'<li><a href="{escape(u)}">{escape(n.title or n.id)}</a></li>'
                            for n, u in zip(page.notes, urls, strict=True))
            form = (f'<form method="post" action="{escape(base)}"><p><label>Title '
                    '<input name="title"></label></p><p><textarea name="text" rows="6" '
                    'cols="60" required></textarea></p><p><button>Add a note</button></p>'
                    "</form>")
            return _typed(request, "text/html; charset=utf-8",
                          _page("Notes", f'<ul id="notes">{items}</ul>{form}'))
        if chosen in ("text/uri-list", "text/plain"):
            text = "".join(f"{context.absolute(u)}\r\n" for u in urls)
            return _typed(request, f"{chosen}; charset=utf-8", text.encode())
        if chosen == "application/atom+xml":
            entries = "".join(_entry(n, u, context, False) for n, u in zip(page.notes, urls,
                                                                        strict=True))
            updated = max((n.updated for n in page.notes), default=0.0)
            feed = (f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="{NAMESPACE}">'
                    f"<id>{escape(context.absolute(base))}</id><title>Notes</title>"
                    f"<updated>{timestamp(updated)}</updated>"
                    "<author><name>occi-twisted</name></author>"
                    f'<link rel="self" href="{escape(context.absolute(base))}"/>'
                    f"{entries}</feed>")
            return _typed(request, "application/atom+xml; type=feed; charset=utf-8",
                          feed.encode())
        notes = [_json(n, u, context) for n, u in zip(page.notes, urls, strict=True)]
        return _typed(request, chosen, json.dumps({"notes": notes}).encode())


def _page(title: str, body: str) -> bytes:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>'
            f"{escape(title)}</title></head><body><h1>{escape(title)}</h1>{body}</body></html>"
            ).encode()


def _json(note: Note, url: str, context: RenderContext) -> dict[str, object]:
    return {"id": note.id, "location": context.absolute(url), "title": note.title,
            "text": note.text, "owner": note.owner, "created": timestamp(note.created),
            "updated": timestamp(note.updated), "revision": note.revision}


def _entry(note: Note, url: str, context: RenderContext, standalone: bool) -> str:
    namespace = f' xmlns="{NAMESPACE}"' if standalone else ""
    href = escape(context.absolute(url), {'"': "&quot;"})
    return (f"<entry{namespace}><id>{escape(context.absolute(url))}</id>"
            f"<title>{escape(note.title or note.id)}</title>"
            f"<updated>{timestamp(note.updated)}</updated>"
            f"<author><name>{escape(note.owner)}</name></author>"
            f'<link rel="alternate" href="{href}"/>'
            f'<content type="text">{escape(note.text)}</content></entry>')


def _etag(note: Note) -> str:
    return f'"note-{note.revision}-{int(note.updated * 1000)}"'


def _ifMatch(request: IRequest, existing: Note | None) -> int | None:
    """The revision ``If-Match`` insists on (``NEW`` when it says the note must not exist
    through ``If-None-Match: *``), or ``None``."""
    if parts.lastHeader(request, b"if-none-match") == "*":
        return NEW
    wanted = parts.lastHeader(request, b"if-match")
    if wanted is None or wanted.strip() == "*":
        return None
    if existing is None or _etag(existing) not in [t.strip() for t in wanted.split(",")]:
        raise PreconditionFailed("The note has changed since that ETag; GET it again.")
    return existing.revision


def _typed(request: IRequest, contentType: str, body: bytes) -> bytes:
    request.setHeader(b"Content-Type", contentType.encode())
    request.setHeader(b"Content-Length", str(len(body)).encode())
    request.setHeader(b"Vary", b"Accept")
    return body
