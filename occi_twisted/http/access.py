"""Who may see what: the one place the HTTP face asks whether the request's principal may
see an entity, a user mixin or an event, and which owner a listing is narrowed to.

A user sees only what they own; another user's thing is answered exactly as if it did not
exist (404, never 403: existence is not leaked).  An administrator sees everything, or one
user's things when ``?owner=NAME`` narrows the view.  An introspection principal (a request
from a compute's own address, see :mod:`occi_twisted.identity`) sees its compute and the
links from it, and reaches nothing but its compute, its links, its ``log/`` and its
``notes/``: :func:`admitIntrospector` turns it away from every other route with the 401
challenge before the route runs.

The rooms ask :meth:`.room.Room.visible` (every entity they load goes through it) and
:meth:`.room.Room.query` (every listing is built there); feeds ask :func:`ownerFilter`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from twisted.web.iweb import IRequest

from ..identity import Principal
from ..model import Entity, Mixin
from ..model import locations as loc
from ..model.errors import Unauthorized
from ..store.interface import IEntityStore
from . import parts

_READING = ("GET", "HEAD")


def ownerFilter(request: IRequest) -> str | None:
    """The only owner whose things the request may see, or ``None`` for all of them (an
    administrator without ``?owner=``)."""
    principal = parts.principalOf(request)
    if principal.isAdmin:
        return parts.argument(request, "owner")
    return principal.name


def narrowing(request: IRequest) -> list[tuple[str, str]]:
    """The query arguments that narrowed a listing or feed, for its paging links to keep (a
    next page of everything after a first page of bob's would be a different listing): the
    ``owner`` an administrator asked for, and ``occi.*`` attribute filters."""
    kept = []
    owner = parts.argument(request, "owner")
    if owner is not None and parts.principalOf(request).isAdmin:
        kept.append(("owner", owner))
    for name, values in (request.args or {}).items():
        if name.startswith(b"occi.") and values:
            kept.append((name.decode("utf-8", "replace"), values[0].decode("utf-8", "replace")))
    return kept


def pagePath(request: IRequest, path: str, **paging: int | str) -> str:
    """``path`` with the ``paging`` arguments and what narrowed the request
    (:func:`narrowing`): where a paging link of ``request`` leads."""
    arguments = [(name, str(value)) for name, value in paging.items()]
    arguments += narrowing(request)
    return f"{path}?{urlencode(arguments)}" if arguments else path


def seesOwner(request: IRequest, owner: str) -> bool:
    """Whether things owned by ``owner`` are visible to the request."""
    wanted = ownerFilter(request)
    return wanted is None or wanted == owner


def sees(request: IRequest, entity: Entity) -> bool:
    """Whether ``entity`` is visible to the request."""
    principal = parts.principalOf(request)
    if principal.isIntrospector:
        return _isOwnCompute(principal, entity)
    return seesOwner(request, entity.owner)


def seesMixin(request: IRequest, mixin: Mixin) -> bool:
    """Whether a mixin is visible: the server's (and templates) are for everyone, a user
    mixin for its owner."""
    return mixin.owner is None or seesOwner(request, mixin.owner)


async def admitIntrospector(request: IRequest, method: str, store: IEntityStore) -> None:
    """Turn an introspection principal away (401 with the Basic challenge) from everything
    but reading its compute, the links from it and its log, and its notes."""
    principal = parts.principalOf(request)
    if not principal.isIntrospector or principal.compute is None:
        return
    path = parts.pathOf(request)
    compute = await store.get(principal.compute)
    if compute is not None:
        if path == loc.SELF and method in _READING:
            return
        for place in loc.placesOf(path):
            if isinstance(place, loc.Notes) and place.entity == compute.location:
                return
            if method not in _READING:
                continue
            if isinstance(place, loc.Log) and place.owner == compute.location:
                return
            if isinstance(place, loc.EntityAt):
                if place.path == compute.location:
                    return
                found = await store.get(place.entityId)
                if found is not None and found.location == place.path and \
                        _isOwnCompute(principal, found):
                    return
    raise Unauthorized("Sign in to use this server: without credentials, a compute may "
                       "only read itself, its links and its log, and keep its notes.")


def _isOwnCompute(principal: Principal, entity: Entity) -> bool:
    """The introspector's compute, or a link from it."""
    if entity.id == principal.compute:
        return True
    source = entity.source if entity.isLink else None
    return source is not None and source.rpartition("/")[2] == principal.compute
