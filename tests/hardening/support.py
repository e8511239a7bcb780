"""A guarded site in memory: a recording resource behind it, connections over string
transports that can half-close and abort like TCP, and a clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import ITCPTransport
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request
from zope.interface import implementer

from occi_twisted.http.limits import Limits
from occi_twisted.http.listener import GuardedSite


class Recorder(Resource):
    """Answers every request 200 with the length of the body it was given; holds the
    requests for ``/hold`` unanswered, as a long poll."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[bytes] = []
        self.held: list[Request] = []

    def render(self, request: Request) -> bytes | int:
        if request.path == b"/hold":
            self.held.append(request)
            return NOT_DONE_YET
        assert request.content is not None
        self.bodies.append(request.content.read())
        return b"got %d" % len(self.bodies[-1])


@implementer(ITCPTransport)
class TCPStringTransport(StringTransport):
    """A string transport that half-closes and aborts as a TCP connection does."""

    writeClosed = False
    aborted = False

    def loseWriteConnection(self) -> None:
        self.writeClosed = True

    def setTcpNoDelay(self, enabled: bool) -> None:
        pass

    def abortConnection(self) -> None:
        self.aborted = True
        self.disconnecting = True


@dataclass
class Connection:
    protocol: Protocol
    transport: TCPStringTransport

    def send(self, data: bytes) -> None:
        self.protocol.dataReceived(data)

    @property
    def received(self) -> bytes:
        return self.transport.value()

    @property
    def closed(self) -> bool:
        return self.transport.disconnecting or self.transport.writeClosed

    def lose(self) -> None:
        from twisted.internet.error import ConnectionDone
        from twisted.python.failure import Failure

        self.protocol.connectionLost(Failure(ConnectionDone()))


@dataclass
class Listener:
    """A :class:`GuardedSite` over a :class:`Recorder`, on a :class:`Clock`."""

    limits: Limits = field(default_factory=Limits)
    descriptors: int | None = 10_000
    clock: Clock = field(default_factory=Clock)
    resource: Recorder = field(default_factory=Recorder)

    def __post_init__(self) -> None:
        self.site = GuardedSite(self.resource, limits=self.limits, reactor=self.clock,
                                descriptors=self.descriptors)

    def connect(self, host: str = "192.0.2.1", port: int = 50000) -> Connection:
        peer = IPv4Address("TCP", host, port)
        protocol = self.site.buildProtocol(peer)
        assert protocol is not None
        transport = TCPStringTransport(IPv4Address("TCP", "127.0.0.1", 80), peer)
        protocol.makeConnection(transport)
        return Connection(protocol, transport)
