"""Identity: who a request acts for, and what may reach the server at all.

Design: how the HTTP room uses this room
----------------------------------------
At start-up the service checks the ``--listen`` strings (:func:`checkListeners`: a
:class:`ListenerError` is the one line the launcher prints) and remembers which listeners
are TLS, whose responses carry ``Strict-Transport-Security``.  With ``--users`` it builds
a :class:`UserDirectory` (a :class:`UsersError` is again one line; SIGHUP calls
:meth:`UserDirectory.reload`), a :class:`BcryptChecker` on a thread pool of its own, an
:class:`AddressChecker` over the store's "which compute has this address" query, and one
``twisted.cred`` portal over them and a :class:`Realm`.  Without ``--users`` there is no
portal: every request acts as :data:`SINGLE_USER`, and the listener check has made sure
only this machine can reach it.

Per request, in the one place before routing:

1. :func:`guard` (method, headers, :class:`HostPolicy`, scheme) — a :class:`Refusal` is
   answered with its code (421 or 403) and nothing else happens.
2. :func:`clientAddress` (peer, headers, ``--trusted-proxy`` networks) — the address the
   login throttle and introspection speak of.
3. Basic credentials (decoded by ``twisted.web.guard.BasicCredentialFactory``): if the
   :class:`LoginThrottle` has a ``retryAfter`` for the address, 429 with ``Retry-After``;
   else ``portal.login(credentials, None, IPrincipal)``.  ``UnauthorizedLogin`` counts one
   failure for the address and answers 401 with ``WWW-Authenticate: Basic realm="occi",
   charset="UTF-8"``, the same for a wrong password and an unknown name.
4. No credentials: ``portal.login(ClientAddress(address), None, IPrincipal)`` (unless
   ``--no-introspection``) gives an introspection principal bound to one compute, which may
   read that compute, its links and ``log/``, read and write its ``notes/``, and is sent
   from ``/-/self`` to it; any other route, or no such compute, answers the 401 challenge.

The :class:`Principal` is then the request's, handed to every store query as the owner:
the store, not each route, filters by ``principal.name`` unless ``principal.isAdmin``
(``?owner=`` narrows an admin's view), answers another user's thing as absent (404, never
403), stamps the owner and the event's author on what is written, and checks
``principal.quota`` in the transaction that would exceed it.  The XMPP room maps a
subscriber to a principal with :meth:`UserDirectory.principalOfJID`.  Principals are
immutable values: a reload replaces them for the next request and never changes one a
request already holds.
"""

from .addresses import (
    clientAddress,
    introspectionPrincipal,
    parseForwarded,
    parseTrustedProxies,
)
from .checker import BcryptChecker, VerificationCache
from .directory import UserDirectory
from .guards import HostPolicy, Refusal, checkHost, checkOrigin, guard
from .listeners import Listener, ListenerError, checkListeners, listenerOf
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
from .throttle import LoginThrottle
from .users import UsersError

__all__ = [
    "ADMIN",
    "INTROSPECT",
    "SINGLE_USER",
    "USER",
    "AddressChecker",
    "BcryptChecker",
    "ClientAddress",
    "HostPolicy",
    "IClientAddress",
    "IPrincipal",
    "Listener",
    "ListenerError",
    "LoginThrottle",
    "Principal",
    "Quota",
    "Realm",
    "Refusal",
    "UserDirectory",
    "UsersError",
    "VerificationCache",
    "checkHost",
    "checkListeners",
    "checkOrigin",
    "clientAddress",
    "guard",
    "introspectionPrincipal",
    "introspector",
    "listenerOf",
    "parseForwarded",
    "parseTrustedProxies",
]
