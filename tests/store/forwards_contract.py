"""The contract of forwards (:class:`~occi_twisted.store.interface.IForwardStore`), kept by
every store: a forward is remembered in the change set that deletes the entity, all or
nothing; forgetting keeps it, without its URL; a forwarded id is not taken again."""

from __future__ import annotations

import pytest
import pytest_twisted
from zope.interface.verify import verifyObject

from occi_twisted.model.errors import AlreadyExists, BadRequest, Conflict, NotFound
from occi_twisted.model.forwards import Forward, RememberForward
from occi_twisted.store.interface import CREATE, Delete, IForwardStore, IStore, Put

from .contract import compute, creates, network, nic

PEER = "https://peer.example:8443"


def moved(entityId: str, owner: str = "alice", kind: str = "compute",
          created: float = 200.0) -> Forward:
    location = f"/{kind}/{entityId}"
    return Forward(location, entityId, owner, PEER + location, created)


class ForwardContract:
    """Tests of :class:`IForwardStore`; needs a backend (:mod:`.backends`)."""

    def test_provides_i_forward_store(self, store: IStore) -> None:
        assert verifyObject(IForwardStore, store)

    @pytest_twisted.ensureDeferred
    async def test_a_forward_is_kept_with_the_delete_of_its_entity(self, store: IStore
                                                                    ) -> None:
        await store.apply(creates(compute("c1"), network("n1"),
                                  nic("l1", "/compute/c1", "/network/n1")))
        assert await store.forward("/compute/c1") is None
        await store.apply([Delete("c1"), RememberForward(moved("c1")),
                           RememberForward(moved("l1", kind="networkinterface"))])
        assert await store.get("c1") is None and await store.get("l1") is None
        assert await store.forward("/compute/c1") == moved("c1")
        assert (await store.forward("/networkinterface/l1")) == \
            moved("l1", kind="networkinterface")
        assert await store.get("n1") is not None  # what stays, stays

    @pytest_twisted.ensureDeferred
    async def test_a_refused_change_set_keeps_no_forward(self, store: IStore) -> None:
        await store.apply(creates(compute("c1")))
        with pytest.raises(NotFound):
            await store.apply([RememberForward(moved("c1")), Delete("c1"), Delete("nothing")])
        assert await store.forward("/compute/c1") is None
        assert await store.get("c1") is not None

    @pytest_twisted.ensureDeferred
    async def test_forgetting_leaves_a_forward_without_its_url(self, store: IStore) -> None:
        await store.apply(creates(compute("c1")))
        await store.apply([Delete("c1"), RememberForward(moved("c1"))])
        forgotten = await store.forgetForward("/compute/c1")
        assert forgotten.gone and forgotten.url is None and forgotten.entityId == "c1"
        assert await store.forward("/compute/c1") == forgotten
        again = await store.forgetForward("/compute/c1")  # harmless
        assert again == forgotten
        with pytest.raises(NotFound):
            await store.forgetForward("/compute/never-here")

    @pytest_twisted.ensureDeferred
    async def test_a_forwarded_id_is_not_taken_again(self, store: IStore) -> None:
        await store.apply(creates(compute("c1")))
        await store.apply([Delete("c1"), RememberForward(moved("c1"))])
        with pytest.raises(Conflict) as refused:
            await store.apply([Put(compute("c1"), expect=CREATE)])
        assert not isinstance(refused.value, AlreadyExists)
        assert "migrated" in str(refused.value)
        with pytest.raises(Conflict):
            await store.apply([Put(compute("c1"))])
        await store.forgetForward("/compute/c1")
        with pytest.raises(Conflict):
            await store.apply([Put(compute("c1"))])
        assert await store.get("c1") is None

    @pytest_twisted.ensureDeferred
    async def test_a_location_keeps_its_newest_forward(self, store: IStore) -> None:
        await store.apply([RememberForward(moved("c1"))])
        later = Forward("/compute/c1", "c1", "alice", "https://third.example/compute/c1",
                        300.0)
        await store.apply([RememberForward(later)])
        assert await store.forward("/compute/c1") == later
        listed, cursor = await store.forwards(None, None, 10)
        assert listed == [later] and cursor is None

    @pytest_twisted.ensureDeferred
    async def test_listing_pages_and_narrows_by_owner(self, store: IStore) -> None:
        await store.apply([RememberForward(moved(f"c{n}", owner="alice" if n % 2 else "bob"))
                           for n in range(5)])
        first, cursor = await store.forwards(None, None, 3)
        assert [f.entityId for f in first] == ["c0", "c1", "c2"] and cursor is not None
        rest, end = await store.forwards(None, cursor, 3)
        assert [f.entityId for f in rest] == ["c3", "c4"] and end is None
        alices, _ = await store.forwards("alice", None, 10)
        assert [f.entityId for f in alices] == ["c1", "c3"]
        with pytest.raises(BadRequest):
            await store.forwards(None, "not-a-cursor", 3)

    @pytest_twisted.ensureDeferred
    async def test_forwards_survive_a_restart(self, store: IStore) -> None:
        await store.apply([RememberForward(moved("c1"))])
        again = await self.restart(store)  # type: ignore[attr-defined]
        assert await again.forward("/compute/c1") == moved("c1")
