"""The contract of notes (:class:`~occi_twisted.store.interface.INoteStore`), kept by every
store."""

from __future__ import annotations

import pytest
import pytest_twisted
from zope.interface.verify import verifyObject

from occi_twisted.model.errors import Conflict, NotFound, PreconditionFailed
from occi_twisted.model.notes import NEW, Note
from occi_twisted.store.interface import Delete, INoteStore, IStore

from .requests_contract import withEntity


def note(noteId: str = "n1", text: str = "Rebooted after the kernel update.") -> Note:
    return Note("c1", noteId, "alice", "Change record", text, 10.0, 10.0)


class NoteContract:
    """Tests of :class:`INoteStore`; needs a backend (:mod:`.backends`)."""

    def test_provides_i_note_store(self, store: IStore) -> None:
        assert verifyObject(INoteStore, store)

    @pytest_twisted.ensureDeferred
    async def test_notes_are_kept_and_replaced(self, store: IStore) -> None:
        await withEntity(store, "c1")
        first = await store.putNote(note(), NEW)
        assert first.revision == 1 and await store.getNote("c1", "n1") == first
        with pytest.raises(Conflict):
            await store.putNote(note(), NEW)
        second = await store.putNote(note(text="Rebooted twice."), expect=1)
        assert second.revision == 2 and second.text == "Rebooted twice."
        with pytest.raises(PreconditionFailed):
            await store.putNote(note(text="stale"), expect=1)
        with pytest.raises(PreconditionFailed):
            await store.deleteNote("c1", "n1", expect=1)
        await store.deleteNote("c1", "n1", expect=2)
        assert await store.getNote("c1", "n1") is None
        with pytest.raises(NotFound):
            await store.deleteNote("c1", "n1")

    @pytest_twisted.ensureDeferred
    async def test_notes_need_their_entity_and_go_with_it(self, store: IStore) -> None:
        with pytest.raises(NotFound):
            await store.putNote(note())
        await withEntity(store, "c1")
        for n in range(5):
            await store.putNote(note(f"n{n}"))
        page = await store.listNotes("c1", None, 3)
        assert [n.id for n in page.notes] == ["n0", "n1", "n2"] and page.cursor
        rest = await store.listNotes("c1", page.cursor, 3)
        assert [n.id for n in rest.notes] == ["n3", "n4"] and rest.cursor is None
        await store.apply([Delete("c1")])
        assert (await store.listNotes("c1", None, 10)).notes == []
