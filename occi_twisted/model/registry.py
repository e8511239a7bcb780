"""The registry: every category the server knows, found by identifier or by location.

The standard categories are fixed at start-up; user-defined mixins (tags) come and go through
the query interface.  Those are shared state and live in the store; the registry holds the copy
the process works with, refreshed from the store when they change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from . import core, infrastructure, requests
from .categories import Action, Category, Kind, Mixin
from .errors import BadRequest, Conflict, NotFound
from .locations import isReserved

#: What a user mixin's location may look like: one or more path segments, slash-terminated.
_USER_LOCATION = re.compile(r"/(?:[A-Za-z0-9._~-]+/)+")
#: Identifiers the OCCI 1.2 documents misspell, read as the category they mean.  GFD.225's
#: Appendix A.5 (the mixin instance example, which the query interface must take as it is
#: printed) depends on ``infrastructure#resourcetpl``; GFD.224 defines ``resource_tpl``.
_ERRATA = {
    infrastructure.INFRA + "resourcetpl": infrastructure.RESOURCE_TPL.identifier,
}
_TERM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s\"#<>]{1,512}#")


class Registry:
    """Kinds, mixins and actions by identifier, and kinds and mixins by collection location."""

    def __init__(self, categories: Iterable[Category] = ()) -> None:
        self._byId: dict[str, Category] = {}
        self._byLocation: dict[str, Kind | Mixin] = {}
        for category in categories:
            self._add(category)

    @classmethod
    def standard(cls) -> Registry:
        """A registry with OCCI Core, Infrastructure, and this server's own categories.

        The request kind is among them although clients never create a request with it:
        every entity the server renders has its kind in the query interface (GFD.221
        section 3: an implementation's kinds are discoverable at run time)."""
        categories: list[Category] = [core.ENTITY, core.RESOURCE, core.LINK]
        categories.extend(infrastructure.KINDS)
        categories.append(requests.REQUEST)
        categories.extend(infrastructure.MIXINS)
        for kind in categories[:]:
            if isinstance(kind, Kind):
                categories.extend(kind.actions)
        return cls(categories)

    def offer(self, categories: Iterable[Category]) -> None:
        """Add the categories a driver offers (its boot images as ``os_tpl`` mixins): before
        the store opens, like the standard ones."""
        for category in categories:
            self._add(category)

    def _add(self, category: Category) -> None:
        self._byId[category.identifier] = category
        if isinstance(category, (Kind, Mixin)) and category.location:
            self._byLocation[category.location] = category

    def __iter__(self) -> Iterator[Category]:
        return iter(self._byId.values())

    def kinds(self) -> list[Kind]:
        return [c for c in self._byId.values() if isinstance(c, Kind)]

    def mixins(self) -> list[Mixin]:
        return [c for c in self._byId.values() if isinstance(c, Mixin)]

    def actions(self) -> list[Action]:
        return [c for c in self._byId.values() if isinstance(c, Action)]

    def get(self, identifier: str) -> Category | None:
        found = self._byId.get(identifier)
        if found is None and identifier in _ERRATA:
            return self._byId.get(_ERRATA[identifier])
        return found

    def related(self, category: Category) -> list[Category]:
        """``category`` and the categories related to it, in the registry's order: what the
        query interface answers when filtered by ``category`` (GFD.223 section 5.1: "only
        Category instances related to the given Category instance. This includes Kinds,
        Actions and Mixins").

        GFD.223 does not define the relation; here it is what each category names or is
        named by, one step away: a kind's actions and the mixins that apply to it (those
        that name it, or a kind it derives from, in their ``applies`` or in that of a mixin
        they depend on -- not every mixin that applies to anything); a mixin's actions, the
        mixins it depends on and those that depend on it, and the kinds it applies to; an
        action's kinds and mixins, those that define it.  Parent kinds are not included:
        filtering by compute answers compute, not resource and entity too.
        """
        found: set[str] = {category.identifier}
        if isinstance(category, Kind):
            found.update(action.identifier for action in category.actions)
            found.update(mixin.identifier for mixin in self.mixins()
                         if _names(mixin, category))
        elif isinstance(category, Mixin):
            found.update(action.identifier for action in category.actions)
            found.update(mixin.identifier for mixin in category.depends)
            found.update(kind.identifier for kind in category.applies)
            found.update(mixin.identifier for mixin in self.mixins()
                         if category in mixin.depends)
        else:
            found.update(owner.identifier for owner in self
                         if isinstance(owner, (Kind, Mixin)) and category in owner.actions)
        return [known for known in self if known.identifier in found]

    def actionByTerm(self, term: str, offered: Iterable[str]) -> Action:
        """The action called ``term`` among the identifiers ``offered`` (``?action=term``)."""
        for identifier in offered:
            action = self._byId.get(identifier)
            if isinstance(action, Action) and action.term == term:
                return action
        raise BadRequest(f"No action called {term!r} is offered here.")

    def atLocation(self, location: str) -> Kind | Mixin | None:
        """The kind or mixin whose collection is at ``location`` (a path ending in ``/``)."""
        return self._byLocation.get(location)

    def defineUserMixin(self, mixin: Mixin) -> Mixin:
        """Check a user-defined mixin and add it; returns the mixin as registered."""
        if not _TERM.fullmatch(mixin.term):
            raise BadRequest(f"{mixin.term!r} is not a valid category term.")
        if not _SCHEME.fullmatch(mixin.scheme):
            raise BadRequest(f"{mixin.scheme!r} is not a valid category scheme: it must be a "
                             "URI ending in '#'.")
        existing = self._byId.get(mixin.identifier)
        if existing is not None:
            if (isinstance(existing, Mixin) and existing.owner is not None
                    and existing.location == mixin.location):
                return existing
            raise Conflict(f"Category {mixin.identifier} is already defined.")
        if not mixin.location or not _USER_LOCATION.fullmatch(mixin.location):
            raise BadRequest("A user mixin needs a location: a path such as /my_tag/ "
                             "ending in '/'.")
        self._checkSpace(mixin.location)
        self._add(mixin)
        return mixin

    def _checkSpace(self, location: str) -> None:
        """Refuse a user mixin's ``location`` unless it is a space of its own: not the
        server's (``/log/``, ``/-/``, ``/templates/``...), not a dot segment, and neither
        inside nor around another collection -- inside a kind's, it would stand for the
        entities and sub-resources there (``/compute/victim/``)."""
        if isReserved(location) or any(part in (".", "..") for part in location.split("/")):
            raise BadRequest(f"The location {location} is the server's own; a user mixin "
                             "needs a path such as /my_tag/ outside it.")
        for taken, holder in self._byLocation.items():
            if location == taken:
                raise Conflict(f"The location {location} is already taken.")
            if location.startswith(taken):
                raise Conflict(f"The location {location} lies inside {taken}, the "
                               f"collection of {holder.term}; choose one outside it.")
            if taken.startswith(location):
                raise Conflict(f"The location {location} would hold {taken}, the "
                               f"collection of {holder.term}; choose one beside it.")

    def removeUserMixin(self, identifier: str) -> Mixin:
        found = self._byId.get(identifier)
        if found is None:
            raise NotFound(f"Category {identifier} is not known to this server.")
        if not isinstance(found, Mixin) or found.owner is None:
            raise Conflict(f"Category {identifier} is defined by the server and cannot be "
                           "removed.")
        del self._byId[identifier]
        if found.location:
            self._byLocation.pop(found.location, None)
        return found


def _names(mixin: Mixin, kind: Kind) -> bool:
    """Whether ``mixin``, or a mixin it depends on, names ``kind`` (or a kind ``kind``
    derives from) among the kinds it applies to."""
    return any(kind.isA(target) for member in mixin.closure() for target in member.applies)
