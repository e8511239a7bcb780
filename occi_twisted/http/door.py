"""The front door: the one place every request passes before the Klein app routes it.

It stands where :class:`twisted.web.guard.HTTPAuthSessionWrapper` would, and delegates the
same way (it consumes no path segment, and hands the request on to the app's resource), but
it answers more than "who are you": first whether the request may reach the server at all
(the Host and Origin guards), then from which address it comes (the trusted-proxy rule),
whether that address has guessed too often (the login throttle), and who it acts for (the
portal's principal, recorded with :func:`.parts.setPrincipal` for the rooms to read).  See
:mod:`occi_twisted.identity` for the design.  In single-user mode there is no portal, but
the guards still run: they are what stops a page the operator visits from driving the
server on 127.0.0.1 through the operator's own browser.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from twisted.application.service import Service
from twisted.cred.error import LoginFailed, UnauthorizedLogin
from twisted.cred.portal import Portal
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool
from twisted.web.guard import BasicCredentialFactory
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.util import DeferredResource
from zope.interface import implementer

from ..identity import (
    SINGLE_USER,
    AddressChecker,
    BcryptChecker,
    ClientAddress,
    HostPolicy,
    IPrincipal,
    LoginThrottle,
    Principal,
    Realm,
    UserDirectory,
    clientAddress,
    guard,
)
from ..identity.addresses import Network
from ..identity.principal import Quota
from ..identity.realm import ComputeLookup
from ..model.infrastructure import COMPUTE, NETWORKINTERFACE
from ..model.locations import FILES, HEALTH
from ..store.interface import IEntityStore, ISharedLogins, Query
from . import parts

if TYPE_CHECKING:
    from ..settings import Settings
from .answering import SERVER, plain

log = Logger()

#: What a client is told to send, in RFC 7617's words (UTF-8 names and passwords).
CHALLENGE: Final = b'Basic realm="occi", charset="UTF-8"'
#: A year, as browsers expect of a site that means to stay on TLS.
HSTS: Final = b"max-age=31536000"
#: Who a signed URL acts for: no one (it owns nothing and may make nothing).
NOBODY: Final = Principal(name="", quota=Quota(cores=0, memory=0, storage=0, entities=0,
                                               requests=0))
_FILES: Final = FILES.encode()
_HEALTH: Final = HEALTH.encode()
#: The attribute a compute's network interface names its address with.
ADDRESS: Final = "occi.networkinterface.address"


#: A refusal as a page for a person in a browser (the status and the sentence), or None
#: for every other client: see :meth:`~.answering.Answering.refusalPage`.
Pages = Callable[[IRequest, int, str], bytes | None]


class Answer(Resource):
    """A refusal of the door's own: a status, a one-sentence body, perhaps a header or two;
    the sentence on a page for a browser, given ``pages``."""

    isLeaf = True

    def __init__(self, code: int, sentence: str, *headers: tuple[bytes, bytes],
                 pages: Pages | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.code = code
        self.sentence = sentence
        self.headers = headers
        self.pages = pages

    def render(self, request: IRequest) -> bytes:
        request.setResponseCode(self.code)
        request.setHeader(b"Server", SERVER.encode())
        for name, value in self.headers:
            request.setHeader(name, value)
        if self.pages is not None:
            page = self.pages(request, self.code, self.sentence)
            if page is not None:
                return page
        return plain(request, self.sentence)


@implementer(IResource)
class FrontDoor:
    """The server's root resource: ``resource`` (the Klein app's) behind the guards and the
    portal.  Without ``portal`` (single-user mode) every request that passes the guards acts
    as :data:`~occi_twisted.identity.SINGLE_USER`."""

    isLeaf = False

    def __init__(self, resource: IResource, *, hosts: HostPolicy, portal: Portal | None = None,
                 throttle: LoginThrottle | None = None, proxies: Sequence[Network] = (),
                 introspection: bool = True, pages: Pages | None = None) -> None:
        if portal is not None and throttle is None:
            raise ValueError("a door with a portal needs a login throttle")
        self.resource = resource
        self.hosts = hosts
        self.portal = portal
        self.throttle = throttle
        self.proxies = tuple(proxies)
        self.introspection = introspection
        self.pages = pages
        self._basic = BasicCredentialFactory(b"occi")

    def _refuse(self, code: int, sentence: str, *headers: tuple[bytes, bytes]) -> Answer:
        return Answer(code, sentence, *headers, pages=self.pages)

    def _challenge(self) -> Answer:
        """401 with the Basic challenge: for no credentials, wrong ones and unknown names
        alike."""
        return self._refuse(401, "This server needs a user name and password (HTTP Basic) "
                                 "for that.", (b"WWW-Authenticate", CHALLENGE))

    # -- IResource, as HTTPAuthSessionWrapper delegates ------------------------------------------

    def getChildWithDefault(self, path: bytes, request: IRequest) -> IResource:
        # Transparent: the segment goes back, and the app routes the whole path.
        request.postpath.insert(0, request.prepath.pop())
        return self._admitted(request)

    def render(self, request: IRequest) -> Any:
        return self._admitted(request).render(request)

    def putChild(self, path: bytes, child: IResource) -> None:
        raise NotImplementedError("the door has no children of its own")

    # -- per request ------------------------------------------------------------------------------

    def _admitted(self, request: IRequest) -> IResource:
        """What answers ``request``: the app, with the principal recorded, or a refusal."""
        secure = request.isSecure()
        if secure:
            request.setHeader(b"Strict-Transport-Security", HSTS)
        refusal = guard(request.method.decode("latin-1"), request.requestHeaders, self.hosts,
                        "https" if secure else "http")
        if refusal is not None:
            sentence = f"{refusal.reason[:1].upper()}{refusal.reason[1:]}."
            return self._refuse(refusal.code, sentence)
        if request.path.startswith(_FILES) or request.path == _HEALTH:
            # A signed URL: its signature is its credential, checked by the route; it acts
            # for nobody, so that it can reach nothing else.  Anyone may ask whether the
            # server works (a load balancer has no credentials): the answer says no more.
            parts.setPrincipal(request, NOBODY)
            return self.resource
        if self.portal is None:
            parts.setPrincipal(request, SINGLE_USER)
            return self.resource
        address = clientAddress(_peerOf(request), request.requestHeaders, self.proxies)
        authorization = request.getHeader(b"authorization")
        if authorization:
            return self._withCredentials(request, authorization, address)
        if not self.introspection:
            return self._challenge()
        return self._settled(request, self.portal.login(ClientAddress(address), None,
                                                        IPrincipal), None)

    def _withCredentials(self, request: IRequest, authorization: bytes,
                         address: str) -> IResource:
        assert self.portal is not None and self.throttle is not None
        wait = self.throttle.retryAfter(address)
        if wait is not None:
            return self._refuse(429, "Too many failed logins from this address; try again "
                                     "later.", (b"Retry-After", str(wait).encode()))
        scheme, _, response = authorization.strip().partition(b" ")
        if scheme.lower() != self._basic.scheme:
            return self._challenge()
        try:
            credentials = self._basic.decode(response.strip(), request)
        except LoginFailed:
            self.throttle.failed(address)
            return self._challenge()
        return self._settled(request, self.portal.login(credentials, None, IPrincipal),
                             address)

    def _settled(self, request: IRequest, login: Deferred[Any],
                 failingAddress: str | None) -> IResource:
        """The resource a login leads to; at once when the login is already settled (a
        remembered password), so that the common request costs no extra turn."""

        def admitted(result: tuple[object, Principal, object]) -> IResource:
            parts.setPrincipal(request, result[1])
            return self.resource

        def refused(failure: Failure) -> IResource:
            if failure.check(UnauthorizedLogin, LoginFailed) is None:
                log.failure("A login failed unexpectedly", failure)
                return self._refuse(503, "The server cannot check credentials right now; "
                                         "try again later.", (b"Retry-After", b"5"))
            if failingAddress is not None and self.throttle is not None:
                self.throttle.failed(failingAddress)
            return self._challenge()

        outcome: list[IResource] = []
        answered = login.addCallbacks(admitted, refused)
        answered.addCallback(_kept, outcome)
        if outcome:
            return outcome[0]
        return DeferredResource(answered)


def _kept(resource: IResource, outcome: list[IResource]) -> IResource:
    outcome.append(resource)
    return resource


def _peerOf(request: IRequest) -> str:
    """The peer's IP address, or the kind of its transport (a UNIX socket has none)."""
    peer = request.getClientAddress()
    host = getattr(peer, "host", None)
    return host if isinstance(host, str) else type(peer).__name__


def computeByAddress(store: IEntityStore) -> ComputeLookup:
    """The introspection lookup: which compute has ``address`` as the address of one of
    its network interfaces (the interface link's source), or None."""

    async def lookup(address: str) -> str | None:
        query = Query(kinds=frozenset({NETWORKINTERFACE.identifier}),
                      attributes={ADDRESS: address})
        page = await store.page(query, None, 16)
        for link in page.entities:
            collection = COMPUTE.location or "/compute/"
            path = urlsplit(link.source or "").path
            if path.startswith(collection) and path != collection:
                return path[len(collection):].rstrip("/")
        return None

    return lookup


class IdentityService(Service):
    """The users (``--users``): the portal the door logs in with, the thread pool its
    bcrypt checks run on, and SIGHUP, which reads the users again.  A reload replaces the
    users for the next request; no connection is dropped and no request is disturbed."""

    def __init__(self, directory: UserDirectory, store: IEntityStore, reactor: Any, *,
                 introspection: bool) -> None:
        self.directory = directory
        self._reactor = reactor
        self.pool = ThreadPool(minthreads=0, maxthreads=4, name="bcrypt")
        checkers: list[Any] = [BcryptChecker(directory, reactor, self.pool, reactor)]
        if introspection:
            checkers.append(AddressChecker(computeByAddress(store)))
        self.portal = Portal(Realm(directory), checkers)
        self.throttle = LoginThrottle(reactor)
        shared = ISharedLogins(store, None)
        if shared is not None:
            self.throttle.share(shared)
        self._previous: Any = None

    def principalNamed(self, name: str) -> Principal:
        """The user ``name`` as the users' files say now; one they no longer name acts
        with no quota to spend (a signed URL outlives nobody's removal)."""
        return self.directory.principalOf(name) or Principal(name=name, quota=NOBODY.quota)

    @classmethod
    def fromSettings(cls, settings: Settings, store: IEntityStore,
                     reactor: Any) -> IdentityService | None:
        """None in single-user mode; a :class:`~occi_twisted.identity.UsersError` (one
        line) when the users' files cannot be used."""
        if settings.usersFile is None:
            return None
        directory = UserDirectory(settings.usersFile, settings.configFile)
        return cls(directory, store, reactor, introspection=settings.introspection)

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        self.pool.start()
        # On the reactor thread (the main one): the handler only schedules the reload, so it
        # runs between two events like any other call.
        self._previous = signal.signal(signal.SIGHUP, self._hangUp)

    def _hangUp(self, signum: int, frame: object) -> None:
        self._reactor.callFromThread(self.directory.reload)

    def stopService(self) -> None:
        super().stopService()  # type: ignore[no-untyped-call]
        signal.signal(signal.SIGHUP, self._previous if self._previous is not None
                      else signal.SIG_DFL)
        self.pool.stop()
