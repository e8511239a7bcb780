"""Identity: who a request acts for, and what may reach the server at all."""

from .addresses import (
    clientAddress,
    introspectionPrincipal,
    parseForwarded,
    parseTrustedProxies,
)
from .checker import BcryptChecker, VerificationCache
from .directory import UserDirectory
from .principal import (
    ADMIN,
    INTROSPECT,
    SINGLE_USER,
    USER,
    IPrincipal,
    Principal,
    Quota,
    introspector,
)
from .realm import AddressChecker, ClientAddress, IClientAddress, Realm
from .users import UsersError

__all__ = [
    "ADMIN",
    "INTROSPECT",
    "SINGLE_USER",
    "USER",
    "AddressChecker",
    "BcryptChecker",
    "ClientAddress",
    "IClientAddress",
    "IPrincipal",
    "Principal",
    "Quota",
    "Realm",
    "UserDirectory",
    "UsersError",
    "VerificationCache",
    "clientAddress",
    "introspectionPrincipal",
    "introspector",
    "parseForwarded",
    "parseTrustedProxies",
]
