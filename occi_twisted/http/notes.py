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

import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from twisted.web.iweb import IRequest

from ..model.answers import Answer, KeyTaken, RememberAnswer
from ..model.errors import (
    BadRequest,
    Conflict,
    NotAcceptable,
    NotFound,
    PreconditionFailed,
)
from ..model.locations import noteAt, notesOf
from ..model.notes import NEW, Note
from ..renderings import negotiation
from ..renderings import notes as renderings
from ..renderings.document import RenderContext, Rendered
from ..renderings.notes import LIST_TYPES, NOTE_TYPES
from ..store.interface import IStore
from . import idempotency, parts
from .methods import Shape, allow
from .weblinks import webLink

#: Largest note text accepted.
MAX_TEXT = 256 * 1024
_POE_NAMESPACE = uuid.UUID("0b8f0f53-64a4-4bd9-8f55-2a1e3c8d7e61")


@dataclass
class NoteRoutes:
    """The notes of the entities of ``store``; the HTTP layer routes here."""

    store: IStore
    now: Callable[[], float]

    async def collection(self, request: IRequest, method: str, entityId: str, location: str,
                         context: RenderContext) -> bytes:
        base = notesOf(location)
        allow(request, method, Shape.NOTES, base)
        if method in ("GET", "HEAD"):
            if parts.lastHeader(request, b"poe") == "1":
                request.setHeader(b"POE-Links", f"<{context.absolute(base + str(uuid.uuid4()))}>"
                                  .encode())
            return await self._list(request, entityId, base, context)
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
        allow(request, method, Shape.NOTE if existing is None else Shape.POSTED_NOTE, url)
        if method == "POST":
            return await self._create(request, entityId, notesOf(location), noteId, context)
        if method == "PUT":
            title, text = self._read(request)
            expect = _ifMatch(request, existing)
            note = Note(entityId, noteId, parts.ownerOf(request), title, text,
                        existing.created if existing else self.now(), self.now())
            try:
                stored = await self.store.putNote(note, expect)
            except Conflict:
                if expect != NEW:
                    raise
                # Another writer made it since it was read: If-None-Match: * fails now.
                raise PreconditionFailed(f"{url} exists already, and If-None-Match: * asks "
                                         "for it not to.") from None
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
        return renderings.readNote(raw, contentType)

    def _send(self, request: IRequest, note: Note, url: str, context: RenderContext) -> bytes:
        chosen = negotiation.choose(parts.lastHeader(request, b"accept"), NOTE_TYPES)
        if chosen is None:
            raise NotAcceptable(f"A note is available as {', '.join(NOTE_TYPES)}.")
        request.setHeader(b"ETag", _etag(note).encode())
        return _typed(request, renderings.note(note, url, chosen, context))

    async def _list(self, request: IRequest, entityId: str, base: str,
                    context: RenderContext) -> bytes:
        chosen = negotiation.choose(parts.lastHeader(request, b"accept"), LIST_TYPES)
        if chosen is None:
            raise NotAcceptable(f"Notes are listed as {', '.join(LIST_TYPES)}.")
        page = await self.store.listNotes(entityId, parts.argument(request, "after"), 1000)
        if page.cursor is not None:
            webLink(request, chosen, f"{context.absolute(base)}?after={page.cursor}", "next")
        return _typed(request, renderings.notes(page.notes, base, chosen, context))


def _etag(note: Note) -> str:
    return f'"note-{note.revision}-{int(note.updated * 1000)}"'


def _ifMatch(request: IRequest, existing: Note | None) -> int | None:
    """The revision ``If-Match`` insists on (``NEW`` when it says the note must not exist
    through ``If-None-Match: *``), or ``None``."""
    if parts.lastHeader(request, b"if-none-match") == "*":
        if existing is not None:
            raise PreconditionFailed("The note exists already, and If-None-Match: * asks for "
                                     "it not to.")
        return NEW
    wanted = parts.lastHeader(request, b"if-match")
    if wanted is None or wanted.strip() == "*":
        return None
    if existing is None or _etag(existing) not in [t.strip() for t in wanted.split(",")]:
        raise PreconditionFailed("The note has changed since that ETag; GET it again.")
    return existing.revision


def _typed(request: IRequest, rendered: Rendered) -> bytes:
    request.setHeader(b"Content-Type", rendered.contentType.encode())
    request.setHeader(b"Content-Length", str(len(rendered.body)).encode())
    request.setHeader(b"Vary", b"Accept")
    return rendered.body
