"""What each shape of place in the URL space takes, in one table: the methods, which a 405
lists in ``Allow``, and the media types a request body may have, which every answer there
lists in ``Accept``.

RFC 7231 section 7.4.1: ``Allow`` lists the methods the target resource supports, so every
405 on a place gives the same list, and no method it lists is answered 405 there.  A place
has one row and every route asks it before anything else, so the list cannot differ with
the method that was refused (the kind collection's PUT once answered a list of its own).
What a place takes depends only on its shape, but for a note: one at a POST Once Exactly URL
takes its one POST until it exists.

GFD.223 section 4.2: an OCCI server SHOULD list the media types it supports in an
``Accept`` response header.  ``Accept`` names what a request may send, so it is sent where a
body is read -- the OCCI renderings where OCCI documents go, the note types for notes -- and
not where nothing is (a log, the landing page), where it would promise what a 405 then
refuses.  (RFC 7231 defines ``Accept`` for requests only; ``Accept-Post`` and
``Accept-Patch`` are its relatives for answers.)  OPTIONS is not supported: RFC 7231 section
4.1 makes every method but GET and HEAD optional, and a 405 tells the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, auto

from twisted.web.iweb import IRequest

from ..files.form import FORM_DATA
from ..files.types import OCTET, OVA, OVF
from ..model.errors import MethodNotAllowed
from ..renderings import standard
from ..renderings.notes import INPUT_TYPES as NOTE_INPUTS


class Shape(Enum):
    """The shapes of place (:mod:`occi_twisted.model.locations` resolves paths to them)."""

    LANDING = auto()  # /
    QUERY = auto()  # /-/ and /.well-known/org/ogf/occi/-/
    SELF = auto()  # /-/self
    KIND_COLLECTION = auto()  # /compute/
    MIXIN_COLLECTION = auto()  # /os_tpl/, a user's /my_tag/
    ENTITY = auto()  # {collection}{id}
    REQUESTS = auto()  # {entity}/requests/
    REQUEST = auto()  # {entity}/requests/{id}
    NOTES = auto()  # {entity}/notes/
    NOTE = auto()  # {entity}/notes/{id} before it exists: a POST Once Exactly URL's one POST
    POSTED_NOTE = auto()  # {entity}/notes/{id} once it exists
    LOG = auto()  # {owner}/log/
    LOG_ENTRY = auto()  # {owner}/log/{id}
    TEMPLATES = auto()  # /templates/
    TEMPLATE = auto()  # /templates/{name}
    IMAGE = auto()  # /-/files/storage/{id}: a signed URL of a storage's image (or its form)
    FILE = auto()  # /-/files/{entity}.ova and the like: a signed URL of a file to read
    IMPORT = auto()  # /-/files/compute/: a signed URL that takes an archive to import
    HEALTH = auto()  # /-/health
    METRICS = auto()  # /-/metrics
    FORWARDS = auto()  # /-/forwards/: where migrated entities went (administrators)
    FORWARD = auto()  # /-/forwards{location}: one of them, forgotten by a DELETE


@dataclass(frozen=True)
class Takes:
    """The methods a shape of place takes, and the media types of the bodies it reads."""

    methods: tuple[str, ...]
    reads: tuple[str, ...] = ()
    #: What a 405 says for a method a client might expect here (``{path}`` filled in).
    hints: Mapping[str, str] = field(default_factory=dict)


_READ = ("GET", "HEAD")
_OCCI = tuple(standard.inputTypes())

TABLE: Mapping[Shape, Takes] = {
    Shape.LANDING: Takes(_READ),
    Shape.QUERY: Takes((*_READ, "POST", "DELETE"), _OCCI),
    Shape.SELF: Takes(_READ),
    Shape.KIND_COLLECTION: Takes((*_READ, "POST", "DELETE"), (*_OCCI, OVF, OVA), {
        "PUT": "The kind collection {path} takes POST to create; PUT goes to an entity "
               "location."}),
    Shape.MIXIN_COLLECTION: Takes((*_READ, "POST", "PUT", "DELETE"), _OCCI),
    Shape.ENTITY: Takes((*_READ, "PUT", "POST", "DELETE"), (*_OCCI, OCTET)),
    Shape.REQUESTS: Takes((*_READ, "POST"), _OCCI),
    Shape.REQUEST: Takes((*_READ, "DELETE")),
    Shape.NOTES: Takes((*_READ, "POST"), NOTE_INPUTS, dict.fromkeys(
        ("PUT", "DELETE"), "{path} takes GET and POST; PUT and DELETE go to a note.")),
    Shape.NOTE: Takes((*_READ, "POST", "PUT", "DELETE"), NOTE_INPUTS),
    Shape.POSTED_NOTE: Takes((*_READ, "PUT", "DELETE"), NOTE_INPUTS, {
        "POST": "{path} has been posted to already (POST Once Exactly); PUT replaces it."}),
    Shape.LOG: Takes(_READ),
    Shape.LOG_ENTRY: Takes(_READ),
    Shape.TEMPLATES: Takes(_READ),
    Shape.TEMPLATE: Takes(_READ),
    Shape.IMAGE: Takes((*_READ, "PUT", "POST"), (OCTET, FORM_DATA)),
    Shape.FILE: Takes(_READ),
    Shape.IMPORT: Takes(("POST",), (OVA,)),
    Shape.HEALTH: Takes(_READ),
    Shape.METRICS: Takes(_READ),
    Shape.FORWARDS: Takes(_READ),
    Shape.FORWARD: Takes((*_READ, "DELETE")),
}
#: What a place of each shape says in ``Accept``, encoded once.
_ACCEPT: Mapping[Shape, bytes] = {shape: ", ".join(takes.reads).encode()
                                  for shape, takes in TABLE.items()}
#: The request attribute :func:`allow` records the shape of the place in.
_SHAPE = "occiShape"


def allow(request: IRequest, method: str, shape: Shape, path: str) -> None:
    """Refuse ``method`` at ``path`` (405, with ``Allow``) unless a place of ``shape``
    takes it; either way the answer says in ``Accept`` what a body there may be."""
    setattr(request, _SHAPE, shape)
    takes = TABLE[shape]
    if takes.reads:
        request.setHeader(b"Accept", _ACCEPT[shape])
    if method not in takes.methods:
        hint = takes.hints.get(method)
        raise MethodNotAllowed(
            hint.format(path=path) if hint is not None else
            f"The location {path} does not take {method}; it takes "
            f"{', '.join(takes.methods)}.", takes.methods)


def shapeOf(request: IRequest) -> Shape | None:
    """The shape of place the request reached (what :func:`allow` was asked), if any: the
    route template metrics count requests by, a bounded set unlike paths."""
    shape: Shape | None = getattr(request, _SHAPE, None)
    return shape
