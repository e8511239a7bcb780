"""Identity: who a request acts for, and what may reach the server at all."""

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
from .users import UsersError

__all__ = [
    "ADMIN",
    "INTROSPECT",
    "SINGLE_USER",
    "USER",
    "IPrincipal",
    "Principal",
    "Quota",
    "UserDirectory",
    "UsersError",
    "introspector",
]
