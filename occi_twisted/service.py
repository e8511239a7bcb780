"""The service tree of one server: the store, then what needs it, stopped in reverse.

This module and :mod:`occi_twisted.tap` are the only ones that touch the global reactor;
everything below receives it.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twisted.application.internet import TimerService
from twisted.application.service import IService, MultiService, Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorCore, IReactorFromThreads, IReactorTime
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.http import Request
from twisted.web.resource import IResource

from .drivers.interface import IDriver, IDriverOptions, IInfrastructure, driverFactories
from .files.signing import Key, KeyRing, KeysError
from .http.app import OCCIServer
from .http.door import FrontDoor, IdentityService
from .http.files import Files
from .http.idempotency import ANSWER_TTL
from .http.limits import Limits
from .http.listener import CannotListen, GuardedSite, Listeners
from .http.monitoring import MetricsOnly
from .identity import UserDirectory, checkListeners
from .model import Registry
from .model.numbers import wholeNumber
from .monitoring import Metrics
from .monitoring.health import always
from .operations import Operations, Realizer
from .scheduler import localZone
from .store.interface import IStore, StoreUnavailable

if TYPE_CHECKING:
    from .settings import Settings
    from .xmpp.pubsub import XMPPPubSub

log = Logger()


class ServiceError(Exception):
    """A setting that makes the server impossible to start; the message is the one line."""


class StoreService(MultiService):
    """Opens the store, then starts what needs it (its children); stops them, then closes
    the store.  Nothing serves or runs before the store is open."""

    def __init__(self, store: IStore, reactor: IReactorCore) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.store = store
        self._reactor = reactor
        self._opened = False

    def privilegedStartService(self) -> None:
        # Not passed on: a listening port accepts connections from privilegedStartService
        # on, and nothing may be accepted before the store is open.  The listeners start
        # with the rest once it is.
        Service.privilegedStartService(self)

    def startService(self) -> None:
        Service.startService(self)
        started = self.store.start()
        started.addCallbacks(self._open, self._failed)

    def _open(self, ignored: object) -> None:
        self._opened = True
        if self.running:
            for child in self:
                child.startService()

    def _failed(self, failure: Failure) -> None:
        log.critical("The store could not be opened: {failure.value}", failure=failure)
        self._reactor.stop()

    def stopService(self) -> Deferred[None]:
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        if self._opened:
            await MultiService.stopService(self)
        else:
            Service.stopService(self)
        await self.store.stop()


class DriverService(Service):
    """Starts the driver and has it follow the store: every change committed from now on,
    and at once what a crash may have left behind (an image not yet made, or not yet
    removed) -- see :class:`~occi_twisted.operations.Realizer`."""

    def __init__(self, driver: IDriver, realizer: Realizer) -> None:
        self.driver = driver
        self.realizer = realizer
        #: The catch-up in progress (tests wait for it): how many storages it looked at.
        self.reconciled: Deferred[int] | None = None

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        infrastructure = IInfrastructure(self.driver, None)
        if infrastructure is not None:
            infrastructure.observe(self.realizer.store, self.realizer.report)
        self.driver.start()
        self.realizer.start().addErrback(
            lambda failure: log.failure("The driver cannot follow the store", failure))
        self.reconciled = self.realizer.reconcile()
        self.reconciled.addErrback(_caughtUpFailed)

    def stopService(self) -> Deferred[None]:
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        super().stopService()  # type: ignore[no-untyped-call]
        await self.realizer.stop()
        await self.driver.stop()


def _forgetAnswers(store: IStore, clock: IReactorTime) -> Deferred[int]:
    """Idempotency-Key answers older than a day are forgotten (hourly)."""
    return store.forgetAnswers(clock.seconds() - ANSWER_TTL)


def _caughtUpFailed(failure: Failure) -> int:
    log.failure("The driver could not catch up with the store", failure)
    return 0


class FilesService(Service):
    """The threads file transfers run in, and the keys that sign their URLs: read again every
    minute (an operator's rotation, another node's), rotated when the newest has signed for
    :data:`~.files.signing.KEY_LIFETIME`."""

    def __init__(self, files: Files, reactor: Any) -> None:
        self.files = files
        self._rotation = TimerService(60, self._rotate)
        self._rotation.clock = reactor
        self._reactor = reactor

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        self.files.pool.start()
        self._rotation.startService()

    def stopService(self) -> None:
        super().stopService()  # type: ignore[no-untyped-call]
        self._rotation.stopService()
        self.files.pool.stop()

    def _rotate(self) -> Deferred[None]:
        rotated = deferToThreadPool(self._reactor, self.files.pool, self.files.keys.refresh)
        return rotated.addCallbacks(_rotated, lambda failure: log.failure(
            "The URL signing keys could not be read or rotated", failure))


def _rotated(key: Key | None) -> None:
    if key is not None:
        log.info("URL signing key {key} signs from now", key=key.keyId)


class OCCISite(GuardedSite):
    """The guarded site (limits on bodies, heads and connections), writing access lines
    only where the operator asked.

    Left alone, Twisted writes one access line per request into the main log, which costs
    more than answering a GET does; access logs are kept only with ``--access-log``.
    """

    def __init__(self, resource: IResource, accessLog: str | None, limits: Limits,
                 reactor: IReactorTime) -> None:
        super().__init__(resource, limits=limits, reactor=reactor, logPath=accessLog)
        self.displayTracebacks = False

    def log(self, request: Request) -> None:
        if self.logPath is not None:
            super().log(request)


class OCCIService(MultiService):
    """Everything one server runs: the store, and once it is open the driver, the scheduler,
    the backup policy and the HTTP listeners -- stopped in the reverse order, so requests
    still running reach a checkpoint while the store is open."""

    def __init__(self, server: OCCIServer, store: IStore, driver: IDriver,
                 operations: Operations, *, listen: list[str], reactor: IReactorCore,
                 accessLog: str | None = None, front: IResource | None = None,
                 identity: IService | None = None, limits: Limits | None = None) -> None:
        """``front`` is what the listeners serve (the door in front of the app; the app
        alone by default); ``identity`` starts before the listeners and stops after them."""
        super().__init__()  # type: ignore[no-untyped-call]
        self.server = server
        self.operations = operations
        opened = StoreService(store, reactor)
        opened.setServiceParent(self)  # type: ignore[no-untyped-call]
        DriverService(driver, operations.realizer).setServiceParent(  # type: ignore[no-untyped-call]
            opened)
        operations.scheduler.setServiceParent(opened)  # type: ignore[no-untyped-call]
        operations.policy.setServiceParent(opened)  # type: ignore[no-untyped-call]
        expiry = TimerService(3600, _forgetAnswers, store, reactor)
        expiry.clock = reactor
        expiry.setServiceParent(opened)
        if identity is not None:
            identity.setServiceParent(opened)
        site = OCCISite(front if front is not None else server.resource(), accessLog,
                        limits or Limits(), IReactorTime(reactor))
        server.metrics.connections.set_function(lambda: site.open)
        # Bound now, so that a port in use is one line and exit 1; accepting once opened.
        if server.files is not None:
            site.planBodies(server.files.planBody)
            FilesService(server.files, reactor).setServiceParent(opened)  # type: ignore[no-untyped-call]
        listeners = Listeners.bind(listen, site, reactor, withBacklog)
        listeners.setServiceParent(opened)  # type: ignore[no-untyped-call]
        self.opened = opened

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        # What exists now (modules, the model, the registry) lives as long as the process;
        # keeping it out of the collector's view makes its pauses short under load.
        gc.freeze()

    @classmethod
    def fromSettings(cls, settings: Settings) -> OCCIService:
        """Check the settings against the machine and build the service, or say what is wrong."""
        from twisted.internet import reactor as global_reactor

        # The global reactor provides every reactor interface; its stub says fewer.
        reactor: Any = global_reactor
        dataDir = _usableDataDir(settings.dataDir)
        try:
            zone = localZone()
        except ValueError as error:
            raise ServiceError(f"TZ: {error}") from None
        registry = Registry.standard()
        metrics = Metrics()
        driver = _makeDriver(settings, dataDir, reactor)
        infrastructure = IInfrastructure(driver, None)
        if infrastructure is not None:
            registry.offer(infrastructure.categories())
        store = _openStore(settings.store, registry, reactor, metrics)
        for description in settings.listen:
            _checkEndpoint(description, reactor)
        checkListeners(settings.listen, users=settings.usersFile is not None,
                       insecure=settings.insecure)
        if settings.xmpp is not None:
            _checkEndpoint(settings.xmpp[0], reactor, option="--xmpp-component",
                           client=True)
        operations = Operations.build(store, driver, reactor, node=settings.node,
                                      backupAt=settings.backupAt, zone=zone,
                                      concurrency=settings.concurrency,
                                      leaseSeconds=settings.lease,
                                      follow=settings.shared, peers=settings.peers)
        operations.scheduler.progressed = metrics.progressed
        try:
            keys = KeyRing.inData(dataDir, reactor.seconds, validity=settings.urlValidity)
        except KeysError as error:
            raise ServiceError(str(error)) from None
        identity = IdentityService.fromSettings(settings, store, reactor)
        server = OCCIServer(store, driver, reactor, operations.desk, baseURL=settings.baseURL,
                            keys=keys, threads=reactor, metrics=metrics,
                            principalOf=identity.principalNamed if identity else None,
                            peers=[peer.url for peer in settings.peers])
        # Measured in front of the door: its refusals are answers too.
        front = server.measured(FrontDoor(
            server.routes(), hosts=settings.hosts, portal=identity.portal if identity else None,
            throttle=identity.throttle if identity else None, proxies=settings.trustedProxies,
            introspection=settings.introspection, pages=server.answering.refusalPage))
        try:
            service = cls(server, store, driver, operations, listen=settings.listen,
                          reactor=reactor, accessLog=settings.accessLog, front=front,
                          identity=identity, limits=settings.limits)
            if settings.metricsListen:  # the metrics alone, without credentials
                Listeners.bind(settings.metricsListen, OCCISite(
                    MetricsOnly(server.monitoring), None, settings.limits, reactor), reactor,
                    withBacklog).setServiceParent(service.opened)  # type: ignore[no-untyped-call]
        except CannotListen as error:
            raise ServiceError(str(error)) from None
        if settings.xmpp is not None:
            xmpp = _xmppService(settings, store, reactor,
                                identity.directory if identity else None)
            xmpp.setServiceParent(service.opened)  # type: ignore[no-untyped-call]
            if identity is not None:
                identity.directory.whenChanged(xmpp.usersChanged)
            xmpp.publisher.metrics = metrics
            metrics.subscribers.set_function(lambda: xmpp.publisher.subscribersKnown)
            server.health.add("xmpp", always(lambda: xmpp.component.initialized
                                             or xmpp.component.standingBy))
        return service


def _makeDriver(settings: Settings, dataDir: Path, reactor: Any) -> IDriver:
    """The driver --driver names, with the options given for it."""
    factories = driverFactories()
    if settings.driver not in factories:
        raise ServiceError(f"no driver called {settings.driver!r}; available: "
                           f"{', '.join(sorted(factories)) or 'none'}")
    factory = factories[settings.driver]
    if IDriverOptions.providedBy(factory):
        try:
            factory = factory.configured(settings.driverOptions)
        except ValueError as error:
            raise ServiceError(str(error)) from None
    elif settings.driverOptions:
        raise ServiceError(f"the {settings.driver} driver takes no options "
                           f"({', '.join('--' + name for name in settings.driverOptions)})")
    try:
        driver: IDriver = factory.makeDriver(dataDir, reactor, reactor)
    except ValueError as error:
        raise ServiceError(str(error)) from None
    return driver


def _xmppService(settings: Settings, store: IStore, reactor: Any,
                 directory: UserDirectory | None) -> XMPPPubSub:
    """The XEP-0060 pubsub service of the events, as an external component (XEP-0114)."""
    from .renderings.document import RenderContext
    from .xmpp.nodes import storeNodes
    from .xmpp.payload import atomEntries
    from .xmpp.pubsub import makePubSubService

    assert settings.xmpp is not None
    component, jid, secret = settings.xmpp
    nodes = storeNodes(store)
    base = RenderContext(settings.baseURL or _baseOf(settings.listen[0]))
    return makePubSubService(store, component=component, jid=jid, secret=secret,
                             nodeExists=nodes.exists, nodeChildren=nodes.children,
                             nodeOwner=nodes.owner,
                             whoIs=directory.principalOfJID if directory else None,
                             entryOf=atomEntries(base, store.registry), reactor=reactor)


def _baseOf(listen: str) -> str:
    """The URL a ``tcp:PORT[:interface=HOST]`` endpoint serves (for links in XMPP items,
    when no --base-url says better)."""
    parts = listen.split(":")
    port = next((p for p in parts[1:] if wholeNumber(p, 65535) is not None), "8080")
    host = next((p.split("=", 1)[1] for p in parts if p.startswith("interface=")),
                "localhost")
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _usableDataDir(path: Path) -> Path:
    """The data directory, made or tightened to 0700: it holds the database and every
    user's images, and nobody else on the machine has business reading them."""
    try:
        path.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    except OSError as error:
        raise ServiceError(f"cannot create the data directory {path}: "
                           f"{error.strerror}") from None
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise ServiceError(f"the data directory {path} is not a writable directory")
    _tighten(path, PRIVATE_DIRECTORY)
    return path


#: The modes of what holds the users' data: the data directory, the database and keys.
PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600


def _tighten(path: Path, mode: int) -> None:
    """Take away what ``mode`` does not allow (a file made by an older version, or under a
    lax umask); a path we do not own is left as it is, with a warning."""
    try:
        if path.stat().st_mode & 0o777 & ~mode:
            path.chmod(mode)
    except FileNotFoundError:
        pass
    except OSError as error:
        log.warn("Cannot restrict {path} to {mode:o}: {reason}", path=str(path), mode=mode,
                 reason=error.strerror)


def _openStore(url: str, registry: Registry, reactor: IReactorFromThreads,
               metrics: Metrics) -> IStore:
    if url.startswith("sqlite:"):
        from .store.sqlite import SQLiteStore

        path = Path(url[len("sqlite:"):])
        store = SQLiteStore(path, registry, reactor)
        store.commitTiming = metrics.commits.observe
        lax = os.umask(0o077)  # a database made now is the owner's alone from the start
        try:
            store.preflight()
        except StoreUnavailable as error:
            raise ServiceError(error.message) from None
        finally:
            os.umask(lax)
        # SQLite gives its -wal and -shm files the database's own mode.
        for each in (path, path.with_name(path.name + "-wal"),
                     path.with_name(path.name + "-shm")):
            _tighten(each, PRIVATE_FILE)
        return store
    from .store.postgres import PostgresStore

    postgres = PostgresStore(url, registry, reactor)
    postgres.commitTiming = metrics.commits.observe
    try:
        postgres.preflight()
    except StoreUnavailable as error:
        raise ServiceError(error.message) from None
    return postgres


#: Connections the kernel queues for a listener before the server accepts them.  Twisted's
#: default, 50, drops the SYNs of a burst -- a thousand long polls opened at once -- and their
#: clients wait a second or more to try again.
BACKLOG = 1024


def withBacklog(description: str) -> str:
    """A stream-server endpoint description with :data:`BACKLOG` unless it names one."""
    kind = description.split(":", 1)[0]
    if kind in {"tcp", "tcp6", "ssl", "unix"} and "backlog=" not in description:
        return f"{description}:backlog={BACKLOG}"
    return description


def _checkEndpoint(description: str, reactor: object, *, option: str = "--listen",
                   client: bool = False) -> None:
    """Refuse, before anything starts, an endpoint description Twisted cannot parse: a
    mistyped option is one line at start-up, not a traceback when the service starts."""
    from twisted.internet.endpoints import clientFromString, serverFromString

    try:
        if client:
            clientFromString(reactor, description)
        else:
            serverFromString(reactor, description)
    except (ValueError, TypeError, KeyError) as error:
        raise ServiceError(f"{option} {description!r} is not a usable endpoint: "
                           f"{error}") from None
