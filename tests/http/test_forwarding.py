"""Entities that migrated away, as clients and operators meet them: 301 with the new
location for every method on the entity and below it (the query kept), 410 once the
operator forgets where it went, 404 for a deleted entity and for whoever could not see it;
``/-/forwards/`` for administrators; and migrations asked for with a target that is not a
peer, refused before anything is stored."""

from __future__ import annotations

import json

import pytest_twisted as pt

from occi_twisted.model.forwards import Forward, RememberForward
from occi_twisted.store.interface import Delete

from .support import ACTING, BASE, INFRA, Client

PEER = "https://peer.example"
METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
TEXT = {"Content_Type": "text/plain", "Accept": "text/plain"}
ALICE = {ACTING: "alice"}


async def moved(client: Client, **who: str) -> str:
    """A compute of ``who`` (single-user: admin) that migrated to :data:`PEER`; its path."""
    path = await client.create("compute", **who)
    entity = await client.store.get(path.rpartition("/")[2])
    assert entity is not None
    await client.store.apply([Delete(entity.id), RememberForward(Forward(
        path, entity.id, entity.owner, PEER + path, 1_700_000_000.0))])
    return path


@pt.ensureDeferred
async def test_every_method_on_a_moved_entity_and_below_is_301() -> None:
    client = Client()
    path = await moved(client)
    for below in ("", "/notes/", "/notes/n1", "/log/", "/requests/", "/requests/r1"):
        for method in METHODS:
            answer = await client.request(method, f"{path}{below}?action=start&x=1",
                                          'X-OCCI-Attribute: occi.core.title="again"\n',
                                          follow=False, **TEXT)
            assert answer.code == 301, (method, below, answer.text)
            assert answer.header("location") == f"{PEER}{path}{below}?action=start&x=1"
            if method != "HEAD":
                assert "has moved to" in answer.text
    # A PUT did not make it anew here, nor may a POST with its id.
    assert await client.store.get(path.rpartition("/")[2]) is None
    body = json.dumps({"kind": f"{INFRA}compute", "id": path.rpartition("/")[2]})
    again = await client.request("POST", "/compute/", body,
                                 Content_Type="application/occi+json")
    assert again.code == 409 and "migrated" in again.text


@pt.ensureDeferred
async def test_a_forgotten_forward_is_410_and_a_deleted_entity_stays_404() -> None:
    client = Client()
    path = await moved(client)
    forgotten = await client.request("DELETE", f"/-/forwards{path}", **TEXT)
    assert forgotten.code == 200 and forgotten.text == f"{path} gone admin\n"
    for method in METHODS:
        answer = await client.request(method, f"{path}/notes/", "x", follow=False, **TEXT)
        assert answer.code == 410, (method, answer.text)
    deleted = await client.create("compute")
    assert (await client.request("DELETE", deleted)).code == 200
    assert (await client.request("GET", deleted, **TEXT)).code == 404
    assert (await client.request("PUT", f"/-/forwards{deleted}", **TEXT)).code == 405
    assert (await client.request("DELETE", f"/-/forwards{deleted}", **TEXT)).code == 404


@pt.ensureDeferred
async def test_only_who_could_see_it_learns_where_it_went() -> None:
    client = Client(quotas={})
    path = await moved(client, **ALICE)
    for who in ("alice", "admin"):
        answer = await client.request("GET", path, follow=False, **{ACTING: who}, **TEXT)
        assert answer.code == 301, who
    for method in METHODS:
        answer = await client.request(method, path, f'Category: compute; scheme="{INFRA}"; '
                                      'class="kind"\n', follow=False, **{ACTING: "bob"},
                                      **TEXT)
        assert answer.code == 404 and PEER not in answer.text, (method, answer.text)
        assert "migrated" not in answer.text
    for route in ("/-/forwards/", f"/-/forwards{path}"):
        for who in ("alice", "bob"):
            refused = await client.request("GET", route, **{ACTING: who}, **TEXT)
            assert refused.code == 404 and PEER not in refused.text, (route, who)
    listed = await client.request("GET", "/-/forwards/?owner=alice",
                                  **{ACTING: "admin"}, Accept="application/json")
    assert [f["url"] for f in listed.json()] == [PEER + path]
    assert (await client.request("GET", "/-/forwards/?owner=bob", **{ACTING: "admin"},
                                 Accept="application/json")).json() == []


@pt.ensureDeferred
async def test_the_forwards_page_by_page() -> None:
    client = Client()
    paths = [await moved(client) for _ in range(3)]
    first = await client.request("GET", "/-/forwards/?number=2", **TEXT)
    assert [line.split()[0] for line in first.text.splitlines()] == paths[:2]
    following = (first.header("link") or "").partition(">")[0].lstrip("<")
    rest = await client.request("GET", following[len(BASE):], **TEXT)
    assert [line.split()[0] for line in rest.text.splitlines()] == paths[2:]
    assert rest.header("link") is None
    assert (await client.request("GET", "/-/forwards/", Accept="image/png")).code == 406


MIGRATE = 'X-OCCI-Attribute: target="{}"\n'


@pt.ensureDeferred
async def test_a_migration_goes_only_to_a_peer() -> None:
    lonely = Client()
    path = await lonely.create("compute")
    refused = await lonely.request("POST", f"{path}?action=migrate",
                                   MIGRATE.format("https://peer.example"), **TEXT)
    assert refused.code == 409 and "no peers" in refused.text
    client = Client(peers=(PEER,))
    path = await client.create("compute")
    for target in ("https://elsewhere.example", "http://169.254.169.254/latest",
                   "file:///etc/passwd", ""):
        answer = await client.request("POST", f"{path}?action=migrate",
                                      MIGRATE.format(target), **TEXT)
        assert answer.code == 409 and f"one of: {PEER}" in answer.text, (target, answer.text)
    missing = await client.request("POST", f"{path}?action=migrate", **TEXT)
    assert missing.code == 400 and "target" in missing.text
    requests = await client.request("GET", f"{path}/requests/", Accept="text/uri-list")
    assert requests.code == 200 and requests.text.strip() == ""
