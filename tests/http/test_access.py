"""Tenancy over the whole URL space: alice makes one of everything, bob asks for each of her
URLs with each method and always finds nothing there (404, or 405 where the method is never
allowed), and her things are as they were afterwards.  Shared places (the landing page, the
query interface, collections, feeds, templates) answer bob without a trace of alice's.

The table must cover every Klein route and every place shape of the URL space, so a route
added later without a row here fails this test rather than leaking."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest_twisted as pt

from occi_twisted.http.app import OCCIServer
from occi_twisted.model import locations as loc

from .support import ACTING, BASE, INFRA, Answer, Client

METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
TEXT = {"Content_Type": "text/plain", "Accept": "text/plain"}
TAGS = "http://example.com/tags#"


@dataclass(frozen=True)
class Row:
    """One shape of URL: which Klein route serves it, which place it is, the path of
    alice's thing there (``{c}`` her compute, ``{l}`` her link, ``{r}`` a request, ``{n}`` a
    note, ``{e}`` one of her events), and whether it is hers (bob: 404/405) or shared
    (bob: an answer without alice's things)."""

    rule: str
    place: type[loc.Place]
    path: str
    hers: bool
    #: Reached by a signed URL only: without one, 403 for everyone, before anything is read.
    signed: bool = False


ANY = "/<path:location>"
#: Alice's things (bob: 404/405) and the shared places (bob: nothing of hers), by shape.
#: Where alice finds nothing either: /-/self (she is no compute), the metrics and the
#: forwards of migrated entities (only an administrator reads them).
OPERATORS = ("/-/self", "/-/metrics", "/-/forwards/", "/-/forwards{c}")
HERS = (*OPERATORS, "/log/{e}", "/alices/", "{c}", "{l}", "{c}/log/", "{c}/log/{e}",
        "{c}/requests/", "{c}/requests/{r}", "{c}/requests/{r}/log/", "{c}/notes/",
        "{c}/notes/{n}", "{c}/console")
FIXED = {"/": loc.Landing, "/-/": loc.QueryInterface, "/-/self": loc.EntityAt,
         "/-/health": loc.EntityAt, "/-/metrics": loc.EntityAt,
         "/-/forwards/": loc.Collection, "/-/forwards/<path:rest>": loc.EntityAt,
         "/.well-known/org/ogf/occi/-/": loc.QueryInterface, "/log/": loc.Log,
         "/log/<eventId>": loc.Log, "/templates/": loc.Template,
         "/templates/<name>": loc.Template}
EXAMPLES = {"/log/<eventId>": "/log/{e}", "/templates/<name>": "/templates/small",
            "/-/forwards/<path:rest>": "/-/forwards{c}"}
RUN_TIME = {loc.Collection: ("/compute/", "/alices/"), loc.Log: (
    "/compute/log/", "{c}/log/", "{c}/log/{e}", "{c}/requests/{r}/log/"),
    loc.EntityAt: ("{c}", "{l}"), loc.Requests: ("{c}/requests/", "{c}/requests/{r}"),
    loc.Notes: ("{c}/notes/", "{c}/notes/{n}"), loc.Console: ("{c}/console",)}
SIGNED = "/-/files/<path:rest>"
TABLE = tuple(
    [Row(rule, place, EXAMPLES.get(rule, rule), EXAMPLES.get(rule, rule) in HERS)
     for rule, place in FIXED.items()]
    + [Row(ANY, place, path, path in HERS) for place, paths in RUN_TIME.items()
       for path in paths]
    + [Row(SIGNED, loc.EntityAt, path, True, signed=True)
       for path in ("/-/files{c}.ova", "/-/files/storage/{s}")])


def test_the_table_covers_every_route_and_place() -> None:
    rules = {rule.rule for rule in OCCIServer.app.url_map.iter_rules()}
    assert rules == {row.rule for row in TABLE}, "a route without a row in the access table"
    shapes = {cls for name, cls in vars(loc).items()
              if isinstance(cls, type) and issubclass(cls, loc.Place) and cls is not loc.Place
              and not name.startswith("_")}  # a private base is no place of its own
    assert shapes == {row.place for row in TABLE}, "a place without a row in the table"


@dataclass
class Alices:
    compute: str
    link: str
    request: str
    note: str
    event: str

    def at(self, path: str) -> str:
        return path.format(c=self.compute, l=self.link, r=self.request.rpartition("/")[2],
                           n="boot", e=self.event, s=self.compute.rpartition("/")[2])

    @property
    def ids(self) -> list[str]:
        return [p.rpartition("/")[2] for p in (self.compute, self.link, self.request,
                                                self.event)] + ["/alices/"]


async def alicesWorld(client: Client) -> Alices:
    alice = {ACTING: "alice"}
    network = await client.create("network", **alice)
    body = {"kind": f"{INFRA}compute", "links": [{
        "kind": f"{INFRA}networkinterface",
        "target": {"location": network, "kind": f"{INFRA}network"}}]}
    created = await client.request("POST", "/compute/", json.dumps(body),
                                   Content_Type="application/occi+json",
                                   Accept="application/occi+json", **alice)
    assert created.code == 201, created.text
    compute = created.header("location")[len(BASE):]  # type: ignore[index]
    link = created.json()["links"][0]["id"]
    mixin = await client.request("POST", "/-/", f'Category: alices; scheme="{TAGS}"; '
                                 'class="mixin"; location="/alices/"\n', **TEXT, **alice)
    assert mixin.code == 200, mixin.text
    tagged = await client.request("POST", "/alices/", f"X-OCCI-Location: {compute}\n",
                                  **TEXT, **alice)
    assert tagged.code == 200, tagged.text
    asked = await client.request("POST", f"{compute}/requests/?action=start", **TEXT, **alice)
    assert asked.code == 202, asked.text
    note = await client.request("PUT", f"{compute}/notes/boot", "It booted.", **TEXT, **alice)
    assert note.code == 201, note.text
    feed = await client.request("GET", f"{compute}/log/", Accept="application/json", **alice)
    event = feed.json()["entries"][0]["id"] if "entries" in feed.json() else \
        feed.json()[0]["id"]
    return Alices(compute, f"/networkinterface/{link}" if not link.startswith("/") else link,
                  asked.header("location")[len(BASE):], note, str(event))  # type: ignore


async def snapshot(client: Client, world: Alices) -> list[tuple[int, bytes]]:
    """What alice sees of her things."""
    seen = []
    for row in TABLE:
        if row.hers and row.path not in OPERATORS and not row.signed:
            answer = await client.request("GET", world.at(row.path), Accept="text/plain",
                                          **{ACTING: "alice"})
            seen.append((answer.code, answer.body))
    return seen


def bodyFor(path: str, method: str) -> str:
    if "/notes/" in path:
        return "Bob was here."
    if method in ("PUT", "POST") and path.endswith("/requests/"):
        return 'Category: stop; scheme="http://schemas.ogf.org/occi/infrastructure/compute/' \
               'action#"; class="action"\n'
    if method == "PUT":
        return f'Category: compute; scheme="{INFRA}"; class="kind"\n'
    return 'X-OCCI-Attribute: occi.core.title="bob"\n'


@pt.ensureDeferred
async def test_bob_finds_nothing_of_alices() -> None:
    client = Client(quotas={})
    world = await alicesWorld(client)
    await client.create("compute", **{ACTING: "bob"})
    before = await snapshot(client, world)
    assert all(code == 200 for code, _ in before), before
    for row in TABLE:
        path = world.at(row.path)
        for method in METHODS:
            answer = await client.request(method, path, bodyFor(path, method), **TEXT,
                                          **{ACTING: "bob"})
            if row.signed:
                assert answer.code in (403, 405), (method, path, answer.code, answer.text)
            elif row.hers:
                assert answer.code in (404, 405), (method, path, answer.code, answer.text)
            else:
                assert answer.code < 500, (method, path, answer.text)
                leaked = [i for i in world.ids if i in answer.text]
                assert not leaked, (method, path, leaked)
        asAction = await client.request("POST", f"{path}?action=start", **TEXT,
                                        **{ACTING: "bob"})
        if row.hers:
            assert asAction.code in ((403, 405) if row.signed else (404, 405)), \
                (path, asAction.text)
    assert await snapshot(client, world) == before


async def get(client: Client, path: str, who: str, accept: str = "text/uri-list") -> Answer:
    return await client.request("GET", path, Accept=accept, **{ACTING: who})


@pt.ensureDeferred
async def test_links_to_anothers_are_refused_as_to_nothing() -> None:
    client = Client(quotas={})
    world = await alicesWorld(client)
    bobs = await client.create("compute", **{ACTING: "bob"})
    answers = []
    for target in (world.compute, "/compute/no-such-compute"):
        answers.append(await client.request(
            "POST", "/networkinterface/",
            f'Category: networkinterface; scheme="{INFRA}"; class="kind"\n'
            f'X-OCCI-Attribute: occi.core.source="{bobs}"\n'
            f'X-OCCI-Attribute: occi.core.target="{target}"\n', **TEXT, **{ACTING: "bob"}))
        answers.append(await client.request(
            "POST", "/networkinterface/",
            f'Category: networkinterface; scheme="{INFRA}"; class="kind"\n'
            f'X-OCCI-Attribute: occi.core.source="{target}"\n'
            f'X-OCCI-Attribute: occi.core.target="{bobs}"\n', **TEXT, **{ACTING: "bob"}))
    assert [a.code for a in answers[:2]] == [a.code for a in answers[2:]]
    assert all(a.code in (400, 404, 409) for a in answers)
    assert [a.text.replace(world.compute, "X") for a in answers[:2]] == \
        [a.text.replace("/compute/no-such-compute", "X") for a in answers[2:]]


@pt.ensureDeferred
async def test_admin_sees_all_and_narrows_by_owner() -> None:
    client = Client(quotas={})
    world = await alicesWorld(client)
    bobs = await client.create("compute", **{ACTING: "bob"})
    everything = await get(client, "/compute/", "admin")
    assert world.compute in everything.text and bobs in everything.text
    alices = await get(client, "/compute/?owner=alice", "admin")
    assert world.compute in alices.text and bobs not in alices.text
    assert (await get(client, world.compute, "admin", "text/plain")).code == 200
    feed = await client.request("GET", "/log/?owner=bob", Accept="application/atom+xml",
                                **{ACTING: "admin"})
    assert "<name>bob</name>" in feed.text and "<name>alice</name>" not in feed.text
    counted = await get(client, "/compute/?page=1&number=10", "bob")
    assert counted.text.split() == [f"{BASE}{bobs}"]


@pt.ensureDeferred
async def test_atom_authors_are_the_events_owners() -> None:
    client = Client(quotas={})
    world = await alicesWorld(client)
    feed = await client.request("GET", f"{world.compute}/log/", Accept="application/atom+xml",
                                **{ACTING: "alice"})
    assert "<author><name>alice</name></author>" in feed.text


@pt.ensureDeferred
async def test_introspection_reaches_its_compute_and_nothing_else() -> None:
    client = Client(quotas={})
    world = await alicesWorld(client)
    other = await client.create("compute", **{ACTING: "alice"})
    itself = {ACTING: f"compute:{world.compute.rpartition('/')[2]}"}
    for path in (world.compute, world.link, f"{world.compute}/log/",
                 f"{world.compute}/notes/", f"{world.compute}/notes/boot"):
        answer = await client.request("GET", path, Accept="text/plain", **itself)
        assert answer.code == 200, (path, answer.text)
    kept = await client.request("PUT", f"{world.compute}/notes/agent", "configured",
                                **TEXT, **itself)
    assert kept.code == 201, kept.text
    # The client follows the 303 to the compute.
    self = await client.request("GET", "/-/self", Accept="text/plain", **itself)
    assert self.code == 200 and world.compute.rpartition("/")[2] in self.text
    sent = await client.treq.request("GET", f"{BASE}/-/self", allow_redirects=False,
                                     headers={ACTING: [itself[ACTING]]})
    assert sent.code == 303
    assert sent.headers.getRawHeaders("location") == [f"{BASE}{world.compute}"]
    for method, path in (("GET", other), ("GET", "/compute/"), ("GET", "/"),
                         ("GET", "/log/"), ("GET", "/-/"), ("DELETE", world.compute),
                         ("POST", f"{world.compute}?action=stop"),
                         ("GET", f"{world.compute}/requests/"), ("GET", "/templates/")):
        answer = await client.request(method, path, **TEXT, **itself)
        assert answer.code == 401, (method, path, answer.text)
        assert answer.header("www-authenticate") == 'Basic realm="occi", charset="UTF-8"'
    gone = {ACTING: "compute:no-such-compute"}
    assert (await client.request("GET", "/-/self", **gone)).code == 401
    assert (await client.request("GET", "/-/self", **{ACTING: "bob"})).code == 404
