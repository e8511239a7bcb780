"""The front door over the in-memory app: guards, Basic logins, the throttle, introspection
and HSTS, as a client sees them."""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from treq.testing import StubTreq
from twisted.cred.portal import Portal
from twisted.internet.task import Clock
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource

from occi_twisted.http import parts
from occi_twisted.http.door import CHALLENGE, FrontDoor, computeByAddress
from occi_twisted.identity import (
    AddressChecker,
    BcryptChecker,
    HostPolicy,
    LoginThrottle,
    Principal,
    Realm,
    UserDirectory,
    parseTrustedProxies,
)

from ..http.support import BASE, Answer, Client, synchronously
from .support import ImmediateReactor, usersFile

ADDRESS_MIXIN = ('Category: ipnetworkinterface; scheme="http://schemas.ogf.org/occi/'
                 'infrastructure/networkinterface#"; class="mixin"\n')
FAILURES = 3


class ImmediatePool:
    """A thread pool that runs what it is given at once, for a test without a reactor."""

    def callInThreadWithCallback(self, onResult: Callable[[bool, Any], None],
                                 f: Callable[..., Any], *args: Any) -> None:
        onResult(True, f(*args))


class Probe(Resource):
    """Records whom each request reaching it acts for."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.principals: list[Principal] = []

    def render(self, request: IRequest) -> bytes:
        self.principals.append(parts.principalOf(request))
        return b"through"


def basic(name: str, password: str) -> str:
    return "Basic " + b64encode(f"{name}:{password}".encode()).decode()


class Door:
    """A door with users (alice, bob) in front of ``client``'s app, or of a probe."""

    def __init__(self, tmp: Path, client: Client, *, users: bool = True,
                 introspection: bool = False, probe: bool = False) -> None:
        self.client = client
        self.clock = Clock()
        self.probe = Probe()
        inner: IResource = self.probe if probe else client.server.resource()
        portal = None
        self.throttle = LoginThrottle(self.clock, failures=FAILURES, window=60)
        if users:
            directory = UserDirectory(usersFile(tmp, alice="wonderland", bob="builder"))
            checkers: list[Any] = [BcryptChecker(directory, ImmediateReactor(),
                                                 ImmediatePool(), self.clock)]
            if introspection:
                checkers.append(AddressChecker(computeByAddress(client.store)))
            portal = Portal(Realm(directory), checkers)
        self.door = FrontDoor(inner, hosts=HostPolicy.of(BASE, ["occi.test"]), portal=portal,
                              throttle=self.throttle,
                              proxies=parseTrustedProxies(["127.0.0.1"]),
                              introspection=introspection)
        client.treq = StubTreq(self.door)

    def request(self, method: str, path: str, body: str = "", **headers: str) -> Answer:
        return synchronously(self.client.request(method, path, body, **headers))


@pytest.fixture
def client() -> Client:
    return Client()


def test_no_credentials_is_the_basic_challenge(tmp_path: Path, client: Client) -> None:
    door = Door(tmp_path, client)
    answer = door.request("GET", "/compute/")
    assert answer.code == 401
    assert answer.header("www-authenticate") == CHALLENGE.decode()
    assert answer.text.count(".") == 1 and answer.text.endswith(".\n")


def test_good_credentials_pass_as_the_user(tmp_path: Path, client: Client) -> None:
    door = Door(tmp_path, client, probe=True)
    answer = door.request("GET", "/compute/", Authorization=basic("alice", "wonderland"))
    assert answer.code == 200 and answer.body == b"through"
    assert [p.name for p in door.probe.principals] == ["alice"]
    app = Door(tmp_path, client)
    assert app.request("GET", "/compute/", Authorization=basic("bob", "builder")).code == 200


def test_wrong_password_and_unknown_user_answer_alike(tmp_path: Path, client: Client) -> None:
    door = Door(tmp_path, client)
    wrong = door.request("GET", "/compute/", Authorization=basic("alice", "looking-glass"))
    unknown = door.request("GET", "/compute/", Authorization=basic("mallory", "wonderland"))
    garbled = door.request("GET", "/compute/", Authorization="Basic !!!")
    for answer in (wrong, unknown, garbled):
        assert answer.code == 401
        assert answer.header("www-authenticate") == CHALLENGE.decode()
        assert answer.body == wrong.body
    sameHeaders = {name: value for name, value in wrong.headers.items() if name != "date"}
    assert sameHeaders == {name: value for name, value in unknown.headers.items()
                           if name != "date"}


def test_repeated_failures_are_throttled_per_address(tmp_path: Path, client: Client) -> None:
    door = Door(tmp_path, client)
    guesser = {"X_Forwarded_For": "192.0.2.7"}
    for _ in range(FAILURES):
        answer = door.request("GET", "/compute/", Authorization=basic("alice", "guess"),
                              **guesser)
        assert answer.code == 401
    # Now even the right password waits: the address is told when to come back.
    throttled = door.request("GET", "/compute/", Authorization=basic("alice", "wonderland"),
                             **guesser)
    assert throttled.code == 429
    assert int(throttled.header("retry-after") or "0") == 60
    other = door.request("GET", "/compute/", Authorization=basic("alice", "wonderland"),
                         X_Forwarded_For="192.0.2.8")
    assert other.code == 200
    door.clock.advance(61)
    assert door.request("GET", "/compute/", Authorization=basic("alice", "wonderland"),
                        **guesser).code == 200


def test_a_forged_forwarded_header_from_an_untrusted_peer_changes_nothing(
        tmp_path: Path, client: Client) -> None:
    door = Door(tmp_path, client)
    door.door.proxies = ()
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"):
        door.request("GET", "/-/", Authorization=basic("alice", "x"), X_Forwarded_For=address)
    assert door.request("GET", "/-/", Authorization=basic("alice", "wonderland")).code == 429


@pytest.mark.parametrize("users", [True, False])
def test_a_foreign_host_is_misdirected(tmp_path: Path, client: Client, users: bool) -> None:
    door = Door(tmp_path, client, users=users)
    answer = door.request("GET", "/compute/", Host="rebound.example",
                          Authorization=basic("alice", "wonderland"))
    assert answer.code == 421
    assert answer.text.count(".") == 1 and answer.text.endswith(".\n")
    assert door.request("GET", "/-/", Host="localhost:8080",
                        Authorization=basic("alice", "wonderland")).code == 200


@pytest.mark.parametrize("users", [True, False])
def test_a_cross_site_change_is_forbidden_and_nothing_deleted(
        tmp_path: Path, client: Client, users: bool) -> None:
    door = Door(tmp_path, client, users=users)
    alice = {"Authorization": basic("alice", "wonderland")} if users else {}
    created = door.request("POST", "/compute/", "compute.cores=2",
                           Content_Type="application/x-www-form-urlencoded",
                           Accept="text/plain", **alice)
    assert created.code == 201, created.text
    path = urlsplit(created.header("location") or "").path
    tunnel = door.request("POST", path, "_method=DELETE",
                          Content_Type="application/x-www-form-urlencoded",
                          Origin="http://evil.example", **alice)
    assert tunnel.code == 403
    assert tunnel.text.count(".") == 1
    fetched = door.request("DELETE", "/compute/", Sec_Fetch_Site="cross-site", **alice)
    assert fetched.code == 403
    assert door.request("GET", path, Accept="text/plain", **alice).code == 200
    # The server's own pages may: same origin.
    own = door.request("POST", path, "_method=DELETE",
                       Content_Type="application/x-www-form-urlencoded", Origin=BASE, **alice)
    assert own.code < 400, own.text


@pytest.mark.parametrize("users", [True, False])
def test_hsts_only_over_tls(tmp_path: Path, client: Client, users: bool) -> None:
    door = Door(tmp_path, client, users=users)
    alice = {b"Authorization": [basic("alice", "wonderland").encode()]}
    secure = synchronously(_get(client.treq, "https://occi.test/-/", alice))
    assert secure.code == 200
    assert secure.headers.getRawHeaders(b"strict-transport-security") == [b"max-age=31536000"]
    refused = synchronously(_get(client.treq, "https://occi.test/-/", {}))
    assert refused.code == (401 if users else 200)
    assert refused.headers.hasHeader(b"strict-transport-security")
    plain = door.request("GET", "/-/", Authorization=basic("alice", "wonderland"))
    assert plain.code == 200 and plain.header("strict-transport-security") is None


async def _get(treq: StubTreq, url: str, headers: dict[bytes, list[bytes]]) -> Any:
    response = await treq.get(url, headers=headers)
    await response.content()
    return response


def test_single_user_mode_acts_as_admin(tmp_path: Path, client: Client) -> None:
    door = Door(tmp_path, client, users=False, probe=True)
    assert door.request("GET", "/-/").code == 200
    assert [p.name for p in door.probe.principals] == ["admin"]
    assert door.probe.principals[0].isAdmin


def test_a_compute_introspects_from_its_own_address(tmp_path: Path, client: Client) -> None:
    compute = synchronously(client.create("compute"))
    network = synchronously(client.create("network"))
    synchronously(client.create(
        "networkinterface", ADDRESS_MIXIN
        + f'X-OCCI-Attribute: occi.core.source="{compute}"\n'
        + f'X-OCCI-Attribute: occi.core.target="{network}"\n'
        + 'X-OCCI-Attribute: occi.networkinterface.address="192.0.2.50"\n'))
    door = Door(tmp_path, client, introspection=True, probe=True)
    assert door.request("GET", compute, X_Forwarded_For="192.0.2.50").code == 200
    [principal] = door.probe.principals
    assert principal.isIntrospector and f"/compute/{principal.compute}" == compute
    stranger = door.request("GET", compute, X_Forwarded_For="192.0.2.51")
    assert stranger.code == 401 and stranger.header("www-authenticate") == CHALLENGE.decode()
    door.door.introspection = False
    assert door.request("GET", compute, X_Forwarded_For="192.0.2.50").code == 401
