"""Every document the server renders, gathered once from the real Klein app in memory.

One server is given a little of everything (each kind, both link kinds, user mixins over
resources and over links, requests, notes, events); a second stays bare, for empty
collections.  Reads come first, so that they see one fixed state; then each change that
GFD.223 answers with a rendering is made once per media type, on entities of its own.

The tests ask for answers by name (:data:`EXCHANGES`, :data:`ATOM`), so that pytest's ids
say which document failed and a known defect can be pinned on exactly the documents it
spoils.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Any

from tests.http.support import BASE, INFRA, Answer, Client, synchronously

JSON = "application/occi+json"
PLAIN = "text/plain"
OCCI = "text/occi"
ATOM_TYPE = "application/atom+xml"
#: The media types of GFD.225 and GFD.229, each exchange is made in.
MEDIA = (JSON, PLAIN, OCCI)

TAGS = "http://example.com/tags#"
CORE = "http://schemas.ogf.org/occi/core#"
COMPUTE_ACTIONS = "http://schemas.ogf.org/occi/infrastructure/compute/action#"
NETWORK_MIXIN = "http://schemas.ogf.org/occi/infrastructure/network#"
INTERFACE_MIXIN = "http://schemas.ogf.org/occi/infrastructure/networkinterface#"
TEMPLATES = "http://schemas.occi-twisted.org/occi/infrastructure/resource_tpl#"
#: A title beyond ASCII (and Latin-1), which a text rendering must give back as it is.
TITLE = "caf\u00e9 \u201cnine\u201d"


class Shape(Enum):
    """What GFD.223 says an answer renders."""

    RESOURCE = "a resource instance"
    LINK = "a link instance"
    RESOURCES = "a resource collection"
    LINKS = "a link collection"
    CATEGORIES = "a category collection (the query interface)"
    #: Entity locations: a 201's text body; the list of templates.  GFD.225 has no JSON
    #: rendering for it; rOCCI-core's (an array of strings) is used.
    LOCATIONS = "entity locations"
    #: A collection action: "MAY contain an entity collection rendering or a Category
    #: collection rendering" (GFD.223, POST on collections).
    COLLECTION_ACTION = "an entity or category collection, or nothing"


@dataclass(frozen=True)
class Checks:
    """What an answer of one shape is checked against."""

    #: GFD.225's schema definitions, one of which it must be.
    gfd225: tuple[str, ...]
    #: rOCCI-core's definition, where rOCCI-core does not contradict GFD.225.
    rocci: str | None
    #: GFD.229 section 4's renderings, one of which a text/plain body must be.
    renderings: tuple[str, ...]
    #: The header fields a text/occi answer of this shape is made of.
    fields: frozenset[str]


_ENTITY_FIELDS = frozenset({"category", "link", "x-occi-attribute"})
_LOCATION_FIELDS = frozenset({"x-occi-location"})
_COLLECTION_RULES = ("entity-collection-rendering",)

CHECKS: dict[Shape, Checks] = {
    Shape.RESOURCE: Checks(("resource",), "resource", ("resource-rendering",), _ENTITY_FIELDS),
    Shape.LINK: Checks(("link",), "link", ("link-rendering",), _ENTITY_FIELDS),
    Shape.RESOURCES: Checks(("resource_collection",), "entity_collection", _COLLECTION_RULES,
                            _LOCATION_FIELDS),
    Shape.LINKS: Checks(("link_collection",), "entity_collection", _COLLECTION_RULES,
                        _LOCATION_FIELDS),
    Shape.CATEGORIES: Checks(("model",), None, ("category-collection-rendering",),
                             frozenset({"category"})),
    Shape.LOCATIONS: Checks((), None, _COLLECTION_RULES, _LOCATION_FIELDS),
    Shape.COLLECTION_ACTION: Checks(
        ("resource_collection", "link_collection", "model"), None,
        (*_COLLECTION_RULES, "category-collection-rendering"),
        frozenset({"x-occi-location", "category"})),
}


@dataclass(frozen=True)
class Exchange:
    """One request whose answer GFD.223 defines, made in each of :data:`MEDIA`."""

    name: str
    shape: Shape
    #: A path with ``{name}`` fields filled from :attr:`Corpus.paths`.
    path: str
    method: str = "GET"
    body: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    #: The bare server's answer instead of the furnished one's.
    bare: bool = False
    #: Made against a compute of its own, created for each media type (``{fresh}``).
    fresh: bool = False
    #: What the text renderings answer, where it differs from JSON's (201: locations).
    textShape: Shape | None = None
    #: More of the fresh compute's text rendering (its mixins).
    freshBody: str = ""

    @property
    def changes(self) -> bool:
        return self.method != "GET"


def _category(term: str, scheme: str, kind: str) -> tuple[tuple[str, str], ...]:
    return (("Category", f'{term}; scheme="{scheme}"; class="{kind}"'),)


EXCHANGES: tuple[Exchange, ...] = (
    Exchange("compute", Shape.RESOURCE, "{compute}"),
    Exchange("network", Shape.RESOURCE, "{network}"),
    Exchange("storage", Shape.RESOURCE, "{storage}"),
    Exchange("request", Shape.RESOURCE, "{request}"),
    Exchange("networkinterface", Shape.LINK, "{networkinterface}"),
    Exchange("storagelink", Shape.LINK, "{storagelink}"),
    Exchange("compute collection", Shape.RESOURCES, "/compute/"),
    Exchange("network collection", Shape.RESOURCES, "/network/"),
    Exchange("storage collection", Shape.RESOURCES, "/storage/"),
    Exchange("resource collection", Shape.RESOURCES, "/resource/"),
    Exchange("resource collection, first page", Shape.RESOURCES, "/resource/?page=1&number=1"),
    Exchange("request collection", Shape.RESOURCES, "{compute}/requests/"),
    Exchange("networkinterface collection", Shape.LINKS, "/networkinterface/"),
    Exchange("storagelink collection", Shape.LINKS, "/storagelink/"),
    Exchange("link collection", Shape.LINKS, "/link/"),
    Exchange("user mixin collection", Shape.RESOURCES, "/tagged/"),
    Exchange("user mixin collection of links", Shape.LINKS, "/wired/"),
    Exchange("template collection", Shape.RESOURCES, "/resource_tpl/small/"),
    Exchange("template", Shape.RESOURCE, "/templates/small"),
    Exchange("template list", Shape.LOCATIONS, "/templates/"),
    Exchange("empty mixin collection", Shape.RESOURCES, "/untouched/"),
    Exchange("empty kind collection", Shape.RESOURCES, "/compute/", bare=True),
    Exchange("empty link collection", Shape.LINKS, "/networkinterface/", bare=True),
    Exchange("query interface", Shape.CATEGORIES, "/-/"),
    Exchange("well-known query interface", Shape.CATEGORIES, "/.well-known/org/ogf/occi/-/"),
    Exchange("query interface by kind", Shape.CATEGORIES, "/-/",
             headers=_category("compute", INFRA, "kind")),
    Exchange("query interface by mixin", Shape.CATEGORIES, "/-/",
             headers=_category("tagged", TAGS, "mixin")),
    Exchange("query interface by action", Shape.CATEGORIES, "/-/",
             headers=_category("start", COMPUTE_ACTIONS, "action")),
    Exchange("create", Shape.RESOURCE, "/compute/", "POST",
             f'Category: compute; scheme="{INFRA}"; class="kind"\r\n',
             textShape=Shape.LOCATIONS),
    Exchange("partial update", Shape.RESOURCE, "{fresh}", "POST",
             'X-OCCI-Attribute: occi.compute.cores=2\r\n', fresh=True),
    Exchange("action invocation", Shape.RESOURCE, "{fresh}?action=start", "POST", fresh=True),
    Exchange("asynchronous action invocation", Shape.RESOURCE, "{fresh}?action=start", "POST",
             headers=(("Prefer", "respond-async"),), fresh=True),
    Exchange("collection action", Shape.COLLECTION_ACTION, "/network/?action=up", "POST"),
    Exchange("mixin collection POST", Shape.RESOURCES, "/tagged/", "POST",
             "X-OCCI-Location: {fresh}\r\n", fresh=True),
    Exchange("mixin collection PUT", Shape.RESOURCES, "/tagged/", "PUT",
             "X-OCCI-Location: {fresh}\r\nX-OCCI-Location: {compute}\r\n", fresh=True),
    Exchange("mixin collection DELETE", Shape.RESOURCES, "/tagged/", "DELETE",
             "X-OCCI-Location: {fresh}\r\n", fresh=True,
             freshBody=f'Category: tagged; scheme="{TAGS}"; class="mixin"\r\n'),
)

BY_NAME = {exchange.name: exchange for exchange in EXCHANGES}

#: The Atom documents: feeds of events, collections and entities passed by value, entries.
#: Each is a path and the ``Accept`` it is asked with (None: the path says ``?format=``).
ATOM: Mapping[str, tuple[str, str | None]] = {
    "server log": ("/log/", ATOM_TYPE),
    "server log, first page": ("/log/?number=2", None),
    "server log entry": ("{event}", ATOM_TYPE),
    "kind log": ("/compute/log/", ATOM_TYPE),
    "compute log": ("{compute}/log/", ATOM_TYPE),
    "compute log entry": ("{computeEvent}", ATOM_TYPE),
    "networkinterface log": ("{networkinterface}/log/", ATOM_TYPE),
    "request log": ("{request}/log/", ATOM_TYPE),
    "compute notes": ("{compute}/notes/", ATOM_TYPE),
    "compute note": ("{compute}/notes/boot", ATOM_TYPE),
    "compute collection by value": ("/compute/?format=atom", None),
    "compute collection, Accept atom": ("/compute/", ATOM_TYPE),
    "networkinterface collection by value": ("/networkinterface/?format=atom", None),
    "link collection by value": ("/link/", ATOM_TYPE),
    "user mixin collection by value": ("/tagged/?format=atom", None),
    "empty mixin collection by value": ("/untouched/", ATOM_TYPE),
    "compute entry": ("{compute}?format=atom", None),
    "network entry": ("{network}", ATOM_TYPE),
    "storage entry": ("{storage}", ATOM_TYPE),
    "networkinterface entry": ("{networkinterface}?format=atom", None),
    "storagelink entry": ("{storagelink}", ATOM_TYPE),
    "request entry": ("{request}", ATOM_TYPE),
    "template list": ("/templates/", ATOM_TYPE),
    "template entry": ("/templates/small?format=atom", None),
}


@dataclass
class Corpus:
    """The answers, by exchange name and media type, and the paths they were asked at."""

    server: Client
    bare: Client
    paths: dict[str, str] = field(default_factory=dict)
    answers: dict[tuple[str, str], Answer] = field(default_factory=dict)
    atom: dict[str, Answer] = field(default_factory=dict)

    def answer(self, name: str, media: str) -> Answer:
        return self.answers[name, media]

    def fill(self, template: str, **more: str) -> str:
        return template.format(**self.paths, **more)


@cache
def corpus() -> Corpus:
    """The corpus, built on first use (about a second) and shared by every test."""
    return synchronously(_gather())


async def _gather() -> Corpus:
    found = Corpus(Client(), Client())
    await _furnish(found)
    for exchange in EXCHANGES:
        if not exchange.changes:
            for media in MEDIA:
                found.answers[exchange.name, media] = await _ask(found, exchange, media)
    for name, (path, accept) in ATOM.items():
        headers = {"Accept": accept} if accept else {}
        found.atom[name] = await found.server.request("GET", found.fill(path), **headers)
    for exchange in EXCHANGES:
        if exchange.changes:
            for media in MEDIA:
                found.answers[exchange.name, media] = await _ask(found, exchange, media)
    return found


async def _ask(found: Corpus, exchange: Exchange, media: str) -> Answer:
    client = found.bare if exchange.bare else found.server
    fresh = BASE + await client.create(body=exchange.freshBody) if exchange.fresh else ""
    path = found.fill(exchange.path, fresh=fresh[len(BASE):])
    body = found.fill(exchange.body, fresh=fresh).replace("X-OCCI-Location: /",
                                                        f"X-OCCI-Location: {BASE}/")
    headers = {"Accept": media, **dict(exchange.headers)}
    if body:
        headers["Content-Type"] = PLAIN
    return await client.request(exchange.method, path, body, **_keywords(headers))


def _keywords(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names as :meth:`Client.request` takes them (``Content_Type``)."""
    return {name.replace("-", "_"): value for name, value in headers.items()}


async def _furnish(found: Corpus) -> None:
    """A little of everything, on the furnished server."""
    client, paths = found.server, found.paths
    for term, scheme, location in (("tagged", TAGS, "/tagged/"), ("wired", TAGS, "/wired/"),
                                   ("untouched", TAGS, "/untouched/")):
        defined = await client.request(
            "POST", "/-/", f'Category: {term}; scheme="{scheme}"; class="mixin"; '
            f'location="{location}"\r\n', Content_Type=PLAIN)
        assert defined.code == 200, defined.text
    paths["network"] = await client.create(
        "network", f'Category: ipnetwork; scheme="{NETWORK_MIXIN}"; class="mixin"\r\n'
        'X-OCCI-Attribute: occi.network.address="10.0.0.0/24"\r\n')
    paths["compute"] = await client.create(
        "compute", f'Category: small; scheme="{TEMPLATES}"; class="mixin"\r\n'
        f'Category: tagged; scheme="{TAGS}"; class="mixin"\r\n'
        f'X-OCCI-Attribute: occi.core.title="{TITLE}"\r\n'
        'X-OCCI-Attribute: occi.compute.memory=1.5\r\n')
    paths["storage"] = await client.create("storage",
                                           "X-OCCI-Attribute: occi.storage.size=1\r\n")
    paths["networkinterface"] = await _link(
        client, "networkinterface", paths["compute"], paths["network"],
        f'Category: ipnetworkinterface; scheme="{INTERFACE_MIXIN}"; class="mixin"\r\n'
        f'Category: wired; scheme="{TAGS}"; class="mixin"\r\n'
        'X-OCCI-Attribute: occi.networkinterface.address="10.0.0.5"\r\n')
    paths["storagelink"] = await _link(
        client, "storagelink", paths["compute"], paths["storage"],
        'X-OCCI-Attribute: occi.storagelink.deviceid="vdb"\r\n')
    started = await client.request("POST", paths["compute"] + "?action=start",
                                   Accept=PLAIN, Prefer="respond-async")
    assert started.code == 202, started.text
    paths["request"] = _local(started.header("location"))
    noted = await client.request("PUT", paths["compute"] + "/notes/boot",
                                 "Title: Boot\n\nIt booted.", Content_Type=PLAIN)
    assert noted.code == 201, noted.text
    paths["event"] = _local(_firstEntry(await client.request(
        "GET", "/log/", Accept="application/json")))
    paths["computeEvent"] = _local(_firstEntry(await client.request(
        "GET", paths["compute"] + "/log/", Accept="application/json")))


async def _link(client: Client, kind: str, source: str, target: str, more: str) -> str:
    made = await client.request(
        "POST", f"/{kind}/", f'Category: {kind}; scheme="{INFRA}"; class="kind"\r\n'
        f'X-OCCI-Attribute: occi.core.source="{source}"\r\n'
        f'X-OCCI-Attribute: occi.core.target="{target}"\r\n' + more,
        Content_Type=PLAIN, Accept=PLAIN)
    assert made.code == 201, made.text
    return _local(made.header("location"))


def _firstEntry(answer: Answer) -> str:
    entries: list[dict[str, Any]] = answer.json()["entries"]
    return str(entries[0]["url"])


def _local(url: str | None) -> str:
    assert url is not None and url.startswith(BASE), url
    return url[len(BASE):]

