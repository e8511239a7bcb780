"""The portal end to end: Basic credentials as twisted.web decodes them, or a compute's own
address, in; the request's principal (or a resource bound to it) out."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import pytest_twisted
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import Portal
from twisted.internet.task import Clock
from twisted.web.guard import BasicCredentialFactory
from twisted.web.resource import IResource, Resource
from twisted.web.test.requesthelper import DummyRequest

from occi_twisted.identity import (
    AddressChecker,
    BcryptChecker,
    ClientAddress,
    IPrincipal,
    Principal,
    Realm,
    UserDirectory,
)

from .support import HeldPool, ImmediateReactor, usersFile


class Bound(Resource):
    def __init__(self, principal: Principal) -> None:
        super().__init__()
        self.principal = principal


class Harness:
    def __init__(self, tmp_path: Path) -> None:
        config = tmp_path / "occi.toml"
        config.write_text("[users.alice]\nrole = 'admin'\n")
        self.directory = UserDirectory(usersFile(tmp_path, alice="wonder:land", bob="b"),
                                       config)
        self.pool = HeldPool()
        self.checker = BcryptChecker(self.directory, ImmediateReactor(), self.pool, Clock())
        computes = {"127.0.0.2": "vm-1"}

        async def lookup(address: str) -> str | None:
            return computes.get(address)

        self.portal = Portal(Realm(self.directory, Bound),
                             [self.checker, AddressChecker(lookup)])

    async def basic(self, header: bytes, interface: object = IPrincipal) -> object:
        credentials = BasicCredentialFactory(b"occi").decode(header, DummyRequest([]))
        login = self.portal.login(credentials, None, interface)
        self.pool.runAll()
        _, avatar, logout = await login
        logout()
        return avatar


def basic(name: str, password: str) -> bytes:
    return base64.b64encode(f"{name}:{password}".encode())


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


@pytest_twisted.ensureDeferred
async def test_basic_credentials_give_the_users_principal(harness: Harness) -> None:
    alice = await harness.basic(basic("alice", "wonder:land"))
    assert alice == harness.directory.principalOf("alice")
    assert isinstance(alice, Principal) and alice.isAdmin
    bob = await harness.basic(basic("bob", "b"))
    assert bob == Principal(name="bob")
    for header in (basic("bob", "nope"), basic("nobody", "b")):
        with pytest.raises(UnauthorizedLogin):
            await harness.basic(header)


@pytest_twisted.ensureDeferred
async def test_a_resource_bound_to_the_principal_for_the_web_guard(harness: Harness) -> None:
    resource = await harness.basic(basic("bob", "b"), IResource)
    assert isinstance(resource, Bound)
    assert resource.principal.name == "bob"


@pytest_twisted.ensureDeferred
async def test_a_computes_own_address_logs_in_as_its_introspector(harness: Harness) -> None:
    _, principal, _ = await harness.portal.login(ClientAddress("127.0.0.2"), None, IPrincipal)
    assert (principal.role, principal.compute) == ("introspect", "vm-1")
    with pytest.raises(UnauthorizedLogin):
        await harness.portal.login(ClientAddress("127.0.0.3"), None, IPrincipal)


@pytest_twisted.ensureDeferred
async def test_a_user_removed_after_the_check_gets_nothing(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    login = harness.portal.login(
        BasicCredentialFactory(b"occi").decode(basic("bob", "b"), DummyRequest([])), None,
        IPrincipal)
    harness.directory.usersFile.write_text(
        harness.directory.usersFile.read_text().split("\n")[0] + "\n")
    assert harness.directory.reload()
    harness.pool.runAll()
    with pytest.raises(UnauthorizedLogin):
        await login


def test_the_realm_offers_principals_and_bound_resources_only(harness: Harness) -> None:
    realm = Realm(harness.directory)
    interface, avatar, _ = realm.requestAvatar(b"bob", None, IPrincipal)
    assert (interface, avatar) == (IPrincipal, Principal(name="bob"))
    with pytest.raises(NotImplementedError):
        realm.requestAvatar(b"bob", None, IResource)  # no resourceFor given
    with pytest.raises(UnauthorizedLogin):
        realm.requestAvatar((), None, IPrincipal)  # twisted.cred's anonymous: nobody here
    with pytest.raises(UnauthorizedLogin):
        Realm(None).requestAvatar(b"bob", None, IPrincipal)
