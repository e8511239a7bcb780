"""Paths that Klein could only route to the run-time route are answered without Klein's
routing, and the common GET of a kept entity at once, without a turn through Deferreds:
whatever the request, its answer is the one the routes give."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_twisted as pt
from treq.testing import StubTreq
from twisted.internet.defer import Deferred, succeed
from twisted.web.test.requesthelper import DummyRequest
from zope.interface import implementer

from occi_twisted.drivers.interface import IConsoles
from occi_twisted.model.infrastructure import COMPUTE

from .support import ACTING, BASE, Client, HeaderDoor

#: A screen: PNG's signature and the start of its header.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"

#: Requests of one entity, by the headers (and query) that make them differ.
ASKED: list[tuple[str, dict[str, str]]] = [
    ("", {"Accept": "text/plain"}),
    ("", {"Accept": "application/occi+json"}),
    ("", {"Accept": "text/occi"}),
    ("", {"Accept": "*/*"}),  # 300 Multiple Choices
    ("", {}),
    ("", {"Accept": "text/html"}),  # a page
    ("", {"Accept": "image/png"}),  # 406
    ("", {"Accept": "application/ovf+xml"}),  # a file
    ("", {"Accept": "text/plain", "User-Agent": "pOCCI OCCI/1.3"}),  # 501
    ("", {"Accept": "text/plain", ACTING: "bob"}),  # another's: 404
    ("", {"Accept": "text/plain", ACTING: "alice"}),
    ("", {"Accept": "text/plain", ACTING: "admin"}),
    ("", {"Accept": "text/plain", "If-Modified-Since": "Sun, 06 Nov 2994 08:49:37 GMT"}),
    ("", {"Accept": "text/plain", ACTING: "compute:elsewhere"}),  # an introspector: 401
    ("", {"Accept": "application/x-ova"}),
    ("?format=ova", {}),
    ("?format=json", {}),
    ("?format=nothing", {}),
    ("?format=png", {}),  # a screen, where the driver shows them
    ("", {"Accept": "image/png, text/plain;q=0.5"}),
    ("", {"Accept": "image/png, */*;q=0.1"}),
]


async def _answer(treq: StubTreq, method: str, path: str,
                  headers: dict[str, str]) -> tuple[int, list[tuple[bytes, list[bytes]]], bytes]:
    response = await treq.request(method, BASE + path, headers={
        name: [value] for name, value in headers.items()}, allow_redirects=False)
    body = await response.content()
    return response.code, sorted((name, values) for name, values in
                                 response.headers.getAllRawHeaders() if name != b"Date"), body


@implementer(IConsoles)
class Screens:
    """A driver's screens: every compute shows the same tiny PNG."""

    def consoleLog(self, computeId: str) -> Path:
        return Path("/nonexistent") / f"{computeId}.log"

    def screenshot(self, computeId: str) -> Deferred[bytes]:
        return succeed(PNG)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(("query", "headers"), ASKED)
@pytest.mark.parametrize("screens", [False, True], ids=["no-screens", "screens"])
@pt.ensureDeferred
async def test_the_answer_at_once_is_the_routes_answer(
    method: str, query: str, headers: dict[str, str], screens: bool
) -> None:
    client = Client(quotas={})
    if screens:  # a driver that shows computes' screens (libvirt's)
        assert client.server.consoles is not None
        client.server.consoles.driver = Screens()
    compute = await client.create(X_Test_Principal="alice")
    # The routes alone (Klein's resource, behind the same test door), and the whole server.
    routes = StubTreq(HeaderDoor(client.server.app.resource(), {}))
    answered: list[bool] = []
    atOnce = client.server.entities.atOnce

    def counted(*args: Any) -> bytes | None:
        answer = atOnce(*args)
        answered.append(answer is not None)
        return answer

    # Kept for its owner, as text: what another's request must not be shown.
    await client.request("GET", compute, Accept="text/plain", X_Test_Principal="alice")
    client.server.entities.atOnce = counted  # type: ignore[method-assign]
    expected = await _answer(routes, method, compute + query, headers)
    assert await _answer(client.treq, method, compute + query, headers) == expected
    assert await _answer(client.treq, method, compute + query, headers) == expected  # kept
    if (query, headers) == ASKED[0]:
        assert answered == [True, True], "the common GET is answered at once"


@pytest.mark.parametrize("spelled", ["/compute//{}", "//compute/{}", "/compute/{}/",
                                     "/compute/%2F{}", "/compute/{}%20", "/-/files/compute/{}",
                                     "/log/{}", "/", "/compute/", "/compute", "/log", "/-",
                                     "/templates", "/compute/{}/log/", "/nothing/{}",
                                     "/compute/{}/requests/"])
@pt.ensureDeferred
async def test_every_path_is_answered_as_the_routes_answer_it(
    spelled: str
) -> None:
    client = Client()
    compute = await client.create()
    await client.request("GET", compute, Accept="text/plain")  # kept
    path = spelled.format(compute.rpartition("/")[2])
    expected = await _answer(StubTreq(client.server.app.resource()), "GET", path,
                             {"Accept": "text/plain"})
    assert await _answer(client.treq, "GET", path, {"Accept": "text/plain"}) == expected


@pt.ensureDeferred
async def test_the_holder_of_the_etag_is_answered_304_as_the_routes_answer_it() -> None:
    client = Client()
    compute = await client.create()
    held = (await client.request("GET", compute, Accept="text/plain")).header("etag")
    asked = {"Accept": "text/plain", "If-None-Match": str(held)}
    expected = await _answer(StubTreq(client.server.app.resource()), "GET", compute, asked)
    assert expected[0] == 304 and expected[2] == b""
    assert await _answer(client.treq, "GET", compute, asked) == expected


class _Waiting:
    """A store whose log's newest event is told later, as PostgreSQL's is."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.asked = 0

    def newestSeq(self) -> Deferred[int]:
        self.asked += 1
        return Deferred()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_store_that_waits_is_not_asked_twice_per_get() -> None:
    entities = Client().server.entities
    waiting = _Waiting(entities.store)
    entities.store = waiting  # type: ignore[assignment]
    request = DummyRequest([b"compute", b"x"])
    assert entities.atOnce(request, COMPUTE, "x") is None
    assert entities.atOnce(request, COMPUTE, "x") is None
    assert waiting.asked == 1  # learned once; the way through Deferreds asks from then on
