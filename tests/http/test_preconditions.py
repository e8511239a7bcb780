"""412 is the answer to a precondition that fails, and to nothing else: without ``If-Match``
a change is last-writer-wins whatever other writers do meanwhile; ``If-Match`` with a stale
ETag, or ``If-None-Match: *`` on a PUT to an existing entity, is 412 and changes nothing.

The concurrent writers run against the real app over the SQLite store on the reactor, where
reads and writes interleave as they do in ``twistd occi``: each reads the entity, then waits
for the writer thread while the others read the same revision."""

from __future__ import annotations

from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted as pt
from twisted.internet import reactor
from twisted.internet.defer import Deferred, gatherResults

from occi_twisted.model import Registry
from occi_twisted.store.sqlite import SQLiteStore

from .support import BASE, COMPUTE_CATEGORY, Answer, Client

TEXT = {"Content_Type": "text/plain", "Accept": "text/plain"}
COMPUTE = f"Category: {COMPUTE_CATEGORY}\n"
WRITERS = 16


def cores(n: int) -> str:
    return f"{COMPUTE}X-OCCI-Attribute: occi.compute.cores={n}\n"


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Client]:
    store = SQLiteStore(tmp_path / "occi.sqlite3", Registry.standard(), reactor)
    pt.blockon(store.start())
    yield Client(clock=reactor, store=store)
    pt.blockon(store.stop())


async def together(*requests: Coroutine[Any, Any, Answer]) -> list[Answer]:
    """The requests sent at once: each is under way before any is answered."""
    answers: list[Answer] = await gatherResults(
        [Deferred.fromCoroutine(each) for each in requests], consumeErrors=True)
    return answers


async def revisionOf(client: Client, path: str) -> int:
    entity = await client.store.get(path.rpartition("/")[2])
    assert entity is not None
    return entity.revision


# -- last writer wins ------------------------------------------------------------------------


@pt.ensureDeferred
async def test_concurrent_plain_puts_all_succeed_and_the_last_stands(sqlite: Client) -> None:
    client = sqlite
    assert (await client.request("PUT", "/compute/shared", cores(1), **TEXT)).code == 201
    answers = await together(*(client.request("PUT", "/compute/shared", cores(n), **TEXT)
                               for n in range(2, 2 + WRITERS)))
    assert [a.code for a in answers] == [200] * WRITERS, [a.text for a in answers]
    # Every write was made on the one before it: none was lost, none skipped a revision.
    assert await revisionOf(client, "/compute/shared") == 1 + WRITERS
    final = await client.request("GET", "/compute/shared", Accept="text/plain")
    assert any(f"occi.compute.cores={n}\r\n" in final.text for n in range(2, 2 + WRITERS))


@pt.ensureDeferred
async def test_concurrent_plain_puts_to_a_new_id_create_it_once(sqlite: Client) -> None:
    client = sqlite
    answers = await together(*(client.request("PUT", "/compute/fresh", cores(n), **TEXT)
                               for n in range(1, 1 + WRITERS)))
    assert sorted(a.code for a in answers) == [200] * (WRITERS - 1) + [201]
    assert await revisionOf(client, "/compute/fresh") == WRITERS


@pt.ensureDeferred
async def test_concurrent_partial_updates_each_apply_to_the_newest(sqlite: Client) -> None:
    client = sqlite
    assert (await client.request("PUT", "/compute/merged", cores(1), **TEXT)).code == 201
    answers = await together(*(
        client.request("POST", "/compute/merged",
                       f'X-OCCI-Attribute: occi.core.title="t{n}"\n', **TEXT)
        for n in range(WRITERS)))
    assert [a.code for a in answers] == [200] * WRITERS, [a.text for a in answers]
    assert await revisionOf(client, "/compute/merged") == 1 + WRITERS


@pt.ensureDeferred
async def test_writes_racing_a_delete_are_never_412(sqlite: Client) -> None:
    client = sqlite
    assert (await client.request("PUT", "/compute/doomed", cores(1), **TEXT)).code == 201
    answers = await together(
        *(client.request("DELETE", "/compute/doomed") for _ in range(4)),
        *(client.request("POST", "/compute/doomed", "X-OCCI-Attribute: occi.core.title=\"x\"\n",
                         **TEXT) for _ in range(4)),
        *(client.request("PUT", "/compute/doomed", cores(2), **TEXT) for _ in range(4)))
    codes = [a.code for a in answers]
    assert 412 not in codes, codes
    assert set(codes) <= {200, 201, 404}, [a.text for a in answers if a.code == 409]


@pt.ensureDeferred
async def test_mixin_association_racing_writes_is_never_412(sqlite: Client) -> None:
    client = sqlite
    tag = 'Category: tag; scheme="http://example.com/tags#"; class="mixin"; location="/tag/"\n'
    assert (await client.request("POST", "/-/", tag, **TEXT)).code == 200
    paths = [f"/compute/m{n}" for n in range(4)]
    for path in paths:
        assert (await client.request("PUT", path, cores(1), **TEXT)).code == 201
    answers = await together(
        *(client.request("POST", "/tag/", f"X-OCCI-Location: {BASE}{path}\n", **TEXT)
          for path in paths),
        *(client.request("POST", path, "X-OCCI-Attribute: occi.core.title=\"x\"\n", **TEXT)
          for path in paths for _ in range(3)),
        client.request("DELETE", "/compute/"))
    codes = [a.code for a in answers]
    assert 412 not in codes and set(codes) <= {200, 400, 404}, codes


# -- preconditions ---------------------------------------------------------------------------


@pt.ensureDeferred
async def test_if_none_match_star_refuses_a_put_to_an_existing_entity() -> None:
    client = Client()
    created = await client.request("PUT", "/compute/once", cores(1), If_None_Match="*", **TEXT)
    assert created.code == 201
    again = await client.request("PUT", "/compute/once", cores(2), If_None_Match="*", **TEXT)
    assert again.code == 412 and "If-None-Match" in again.text
    assert await revisionOf(client, "/compute/once") == 1


async def madeWithETag(client: Client, path: str) -> str:
    made = await client.request("PUT", path, cores(1), **TEXT)
    etag = made.header("etag")
    assert made.code in (200, 201) and etag
    return etag


async def everyChangeRefused(client: Client, path: str, **precondition: str) -> None:
    """PUT, POST and DELETE of ``path`` under ``precondition`` are each 412."""
    for method, body in (("PUT", cores(3)), ("POST", 'X-OCCI-Attribute: occi.core.title="t"\n'),
                         ("DELETE", "")):
        refused = await client.request(method, path, body, **precondition, **TEXT)
        assert refused.code == 412, (method, refused.text)


@pt.ensureDeferred
async def test_if_none_match_with_the_current_etag_refuses_a_change() -> None:
    client = Client()
    etag = await madeWithETag(client, "/compute/tagged")
    await everyChangeRefused(client, "/compute/tagged", If_None_Match=etag)
    other = await client.request("PUT", "/compute/tagged", cores(3), If_None_Match='"0-0"',
                                 **TEXT)
    assert other.code == 200


@pt.ensureDeferred
async def test_a_stale_if_match_is_412_for_every_change_and_changes_nothing() -> None:
    client = Client()
    stale = await madeWithETag(client, "/compute/stale")
    assert (await client.request("PUT", "/compute/stale", cores(2), **TEXT)).code == 200
    await everyChangeRefused(client, "/compute/stale", If_Match=stale)
    assert await revisionOf(client, "/compute/stale") == 2
    current = (await client.request("GET", "/compute/stale", Accept="text/plain")).header("etag")
    assert current
    kept = await client.request("PUT", "/compute/stale", cores(4), If_Match=current, **TEXT)
    assert kept.code == 200
    assert (await client.request("PUT", "/compute/stale", cores(5), If_Match="*",
                                 **TEXT)).code == 200
    assert (await client.request("PUT", "/compute/nothing", cores(1), If_Match="*",
                                 **TEXT)).code == 412


@pt.ensureDeferred
async def test_concurrent_puts_with_one_if_match_let_exactly_one_through(
        sqlite: Client) -> None:
    client = sqlite
    etag = await madeWithETag(client, "/compute/guarded")
    answers = await together(*(client.request("PUT", "/compute/guarded", cores(n), If_Match=etag,
                                              **TEXT) for n in range(2, 2 + WRITERS)))
    assert sorted(a.code for a in answers) == [200] + [412] * (WRITERS - 1)
    assert await revisionOf(client, "/compute/guarded") == 2


@pt.ensureDeferred
async def test_if_none_match_star_refuses_a_put_to_an_existing_note() -> None:
    client = Client()
    assert (await client.request("PUT", "/compute/n", cores(1), **TEXT)).code == 201
    note = "/compute/n/notes/first"
    made = await client.request("PUT", note, "One.", Content_Type="text/plain",
                                If_None_Match="*")
    assert made.code == 201
    again = await client.request("PUT", note, "Two.", Content_Type="text/plain",
                                 If_None_Match="*")
    assert again.code == 412, again.text
    assert (await client.request("GET", note, Accept="text/plain")).text == "One."
