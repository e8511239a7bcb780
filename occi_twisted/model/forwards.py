"""Forwards: where an entity that migrated to another endpoint went.

The walkthrough: "if you migrate a resource from one implementation to another then its
identifier will change (though in this instance the source should provide a HTTP 301 Moved
Permanently response along with the new location, assuming it is known, or HTTP 410 Gone
otherwise)".  A forward is remembered in the transaction that removes the entity here
(:class:`RememberForward` in its change set), so an entity is never both gone and
unforwarded, nor forwarded and still here.  An operator may forget where it went: the
forward stays, without its URL, and the location answers 410 from then on -- never 404,
which is what a deleted entity answers, nor a new entity's answer: a forwarded id is not
taken again here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Forward:
    """The entity ``entityId`` that was at ``location`` (a path here) is at ``url`` now
    (``None``: no longer known)."""

    location: str
    entityId: str
    #: Whose entity it was: only they (and administrators) are told where it went.
    owner: str
    url: str | None
    #: When it moved, in seconds since the epoch.
    created: float

    @property
    def gone(self) -> bool:
        """Whether its new location was forgotten: 410 rather than 301."""
        return self.url is None


@dataclass(frozen=True)
class RememberForward:
    """A change that remembers ``forward`` with the rest of its change set (replacing a
    forward of the same location, as an entity that came back and left again has)."""

    forward: Forward

