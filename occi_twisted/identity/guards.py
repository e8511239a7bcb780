"""What a web page the operator merely visits must not be able to do to the server.

Two attacks reach a server on loopback through the operator's own browser: a page from
another origin submitting a form (``_method=DELETE`` to ``/compute/``), and DNS rebinding
(a name of the attacker's that now resolves to 127.0.0.1, so the page is "same origin" to
the browser).  The first is refused by ``Origin`` and ``Sec-Fetch-Site``, which browsers
set and pages cannot; the second by the ``Host`` header, which carries the attacker's name.

Pure functions of the method, the headers and the :class:`HostPolicy`, each answering a
:class:`Refusal` or ``None``; the HTTP room turns a refusal into its status.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from .addresses import HeaderSource, headerValues

MISDIRECTED: Final = 421
FORBIDDEN: Final = 403
#: The methods that change nothing (RFC 9110, 9.2.1): a foreign page may send them.
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
#: ``Sec-Fetch-Site`` values that are the server's own pages or the user's own doing.
_OWN_SITES: Final = frozenset({"same-origin", "none"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
#: A Host header: a name or IPv4 address, or an IPv6 address in brackets; then a port.
_HOST: Final = re.compile(r"(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._~!$&'()*+,;=%-]+))"
                          r"(?::([0-9]{1,5}))?")


@dataclass(frozen=True)
class Refusal:
    """A request the guards turn away: the status to answer and why, for the body."""

    code: int
    reason: str


@dataclass(frozen=True)
class HostPolicy:
    """The names this server answers to besides loopback, and the origin of its base URL."""

    names: frozenset[str] = frozenset()
    baseOrigin: tuple[str, str, int] | None = None

    @classmethod
    def of(cls, baseURL: str | None, allowedHosts: Iterable[str] = ()) -> HostPolicy:
        """From ``--base-url`` and the ``--allowed-host`` names; a name that cannot be a
        Host is a ValueError whose message is one line."""
        names = set()
        for allowed in allowedHosts:
            parsed = _hostOf(allowed)
            if parsed is None:
                raise ValueError(f"--allowed-host must be a host name or address, "
                                 f"not {allowed[:60]!r}")
            names.add(parsed[0])
        baseOrigin = _originOf(baseURL) if baseURL else None
        if baseOrigin is not None:
            names.add(baseOrigin[1])
        return cls(frozenset(names), baseOrigin)


@functools.lru_cache(maxsize=1024)
def _hostOf(value: str) -> tuple[str, int | None] | None:
    """``(host, port)`` of a Host header value, the host lower-cased without a final dot;
    kept, as :func:`isLoopbackHost` is, since clients send the same Host every time."""
    match = _HOST.fullmatch(value.strip())
    if match is None:
        return None
    host = (match[1] or match[2]).lower()
    host = host[:-1] if host.endswith(".") and len(host) > 1 else host
    port = int(match[3]) if match[3] else None
    return (host, port)


def _originOf(value: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an origin or URL, the port filled in by the scheme."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    host = parts.hostname.rstrip(".") or parts.hostname
    return (scheme, host, port if port is not None else _DEFAULT_PORTS[scheme])


@functools.lru_cache(maxsize=1024)
def isLoopbackHost(host: str) -> bool:
    """``localhost`` and its subdomains (RFC 6761), 127.0.0.0/8, ``::1``.  Asked of every
    request's ``Host``, which a client sends the same each time: the answers are kept (a
    bounded few, whatever hosts are sent)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def checkHost(headers: HeaderSource, policy: HostPolicy) -> Refusal | None:
    """421 for a Host that is not ours, whatever its port.  A request without Host (HTTP/1.0)
    passes: it comes from no browser, and browsers are what rebinding abuses."""
    values = headerValues(headers, b"host")
    if not values:
        return None
    parsed = _hostOf(values[0]) if len(values) == 1 else None
    if parsed is not None and (parsed[0] in policy.names or isLoopbackHost(parsed[0])):
        return None
    return Refusal(MISDIRECTED, "this server does not answer to that host name")


def checkOrigin(method: str, headers: HeaderSource, policy: HostPolicy,
                scheme: str = "http") -> Refusal | None:
    """403 for an unsafe method sent by another site's page: ``Sec-Fetch-Site`` other than
    ``same-origin`` or ``none``, or an ``Origin`` that is neither the base URL's nor the
    request's own (its scheme and Host, which :func:`checkHost` vouched for).  Without
    either header the request comes from no browser (curl, scripts) and passes."""
    if method.upper() in SAFE_METHODS:
        return None
    sites = headerValues(headers, b"sec-fetch-site")
    if sites and (len(sites) > 1 or sites[0].strip().lower() not in _OWN_SITES):
        return Refusal(FORBIDDEN, "a page of another site may not change anything here")
    origins = headerValues(headers, b"origin")
    if not origins:
        return None
    origin = _originOf(origins[0]) if len(origins) == 1 else None
    if origin is not None and origin in _ownOrigins(headers, policy, scheme.lower()):
        return None
    return Refusal(FORBIDDEN, "a page of another origin may not change anything here")


def _ownOrigins(headers: HeaderSource, policy: HostPolicy,
                scheme: str) -> list[tuple[str, str, int]]:
    own = [policy.baseOrigin] if policy.baseOrigin is not None else []
    hosts = headerValues(headers, b"host")
    parsed = _hostOf(hosts[0]) if len(hosts) == 1 and scheme in _DEFAULT_PORTS else None
    if parsed is not None:
        host, port = parsed
        own.append((scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]))
    return own


def guard(method: str, headers: HeaderSource, policy: HostPolicy,
          scheme: str = "http") -> Refusal | None:
    """Both guards, Host first (a rebinding page must not even learn what its request
    would have been refused for)."""
    return checkHost(headers, policy) or checkOrigin(method, headers, policy, scheme)
