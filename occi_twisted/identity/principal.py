"""Who a request acts for: a principal (name, role, JID, quotas), the avatar of every login."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from zope.interface import Attribute, Interface, implementer

#: Sees and touches everything; ``?owner=NAME`` narrows what it sees.
ADMIN: Final = "admin"
#: Sees and touches only what it owns.
USER: Final = "user"
#: An anonymous request from a compute's own address: that compute and nothing else.
INTROSPECT: Final = "introspect"
#: The roles an operator may give in ``[users.NAME] role``.
ROLES: Final = (ADMIN, USER)
#: How an introspection principal's name begins; no user name can (they hold no ``:``).
COMPUTE_PREFIX: Final = "compute:"


@dataclass(frozen=True, kw_only=True)
class Quota:
    """Limits of one user, each ``None`` when unlimited (OCCI.md, "Identity, tenancy and
    limits"); the store checks them in the transaction that would exceed them."""

    cores: int | None = None
    #: GiB of memory over the user's computes.
    memory: float | None = None
    #: GiB of storage over the user's storages.
    storage: float | None = None
    entities: int | None = None
    #: Requests running at once.
    requests: int | None = None


UNLIMITED: Final = Quota()


class IPrincipal(Interface):
    """The avatar the realm hands back: whom a request acts for."""

    name = Attribute("The owner name the store records and filters by (str).")
    role = Attribute("ADMIN, USER or INTROSPECT.")
    jid = Attribute("The bare JID that XMPP subscriptions of this user come from, or None.")
    quota = Attribute("The user's Quota.")
    compute = Attribute("For INTROSPECT, the id of the one compute it may see; else None.")


@implementer(IPrincipal)
@dataclass(frozen=True, kw_only=True)
class Principal:
    """An immutable value, so a request can hold it while a reload replaces the users."""

    name: str
    role: str = USER
    jid: str | None = None
    quota: Quota = field(default=UNLIMITED)
    compute: str | None = None

    @property
    def isAdmin(self) -> bool:
        return self.role == ADMIN

    @property
    def isIntrospector(self) -> bool:
        return self.role == INTROSPECT


#: Single-user mode (no ``--users``): every request acts as this one administrator.
SINGLE_USER: Final = Principal(name="admin", role=ADMIN)


def introspector(computeId: str) -> Principal:
    """The anonymous principal of a request from ``computeId``'s own address.  Its name,
    ``compute:ID``, can be no user's (user names hold no ``:``, as in htpasswd), so it
    can serve as the avatar id, and the author of the notes its agent writes reads as the
    compute."""
    return Principal(name=f"{COMPUTE_PREFIX}{computeId}", role=INTROSPECT, compute=computeId)
