"""Templates the walkthrough's way: GET one, change it or not, POST it back."""

from __future__ import annotations

import pytest_twisted

from .support import Client


@pytest_twisted.ensureDeferred
async def test_get_a_template_and_post_it_back() -> None:
    client = Client()
    listed = await client.request("GET", "/templates/", Accept="text/uri-list")
    names = [url.rpartition("/")[2] for url in listed.text.split()]
    assert {"small", "medium", "large", "debian-12"} <= set(names)
    small = await client.request("GET", "/templates/small", Accept="text/plain")
    assert small.code == 200 and small.header("cache-control") == "no-store"
    assert "occi.compute.cores=1" in small.text and 'small; scheme=' in small.text
    # Change it (more cores), and POST it back to its collection.
    changed = small.text.replace("occi.compute.cores=1", "occi.compute.cores=3")
    made = await client.request("POST", "/compute/", changed, Content_Type="text/plain",
                                Accept="text/plain")
    assert made.code == 201, made.text
    location = made.header("location")
    assert location is not None
    got = await client.request("GET", location[len("http://occi.test"):], Accept="text/plain")
    assert "occi.compute.cores=3" in got.text and "occi.compute.memory=1.0" in got.text
    # The same copy again: its id is taken, nothing more is made.
    again = await client.request("POST", "/compute/", changed, Content_Type="text/plain")
    assert again.code == 409
    # A new GET is a new id.
    other = await client.request("GET", "/templates/small", Accept="application/json")
    assert other.json()["id"] not in small.text


@pytest_twisted.ensureDeferred
async def test_json_template_and_unknown_ones() -> None:
    client = Client()
    large = await client.request("GET", "/templates/large", Accept="application/json")
    body = large.json()
    assert body["attributes"]["occi.compute.cores"] == 4
    made = await client.request("POST", "/compute/", large.text,
                                Content_Type="application/json", Accept="application/json")
    assert made.code == 201 and made.json()["id"] == body["id"]
    assert (await client.request("GET", "/templates/huge", Accept="text/plain")).code == 404
    assert (await client.request("POST", "/templates/small")).code == 405
