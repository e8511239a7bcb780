"""The contract of remembered answers (Idempotency-Key;
:class:`~occi_twisted.store.interface.IAnswerStore`), kept by every store."""

from __future__ import annotations

import pytest
import pytest_twisted
from zope.interface.verify import verifyObject

from occi_twisted.model import Description, newEntity
from occi_twisted.model.answers import Answer, KeyTaken, RememberAnswer
from occi_twisted.model.errors import Conflict
from occi_twisted.model.infrastructure import COMPUTE
from occi_twisted.store.interface import CREATE, IAnswerStore, IStore, Put


def answer(key: str = "k1", *, owner: str = "alice", created: float = 1000.0,
           body: bytes = b"X-OCCI-Location: /compute/1\r\n") -> Answer:
    return Answer(owner, key, "f" * 64, 201, (("location", "http://h/compute/1"),), body,
                  created)


def compute(entityId: str) -> Put:
    entity = newEntity(Description(kind=COMPUTE), entityId=entityId, now=1000.0)
    return Put(entity, expect=CREATE)


class AnswerContract:
    """Tests of :class:`IAnswerStore`; needs a backend (:mod:`.backends`)."""

    def test_provides_i_answer_store(self, store: IStore) -> None:
        assert verifyObject(IAnswerStore, store)

    @pytest_twisted.ensureDeferred
    async def test_answer_commits_with_its_changes(self, store: IStore) -> None:
        assert await store.recall("alice", "k1") is None
        await store.apply([compute("c1"), RememberAnswer(answer())])
        assert await store.recall("alice", "k1") == answer()
        assert await store.get("c1") is not None
        # Keys are per owner.
        assert await store.recall("bob", "k1") is None

    @pytest_twisted.ensureDeferred
    async def test_a_taken_key_refuses_the_whole_set(self, store: IStore) -> None:
        await store.apply([compute("c1"), RememberAnswer(answer())])
        with pytest.raises(KeyTaken):
            await store.apply([compute("c2"), RememberAnswer(answer(body=b"other"))])
        assert await store.get("c2") is None
        assert (await store.recall("alice", "k1")) == answer()
        assert issubclass(KeyTaken, Conflict)
        # Another owner may use the same key.
        await store.apply([compute("c3"), RememberAnswer(answer(owner="bob"))])
        # A failing change refuses the answer too.
        with pytest.raises(Conflict):
            await store.apply([compute("c3"), RememberAnswer(answer("k2"))])
        assert await store.recall("alice", "k2") is None

    @pytest_twisted.ensureDeferred
    async def test_old_answers_are_forgotten(self, store: IStore) -> None:
        await store.apply([RememberAnswer(answer("old", created=10.0)),
                           RememberAnswer(answer("new", created=20.0))])
        assert await store.forgetAnswers(15.0) == 1
        assert await store.recall("alice", "old") is None
        assert await store.recall("alice", "new") is not None
