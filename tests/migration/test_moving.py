"""What a migration moves: a compute with its links and the storages they attach; networks
stay (the peer must know them); nothing that stays is left linking to what moves."""

from __future__ import annotations

import pytest
import pytest_twisted

from occi_twisted.migration.moving import planMove
from occi_twisted.model import Registry
from occi_twisted.model.errors import Conflict
from occi_twisted.store.memory import MemoryStore

from ..store.contract import compute, creates, network, nic, storage, storagelink


async def world() -> MemoryStore:
    store = MemoryStore(Registry.standard())
    await store.start()
    await store.apply(creates(
        compute("c1"), compute("c2"), storage("s1"), storage("s2"), network("n1"),
        storagelink("l1", "/compute/c1", "/storage/s1"), nic("i1", "/compute/c1", "/network/n1"),
        nic("i2", "/compute/c1", "http://elsewhere.example/network/n9")))
    return store


@pytest_twisted.ensureDeferred
async def test_a_compute_takes_its_storages_and_links_and_needs_its_networks() -> None:
    store = await world()
    c1 = await store.get("c1")
    assert c1 is not None
    move = await planMove(store, c1)
    assert [e.id for e in move.resources] == ["s1", "c1"]
    assert sorted(e.id for e in move.links) == ["i1", "i2", "l1"]
    assert move.needed == ("/network/n1",)
    assert [link.id for link in move.linksOf(c1)] == [e.id for e in move.links
                                                        if e.source == "/compute/c1"]
    alone = await store.get("s2")
    assert alone is not None and [e.id for e in (await planMove(store, alone)).entities] == \
        ["s2"]


@pytest_twisted.ensureDeferred
async def test_what_stays_linked_or_a_link_cannot_move() -> None:
    store = await world()
    for entityId, says in (("s1", "/compute/c1 link to it"), ("n1", "/compute/c1 link to it"),
                           ("l1", "it moves with its resource")):
        entity = await store.get(entityId)
        assert entity is not None
        with pytest.raises(Conflict, match=says):
            await planMove(store, entity)
    # A disk shared with a compute that stays holds the compute back too.
    await store.apply(creates(storagelink("l2", "/compute/c2", "/storage/s1")))
    c1 = await store.get("c1")
    assert c1 is not None
    with pytest.raises(Conflict, match="/storage/s1 cannot move while /compute/c2"):
        await planMove(store, c1)
