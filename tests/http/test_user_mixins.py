"""A user mixin's attribute definitions (GFD.225 section 3.5.1): kept, shown in the query
interface, their defaults applied to the entities that take the mixin -- within what the
server's own definitions allow."""

from __future__ import annotations

import json
from typing import Any

import pytest
import pytest_twisted as pt

from .support import INFRA, Client

TAGS = "http://example.com/tags#"
JSON = {"Content_Type": "application/occi+json", "Accept": "text/plain"}


async def define(client: Client, attributes: dict[str, Any], term: str = "fast") -> Any:
    return await client.request("POST", "/-/", json.dumps({
        "term": term, "scheme": TAGS, "location": f"/{term}/",
        "applies": [f"{INFRA}compute"], "attributes": attributes}), **JSON)


async def created(client: Client, attributes: dict[str, Any], term: str = "fast") -> Any:
    return await client.request("POST", "/compute/", json.dumps({
        "kind": f"{INFRA}compute", "mixins": [TAGS + term], "attributes": attributes}),
        Content_Type="application/occi+json", Accept="application/occi+json")


@pt.ensureDeferred
async def test_text_definitions_keep_what_the_text_rendering_says() -> None:
    client = Client()
    defined = await client.request(
        "POST", "/-/", f'Category: owned; scheme="{TAGS}"; class="mixin"; location="/owned/"; '
        'attributes="com.example.owner{required} com.example.note"\n',
        Content_Type="text/plain")
    assert defined.code == 200, defined.text
    shown = await client.request("GET", "/-/", Accept="text/plain",
                                 Category=f'owned; scheme="{TAGS}"; class="mixin"')
    assert 'attributes="com.example.owner{required} com.example.note"' in shown.text
    missing = await created(client, {}, "owned")
    assert missing.code == 400 and "com.example.owner" in missing.text
    made = await created(client, {"com.example.owner": "ann"}, "owned")
    assert made.code == 201, made.text
    assert made.json()["attributes"]["com.example.owner"] == "ann"


@pt.ensureDeferred
async def test_a_server_attribute_takes_the_mixins_default_and_keeps_its_rules() -> None:
    """As GFD.225 Appendix A.5 gives occi.compute.speed a default: the attribute stays
    mutable (the kind's), whatever the description leaves out."""
    client = Client()
    assert (await define(client, {"occi.compute.speed": {"type": "number",
                                                         "default": 2.8}})).code == 200
    made = await created(client, {})
    assert made.json()["attributes"]["occi.compute.speed"] == 2.8
    chosen = await created(client, {"occi.compute.speed": 3.5})
    assert chosen.json()["attributes"]["occi.compute.speed"] == 3.5


@pt.ensureDeferred
async def test_an_enum_of_the_mixins_own() -> None:
    client = Client()
    colour = {"type": "string", "mutable": True, "default": "blue",
              "pattern": {"$schema": "http://json-schema.org/draft-04/schema#",
                          "type": "string", "enum": ["blue", "red"]}}
    assert (await define(client, {"org.example.colour": colour})).code == 200
    [shown] = (await client.request(
        "GET", "/-/", Accept="application/occi+json",
        Category=f'fast; scheme="{TAGS}"; class="mixin"')).json()["mixins"]
    assert shown["attributes"]["org.example.colour"]["pattern"]["enum"] == ["blue", "red"]
    assert (await created(client, {})).json()["attributes"]["org.example.colour"] == "blue"
    assert (await created(client, {"org.example.colour": "green"})).code == 400


@pytest.mark.parametrize(("attributes", "said"), [
    ({"occi.compute.state": {"default": "active"}}, "set by the server"),
    ({"occi.compute.speed": {"default": "fast"}}, "must be a number"),
    ({"occi.compute.newthing": {"type": "string"}}, "reserved"),
    ({"org.example.x": {"type": "date"}}, "has the type 'date'"),
    ({"org.example.x": {"pattern": {"pattern": "(a+)+$"}}}, "may give only enum"),
    ({"org.example.x": {"type": "number", "pattern": {"enum": ["a"]}}}, "must list strings"),
    ({"org.example.x": {"type": "number", "pattern": {"minimum": "1"}}}, "not a number"),
    ({"org.example.x": {"type": "boolean", "default": "maybe"}}, "true or false"),
    ({"org.example.x": {"default": "two\nlines"}}, "control character"),
])
@pt.ensureDeferred
async def test_definitions_the_server_cannot_keep_are_refused(attributes: dict[str, Any],
                                                              said: str) -> None:
    client = Client()
    refused = await define(client, attributes)
    assert refused.code == 400 and said in refused.text, refused.text
    assert (await client.request("GET", "/fast/", Accept="text/plain")).code == 404
