"""Whose address a request comes from (forwarding headers believed from trusted proxies
only), and the introspection principal of a compute's own address."""

from __future__ import annotations

import pytest
import pytest_twisted
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.web.http_headers import Headers

from occi_twisted.identity import (
    INTROSPECT,
    clientAddress,
    introspectionPrincipal,
    parseForwarded,
    parseTrustedProxies,
)
from occi_twisted.identity.addresses import normalAddress

PROXIES = parseTrustedProxies(["10.0.0.0/8", "2001:db8:ffff::/48", "192.0.2.1"])


@pytest.mark.parametrize(("values", "elements"), [
    (['for=192.0.2.60;proto=http;by=203.0.113.43'],
     [{"for": "192.0.2.60", "proto": "http", "by": "203.0.113.43"}]),
    (['For="[2001:db8:cafe::17]:4711"'], [{"for": "[2001:db8:cafe::17]:4711"}]),
    (['for=192.0.2.43, for=198.51.100.17'], [{"for": "192.0.2.43"}, {"for": "198.51.100.17"}]),
    (['for=192.0.2.43', 'for=198.51.100.17'], [{"for": "192.0.2.43"}, {"for": "198.51.100.17"}]),
    (['for="a,b\\"c";by=x , ,for=unknown'], [{"for": 'a,b"c', "by": "x"}, {"for": "unknown"}]),
    (['for=_hidden ; proto=https'], [{"for": "_hidden", "proto": "https"}]),
    # Garbage on the left does not hide what a proxy appended on the right.
    (['for=1.2.3.4 garbage, for=10.1.1.1'], [None, {"for": "10.1.1.1"}]),
    (['for=1.2.3.4;for=5.6.7.8, for=10.1.1.1'], [None, {"for": "10.1.1.1"}]),
    (['for="1.2.3.4', 'for=10.1.1.1'], [None, {"for": "10.1.1.1"}]),
    (['for="1.2.3.4, for=10.1.1.1'], [None]),  # an unclosed quote runs to the end
    ([''], []),
    (['=', ';;', 'for='], [None, None]),
])
def test_forwarded(values: list[str], elements: list[dict[str, str] | None]) -> None:
    assert parseForwarded(values) == elements


_token = st.text("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789!#$%&'*+.^_`|~-", min_size=1,
                 max_size=12)
#: What a quoted-string may hold (RFC 9110): tab, space, visible ASCII and obs-text.
_value = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
                 | st.just("\t"), max_size=12)
_element = st.dictionaries(_token.map(str.lower), _value, min_size=1, max_size=3)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# No deadline: the machine is shared, and a slow example is no wrong answer.
@settings(deadline=None)
@given(st.lists(_element, max_size=4), st.sampled_from([",", ", ", " ,\t"]))
def test_written_elements_read_back(elements: list[dict[str, str]], comma: str) -> None:
    header = comma.join(";".join(f"{name}={_quoted(value)}" for name, value in element.items())
                        for element in elements)
    assert parseForwarded([header]) == elements


@settings(deadline=None)
@given(st.lists(st.text(max_size=40)
                | st.text(',;="\\ \tfor=[]:.1a_', max_size=40), max_size=3))
def test_any_header_parses_without_an_exception(values: list[str]) -> None:
    for element in parseForwarded(values):
        assert element is None or all(name == name.lower() for name in element)


@settings(deadline=None)
@given(st.text(max_size=60), st.text(max_size=60), st.sampled_from(["10.9.8.7", "203.0.113.5"]))
def test_client_address_never_fails(forwarded: str, xff: str, peer: str) -> None:
    headers = Headers({b"forwarded": [forwarded.encode("utf-8")],
                       b"x-forwarded-for": [xff.encode("utf-8")]})
    address = clientAddress(peer, headers, PROXIES)
    assert address in (peer, "unknown") or normalAddress(address) == address


def forwarding(forwarded: str | None = None, xff: str | None = None) -> Headers:
    headers = Headers()
    if forwarded is not None:
        headers.addRawHeader(b"Forwarded", forwarded.encode())
    if xff is not None:
        headers.addRawHeader(b"X-Forwarded-For", xff.encode())
    return headers


@pytest.mark.parametrize(("peer", "headers", "address"), [
    # Not a trusted proxy: whatever it says is ignored.
    ("203.0.113.5", forwarding("for=127.0.0.2"), "203.0.113.5"),
    ("203.0.113.5", forwarding(xff="127.0.0.2"), "203.0.113.5"),
    ("::ffff:203.0.113.5", forwarding("for=127.0.0.2"), "203.0.113.5"),
    # A trusted proxy: the nearest hop it names that is not trusted itself.
    ("10.0.0.1", forwarding("for=198.51.100.7"), "198.51.100.7"),
    ("10.0.0.1", forwarding('for="198.51.100.7:5555"'), "198.51.100.7"),
    ("10.0.0.1", forwarding('for="[2001:db8::7]:5555"'), "2001:db8::7"),
    ("10.0.0.1", forwarding("for=127.0.0.2, for=198.51.100.7, for=10.2.2.2"), "198.51.100.7"),
    ("192.0.2.1", forwarding(xff="127.0.0.2, 198.51.100.7"), "198.51.100.7"),
    ("10.0.0.1", forwarding(xff="198.51.100.7:80"), "198.51.100.7"),
    ("2001:db8:ffff:1::1", forwarding("for=198.51.100.7"), "198.51.100.7"),
    # Forwarded wins over X-Forwarded-For.
    ("10.0.0.1", forwarding("for=198.51.100.7", xff="127.0.0.2"), "198.51.100.7"),
    # Hidden, obfuscated or garbled hops are nobody's address.
    ("10.0.0.1", forwarding("for=unknown"), "unknown"),
    ("10.0.0.1", forwarding("for=_gazonk"), "unknown"),
    ("10.0.0.1", forwarding("by=10.0.0.1"), "unknown"),
    ("10.0.0.1", forwarding("for=127.0.0.2 !!, for=10.2.2.2"), "unknown"),
    # Every hop trusted: the request began inside, at the leftmost.
    ("10.0.0.1", forwarding("for=10.3.3.3, for=10.2.2.2"), "10.3.3.3"),
    ("10.0.0.1", forwarding(), "10.0.0.1"),
    ("unix-socket", forwarding("for=127.0.0.2"), "unix-socket"),
])
def test_client_address(peer: str, headers: Headers, address: str) -> None:
    assert clientAddress(peer, headers, PROXIES) == address


def test_without_trusted_proxies_nothing_is_believed() -> None:
    assert clientAddress("10.0.0.1", forwarding("for=127.0.0.2"), ()) == "10.0.0.1"


def test_trusted_proxies_are_networks_or_a_one_line_error() -> None:
    assert [str(network) for network in parseTrustedProxies([" 10.1.2.3/8", "::1"])] \
        == ["10.0.0.0/8", "::1/128"]
    with pytest.raises(ValueError, match=r"^--trusted-proxy must be an address or a network "
                                         r"such as 10\.0\.0\.0/8, not 'proxy\.lan'$"):
        parseTrustedProxies(["proxy.lan"])


class Addresses:
    """The store's query "which compute has this address", as a table."""

    def __init__(self, computes: dict[str, str]) -> None:
        self.computes = computes
        self.asked: list[str] = []

    async def __call__(self, address: str) -> str | None:
        self.asked.append(address)
        return self.computes.get(address)


@pytest_twisted.ensureDeferred
async def test_a_computes_own_address_introspects_that_compute() -> None:
    lookup = Addresses({"127.0.0.2": "vm-1", "2001:db8::2": "vm-2"})
    principal = await introspectionPrincipal("127.0.0.2", lookup)
    assert principal is not None
    assert (principal.role, principal.compute, principal.name) == (INTROSPECT, "vm-1",
                                                                   "compute:vm-1")
    assert principal.isIntrospector and not principal.isAdmin
    principal = await introspectionPrincipal("::ffff:127.0.0.2", lookup)
    assert principal is not None and principal.compute == "vm-1"
    principal = await introspectionPrincipal("2001:DB8:0::2", lookup)
    assert principal is not None and principal.compute == "vm-2"
    assert await introspectionPrincipal("127.0.0.3", lookup) is None
    assert lookup.asked == ["127.0.0.2", "127.0.0.2", "2001:db8::2", "127.0.0.3"]
    # What is no address is asked nothing.
    assert await introspectionPrincipal("unknown", lookup) is None
    assert len(lookup.asked) == 4
