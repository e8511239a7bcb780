"""Quotas over HTTP: a create beyond the user's quota is 403 naming it, and stores nothing;
so is an action beyond the user's quota of running requests, however many come at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
import pytest_twisted as pt
from twisted.internet import reactor
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import IReactorFromThreads

from occi_twisted.drivers.disks import DiskDriver
from occi_twisted.drivers.storage import DiskImages
from occi_twisted.identity import Quota
from occi_twisted.model import Registry
from occi_twisted.store.sqlite import SQLiteStore

from .support import ACTING, INFRA, Client

TEXT = {"Content_Type": "text/plain", "Accept": "text/plain"}


def storageOf(size: int) -> str:
    return (f'Category: storage; scheme="{INFRA}"; class="kind"\n'
            f"X-OCCI-Attribute: occi.storage.size={size}\n")


@pt.ensureDeferred
async def test_a_create_beyond_the_quota_is_refused_and_stores_nothing() -> None:
    client = Client(quotas={"alice": Quota(storage=100, entities=5)})
    alice = {ACTING: "alice"}
    assert (await client.request("POST", "/storage/", storageOf(60), **TEXT, **alice)).code \
        == 201
    refused = await client.request("POST", "/storage/", storageOf(60), **TEXT, **alice)
    assert refused.code == 403
    assert "quota exceeded: storage 120 of 100 GiB" in refused.text
    listed = await client.request("GET", "/storage/", Accept="text/uri-list", **alice)
    assert len(listed.text.split()) == 1
    # Someone else's quota is theirs: bob has none.
    assert (await client.request("POST", "/storage/", storageOf(60), **TEXT,
                                 **{ACTING: "bob"})).code == 201
    # A PUT that would grow past it is refused the same way.
    path = listed.text.split()[0].partition("occi.test")[2]
    grown = await client.request("PUT", path, storageOf(200), **TEXT, **alice)
    assert grown.code == 403 and "storage 200 of 100 GiB" in grown.text


ASYNC = {"Content_Type": "application/x-www-form-urlencoded", "Accept": "text/plain",
         "Prefer": "respond-async"}


@pytest.fixture
def sqliteStore(tmp_path: Path) -> Iterator[SQLiteStore]:
    """A real store: its writer commits concurrent change sets in groups, the case where
    two quota checks could each miss the other's request."""
    store = SQLiteStore(tmp_path / "occi.sqlite3", Registry.standard(), reactor)
    pt.blockon(store.start())
    yield store
    pt.blockon(store.stop())


async def requestsOf(client: Client, paths: list[str]) -> int:
    count = 0
    for path in paths:
        listed = await client.request("GET", f"{path}/requests/", Accept="text/uri-list",
                                      **{ACTING: "alice"})
        count += len(listed.text.split())
    return count


@pt.ensureDeferred
async def test_concurrent_actions_cannot_slip_under_the_running_requests_quota(
        sqliteStore: SQLiteStore) -> None:
    quotas = {"alice": Quota(requests=2)}
    client = Client(clock=reactor, store=sqliteStore, quotas=quotas,
                    timings={("start", "default"): 600.0})
    alice = {ACTING: "alice"}
    try:
        paths = [await client.create("compute", **alice) for _ in range(6)]
        answers = await gatherResults([
            Deferred.fromCoroutine(client.request("POST", f"{path}?action=start", **ASYNC,
                                                  **alice))
            for path in paths])
        assert sorted(answer.code for answer in answers) == [202, 202, 403, 403, 403, 403]
        for refused in (answer for answer in answers if answer.code == 403):
            assert "quota exceeded: requests 3 of 2 running" in refused.text
        assert await requestsOf(client, paths) == 2  # the refused ones stored nothing
        # A collection's action and a request made at requests/ are held to it as well.
        bulk = await client.request("POST", "/compute/?action=start", **ASYNC, **alice)
        assert bulk.code == 403 and "requests" in bulk.text
        made = await client.request("POST", f"{paths[-1]}/requests/", "action=start",
                                    **ASYNC, **alice)
        assert made.code == 403 and "requests 3 of 2 running" in made.text
        assert await requestsOf(client, paths) == 2
        # An action changes no entity: a user beyond another limit may still act.
        quotas["alice"] = Quota(entities=1, requests=3)
        acted = await client.request("POST", f"{paths[-1]}?action=start", **ASYNC, **alice)
        assert acted.code == 202, acted.text
    finally:
        await client.operations.scheduler.stopService()


@pt.ensureDeferred
async def test_resizes_count_at_the_size_they_ask_for(sqliteStore: SQLiteStore,
                                                      tmp_path: Path) -> None:
    """A storage being resized counts at the size it asks for from the moment the resize is
    accepted: two concurrent resizes cannot both slip under the storage quota, nor can a
    create while one runs."""
    quotas = {"alice": Quota(storage=10)}
    client = Client(clock=reactor, store=sqliteStore, quotas=quotas,
                    disks=DiskDriver(DiskImages(tmp_path / "data"),
                                     cast(IReactorFromThreads, reactor)))
    client.driver.start()
    alice = {ACTING: "alice"}
    size = "X-OCCI-Attribute: occi.storage.size=4.0\n"
    try:
        disks = [await client.create("storage", size, **alice) for _ in range(2)]
        # 8 GiB of 10: each resize alone fits, the two together do not (whether the first
        # has ended, its size stored, or still runs when the second is checked).
        answers = await gatherResults([
            Deferred.fromCoroutine(client.request("POST", f"{disk}?action=resize", "size=6.0",
                                                  **ASYNC, **alice))
            for disk in disks])
        assert sorted(answer.code for answer in answers) == [202, 403], \
            [answer.text for answer in answers]
        refused = next(answer for answer in answers if answer.code == 403)
        assert "quota exceeded: storage 12 of 10 GiB" in refused.text
        # 4 + 6 asked for: no room for one GiB more until the resize ends.
        more = await client.request("POST", "/storage/", storageOf(1), **TEXT, **alice)
        assert more.code == 403 and "storage 11 of 10 GiB" in more.text, more.text
    finally:
        await client.operations.scheduler.stopService()
        await client.driver.stop()
