"""The server's URL space: every path it serves, built and resolved in one place.

Collections of kinds and user mixins are defined at run time (a user mixin brings its own
location), so most paths can only be resolved with the registry at hand; what this module
knows is the fixed part and the shape of the sub-resources every resource has::

    /                                   the landing page
    /-/   /.well-known/org/ogf/occi/-/  the query interface
    /log/   /log/{event}                the server-wide event feed and one of its entries
    /-/self                             a compute asking about itself: sent to its location
    /-/health  /-/metrics               whether the server works; its Prometheus metrics
    /-/files{entity}  /-/files{entity}.ova   signed URLs: a storage's image, a compute's OVA
    /-/forwards/  /-/forwards{entity}   where migrated entities went (administrators)
    /templates/{name}                   a new entity made from a template
    {collection}                        a kind's or a mixin's collection (ends with ``/``)
    {collection}log/                    the events of a kind's collection
    {collection}{id}                    an entity
    {entity}/log/  {entity}/log/{event}                 its events
    {entity}/requests/  {entity}/requests/{id}          its requests
    {entity}/requests/{id}/log/                         one request's events
    {entity}/notes/  {entity}/notes/{id}                its notes
    {entity}/console                                    a compute's serial console (a driver's)

Renderings, feeds, the scheduler and the HTTP routes build locations with the functions here
and resolve them with :func:`placeOf`, so that a path is spelled once.  Pure: no registry, no
I/O; callers check that a collection or an entity really exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROOT = "/"
QUERY = "/-/"
QUERY_WELL_KNOWN = "/.well-known/org/ogf/occi/-/"
#: Both paths of the query interface (GFD.223 §3.4): they answer identically.
QUERY_PATHS = (QUERY, QUERY_WELL_KNOWN)
FEED = "/log/"
#: Where an introspection request (from a compute's own address) is sent to its compute.
SELF = "/-/self"
TEMPLATES = "/templates/"
#: Whether the server works (its store, scheduler and XMPP link), for load balancers.
HEALTH = "/-/health"
#: The server's metrics in the Prometheus text format, for its operator.
METRICS = "/-/metrics"
#: Where signed URLs lead: the files of entities, reached without credentials.
FILES = "/-/files/"
#: Where migrated entities went, for administrators: ``/-/forwards{location}`` is one.
FORWARDS = "/-/forwards/"
#: Path segments with a meaning of their own under every resource and collection.
LOG, REQUESTS, NOTES, CONSOLE = "log", "requests", "notes", "console"
#: Locations no user mixin may claim: the fixed paths and what lies below them.
RESERVED = ("/-/", "/.well-known/", FEED, TEMPLATES)


def logOf(location: str) -> str:
    """The event feed of what is at ``location``: ``/`` (everything), a collection
    (``/compute/``), an entity or a request."""
    return f"{location.rstrip('/')}/{LOG}/"


def logEntry(location: str, eventId: str) -> str:
    """One entry of the feed of ``location``."""
    return f"{logOf(location)}{eventId}"


def consoleOf(entityLocation: str) -> str:
    """Where the serial console of the compute at ``entityLocation`` is read."""
    return f"{entityLocation}/{CONSOLE}"


def requestsOf(entityLocation: str) -> str:
    """The collection of the requests made of the entity at ``entityLocation``."""
    return f"{entityLocation}/{REQUESTS}/"


def requestAt(entityLocation: str, requestId: str) -> str:
    """One request of the entity at ``entityLocation``."""
    return f"{requestsOf(entityLocation)}{requestId}"


def notesOf(entityLocation: str) -> str:
    """The notes written about the entity at ``entityLocation``."""
    return f"{entityLocation}/{NOTES}/"


def noteAt(entityLocation: str, noteId: str) -> str:
    """One note about the entity at ``entityLocation``."""
    return f"{notesOf(entityLocation)}{noteId}"


def fileOf(entityLocation: str, suffix: str = "") -> str:
    """The signed URL path of a file of the entity at ``entityLocation`` (its image; with
    ``suffix`` ``.ova``, its archive)."""
    return f"{FILES.rstrip('/')}{entityLocation}{suffix}"


def forwardAt(entityLocation: str) -> str:
    """Where an administrator reads, or forgets, where the entity that was at
    ``entityLocation`` went."""
    return f"{FORWARDS.rstrip('/')}{entityLocation}"


def entityOf(place: Place) -> str | None:
    """The location of the entity ``place`` is, or lies below (its requests, notes, log);
    ``None`` for a place below no entity."""
    if isinstance(place, Log):
        request = requestOfLog(place.owner)
        owner = request[0] if request is not None else place.owner
        return owner if owner.count("/") >= 2 and not owner.endswith("/") else None
    if isinstance(place, _Below):
        return place.entity if place.entityId else None
    return None


def templateAt(name: str) -> str:
    """Where a new entity made from the template ``name`` is offered."""
    return f"{TEMPLATES}{name}"


def isReserved(location: str) -> bool:
    """Whether ``location`` is the server's, so that no user mixin may take it: it lies in
    the fixed space, or the URL space reads it as no collection (``/a/b/notes/`` is the
    notes of ``/a/b``, which a collection there could never be reached past)."""
    return location == ROOT or location.startswith(RESERVED) or \
        Collection(location) not in placesOf(location)


# -- resolving -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where a path leads, before the registry and the store say whether anything is there."""


@dataclass(frozen=True)
class Landing(Place):
    pass


@dataclass(frozen=True)
class QueryInterface(Place):
    pass


@dataclass(frozen=True)
class Log(Place):
    """``{owner}/log/`` or one of its entries: ``owner`` is ``""`` for the server-wide feed,
    a collection path without its last ``/`` (``/compute``), an entity location, or a request
    location (``/compute/<id>/requests/<id>``)."""

    owner: str
    entryId: str | None = None

    @property
    def path(self) -> str:
        return logOf(self.owner or ROOT)


@dataclass(frozen=True)
class _Below(Place):
    """The entity ``{collection}{entityId}``, or something below it."""

    collection: str
    entityId: str

    @property
    def entity(self) -> str:
        return f"{self.collection}{self.entityId}"


@dataclass(frozen=True)
class Requests(_Below):
    """``{entity}/requests`` (with or without the last ``/``) or one request."""

    requestId: str | None = None


@dataclass(frozen=True)
class Notes(_Below):
    """``{entity}/notes/`` or one note."""

    noteId: str | None = None


@dataclass(frozen=True)
class Console(_Below):
    """``{entity}/console``."""


@dataclass(frozen=True)
class Template(Place):
    name: str


@dataclass(frozen=True)
class Collection(Place):
    """A path ending in ``/``: a kind's or a mixin's collection, if the registry has one."""

    path: str


@dataclass(frozen=True)
class EntityAt(_Below):
    """``{collection}{id}``: an entity, if ``collection`` is a kind's and the id exists."""

    @property
    def path(self) -> str:
        return self.entity


_LOG = re.compile(rf"(.*)/{LOG}/?", re.S)
_LOG_ENTRY = re.compile(rf"(.*)/{LOG}/([^/]+)", re.S)
_REQUESTS = re.compile(rf"(/.+/)([^/]+)/{REQUESTS}(?:/([^/]*))?", re.S)
_NOTES = re.compile(rf"(/.+/)([^/]+)/{NOTES}(?:/([^/]*))?", re.S)
_CONSOLE = re.compile(rf"(/.+/)([^/]+)/{CONSOLE}", re.S)
#: What a path holds if one of the expressions above can match it.
_LOG_SEGMENT, _REQUESTS_SEGMENT, _NOTES_SEGMENT = f"/{LOG}", f"/{REQUESTS}", f"/{NOTES}"


def placeOf(path: str) -> Place:
    """Where ``path`` leads by its shape alone.

    A log is recognised wherever ``/log/`` ends a path; whether its owner exists is the
    caller's to check, as it is for collections and entities.  A path that fits no shape
    (``/compute`` without its ``/``, say) comes back as the entity it would be, which the
    caller resolves or refuses."""
    return placesOf(path)[0]


def placesOf(path: str) -> tuple[Place, ...]:
    """Every way ``path`` reads, in the order a server tries them: as a log, as one entry of
    a log, then as what it is without the ``log`` segment meaning anything.

    Only the registry and the store can say whether a log's owner exists; when it does not
    (``/my/log/`` under a user mixin located at ``/my/log/``, say), the next reading is the
    one that applies."""
    if path == ROOT:
        return (Landing(),)
    if path in QUERY_PATHS:
        return (QueryInterface(),)
    if _LOG_SEGMENT not in path:  # most paths: what the regular expressions would say
        return (_shapeOf(path),)
    readings: list[Place] = []
    logged = _LOG.fullmatch(path)
    if logged is not None:
        readings.append(Log(logged.group(1)))
    entry = _LOG_ENTRY.fullmatch(path)
    if entry is not None:
        readings.append(Log(entry.group(1), entry.group(2)))
    readings.append(_shapeOf(path))
    return tuple(readings)


def _shapeOf(path: str) -> Place:
    requests = _REQUESTS.fullmatch(path) if _REQUESTS_SEGMENT in path else None
    if requests is not None:
        collection, entityId, requestId = requests.groups()
        return Requests(collection, entityId, requestId or None)
    notes = _NOTES.fullmatch(path) if _NOTES_SEGMENT in path else None
    if notes is not None:
        collection, entityId, noteId = notes.groups()
        return Notes(collection, entityId, noteId or None)
    if path.endswith(f"/{CONSOLE}"):
        console = _CONSOLE.fullmatch(path)
        if console is not None:
            return Console(*console.groups())
    if path.startswith(TEMPLATES):
        return Template(path[len(TEMPLATES):])
    if path.endswith("/"):
        return Collection(path)
    collection, _, entityId = path.rpartition("/")
    return EntityAt(collection + "/", entityId)


def requestOfLog(owner: str) -> tuple[str, str] | None:
    """``(entity location, request id)`` when a log's owner is a request, else ``None``."""
    requests = _REQUESTS.fullmatch(owner)
    if requests is None or not requests.group(3):
        return None
    collection, entityId, requestId = requests.groups()
    return f"{collection}{entityId}", requestId
