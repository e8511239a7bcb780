"""The web guards: a Host that is not ours gets 421 (DNS rebinding); an unsafe method from
another site's page gets 403 (cross-site forms, also the ``_method=DELETE`` tunnel)."""

from __future__ import annotations

import pytest
from twisted.web.http_headers import Headers

from occi_twisted.identity import HostPolicy, Refusal, checkHost, checkOrigin, guard

LOCAL = HostPolicy.of(None)
PUBLISHED = HostPolicy.of("https://occi.example.com/cloud/", ["alias.example.net", "10.1.2.3"])


def headers(**values: str | list[str]) -> Headers:
    """Headers from keywords (``sec_fetch_site=`` is ``Sec-Fetch-Site``), a list for several."""
    given = {name: [value] if isinstance(value, str) else value
             for name, value in values.items()}
    return Headers({name.replace("_", "-").encode(): [each.encode("latin-1") for each in many]
                    for name, many in given.items()})


def rows(table: str) -> list[list[str]]:
    """A table written as text, one row a line, columns apart by spaces; ``-`` is nothing."""
    return [line.split() for line in table.strip().splitlines()]


# policy  Host header          answered?
HOSTS = rows("""
local  127.0.0.1:8080                 yes
local  127.0.0.1                      yes
local  127.5.6.7:80                   yes
local  localhost:8080                 yes
local  LOCALHOST.                     yes
local  app.localhost:9000             yes
local  [::1]:8080                     yes
local  [::ffff:127.0.0.1]:8080        yes
local  attacker.example:8080          no
local  localhost.attacker.example     no
local  192.168.1.5:8080               no
local  occi.example.com               no
local  evil@localhost                 no
local  localhost/x                    no
local  localhost:80:80                no
local  -                              no
local  localhost,attacker.example     no
published  occi.example.com           yes
published  OCCI.example.com:8443      yes
published  alias.example.net          yes
published  10.1.2.3:8080              yes
published  localhost:8080             yes
published  example.com                no
published  www.occi.example.com       no
""")
POLICIES = {"local": LOCAL, "published": PUBLISHED}


@pytest.mark.parametrize(("policy", "host", "answered"), HOSTS)
def test_host(policy: str, host: str, answered: str) -> None:
    """``-`` is an empty Host; ``a,b`` two Host headers."""
    given = headers(host=host.split(",") if host != "-" else "")
    refusal = checkHost(given, POLICIES[policy])
    assert refusal is None if answered == "yes" else refusal == Refusal(421, refusal.reason)


def test_no_host_header_at_all_passes() -> None:
    assert checkHost(Headers(), LOCAL) is None


def test_allowed_hosts_that_cannot_be_hosts_are_refused() -> None:
    with pytest.raises(ValueError, match=r"^--allowed-host must be a host name or address, "
                                         r"not 'a b'$"):
        HostPolicy.of(None, ["a b"])
    assert HostPolicy.of(None, ["Alias.Example.NET.:8080"]).names == {"alias.example.net"}


# The server's own page is http://127.0.0.1:8080.  Safe methods pass whatever the page;
# without browser headers (curl, scripts, the CLI) everything passes.
# method  Origin                        Sec-Fetch-Site          passes?
ORIGINS = rows("""
GET      https://attacker.example       cross-site              yes
HEAD     -                              cross-site              yes
OPTIONS  null                           -                       yes
DELETE   -                              -                       yes
POST     -                              none                    yes
POST     http://127.0.0.1:8080          same-origin             yes
post     http://127.0.0.1:8080          -                       yes
PUT      http://127.0.0.1:8080          cross-site              no
POST     -                              cross-site              no
POST     -                              same-site               no
POST     -                              same-origin,cross-site  no
POST     https://attacker.example       -                       no
DELETE   http://127.0.0.1:9090          -                       no
DELETE   https://127.0.0.1:8080         -                       no
POST     null                           -                       no
POST     http://evil@127.0.0.1:8080     -                       no
POST     http://127.0.0.1:8080,http://127.0.0.1:8080  -         no
PATCH    http://localhost:8080          -                       no
""")


@pytest.mark.parametrize(("method", "origin", "site", "passes"), ORIGINS)
def test_origin(method: str, origin: str, site: str, passes: str) -> None:
    given = {name: value.split(",") for name, value in (("origin", origin),
                                                        ("sec_fetch_site", site))
             if value != "-"}
    refusal = checkOrigin(method, headers(host="127.0.0.1:8080", **given), LOCAL)
    assert refusal is None if passes == "yes" else refusal == Refusal(403, refusal.reason)


# Behind a TLS proxy the request arrives as http at 127.0.0.1; the page is the base URL's.
# Host                   Origin                         scheme  passes?
PUBLISHED_ORIGINS = rows("""
occi.example.com        https://occi.example.com        https   yes
occi.example.com:443    https://occi.example.com        https   yes
127.0.0.1:8080          https://occi.example.com        http    yes
127.0.0.1:8080          https://occi.example.com:443    http    yes
alias.example.net       http://alias.example.net        http    yes
occi.example.com        http://occi.example.com         https   no
occi.example.com        https://occi.example.com:8443   https   no
occi.example.com        https://attacker.example        https   no
""")


@pytest.mark.parametrize(("host", "origin", "scheme", "passes"), PUBLISHED_ORIGINS)
def test_origin_with_a_base_url(host: str, origin: str, scheme: str, passes: str) -> None:
    refusal = checkOrigin("POST", headers(host=host, origin=origin), PUBLISHED, scheme)
    assert (refusal is None) is (passes == "yes")


def test_the_host_is_judged_first() -> None:
    refusal = guard("DELETE", headers(host="attacker.example:8080",
                                      origin="http://attacker.example:8080"), LOCAL)
    assert refusal is not None and refusal.code == 421
    refusal = guard("DELETE", headers(host="localhost:8080", origin="http://a.example"), LOCAL)
    assert refusal is not None and refusal.code == 403
    assert guard("DELETE", headers(host="localhost:8080", origin="http://localhost:8080"),
                 LOCAL) is None
