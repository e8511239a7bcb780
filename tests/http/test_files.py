"""Files as representations, negotiated: which requests are sent to a signed URL (303 for a
download, 307 for an upload), which are not, and that nobody else's storage can be had."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
import pytest_twisted as pt
from twisted.internet import reactor
from twisted.internet.interfaces import IReactorFromThreads

from occi_twisted.drivers.disks import DiskDriver
from occi_twisted.drivers.storage import DiskImages
from occi_twisted.files.types import OCTET, OVA, OVF
from occi_twisted.renderings.ovf import parseOVF

from ..renderings.test_ovf import schemaErrors
from .support import ACTING, BASE, INFRA, Client


@pytest.fixture
def files(tmp_path: Path) -> Iterator[Any]:
    """Clients of a server whose storages are image files under ``tmp_path``."""
    made: list[Client] = []

    def client(**options: Any) -> Client:
        made.append(Client(clock=cast(Any, reactor), disks=DiskDriver(
            DiskImages(tmp_path), cast(IReactorFromThreads, reactor)), **options))
        made[-1].driver.start()
        return made[-1]

    yield client
    for each in made:
        each.driver.stop()

TEXT = {"Accept": "text/plain"}


async def _storage(client: Client, who: str | None = None) -> str:
    acting = {ACTING: who} if who else {}
    return await client.create("storage", "X-OCCI-Attribute: occi.storage.size=0.001\n",
                               **acting)


@pt.ensureDeferred
async def test_a_storage_asked_for_as_bytes_is_sent_to_a_signed_url(files: Any) -> None:
    client = files()
    storage = await _storage(client)
    for method in ("GET", "HEAD"):
        answer = await client.request(method, storage, Accept=OCTET, follow=False)
        assert answer.code == 303, answer.text
        where = urlsplit(answer.header("location") or "")
        assert where.path == f"/-/files{storage}"
        assert {"expires", "key", "signature", "owner"} <= {
            pair.split("=")[0] for pair in where.query.split("&")}
        assert answer.header("cache-control") == "no-store"
    named = await client.request("GET", f"{storage}?format=image", follow=False)
    assert named.code == 303


@pt.ensureDeferred
async def test_wildcards_still_mean_a_rendering(files: Any) -> None:
    client = files()
    storage = await _storage(client)
    for accept in ("application/*", "application/occi+json, application/octet-stream;q=0.5",
                   "text/plain"):
        answer = await client.request("GET", storage, Accept=accept)
        assert answer.code == 200, (accept, answer.text)
    unstated = await client.request("GET", storage)
    assert unstated.code == 300
    assert f"{OCTET}: {BASE}{storage}?format=image" in unstated.text
    assert any(f'type="{OCTET}"' in link for link in unstated.headers["link"])


@pt.ensureDeferred
async def test_a_compute_has_an_ova_and_a_network_no_file(files: Any) -> None:
    client = files()
    compute = await client.create("compute")
    answer = await client.request("GET", compute, Accept=OVA, follow=False)
    assert answer.code == 303
    assert urlsplit(answer.header("location") or "").path == f"/-/files{compute}.ova"
    network = await client.create("network")
    assert (await client.request("GET", network, Accept=OCTET, follow=False)).code == 406
    assert (await client.request("GET", f"{network}?format=image")).code == 406


@pt.ensureDeferred
async def test_an_upload_to_the_api_is_sent_to_a_signed_url(files: Any) -> None:
    client = files()
    storage = await _storage(client)
    answer = await client.request("PUT", storage, b"\0" * 100, Content_Type=OCTET, follow=False)
    assert answer.code == 307, answer.text
    where = urlsplit(answer.header("location") or "")
    assert where.path == f"/-/files{storage}" and "max=1073742" in where.query
    too_big = await client.request("PUT", storage, b"\0" * 1_073_743, Content_Type=OCTET,
                                   follow=False)
    assert too_big.code == 413, too_big.text


@pt.ensureDeferred
async def test_nobody_gets_anothers_image_or_archive(files: Any) -> None:
    client = files(quotas={})
    storage = await _storage(client, "alice")
    compute = await client.create("compute", **{ACTING: "alice"})
    for path, accept in ((storage, OCTET), (compute, OVA)):
        answer = await client.request("GET", path, Accept=accept, follow=False,
                                      **{ACTING: "bob"})
        assert answer.code == 404, answer.text
    put = await client.request("PUT", storage, b"x", Content_Type=OCTET, follow=False,
                             **{ACTING: "bob"})
    assert put.code == 404, put.text
    mine = await client.request("GET", storage, Accept=OCTET, follow=False,
                                **{ACTING: "alice"})
    assert mine.code == 303


@pt.ensureDeferred
async def test_unsigned_or_tampered_file_urls_are_403_for_everyone(files: Any) -> None:
    client = files()
    storage = await _storage(client)
    asked = await client.request("GET", storage, Accept=OCTET, follow=False)
    signed = asked.header("location") or ""
    path = signed[len(BASE):]
    for tampered in (path.partition("?")[0], path.replace("signature=", "signature=x"),
                     path.replace("/storage/", "/compute/"), path + "&extra=1"):
        answer = await client.request("GET", tampered)
        assert answer.code == 403, (tampered, answer.text)


async def _computeWithDisks(client: Client) -> str:
    network = await client.create("network", 'X-OCCI-Attribute: occi.core.title="lan"\n')
    storages = [await _storage(client) for _ in range(2)]
    links = "".join(
        f'Link: <{s}>; rel="{INFRA}storage"; category="{INFRA}storagelink"\n'
        for s in storages)
    return await client.create("compute", 'X-OCCI-Attribute: occi.compute.cores=2\n'
                               "X-OCCI-Attribute: occi.compute.memory=1.5\n"
                               'X-OCCI-Attribute: occi.core.title="web"\n' + links +
                               f'Link: <{network}>; rel="{INFRA}network"; '
                               f'category="{INFRA}networkinterface"\n')


@pt.ensureDeferred
async def test_a_compute_as_an_ovf_envelope_is_valid_and_complete(files: Any) -> None:
    client = files()
    compute = await _computeWithDisks(client)
    answer = await client.request("GET", compute, Accept=OVF)
    assert answer.code == 200, answer.text
    assert answer.header("content-type") == f"{OVF}; charset=utf-8"
    assert schemaErrors(answer.body) == []  # DMTF's DSP8023, validated by libxml2
    system = parseOVF(answer.body)
    assert (system.name, system.cores, system.memoryMiB) == ("web", 2, 1536)
    assert [d.capacity for d in system.disks] == [1_073_742] * 2
    assert [n.network for n in system.nics] == ["lan"]
    head = await client.request("HEAD", compute, Accept=OVF)
    assert head.code == 200 and head.body == b""
    assert head.header("content-length") == str(len(answer.body))
    assert (await client.request("GET", f"{compute}?format=ovf")).body == answer.body


@pt.ensureDeferred
async def test_an_ovf_envelope_posted_creates_the_compute_its_storages_and_links(
        files: Any) -> None:
    client = files()
    envelope = (await client.request("GET", await _computeWithDisks(client),
                                     Accept=OVF)).body
    created = await client.request("POST", "/compute/", envelope, Content_Type=OVF,
                                   Accept="text/plain")
    assert created.code == 201, created.text
    compute = urlsplit(created.header("location") or "").path
    again = parseOVF((await client.request("GET", compute, Accept=OVF)).body)
    original = parseOVF(envelope)
    assert (again.cores, again.memoryMiB, again.name) == (original.cores,
                                                         original.memoryMiB, original.name)
    assert [d.capacity for d in again.disks] == [d.capacity for d in original.disks]
    assert [n.network for n in again.nics] == ["lan"]  # the network of that title, reused
    networks = await client.request("GET", "/network/", Accept="text/uri-list")
    assert len(networks.text.split()) == 1
    bad = await client.request("POST", "/compute/", b"<Envelope/>", Content_Type=OVF)
    assert bad.code == 400 and bad.text.strip()


@pt.ensureDeferred
async def test_an_ova_post_to_the_api_is_sent_to_a_signed_url(files: Any) -> None:
    client = files(quotas={})
    answer = await client.request("POST", "/compute/", b"x" * 10, Content_Type=OVA,
                                  follow=False, **{ACTING: "alice"})
    assert answer.code == 307, answer.text
    where = urlsplit(answer.header("location") or "")
    assert where.path == "/-/files/compute/" and "owner=alice" in where.query


@pt.ensureDeferred
async def test_bytes_sent_to_what_has_no_image_are_415(files: Any) -> None:
    client = files()
    compute = await client.create("compute")
    answer = await client.request("PUT", compute, b"x", Content_Type=OCTET, follow=False)
    assert answer.code == 415, answer.text
