"""Renderings kept between GETs are sent again only for the very state they were made of:
a change of the entity, of one of its links, or of a listing's members renders anew."""

from __future__ import annotations

from pathlib import Path

import pytest_twisted as pt
from twisted.internet import reactor

from occi_twisted.http.renditions import Prepared, Renditions
from occi_twisted.model import Description, Registry, newEntity, updatedEntity
from occi_twisted.model.infrastructure import COMPUTE, STORAGE, STORAGELINK
from occi_twisted.renderings.document import EntityView, RenderContext, Rendered
from occi_twisted.store.sqlite import SQLiteStore

from .support import INFRA, Client

TEXT = {"Accept": "text/plain"}
HERE = RenderContext("http://occi.test")
_DISK = Description(kind=STORAGE, attributes={"occi.storage.size": 1.0})


def _prepared(body: bytes) -> Prepared:
    return Prepared.of(Rendered("text/plain", body), '"1-0"', b"then")


def test_kept_for_the_same_state_only() -> None:
    kept = Renditions()
    compute = newEntity(Description(kind=COMPUTE))
    disk = newEntity(_DISK)
    link = newEntity(Description(kind=STORAGELINK, attributes={
        "occi.core.source": compute.location, "occi.core.target": disk.location,
        "occi.storagelink.deviceid": "/dev/vdb"}))
    view = EntityView(compute, [link])
    answer = kept.keep(view, "text/plain", HERE, _prepared(b"one"))
    assert kept.find(EntityView(compute, [link]), "text/plain", HERE) is answer
    assert kept.find(view, "application/occi+json", HERE) is None
    assert kept.find(view, "text/plain", RenderContext("http://elsewhere")) is None
    assert kept.find(EntityView(compute), "text/plain", HERE) is None  # the link went
    changed = updatedEntity(compute, Description(kind=COMPUTE, attributes={
        "occi.compute.cores": 4}), now=compute.updated)
    assert kept.find(EntityView(changed, [link]), "text/plain", HERE) is None
    # A new state replaces what was kept for the old one.
    kept.keep(EntityView(changed, [link]), "text/plain", HERE, _prepared(b"two"))
    assert kept.find(view, "text/plain", HERE) is None


def test_listings_kept_for_the_same_members_only() -> None:
    kept = Renditions()
    computes = [newEntity(Description(kind=COMPUTE)) for _ in range(3)]
    made: list[bytes] = []

    def render(body: bytes) -> Rendered:
        made.append(body)
        return Rendered("text/plain", body)

    key = ("/compute/", "text/plain", HERE)
    first = kept.listing(key, 1, computes, {}, lambda: render(b"3"))
    assert kept.listing(key, 2, list(computes), {}, lambda: render(b"again")) is first
    assert kept.listing(key, 3, computes[:2], {}, lambda: render(b"2")).body == b"2"
    assert kept.listing(key, 4, computes[:2], {computes[0].location: computes[2:]},
                        lambda: render(b"2+")).body == b"2+"
    assert made == [b"3", b"2", b"2+"]


def test_listings_stand_while_the_log_does_not_move() -> None:
    kept = Renditions()
    key = ("/compute/", "text/plain", HERE, "alice")
    assert kept.standing(key, 7) is None
    listed = kept.listing(key, 7, [], {}, lambda: Rendered("text/plain", b"none"))
    assert kept.standing(key, 7) is listed
    assert kept.standing(key, 8) is None  # an event since: read the store again
    assert kept.standing((*key[:3], "bob"), 7) is None
    # Read again and found the same: it stands from the new stamp on.
    assert kept.listing(key, 8, [], {}, lambda: Rendered("text/plain", b"new")) is listed
    assert kept.standing(key, 8) is listed


def test_the_cache_starts_again_when_full() -> None:
    kept = Renditions(limit=2)
    computes = [newEntity(Description(kind=COMPUTE)) for _ in range(3)]
    for compute in computes:
        kept.keep(EntityView(compute), "text/plain", HERE, _prepared(b"x"))
    assert kept.find(EntityView(computes[0]), "text/plain", HERE) is None
    assert kept.find(EntityView(computes[2]), "text/plain", HERE) is not None


async def _neverStale(client: Client) -> None:
    compute = await client.create()
    disk = await client.create("storage", "X-OCCI-Attribute: occi.storage.size=1.0\n")
    first = await client.request("GET", compute, **TEXT)
    assert (await client.request("GET", compute, **TEXT)).body == first.body
    listed = await client.request("GET", "/compute/", **TEXT)
    assert (await client.request("GET", "/compute/", **TEXT)).body == listed.body

    # A link added changes the compute's rendering, though not its revision.
    linked = await client.request(
        "POST", "/storagelink/",
        f'Category: storagelink; scheme="{INFRA}"; class="kind"\n'
        f"X-OCCI-Attribute: occi.core.source=\"{compute}\"\n"
        f"X-OCCI-Attribute: occi.core.target=\"{disk}\"\n"
        'X-OCCI-Attribute: occi.storagelink.deviceid="/dev/vdb"\n',
        Content_Type="text/plain", **TEXT)
    assert linked.code == 201, linked.text
    link = linked.header("location")
    assert link is not None
    withLink = await client.request("GET", compute, **TEXT)
    assert disk in withLink.text and withLink.body != first.body
    assert (await client.request("DELETE", link[len("http://occi.test"):])).code == 200
    assert (await client.request("GET", compute, **TEXT)).body == first.body

    another = await client.create()
    grown = await client.request("GET", "/compute/", **TEXT)
    assert another in grown.text and compute in grown.text
    assert (await client.request("DELETE", another)).code == 200
    assert (await client.request("GET", "/compute/", **TEXT)).body == listed.body


@pt.ensureDeferred
async def test_never_stale_over_the_memory_store() -> None:
    await _neverStale(Client())


@pt.ensureDeferred
async def test_never_stale_over_sqlite(tmp_path: Path) -> None:
    # SQLite hands back the very objects it decoded before, the case the cache is made for.
    store = SQLiteStore(tmp_path / "occi.sqlite3", Registry.standard(), reactor)
    await store.start()
    try:
        await _neverStale(Client(clock=reactor, store=store))
    finally:
        await store.stop()


@pt.ensureDeferred
async def test_a_re_created_entity_is_rendered_anew() -> None:
    # The test clock stands still: the new entity has the old one's id, revision and times.
    client = Client()
    body = (f'Category: compute; scheme="{INFRA}"; class="kind"\n'
            "X-OCCI-Attribute: occi.compute.cores={}\n")
    assert (await client.request("PUT", "/compute/again", body.format(1),
                                 Content_Type="text/plain", **TEXT)).code == 201
    assert "occi.compute.cores=1" in (await client.request("GET", "/compute/again",
                                                           **TEXT)).text
    assert (await client.request("DELETE", "/compute/again")).code == 200
    assert (await client.request("PUT", "/compute/again", body.format(2),
                                 Content_Type="text/plain", **TEXT)).code == 201
    assert "occi.compute.cores=2" in (await client.request("GET", "/compute/again",
                                                           **TEXT)).text


@pt.ensureDeferred
async def test_a_listing_kept_for_one_user_is_not_shown_to_another() -> None:
    client = Client(quotas={})

    async def listed(user: str) -> str:
        return (await client.request("GET", "/compute/", X_Test_Principal=user, **TEXT)).text

    mine = await client.create(X_Test_Principal="alice")
    assert mine in await listed("alice")
    assert mine not in await listed("bob")
    theirs = await client.create(X_Test_Principal="bob")
    assert theirs not in await listed("alice")
    assert mine not in await listed("bob")


def test_an_entity_stands_while_the_log_does_not_move() -> None:
    kept = Renditions()
    compute = newEntity(Description(kind=COMPUTE))
    view = EntityView(compute)
    kept.keep(view, "text/plain", HERE, _prepared(b"one"))
    assert kept.standingView(compute.id, 3) is None  # kept, but never stamped
    assert kept.find(view, "text/plain", HERE, stamp=3) is not None
    standing = kept.standingView(compute.id, 3)
    assert standing is not None and standing.entity is compute
    assert kept.standingView(compute.id, 4) is None


@pt.ensureDeferred
async def test_an_entity_kept_for_its_owner_is_not_shown_to_another() -> None:
    client = Client(quotas={})
    mine = await client.create(X_Test_Principal="alice")
    for _ in range(2):
        assert (await client.request("GET", mine, X_Test_Principal="alice", **TEXT)).code == 200
        assert (await client.request("GET", mine, X_Test_Principal="bob", **TEXT)).code == 404
    assert (await client.request("GET", mine.replace("/compute/", "/storage/"),
                                 X_Test_Principal="alice", **TEXT)).code == 404
