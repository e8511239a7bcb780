"""Entities that migrated away: 301 to where they went, 410 once that is forgotten, and
``/-/forwards/``, where an administrator reads and forgets forwards.

The walkthrough: the source "should provide a HTTP 301 Moved Permanently response along with
the new location, assuming it is known, or HTTP 410 Gone otherwise".  A forward is asked for
only when a path finds nothing here (and before a ``PUT``, which would otherwise create): an
entity that is here has no forward (the store keeps it so), so the answers of everything
else cost nothing more.  The entity's path and everything below it answer so, whatever the
method, with the query kept: a client that follows re-sends its request to the new place.
Only who could see the entity learns where it went; anyone else finds nothing (404), as
for any other of its things.  The requests of a moved entity stay readable here: the
client that asked for the migration polls its request to the end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from twisted.web.iweb import IRequest

from ..model import locations as loc
from ..model.errors import Gone, Moved, NotAcceptable, NotFound
from ..model.forwards import Forward
from ..renderings import negotiation
from . import access, parts
from .actions import Actions
from .methods import Shape, allow
from .room import Room
from .weblinks import webLink

_LISTED = ("text/plain", "application/json")


@dataclass(kw_only=True)
class Forwarding(Room):
    """Forwards, as clients meet them and as administrators keep them."""

    actions: Actions

    async def answer(self, request: IRequest, method: str) -> bytes | None:
        """Raise :class:`Moved` or :class:`Gone` if the request's path lies under a
        forward its principal may know of; the answer itself for a request of the moved
        entity; ``None`` when no forward concerns the path."""
        path = parts.pathOf(request)
        for place in loc.placesOf(path):
            location = loc.entityOf(place)
            if location is None or not self._isEntityPath(location):
                continue
            forward = await self.store.forward(location)
            if forward is None:
                continue
            if parts.principalOf(request).isIntrospector or \
                    not access.seesOwner(request, forward.owner):
                if method == "PUT" and isinstance(place, loc.EntityAt):
                    # As for another's entity that is here: the id cannot be had.
                    raise NotFound(f"There is no entity at {location} for you to replace, "
                                   "and the id cannot be taken.")
                return None
            if isinstance(place, loc.Requests) and place.requestId and \
                    method in ("GET", "HEAD"):
                record = await self.store.getRequest(place.requestId)
                if record is not None and record.entityId == forward.entityId:
                    allow(request, method, Shape.REQUEST, path)
                    return self.actions.sendRequestAt(request, record, location)
            if forward.url is None:
                raise Gone(f"{location} migrated from here to another endpoint; where it "
                           "went is no longer known.")
            target = forward.url + path[len(location):] + _query(request)
            raise Moved(f"{location} has moved to {target}.", target)
        return None

    def _isEntityPath(self, location: str) -> bool:
        collection = location[:location.rfind("/") + 1]
        return self.registry.atLocation(collection) is not None

    # -- /-/forwards/ -------------------------------------------------------------------------

    async def administer(self, request: IRequest, method: str) -> bytes:
        """``/-/forwards/``: the forwards, a page at a time; ``/-/forwards{location}``: one,
        which ``DELETE`` forgets (its location answers 410 from then on).  For
        administrators; anyone else finds nothing."""
        path = parts.pathOf(request)
        if not parts.principalOf(request).isAdmin:
            raise NotFound(f"There is nothing at {path}.")
        mediaType = negotiation.choose(parts.header(request, b"accept"), _LISTED)
        if mediaType is None:
            raise NotAcceptable(f"{path} is {' or '.join(_LISTED)}.")
        if path == loc.FORWARDS:
            allow(request, method, Shape.FORWARDS, path)
            number = min(parts.paging(request)[1] or parts.MAX_PAGE, parts.MAX_PAGE)
            forwards, cursor = await self.store.forwards(
                parts.argument(request, "owner"), parts.argument(request, "after"), number)
            if cursor is not None:
                following = access.pagePath(request, loc.FORWARDS, after=cursor, number=number)
                webLink(request, mediaType, self.answering.context(request).absolute(following),
                        "next")
            return _send(request, mediaType, forwards)
        allow(request, method, Shape.FORWARD, path)
        location = path[len(loc.FORWARDS) - 1:]
        if method == "DELETE":
            forward = await self.store.forgetForward(location)
        else:
            found = await self.store.forward(location)
            if found is None:
                raise NotFound(f"Nothing migrated from {location}.")
            forward = found
        return _send(request, mediaType, [forward])


def _query(request: IRequest) -> str:
    """The request's query, with its ``?``, as the client sent it."""
    uri = request.uri.decode("utf-8", "replace")
    return "?" + uri.partition("?")[2] if "?" in uri else ""


def _send(request: IRequest, mediaType: str, forwards: list[Forward]) -> bytes:
    if mediaType == "application/json":
        body = json.dumps([{"location": f.location, "id": f.entityId, "owner": f.owner,
                            "url": f.url, "moved": f.created} for f in forwards],
                          indent=1).encode() + b"\n"
    else:
        body = "".join(f"{f.location} {f.url or 'gone'} {f.owner}\n"
                       for f in forwards).encode()
    request.setHeader(b"Content-Type", f"{mediaType}; charset=utf-8".encode())
    request.setHeader(b"Content-Length", str(len(body)).encode())
    request.setHeader(b"Cache-Control", b"no-store")
    return b"" if request.method == b"HEAD" else body
