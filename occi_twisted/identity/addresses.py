"""Whose address a request comes from, and whether that address is a compute's own.

A ``Forwarded`` (RFC 7239) or ``X-Forwarded-For`` header is anyone's to write; it is
believed only when the peer that sent it is a proxy the operator named
(``--trusted-proxy CIDR``), and then only up to the first hop that is not such a proxy:
what lies further left was written by the client and proves nothing.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Final, Protocol

from .principal import Principal, introspector

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class HeaderSource(Protocol):
    """What the guards read headers from: :class:`twisted.web.http_headers.Headers` is one."""

    def getRawHeaders(self, name: bytes) -> Sequence[bytes] | None: ...


def headerValues(headers: HeaderSource, name: bytes) -> list[str]:
    """Every value of a header, as text (Latin-1, which decodes any byte: headers are
    parsed here, never trusted to be clean)."""
    return [value.decode("latin-1") for value in headers.getRawHeaders(name) or ()]


_TOKEN: Final = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED: Final = r'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t !-~\x80-\xff])*"'
_PAIR: Final = re.compile(rf"[ \t]*({_TOKEN})=({_TOKEN}|{_QUOTED})[ \t]*")
_ESCAPED: Final = re.compile(r"\\(.)", re.DOTALL)


def parseForwarded(values: Iterable[str]) -> list[dict[str, str] | None]:
    """The elements of ``Forwarded`` header values, left (the client's side) to right (the
    nearest proxy), each a mapping of lower-case parameter names to values; an element
    that breaks the grammar is ``None`` rather than an error, so that a client's garbage
    on the left cannot hide what a trusted proxy appended on the right."""
    elements: list[dict[str, str] | None] = []
    for text in values:
        position = 0
        while True:
            element, position = _elementAt(text, position)
            if element is None or element:  # empty list elements are no elements
                elements.append(element)
            if position >= len(text):
                break
            position += 1  # past the comma
    return elements


def _elementAt(text: str, position: int) -> tuple[dict[str, str] | None, int]:
    """The element from ``position`` (its pairs, or None when it breaks the grammar, as a
    parameter named twice does) and where it ends: at its comma, or the end."""
    pairs: dict[str, str] = {}
    while True:
        pair = _PAIR.match(text, position)
        if pair:
            name, value = pair[1].lower(), pair[2]
            if name in pairs:
                break
            pairs[name] = _ESCAPED.sub(r"\1", value[1:-1]) if value[0] == '"' else value
            position = pair.end()
        while position < len(text) and text[position] in " \t":
            position += 1
        if position < len(text) and text[position] == ";":
            position += 1
        elif position == len(text) or text[position] == ",":
            return pairs, position
        else:
            break
    return None, _endOfElement(text, position)


def _endOfElement(text: str, position: int) -> int:
    """Where a broken element ends: at the next comma outside quotes, or at the end (an
    unclosed quote runs to the end, as a recipient cannot tell where it should stop)."""
    quoted = False
    while position < len(text):
        character = text[position]
        if quoted and character == "\\":
            position += 1
        elif character == '"':
            quoted = not quoted
        elif character == "," and not quoted:
            return position
        position += 1
    return len(text)


def normalAddress(text: str) -> str | None:
    """The canonical text of an IP address (IPv4-mapped IPv6 as IPv4), or None."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _nodeAddress(node: str) -> str | None:
    """The address in a ``for=`` node (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``)."""
    if node.startswith("["):
        return normalAddress(node[1:node.find("]")]) if "]" in node else None
    if node.count(":") == 1:
        node = node.partition(":")[0]
    return normalAddress(node)


def parseTrustedProxies(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """The ``--trusted-proxy`` networks; a bad one is a ValueError whose message is one line."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError:
            raise ValueError(f"--trusted-proxy must be an address or a network such as "
                             f"10.0.0.0/8, not {cidr[:60]!r}") from None
    return tuple(networks)


def _trusted(address: str | None, proxies: Sequence[Network]) -> bool:
    if address is None:
        return False
    parsed = ipaddress.ip_address(address)
    return any(parsed in network for network in proxies)


def clientAddress(peer: str, headers: HeaderSource, proxies: Sequence[Network]) -> str:
    """The address a request comes from: the peer's own, unless the peer is a trusted proxy,
    then the nearest hop its forwarding headers name that is not itself a trusted proxy.
    A hop a proxy chose to hide (``for=unknown``, ``for=_secret``) or garbled is
    ``"unknown"``: no compute's address, and one key for the login throttle."""
    address = normalAddress(peer)
    if not proxies or not _trusted(address, proxies):
        return address or peer
    forwarded = headerValues(headers, b"forwarded")
    hops: list[str | None]
    if forwarded:
        hops = [element.get("for") if element is not None else None
                for element in parseForwarded(forwarded)]
    else:
        hops = [hop.strip() for value in headerValues(headers, b"x-forwarded-for")
                for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _nodeAddress(hop) if hop is not None else None
        if not _trusted(address, proxies):
            return address or "unknown"
    # Every hop is a trusted proxy: the request began inside, at the leftmost of them.
    return address or peer


async def introspectionPrincipal(
        address: str, lookup: Callable[[str], Awaitable[str | None]]) -> Principal | None:
    """The anonymous principal of a request from ``address`` when that address is a
    compute's ``occi.networkinterface.address`` (``lookup`` answers which compute, if
    any), bound to that one compute; None for any other address."""
    normal = normalAddress(address)
    if normal is None:
        return None
    computeId = await lookup(normal)
    return introspector(computeId) if computeId is not None else None
