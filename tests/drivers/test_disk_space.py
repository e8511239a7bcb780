"""A storage the file system of the data directory cannot hold is refused over HTTP before
anything is stored -- on create, on replace and update of its size, and on resize -- with a
400 that names the size and the free space.  Until then 16,384 GiB was accepted, stored, and
left without an image."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_twisted as pt
from twisted.internet import reactor

from occi_twisted.drivers.disks import DiskDriver
from occi_twisted.drivers.storage import GIB, DiskImages

from ..http.support import BASE, INFRA, Client

TEXT = {"Content_Type": "text/plain", "Accept": "text/plain"}
STORAGE = f'Category: storage; scheme="{INFRA}"; class="kind"\n'
#: What the answer says: the size asked for and the free space of the data directory.
REFUSAL = re.compile(r"occi\.storage\.size (\d+) GiB does not fit.*: the file system of the "
                     r"data directory has ([\d.]+) GiB free\.")


def sized(gib: float) -> str:
    return STORAGE + f"X-OCCI-Attribute: occi.storage.size={gib:g}\n"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    made = Client(clock=reactor, disks=DiskDriver(DiskImages(tmp_path), reactor))
    made.driver.start()
    yield made
    pt.blockon(made.operations.scheduler.stopService())
    pt.blockon(made.driver.stop())


def beyondFree(tmp_path: Path) -> int:
    """A size in GiB more than the file system of ``tmp_path`` has free."""
    return math.ceil(DiskImages(tmp_path).freeBytes() / GIB) + 1


async def storedSizes(client: Client) -> list[str]:
    """The size of every storage stored, as the text rendering writes it."""
    listed = await client.request("GET", "/storage/", Accept="text/uri-list")
    sizes = []
    for location in listed.text.split():
        shown = await client.request("GET", location.removeprefix(BASE), Accept="text/plain")
        sizes += re.findall(r"occi\.storage\.size=([\d.e+-]+)", shown.text)
    return sizes


def assertNamesTheSizeAndTheFreeSpace(text: str, gib: int) -> None:
    found = REFUSAL.search(text)
    assert found is not None, text
    assert int(found[1]) == gib and float(found[2]) < gib


@pt.ensureDeferred
async def test_a_size_beyond_the_free_space_is_refused_and_nothing_stored(
        client: Client, tmp_path: Path) -> None:
    tooBig = beyondFree(tmp_path)
    for method, path in (("POST", "/storage/"), ("PUT", "/storage/chosen")):
        refused = await client.request(method, path, sized(tooBig), **TEXT)
        assert refused.code == 400, refused.text
        assertNamesTheSizeAndTheFreeSpace(refused.text, tooBig)
    assert await storedSizes(client) == []
    # 16 TiB, which the report found stored without an image, whatever the free space.
    refused = await client.request("POST", "/storage/", sized(16384), **TEXT)
    assert refused.code == 400 and "16384 GiB" in refused.text
    assert await storedSizes(client) == []


@pt.ensureDeferred
async def test_growing_a_storage_beyond_the_free_space_is_refused(
        client: Client, tmp_path: Path) -> None:
    path = await client.create("storage", "X-OCCI-Attribute: occi.storage.size=0.001\n")
    tooBig = beyondFree(tmp_path)
    attribute = f"X-OCCI-Attribute: occi.storage.size={tooBig}\n"
    for method, body in (("POST", attribute), ("PUT", sized(tooBig))):
        refused = await client.request(method, path, body, **TEXT)
        assert refused.code == 400, (method, refused.text)
        assertNamesTheSizeAndTheFreeSpace(refused.text, tooBig)
    resized = await client.request("POST", f"{path}?action=resize", f"size={tooBig}",
                                   Content_Type="application/x-www-form-urlencoded",
                                   Accept="text/plain")
    assert resized.code == 400, resized.text
    assertNamesTheSizeAndTheFreeSpace(resized.text, tooBig)
    assert await storedSizes(client) == ["0.001"]
    listed = await client.request("GET", f"{path}/requests/", Accept="text/uri-list")
    assert listed.text.split() == []  # the resize was refused before a request was stored
    # What does fit still goes through.
    grown = await client.request("POST", path, "X-OCCI-Attribute: occi.storage.size=0.002\n",
                                 **TEXT)
    assert grown.code == 200, grown.text
