"""Creating POSTs with an Idempotency-Key: a retry replays the first answer and creates
nothing more; the same key with another request is 422."""

from __future__ import annotations

import pytest_twisted

from occi_twisted.store import Query

from .support import BASE, COMPUTE_CATEGORY, Client

BODY = f"Category: {COMPUTE_CATEGORY}\nX-OCCI-Attribute: occi.compute.cores=2\n"


async def computes(client: Client) -> int:
    return await client.store.count(Query())


@pytest_twisted.ensureDeferred
async def test_retry_replays_the_first_answer() -> None:
    client = Client()
    headers = {"Content_Type": "text/plain", "Accept": "text/plain", "Idempotency_Key": "a-1"}
    first = await client.request("POST", "/compute/", BODY, **headers)
    assert first.code == 201 and first.header("idempotent-replayed") is None
    for _ in range(3):
        again = await client.request("POST", "/compute/", BODY, **headers)
        assert again.code == 201
        assert again.header("location") == first.header("location")
        assert again.body == first.body
        assert again.header("idempotent-replayed") == "true"
    assert await computes(client) == 1
    # A new key is a new compute.
    other = await client.request("POST", "/compute/", BODY, **{**headers, "Idempotency_Key": "a-2"})
    assert other.code == 201 and other.header("location") != first.header("location")
    assert await computes(client) == 2


@pytest_twisted.ensureDeferred
async def test_json_answer_is_replayed_with_its_etag() -> None:
    client = Client()
    body = ('{"kind": "http://schemas.ogf.org/occi/infrastructure#compute", '
            '"attributes": {"occi.compute.cores": 4}}')
    headers = {"Content_Type": "application/json", "Accept": "application/json",
               "Idempotency_Key": '"quoted-key"'}
    first = await client.request("POST", "/compute/", body, **headers)
    assert first.code == 201 and first.json()["attributes"]["occi.compute.cores"] == 4
    again = await client.request("POST", "/compute/", body, **headers)
    assert again.json() == first.json() and again.header("etag") == first.header("etag")
    assert again.header("content-type") == first.header("content-type")
    assert await computes(client) == 1


@pytest_twisted.ensureDeferred
async def test_same_key_other_request_is_422() -> None:
    client = Client()
    headers = {"Content_Type": "text/plain", "Accept": "text/plain", "Idempotency_Key": "k"}
    assert (await client.request("POST", "/compute/", BODY, **headers)).code == 201
    changed = BODY.replace("cores=2", "cores=3")
    answer = await client.request("POST", "/compute/", changed, **headers)
    assert answer.code == 422 and "another request" in answer.text
    other = await client.request("POST", "/network/", BODY, **headers)
    assert other.code in (400, 422)
    assert await computes(client) == 1


@pytest_twisted.ensureDeferred
async def test_malformed_key_is_400() -> None:
    client = Client()
    for key in ("", "x" * 256, "two words"):
        answer = await client.request("POST", "/compute/", BODY, Content_Type="text/plain",
                                      Idempotency_Key=key)
        assert answer.code == 400, key
    assert await computes(client) == 0


@pytest_twisted.ensureDeferred
async def test_requests_are_exactly_once() -> None:
    client = Client()
    path = await client.create()
    start = await client.request("POST", f"{path}?action=start")
    assert start.code == 200
    headers = {"Content_Type": "application/x-www-form-urlencoded", "Idempotency_Key": "stop-1"}
    first = await client.request("POST", f"{path}/requests", "state=shutdown&type=acpioff",
                                 **headers)
    assert first.code == 202
    location = first.header("location")
    assert location is not None and location.startswith(f"{BASE}{path}/requests/")
    again = await client.request("POST", f"{path}/requests", "state=shutdown&type=acpioff",
                                 **headers)
    assert again.code == 202 and again.header("location") == location
    assert again.header("idempotent-replayed") == "true"
    listed = await client.request("GET", f"{path}/requests/", Accept="text/uri-list")
    assert len(listed.text.split()) == 2  # the start, and the one stop
    assert listed.text.split()[-1] == location
    # The one request ran once: the compute is stopped, and the request succeeded.
    done = await client.request("GET", location[len(BASE):], Accept="application/json")
    assert done.json()["attributes"]["occi-twisted.request.state"] == "succeeded"
