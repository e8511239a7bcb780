"""A user mixin's location is a space of its own: never the server's (``/log/``, ``/-/``,
``/templates/``, what the URL space reads as a sub-resource), never inside or around a
kind's or another mixin's collection.  A refused definition is a 400 or 409 that says why,
and nothing is stored."""

from __future__ import annotations

import pytest
import pytest_twisted as pt
from hypothesis import given
from hypothesis import strategies as st

from occi_twisted.model import Mixin, Registry, locations
from occi_twisted.model.errors import BadRequest, Conflict

from .support import Client

TEXT = {"Content_Type": "text/plain", "Accept": "text/plain"}
SCHEME = "http://example.com/tags#"


def definition(term: str, location: str) -> str:
    return f'Category: {term}; scheme="{SCHEME}"; class="mixin"; location="{location}"\n'


async def define(client: Client, term: str, location: str) -> tuple[int, str]:
    answer = await client.request("POST", "/-/", definition(term, location), **TEXT)
    return answer.code, answer.text


async def userMixins(client: Client) -> list[str]:
    categories = await client.request("GET", "/-/", Accept="text/plain")
    return [line for line in categories.text.splitlines() if SCHEME in line]


@pytest.mark.parametrize(("location", "status", "says"), [
    ("/log/", 400, "the server's own"), ("/log/mine/", 400, "the server's own"),
    ("/-/", 400, "the server's own"), ("/-/self/", 400, "the server's own"),
    ("/templates/", 400, "the server's own"), ("/templates/small/", 400, "the server's own"),
    ("/.well-known/org/", 400, "the server's own"), ("/./", 400, "the server's own"),
    ("/../", 400, "the server's own"), ("/a/b/notes/", 400, "the server's own"),
    ("/compute/victim/requests/", 400, "the server's own"),
    ("/compute/", 409, "already taken"), ("/compute/victim/", 409, "inside /compute/"),
    ("/compute/victim/log/", 409, "inside /compute/"),
    ("/os_tpl/mine/", 409, "inside /os_tpl/"),
])
@pt.ensureDeferred
async def test_a_location_not_of_its_own_is_refused_and_nothing_stored(
        location: str, status: int, says: str) -> None:
    client = Client()
    victim = await client.request("PUT", "/compute/victim",
                                  'Category: compute; scheme="http://schemas.ogf.org/occi/'
                                  'infrastructure#"; class="kind"\n', **TEXT)
    assert victim.code == 201
    code, text = await define(client, "squatter", location)
    assert (code, says in text) == (status, True), text
    assert await userMixins(client) == []
    assert not [m for m in client.store.registry.mixins() if m.owner is not None]
    # The entity and its places are still what they were.
    assert (await client.request("GET", "/compute/victim", Accept="text/plain")).code == 200


@pt.ensureDeferred
async def test_a_location_inside_or_around_another_user_mixins_is_refused() -> None:
    client = Client()
    assert (await define(client, "tags", "/tags/"))[0] == 200
    inside = await define(client, "red", "/tags/red/")
    assert inside[0] == 409 and "inside /tags/" in inside[1], inside
    assert (await define(client, "deep", "/outer/inner/"))[0] == 200
    around = await define(client, "outer", "/outer/")
    assert around[0] == 409 and "would hold /outer/inner/" in around[1], around
    assert (await define(client, "beside", "/tagsbeside/"))[0] == 200
    assert len(await userMixins(client)) == 3


SEGMENTS = st.sampled_from(["a", "b", "log", "notes", "requests", "-", ".", "..",
                            "templates", ".well-known", "compute", "os_tpl", "x1"])


@given(st.lists(SEGMENTS, min_size=1, max_size=4))
def test_every_location_the_registry_takes_is_a_collection_of_its_own(
        segments: list[str]) -> None:
    registry = Registry.standard()
    taken = {category.location for category in registry.kinds() + registry.mixins()}
    location = "/" + "/".join(segments) + "/"
    try:
        registry.defineUserMixin(Mixin(SCHEME, "m", location=location, owner="alice"))
    except (BadRequest, Conflict):
        assert registry.atLocation(location) is None or location in taken
        return
    assert not locations.isReserved(location)
    assert locations.placesOf(location)[-1] == locations.Collection(location)
    assert not any(other and (location.startswith(other) or other.startswith(location))
                   for other in taken)
