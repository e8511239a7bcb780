"""Every status code the server uses, each 4xx with one human sentence and no state change."""

from __future__ import annotations

import pytest
import pytest_twisted as pt

from occi_twisted.http.limits import DEFAULT_MAX_BODY as MAX_BODY

from .support import INFRA, Answer, Client

TEXT = {"Content_Type": "text/plain", "Accept": "text/plain"}


def assertSentence(answer: Answer) -> None:
    text = answer.text.strip()
    assert text and "\n" not in text and "Traceback" not in text, text
    assert text[0].isupper() and text.endswith((".", "?")), text


CASES = [
    # (method, path, body, headers, status)
    ("GET", "/nothing/", "", {}, 404),
    ("GET", "/compute/missing", "", {"Accept": "text/plain"}, 404),
    ("PATCH", "/compute/", "", {}, 405),
    ("PUT", "/compute/", "", {}, 405),
    ("GET", "/compute/", "", {"Accept": "image/png"}, 406),
    ("POST", "/compute/", "<xml/>", {"Content_Type": "application/xml"}, 415),
    ("POST", "/compute/", "Category: compute", TEXT, 400),
    ("POST", "/compute/", 'Category: nope; scheme="http://x#"; class="kind"\n', TEXT, 400),
    ("POST", "/compute/", f'Category: compute; scheme="{INFRA}"; class="kind"\n'
     "X-OCCI-Attribute: occi.compute.cores=\"many\"\n", TEXT, 400),
    ("POST", "/storage/", f'Category: storage; scheme="{INFRA}"; class="kind"\n', TEXT, 400),
    ("POST", "/compute/", "{not json", {"Content_Type": "application/occi+json"}, 400),
    ("GET", "/compute/?page=x", "", {"Accept": "text/plain"}, 400),
    ("GET", "/compute/?number=5000", "", {"Accept": "text/plain"}, 413),
    ("POST", "/compute/", "x" * (MAX_BODY + 10), TEXT, 413),
    ("GET", "/-/", "", {"User_Agent": "pOCCI/1.3 OCCI/1.3"}, 501),
]


@pytest.mark.parametrize(("method", "path", "body", "headers", "status"), CASES,
                         ids=[f"{c[4]}-{c[0]}-{c[1][:20]}" for c in CASES])
@pt.ensureDeferred
async def test_status(method: str, path: str, body: str, headers: dict[str, str],
                      status: int) -> None:
    client = Client()
    await client.create(body="X-OCCI-Attribute: occi.compute.cores=1\n")
    before = await client.everything()
    answer = await client.request(method, path, body, **headers)
    assert answer.code == status, answer.text
    assertSentence(answer)
    assert await client.everything() == before
    if status == 405:
        assert answer.header("allow")


@pt.ensureDeferred
async def test_success_codes_and_location_headers() -> None:
    client = Client()
    created = await client.request(
        "POST", "/compute/", f'Category: compute; scheme="{INFRA}"; class="kind"\n', **TEXT)
    assert created.code == 201
    assert created.header("location", ).startswith("http://")  # type: ignore[union-attr]
    listing = await client.request("GET", "/compute/", Accept="text/plain")
    assert listing.code == 200
    for line in listing.text.splitlines():
        assert line.startswith("X-OCCI-Location: http://"), line
    head = await client.request("HEAD", "/compute/", Accept="text/plain")
    assert head.code == 200 and head.body == b""


@pt.ensureDeferred
async def test_unexpected_failure_is_500_without_traceback() -> None:
    client = Client()

    def broken(entityId: str) -> object:
        raise RuntimeError("disk on fire")

    client.store.get = broken  # type: ignore[method-assign]
    answer = await client.request("GET", "/compute/x", Accept="text/plain")
    assert answer.code == 500
    assert "disk on fire" not in answer.text and "Traceback" not in answer.text
    assertSentence(answer)


@pt.ensureDeferred
async def test_store_unavailable_is_503() -> None:
    from twisted.internet.defer import fail

    from occi_twisted.store.interface import StoreUnavailable

    client = Client()
    client.store.apply = lambda changes: fail(StoreUnavailable("disk gone"))  # type: ignore
    answer = await client.request(
        "POST", "/compute/", f'Category: compute; scheme="{INFRA}"; class="kind"\n', **TEXT)
    assert answer.code == 503
    assertSentence(answer)
