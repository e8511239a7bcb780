"""The notes table of the SQLite store (writes on the writer thread, reads on the reactor's)."""

from __future__ import annotations

from dataclasses import replace

from ..model.notes import Note, NotePage, checkDelete, checkPut, noEntity
from . import _rules
from ._sql import ENTITY_EXISTS, Database

_COLUMNS = "entity_id, id, owner, title, text, created, updated, revision"
GET = f"SELECT {_COLUMNS} FROM notes WHERE entity_id = ? AND id = ?"


def _note(row: tuple[object, ...]) -> Note:
    entityId, noteId, owner, title, text, created, updated, revision = row
    return Note(str(entityId), str(noteId), str(owner), str(title), str(text),
                float(str(created)), float(str(updated)), int(str(revision)))


def get(db: Database, entityId: str, noteId: str) -> Note | None:
    row = db.execute(GET, (entityId, noteId)).fetchone()
    return None if row is None else _note(row)


def put(db: Database, note: Note, expect: int | None) -> Note:
    if db.execute(ENTITY_EXISTS, (note.entityId,)).fetchone() is None:
        raise noEntity(note.entityId)
    existing = get(db, note.entityId, note.id)
    checkPut(existing, note, expect)
    if existing is None:
        stored = replace(note, revision=1)
        db.execute(f"INSERT INTO notes ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (stored.entityId, stored.id, stored.owner, stored.title, stored.text,
                    stored.created, stored.updated, stored.revision))
        return stored
    stored = replace(note, created=existing.created, revision=existing.revision + 1)
    db.execute("UPDATE notes SET owner = ?, title = ?, text = ?, updated = ?, revision = ?"
               " WHERE entity_id = ? AND id = ?",
               (stored.owner, stored.title, stored.text, stored.updated, stored.revision,
                stored.entityId, stored.id))
    return stored


def delete(db: Database, entityId: str, noteId: str, expect: int | None) -> None:
    checkDelete(get(db, entityId, noteId), entityId, noteId, expect)
    db.execute("DELETE FROM notes WHERE entity_id = ? AND id = ?", (entityId, noteId))


def page(db: Database, entityId: str, after: str | None, limit: int) -> NotePage:
    _rules.checkLimit(limit)
    start = _rules.cursorAfter(after)
    rows = db.execute(f"SELECT seq, {_COLUMNS} FROM notes WHERE entity_id = ? AND seq > ?"
                      " ORDER BY seq LIMIT ?", (entityId, start, limit + 1)).fetchall()
    shown = rows[:limit]
    cursor = str(shown[-1][0]) if len(rows) > limit else None
    return NotePage([_note(row[1:]) for row in shown], cursor)


def deleteOf(db: Database, entityId: str) -> None:
    """Inside an entity's delete: its notes go with it."""
    db.execute("DELETE FROM notes WHERE entity_id = ?", (entityId,))
