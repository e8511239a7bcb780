"""The service tree of one server: store, then HTTP listeners, stopped in reverse.

This module and :mod:`occi_twisted.tap` are the only ones that touch the global reactor;
everything below receives it.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twisted.application import strports
from twisted.application.service import MultiService, Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorCore, IReactorFromThreads
from twisted.logger import Logger
from twisted.web.http import Request
from twisted.web.resource import IResource
from twisted.web.server import Site

from .drivers.interface import driverFactories
from .http.app import OCCIServer
from .model import Registry
from .store.interface import IStore, StoreUnavailable

if TYPE_CHECKING:
    from .tap import Settings

log = Logger()


class ServiceError(Exception):
    """A setting that makes the server impossible to start; the message is the one line."""


class StoreService(Service):
    """Opens the store before anything serves, and closes it after everything stopped."""

    def __init__(self, store: IStore, reactor: IReactorCore) -> None:
        self.store = store
        self._reactor = reactor

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        started = self.store.start()
        started.addErrback(self._failed)

    def _failed(self, failure: object) -> None:
        log.critical("The store could not be opened: {failure.value}", failure=failure)
        self._reactor.stop()

    def stopService(self) -> Deferred[None]:
        super().stopService()  # type: ignore[no-untyped-call]
        return self.store.stop()


class OCCISite(Site):
    """Twisted Web's site, writing access lines only where the operator asked.

    Left alone, Twisted writes one access line per request into the main log, which costs
    more than answering a GET does; access logs are kept only with ``--access-log``.
    """

    def __init__(self, resource: IResource, accessLog: str | None) -> None:
        super().__init__(resource, logPath=accessLog)  # type: ignore[no-untyped-call]
        self.displayTracebacks = False

    def log(self, request: Request) -> None:
        if self.logPath is not None:
            super().log(request)


class OCCIService(MultiService):
    """Everything one server runs."""

    def __init__(self, server: OCCIServer, store: IStore, listen: list[str],
                 reactor: IReactorCore, accessLog: str | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.server = server
        StoreService(store, reactor).setServiceParent(self)  # type: ignore[no-untyped-call]
        site = OCCISite(server.resource(), accessLog)
        for description in listen:
            strports.service(description, site).setServiceParent(self)

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
        registry = Registry.standard()
        store = _openStore(settings.store, registry, reactor)
        factories = driverFactories()
        if settings.driver not in factories:
            raise ServiceError(f"no driver called {settings.driver!r}; available: "
                               f"{', '.join(sorted(factories)) or 'none'}")
        driver = factories[settings.driver].makeDriver(dataDir, reactor)
        for description in settings.listen:
            _checkEndpoint(description, reactor)
        server = OCCIServer(store, driver, reactor, baseURL=settings.baseURL)
        return cls(server, store, settings.listen, reactor, settings.accessLog)


def _usableDataDir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ServiceError(f"cannot create the data directory {path}: "
                           f"{error.strerror}") from None
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise ServiceError(f"the data directory {path} is not a writable directory")
    return path


def _openStore(url: str, registry: Registry, reactor: IReactorFromThreads) -> IStore:
    if url.startswith("sqlite:"):
        from .store.sqlite import SQLiteStore

        store = SQLiteStore(Path(url[len("sqlite:"):]), registry, reactor)
        try:
            store.preflight()
        except StoreUnavailable as error:
            raise ServiceError(error.message) from None
        return store
    raise ServiceError(f"the store {url.split(':', 1)[0]} is not available in this version; "
                       "use sqlite:PATH")


def _checkEndpoint(description: str, reactor: object) -> None:
    from twisted.internet.endpoints import serverFromString

    try:
        serverFromString(reactor, description)
    except (ValueError, TypeError, KeyError) as error:
        raise ServiceError(f"--listen {description!r} is not a usable endpoint: "
                           f"{error}") from None
