"""The listener: the site that builds guarded channels and counts what clients hold, and the
listening ports, bound when the service is made.

Connections are counted per client address and in all.  A client address over its cap is
answered 503 with ``Retry-After`` and closed.  In all, the server keeps a headroom of file
descriptors below its limit (``RLIMIT_NOFILE``) for its store, images and logs: at the edge,
a new connection displaces the connection that has waited longest for a request head (a slow
or idle client), so that a crowd of slow sockets cannot lock out the clients that ask and go.
Without Twisted accepting into ``EMFILE`` the listener would stall: this keeps it below.

Ports are bound while the service is made (before twistd starts logging, daemonizes or drops
privileges), so that a port already in use is one line on standard error and exit status 1
instead of a server that runs and serves nothing; they accept nothing until the store is open
(:class:`Listeners` resumes them).
"""

from __future__ import annotations

import resource
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, cast

from twisted.application.service import Service
from twisted.internet.abstract import FileDescriptor
from twisted.internet.defer import Deferred, DeferredList, maybeDeferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.error import CannotListenError, ConnectionAborted
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocolFactory,
    IReactorTime,
    ITCPTransport,
)
from twisted.internet.protocol import Protocol
from twisted.internet.tcp import Connection
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.http_headers import Headers
from twisted.web.resource import IResource
from twisted.web.server import Site

from .channel import BodyPlan, GuardedChannel, LimitedRequest, Refusal
from .limits import Limits

log = Logger()


def descriptorLimit() -> int | None:
    """How many files this process may open (the soft ``RLIMIT_NOFILE``), if limited."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


class GuardedSite(Site):
    """Twisted Web's site over :class:`.channel.GuardedChannel`, counting connections."""

    requestFactory = LimitedRequest
    # A channel class where Twisted puts a factory of its HTTP/2-switching wrapper: this
    # server speaks HTTP/1.1 (see acceptableProtocols), and one proxy less per call.
    protocol = GuardedChannel  # type: ignore[assignment]

    def __init__(self, root: IResource, *, limits: Limits, reactor: IReactorTime,
                 logPath: str | None = None, descriptors: int | None = None) -> None:
        # parsePOSTFormSubmission: the server reads each body itself, through its renderings
        # (forms included, with their limits); Twisted's parse of every POST's Content-Type
        # into request.args, with the email package, cost a tenth of a create and was unused.
        super().__init__(root, logPath=logPath, timeout=limits.idleTimeout,  # type: ignore[no-untyped-call]
                         reactor=reactor, parsePOSTFormSubmission=False)
        self.limits = limits
        self._descriptors = descriptors
        #: Connections open now (refusals still closing included), in all and by address.
        self.open = 0
        self.byAddress: Counter[str] = Counter()
        #: Connections displaced to make room, since start.
        self.displaced = 0
        self._addressOf: dict[Protocol, str | None] = {}
        # Channels waiting for a request head, longest waiting first (dicts keep order).
        self._waiting: dict[GuardedChannel, None] = {}
        self._largeBodies: list[Callable[[bytes, bytes], bool]] = []
        self._planners: list[Callable[[bytes, bytes, Headers], BodyPlan | None]] = []

    @property
    def capacity(self) -> int | None:
        """Connections held at once before new ones displace waiting ones (None: no limit).

        Read from the process's limit at each connection (a system call), so that an
        operator's ``prlimit`` on the running server counts."""
        budget = self._budget()
        return None if budget is None else budget[0]

    def _budget(self) -> tuple[int, int] | None:
        """The capacity, and the count at which a connection is closed unanswered: half the
        headroom above it, for connections accepted in one turn of the accept loop before
        the refused ones are gone."""
        descriptors = self._descriptors if self._descriptors is not None else descriptorLimit()
        if descriptors is None:
            return None
        headroom = self.limits.headroomBelow(descriptors)
        capacity = max(1, descriptors - headroom)
        return capacity, capacity + headroom // 2

    def acceptableProtocols(self) -> list[bytes]:
        return [b"http/1.1"]

    # -- bodies --------------------------------------------------------------------------------

    def allowLargeBodies(self, route: Callable[[bytes, bytes], bool]) -> None:
        """Lift the body limit for requests ``route(method, path)`` accepts: routes that
        stream what they receive to disk (image uploads) and check sizes themselves."""
        self._largeBodies.append(route)

    def planBodies(self, planner: Callable[[bytes, bytes, Headers], BodyPlan | None]) -> None:
        """Ask ``planner`` what becomes of each body (see :data:`.channel.BodyPlan`): the
        first planner with a plan decides."""
        self._planners.append(planner)

    def planBody(self, method: bytes, path: bytes, headers: Headers) -> BodyPlan | None:
        for planner in self._planners:
            plan = planner(method, path, headers)
            if plan is not None:
                return plan
        return None

    def bodyLimit(self, method: bytes, path: bytes) -> int | None:
        path = path.partition(b"?")[0]
        if any(route(method, path) for route in self._largeBodies):
            return None
        return self.limits.maxBody

    # -- connections ---------------------------------------------------------------------------

    # Twisted's type names its HTTP/2-switching wrapper; this site builds a channel, or a
    # refusal when a connection may not be served.
    def buildProtocol(self, addr: Any) -> Protocol | None:  # type: ignore[override]
        address: str | None = getattr(addr, "host", None)  # None: a UNIX socket
        budget = self._budget()
        if budget is not None and self.open >= budget[0] and not self._displace():
            if self.open >= budget[1]:
                return None  # Twisted closes it at once: no descriptor to answer with
            return self._refusal("The server is at its connection limit; try again shortly.",
                                 linger=False)
        cap = self.limits.connectionsPerAddress
        if address is not None and cap and self.byAddress[address] >= cap:
            return self._refusal(f"Too many connections from {address}; close some, or try "
                                 "again shortly.", linger=True)
        channel: Protocol = super().buildProtocol(addr)  # type: ignore[no-untyped-call]
        self._count(channel, address)
        return channel

    def _refusal(self, message: str, *, linger: bool) -> Protocol:
        refusal = Refusal(message, self.reactor.callLater, linger=linger, gone=self.gone)
        refusal.factory = self
        self._count(refusal, None)
        return refusal

    def _count(self, connection: Protocol, address: str | None) -> None:
        self.open += 1
        self._addressOf[connection] = address
        if address is not None:
            self.byAddress[address] += 1

    def _displace(self) -> bool:
        """Close the connection that has waited longest for a request head, if any."""
        if not self._waiting:
            return False
        oldest = next(iter(self._waiting))
        del self._waiting[oldest]
        self.displaced += 1
        transport = oldest.transport
        if transport is not None:
            cast(ITCPTransport, transport).abortConnection()
            if isinstance(transport, Connection):
                # abortConnection closes the socket on the next turn of the reactor, and the
                # accept loop may take a hundred connections before then (into EMFILE, whose
                # recovery drops every queued client).  Close it now: Twisted's
                # connectionLost runs once however often it is called.
                transport.connectionLost(Failure(ConnectionAborted()))
        return True

    def waitingForHead(self, channel: GuardedChannel) -> None:
        self._waiting.pop(channel, None)
        self._waiting[channel] = None

    def serving(self, channel: GuardedChannel) -> None:
        self._waiting.pop(channel, None)

    def gone(self, connection: Protocol) -> None:
        if isinstance(connection, GuardedChannel):
            self._waiting.pop(connection, None)
        if connection not in self._addressOf:
            return
        address = self._addressOf.pop(connection)
        self.open -= 1
        if address is not None:
            self.byAddress[address] -= 1
            if not self.byAddress[address]:
                del self.byAddress[address]


class CannotListen(Exception):
    """A listening port could not be bound; the message is the line for the operator."""


class Listeners(Service):
    """Ports bound in advance (:meth:`bind`), accepting once the service starts."""

    def __init__(self, ports: list[IListeningPort],
                 pending: list[tuple[str, Deferred[IListeningPort]]], reactor: Any) -> None:
        self.ports = ports
        self._pending = pending
        self._reactor = reactor

    @classmethod
    def bind(cls, descriptions: Iterable[str], factory: IProtocolFactory, reactor: Any,
             spelled: Callable[[str], str] = str) -> Listeners:
        """Listen on every endpoint now; ``spelled`` completes a description (a backlog).

        A port that cannot be bound raises :class:`CannotListen` (and closes the ones already
        bound).  An endpoint that binds later (rare: most bind at once) is waited for when the
        service starts; if it fails then, the server stops."""
        ports: list[IListeningPort] = []
        pending: list[tuple[str, Deferred[IListeningPort]]] = []
        for description in descriptions:
            listening = serverFromString(reactor, spelled(description)).listen(factory)
            outcome: list[IListeningPort | Failure] = []
            listening.addBoth(outcome.append)
            if not outcome:
                pending.append((description, listening))
            elif isinstance(outcome[0], Failure):
                for port in ports:
                    port.stopListening()
                raise CannotListen(f"cannot listen on {description}: {_reason(outcome[0])}")
            else:
                ports.append(_paused(outcome[0]))
        return cls(ports, pending, reactor)

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        for port in self.ports:
            if isinstance(port, FileDescriptor):
                port.startReading()  # type: ignore[no-untyped-call]
        for description, listening in self._pending:
            listening.addCallbacks(self.ports.append, self._failedLater,
                                   errbackArgs=(description,))
        self._pending = []

    def _failedLater(self, failure: Failure, description: str) -> None:
        log.critical("Cannot listen on {description}: {reason}", description=description,
                     reason=_reason(failure))
        self._reactor.stop()

    def stopService(self) -> Deferred[Any]:
        super().stopService()  # type: ignore[no-untyped-call]
        return DeferredList([maybeDeferred(port.stopListening) for port in self.ports],
                            consumeErrors=True)


def _paused(port: IListeningPort) -> IListeningPort:
    # Bound, but accepting nothing until the store is open: the kernel queues connections.
    if isinstance(port, FileDescriptor):
        port.stopReading()  # type: ignore[no-untyped-call]
    return port


def _reason(failure: Failure) -> str:
    error = failure.value
    if isinstance(error, CannotListenError) and isinstance(error.socketError, OSError):
        return (error.socketError.strerror or str(error.socketError)).lower()
    return str(error)

