"""Who a subscriber is, and whose events it may read.

Each user of the server (``--users``) names the bare JID their XMPP requests come from
(``[users.NAME] jid``); ``whoIs`` maps a bare JID to that user's principal, or to ``None``
for a JID that is nobody's (:meth:`~occi_twisted.identity.UserDirectory.principalOfJID`).
A user reads the events of what it owns, an admin every event.  The root and the kind
collections are readable by every known user, but each of their subscribers is sent, and
each reader of their history is shown, only the events it may read.

Without ``whoIs`` (single-user mode, no ``--users``) every JID is the one administrator:
everything is as it was before there were users, and no JID is even parsed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from twisted.words.protocols.jabber.jid import JID, InvalidFormat, internJID

from ..identity import SINGLE_USER, Principal
from ..model.events import Event

#: A bare JID (``local@domain``) to the principal of the user it is, or ``None``.
WhoIs = Callable[[str], "Principal | None"]


def ownerSeenBy(principal: Principal) -> str | None:
    """The only owner whose events ``principal`` may read; ``None`` for every owner's."""
    return None if principal.isAdmin else principal.name


def mayRead(owner: str | None, event: Event) -> bool:
    """Whether the reader of ``owner``'s events (see :func:`ownerSeenBy`) reads ``event``."""
    return owner is None or owner == event.owner


@dataclass(frozen=True, slots=True)
class Reader:
    """A subscriber as the publisher keeps it: where its notifications go, and the only
    owner whose events it is sent (``None``: everyone's).  Decided once per subscriber
    when the node's subscribers are read, so that the test per event and subscriber is
    one comparison of strings."""

    jid: str
    owner: str | None

    def reads(self, event: Event) -> bool:
        return mayRead(self.owner, event)


class Tenancy:
    """Who a JID is, through ``whoIs`` (see the module's docstring).  ``whoIs`` is asked
    anew each time: after a reload of the users it answers for the new ones."""

    def __init__(self, whoIs: WhoIs | None = None) -> None:
        self.whoIs = whoIs

    def principalOf(self, jid: JID) -> Principal | None:
        """The user a request from ``jid`` (any resource) acts for, or ``None``."""
        if self.whoIs is None:
            return SINGLE_USER
        return self.whoIs(jid.userhost())

    def readerOf(self, jid: str) -> Reader | None:
        """The reader a stored subscription's ``jid`` is, or ``None`` if it is nobody's
        (any more): it is sent nothing."""
        if self.whoIs is None:
            return Reader(jid, None)
        try:
            principal = self.whoIs(internJID(jid).userhost())
        except InvalidFormat:
            return None
        return None if principal is None else Reader(jid, ownerSeenBy(principal))
