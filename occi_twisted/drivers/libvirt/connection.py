"""The one connection to libvirt: its calls in a thread pool, its events into the reactor.

Every libvirt call blocks (a domain's ``create`` waits for QEMU, a ``shutdown`` for the
monitor), so none runs on the reactor thread: :meth:`Hypervisor.call` runs it in the
driver's own pool and gives up after :attr:`Hypervisor.timeout` seconds with a
:class:`HypervisorTimeout` -- a hung libvirtd fails the request with a message, it never
stalls the server.  What libvirt reports becomes a :class:`HypervisorError` (a 409 where a
client asked, a failed request where an action ran), never an unexpected exception.

Events: libvirt's own default event loop runs on one dedicated thread, and each lifecycle
callback is handed to the reactor with ``callFromThread``.  Chosen over a native loop
(``virEventRegisterImpl`` on the reactor's readers and timers) because it is libvirt's own
tested code, needs no bookkeeping of watch and timeout handles, and keeps working while the
reactor is busy; the hop costs microseconds, and lifecycle events are a few per action.
The loop must be registered before the connection opens, once per process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any, TypeVar

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorFromThreads, IReactorTime
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from ...model.errors import Conflict

libvirt: Any
try:
    import libvirt as _binding

    libvirt = _binding
except ImportError:  # pragma: no cover - the driver says so when it is chosen
    libvirt = None

_log = Logger()
_T = TypeVar("_T")

#: (domain name, event, detail): what a lifecycle listener hears, on the reactor thread.
Lifecycle = Callable[[str, int, int], None]


class HypervisorError(Conflict):
    """libvirt refused or failed a call; the message is libvirt's, with what was asked."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        #: libvirt's error code (``VIR_ERR_*``), when libvirt gave one.
        self.code = code


class HypervisorTimeout(HypervisorError):
    """libvirt did not answer in time."""


_loopLock = threading.Lock()
#: Holds True once the loop runs (a list, so that it is changed without ``global``).
_loopStarted: list[bool] = []


def _startEventLoop() -> None:
    """libvirt's default event loop, on a daemon thread, once per process."""
    with _loopLock:
        if _loopStarted:
            return
        libvirt.registerErrorHandler(lambda context, error: None, None)
        libvirt.virEventRegisterDefaultImpl()

        def run() -> None:
            while True:
                libvirt.virEventRunDefaultImpl()

        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        _loopStarted.append(True)


def available() -> bool:
    """Whether the Python binding of libvirt is installed."""
    return libvirt is not None


class Hypervisor:
    """A connection to ``uri``, opened in the pool on first use and again after it broke."""

    #: Seconds a libvirt call may take before the request fails.
    timeout = 60.0

    def __init__(self, uri: str, reactor: Any, *, threads: int = 4) -> None:
        self.uri = uri
        self._clock: IReactorTime = reactor
        self._threads: IReactorFromThreads = reactor
        self._pool = ThreadPool(1, threads, name="libvirt")
        self._connection: Any = None
        self._connecting = threading.Lock()
        self._listeners: list[Lifecycle] = []
        self._callbacks: list[int] = []

    def start(self) -> None:
        self._pool.start()

    def stop(self) -> Deferred[None]:
        if not self._pool.started:
            return succeed(None)
        closing = deferToThreadPool(self._threads, self._pool, self._close)
        closing.addErrback(lambda failure: None)
        closing.addBoth(lambda _: self._pool.stop())
        return closing

    def listen(self, listener: Lifecycle) -> None:
        """Tell ``listener`` of every domain's lifecycle event, from the next connection on
        (the first call opens it)."""
        self._listeners.append(listener)

    # -- calls --------------------------------------------------------------------------------

    def call(self, what: str, work: Callable[[Any], _T]) -> Deferred[_T]:
        """``work(connection)`` in the pool; ``what`` says in a failure what was asked."""
        done = deferToThreadPool(self._threads, self._pool, self._withConnection, work)

        def cut(result: object, timeout: float) -> None:
            # The thread goes on (a thread cannot be stopped); its answer is dropped.
            raise HypervisorTimeout(f"{what}: libvirt did not answer within {timeout:g} s.")

        done.addTimeout(self.timeout, self._clock, onTimeoutCancel=cut)

        def failed(failure: Failure) -> Failure:
            if libvirt is not None and failure.check(libvirt.libvirtError):
                error: Any = failure.value
                raise HypervisorError(f"{what}: {_said(error)}", error.get_error_code())
            return failure

        return done.addErrback(failed)

    def _withConnection(self, work: Callable[[Any], _T]) -> _T:
        connection = self._connection
        if connection is None or not connection.isAlive():
            connection = self._open()
        return work(connection)

    def _open(self) -> Any:
        with self._connecting:
            if self._connection is not None and self._connection.isAlive():
                return self._connection
            _startEventLoop()
            connection = libvirt.open(self.uri)
            self._callbacks = [connection.domainEventRegisterAny(
                None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._lifecycle, None)]
            with suppress(libvirt.libvirtError):  # remote connections only
                connection.setKeepAlive(5, 3)
            self._connection = connection
            _log.info("Connected to {uri}", uri=self.uri)
            return connection

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            for callback in self._callbacks:
                with suppress(libvirt.libvirtError):
                    connection.domainEventDeregisterAny(callback)
            connection.close()

    def _lifecycle(self, connection: Any, domain: Any, event: int, detail: int,
                   opaque: object) -> None:
        """On libvirt's event thread: hand the event to the reactor."""
        self._threads.callFromThread(self._tell, domain.name(), event, detail)

    def _tell(self, name: str, event: int, detail: int) -> None:
        for listener in self._listeners:
            try:
                listener(name, event, detail)
            except Exception:
                _log.failure("A lifecycle listener failed on {name}", name=name)


def _said(error: Any) -> str:
    """libvirt's own words, without its prefix noise."""
    message = str(error.get_error_message() or error).strip()
    return message[:1].upper() + message[1:] if message else "libvirt failed"
