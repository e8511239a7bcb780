"""The URL space: every shape of path resolves to its place, and building then resolving a
location gives back what it was built from."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from occi_twisted.model import locations as loc

_SEGMENT = st.text(st.characters(blacklist_characters="/", blacklist_categories=("Cs",)),
                   min_size=1, max_size=12).filter(
    lambda s: s not in (loc.LOG, loc.REQUESTS, loc.NOTES))


def test_fixed_paths() -> None:
    assert loc.placeOf("/") == loc.Landing()
    assert loc.placeOf("/-/") == loc.QueryInterface()
    assert loc.placeOf("/.well-known/org/ogf/occi/-/") == loc.QueryInterface()
    assert loc.placeOf("/log/") == loc.Log("")
    assert loc.placeOf("/log/abc") == loc.Log("", "abc")
    assert loc.placeOf("/templates/small") == loc.Template("small")


def test_sub_resources() -> None:
    assert loc.placeOf("/compute/") == loc.Collection("/compute/")
    assert loc.placeOf("/compute/log/") == loc.Log("/compute")
    assert loc.placeOf("/compute/x") == loc.EntityAt("/compute/", "x")
    assert loc.placeOf("/compute/x/log/") == loc.Log("/compute/x")
    assert loc.placeOf("/compute/x/requests") == loc.Requests("/compute/", "x")
    assert loc.placeOf("/compute/x/requests/") == loc.Requests("/compute/", "x")
    assert loc.placeOf("/compute/x/requests/r") == loc.Requests("/compute/", "x", "r")
    assert loc.placeOf("/compute/x/requests/r/log/") == loc.Log("/compute/x/requests/r")
    assert loc.requestOfLog("/compute/x/requests/r") == ("/compute/x", "r")
    assert loc.requestOfLog("/compute/x") is None
    assert loc.requestOfLog("/compute/x/requests/") is None
    assert loc.requestOfLog("/compute/x/requests/log") == ("/compute/x", "log")
    assert loc.placeOf("/compute/x/notes/") == loc.Notes("/compute/", "x")
    assert loc.placeOf("/compute/x/notes/n") == loc.Notes("/compute/", "x", "n")


def test_every_reading_of_a_log_path() -> None:
    # The log first; if its owner does not exist, an entry of the log above; else the shape.
    assert loc.placesOf("/a/log/log") == (loc.Log("/a/log"), loc.Log("/a", "log"),
                                          loc.EntityAt("/a/log/", "log"))
    assert loc.placesOf("/my/log/") == (loc.Log("/my"), loc.Collection("/my/log/"))
    assert loc.placesOf("/compute/x/log/e") == (loc.Log("/compute/x", "e"),
                                                loc.EntityAt("/compute/x/log/", "e"))
    assert loc.placesOf("/compute/x") == (loc.EntityAt("/compute/", "x"),)
    assert loc.placesOf("/-/") == (loc.QueryInterface(),)


def test_reserved() -> None:
    for location in ("/", "/-/", "/-/self", "/log/", "/templates/x/", "/.well-known/a/"):
        assert loc.isReserved(location)
    assert not loc.isReserved("/my_tags/")


@given(_SEGMENT, _SEGMENT, _SEGMENT)
def test_built_locations_resolve_back(kind: str, entityId: str, child: str) -> None:
    collection = f"/{kind}/"
    entity = f"{collection}{entityId}"
    assert loc.placeOf(entity) == loc.EntityAt(collection, entityId)
    assert loc.placeOf(loc.logOf(entity)) == loc.Log(entity)
    assert loc.placeOf(loc.logEntry(entity, child)) == loc.Log(entity, child)
    assert loc.placeOf(loc.requestAt(entity, child)) == loc.Requests(collection, entityId, child)
    assert loc.placeOf(loc.noteAt(entity, child)) == loc.Notes(collection, entityId, child)
    assert loc.placeOf(loc.requestsOf(entity)).entity == entity  # type: ignore[attr-defined]
    assert loc.Log(entity).path == loc.logOf(entity)
