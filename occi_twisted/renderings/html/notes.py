"""Notes as pages: one note's text, and the notes of an entity with the form that adds one."""

from __future__ import annotations

from collections.abc import Sequence

from twisted.web.template import tags

from ...model.notes import Note
from ..document import RenderContext
from .layout import page
from .markup import dashed, flattened
from .words import uri


def notePage(note: Note, collection: str, context: RenderContext) -> bytes:
    """``note``'s text as written, and the way to the other notes at ``collection``."""
    title = note.title or note.id
    return page(title, context, flattened([
        tags.h1(title, id="title"),
        tags.pre(note.text, id="text"),
        tags.p(tags.a("All notes", href=uri(collection))),
    ]))


def notesPage(notes: Sequence[tuple[Note, str]], collection: str,
              context: RenderContext) -> bytes:
    """Each note (with its location) linked, and a form that posts a new one to
    ``collection``."""
    return page("Notes", context, flattened([
        tags.h1("Notes", id="title"),
        tags.ul([tags.li(tags.a(note.title or note.id, href=uri(location)))
                 for note, location in notes], id="notes"),
        tags.form(
            tags.p(tags.label("Title ", tags.input(type="text", name="title", value=""))),
            tags.p(tags.textarea("", name="text", rows="6", cols="60", required="required")),
            tags.p(tags.button("Add a note", type="submit")),
            method="post", action=uri(collection), **dashed(accept_charset="utf-8")),
    ]))
