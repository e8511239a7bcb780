"""The portal: credentials in, a :class:`Principal` (or a resource bound to one) out.

Two ways in: Basic credentials checked by :class:`.checker.BcryptChecker`, and a request
without credentials whose address is a compute's own, checked by :class:`AddressChecker`.
Avatar ids are, as ``twisted.cred`` has them, bytes: the principal's name in UTF-8, a user
name or ``compute:ID``, which no user name can be.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import ICredentials
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import IRealm
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.web.resource import IResource
from zope.interface import Attribute, implementer

from .addresses import introspectionPrincipal
from .checker import AvatarId
from .directory import UserDirectory
from .principal import COMPUTE_PREFIX, IPrincipal, Principal, introspector


class IClientAddress(ICredentials):
    """No credentials but the address the request came from (after the trusted-proxy rule)."""

    address = Attribute("The client's IP address, as text.")


@implementer(IClientAddress)
class ClientAddress:
    def __init__(self, address: str) -> None:
        self.address = address


#: Which compute, if any, has this address (an ``occi.networkinterface.address``).
ComputeLookup = Callable[[str], Awaitable[str | None]]


@implementer(ICredentialsChecker)
class AddressChecker:
    """Lets a compute's own address in, as that compute's introspection principal."""

    credentialInterfaces = (IClientAddress,)

    def __init__(self, lookup: ComputeLookup) -> None:
        self._lookup = lookup

    def requestAvatarId(self, credentials: IClientAddress) -> Deferred[AvatarId]:
        async def avatarId() -> AvatarId:
            found = await introspectionPrincipal(credentials.address, self._lookup)
            if found is None:
                raise UnauthorizedLogin("Unauthorized")
            return found.name.encode("utf-8")

        return ensureDeferred(avatarId())


@implementer(IRealm)
class Realm:
    """Hands back the principal for :class:`IPrincipal`, or, for :class:`IResource` (as
    :class:`twisted.web.guard.HTTPAuthSessionWrapper` asks), the resource ``resourceFor``
    binds to it.  A user's principal is looked up at each login, so a role or quota
    changed by a reload applies to the next request."""

    def __init__(self, directory: UserDirectory | None,
                 resourceFor: Callable[[Principal], IResource] | None = None) -> None:
        self._directory = directory
        self._resourceFor = resourceFor

    def principalFor(self, avatarId: AvatarId) -> Principal:
        name = avatarId.decode("utf-8") if isinstance(avatarId, bytes) else ""
        if name.startswith(COMPUTE_PREFIX):
            return introspector(name.removeprefix(COMPUTE_PREFIX))
        found = self._directory.principalOf(name) if self._directory is not None else None
        if found is None:  # removed by a reload since its password was checked
            raise UnauthorizedLogin("Unauthorized")
        return found

    def requestAvatar(self, avatarId: Any, mind: object,
                      *interfaces: Any) -> tuple[Any, Any, Callable[[], None]]:
        principal = self.principalFor(avatarId)
        for interface in interfaces:
            if interface is IPrincipal:
                return (IPrincipal, principal, _nothing)
            if interface is IResource and self._resourceFor is not None:
                return (IResource, self._resourceFor(principal), _nothing)
        raise NotImplementedError(f"the realm offers no avatar for {interfaces!r}")


def _nothing() -> None:
    """Logging out: a principal holds nothing to release."""

