"""The fuzz suite's target: the real app over a memory store, seeded with one of everything,
spoken to as raw HTTP/1.1 through the server's own guarded channel.

Raw bytes, not an HTTP client: a client would quote the path, refuse a header value or
frame the body its own way, and those are the inputs to try.  The channel is the one
``twistd occi`` serves with (:class:`occi_twisted.http.listener.GuardedSite`), so body limits
and Twisted's parser are under test too.  Everything runs without the reactor: the memory
store answers at once and the clock is a :class:`~twisted.internet.task.Clock` advanced
until the answer is complete (long polls and wait budgets end within ``MAX_WAIT``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import globalLogPublisher
from twisted.python.failure import Failure

from occi_twisted.http.limits import Limits
from occi_twisted.http.listener import GuardedSite
from occi_twisted.model import Registry, locations
from occi_twisted.store.memory import MemoryStore

from ..http.support import BASE, INFRA, Client

HOST = BASE.split("://", 1)[1].encode()
#: Seconds of clock a request may take (a long poll or an action's wait: at most 60).
MAX_WAIT = 130
COMPUTE = f'Category: compute; scheme="{INFRA}"; class="kind"'
TAG_SCHEME = "http://fuzz.example/tags#"
#: The renderings of an entity that can be sent back (Atom and HTML to see them refused).
RENDERINGS = ("text/plain", "text/occi", "application/occi+json", "application/occi+xml",
              "text/x-occi-descriptor", "application/atom+xml", "text/html")


@dataclass(frozen=True)
class Request:
    """One request as it goes on the wire."""

    method: bytes
    target: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""
    chunked: bool = False

    def wire(self) -> bytes:
        head = [b"%s %s HTTP/1.1" % (self.method, self.target), b"Host: " + HOST,
                b"Connection: close"]
        head.extend(b"%s: %s" % pair for pair in self.headers)
        if self.chunked:
            head.append(b"Transfer-Encoding: chunked")
            body = b"".join(b"%x\r\n%s\r\n" % (len(part), part)
                            for part in _parts(self.body)) + b"0\r\n\r\n"
        else:
            head.append(b"Content-Length: %d" % len(self.body))
            body = self.body
        return b"\r\n".join(head) + b"\r\n\r\n" + body

    def __repr__(self) -> str:  # what a failing example shows
        return f"Request(wire={self.wire()[:2000]!r})"


def _parts(body: bytes) -> Iterator[bytes]:
    for start in range(0, len(body), 997):
        yield body[start:start + 997]


@dataclass
class Answer:
    """The status line and what followed, as the client received them, and the failures
    the server logged while answering."""

    code: int
    raw: bytes
    failures: list[Failure] = field(default_factory=list)

    @property
    def body(self) -> bytes:
        return self.raw.partition(b"\r\n\r\n")[2]


class World:
    """A server with a compute, storage, network, both link kinds, a user mixin holding the
    compute, a note, a finished action request and their events: every room has something
    in it.  ``routes`` are its locations by kind of route, ``paths`` all of them;
    ``bodies`` each seed's rendering per media type (what "GET it, modify it, PUT it back"
    sends); ``allowed`` the methods of each path."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.site = GuardedSite(client.server.resource(), limits=Limits(),
                                reactor=client.clock, descriptors=None)
        self.paths: list[str] = []
        self.ids: dict[str, str] = {}
        self.bodies: dict[str, bytes] = {}
        self.allowed: dict[str, list[str]] = {}
        self.routes: dict[str, list[str]] = {}
        self._port = 40000

    def __repr__(self) -> str:  # strategies show their arguments
        return f"World({len(self.paths)} paths)"

    @classmethod
    def seeded(cls, *, renderings: bool = False) -> World:
        """A new world; with each seed's ``renderings`` (the same in every world: ask once)."""
        store = SixtyFourBitStore(Registry.standard())
        started: list[object] = []
        store.start().addBoth(started.append)
        assert started == [None], started
        world = cls(Client(store=store))
        world._seed(renderings)
        return world

    @property
    def clock(self) -> Clock:
        clock = self.client.clock
        assert isinstance(clock, Clock)
        return clock

    def send(self, request: Request) -> Answer:
        """Send ``request`` on a new connection; the answer once the server closed it."""
        self._port += 1
        peer = IPv4Address("TCP", "127.0.0.1", self._port)
        transport = StringTransport(IPv4Address("TCP", "127.0.0.1", 80), peer)
        channel = self.site.buildProtocol(peer)
        assert channel is not None
        channel.makeConnection(transport)
        wire = request.wire()
        for name, value in self.ids.items():
            wire = wire.replace(b"{%s}" % name.encode(), value.encode())
        failures: list[Failure] = []

        def logged(event: dict[str, Any]) -> None:
            # twisted.logger's failures, and those of twisted.python.log (Klein's own).
            failure = event.get("log_failure", event.get("failure"))
            if isinstance(failure, Failure):
                failures.append(failure)

        globalLogPublisher.addObserver(logged)
        try:
            channel.dataReceived(wire)
            waited = 0
            self.clock.advance(0)
            while not transport.disconnecting and waited < MAX_WAIT:
                self.clock.advance(1)
                waited += 1
            channel.connectionLost(Failure(ConnectionDone()))
        finally:
            globalLogPublisher.removeObserver(logged)
        raw = transport.value()
        assert transport.disconnecting, f"no complete answer after {waited} s: {raw[:300]!r}"
        status = raw.split(b"\r\n", 1)[0].split(b" ")
        assert status[0] == b"HTTP/1.1" and len(status) >= 2, raw[:300]
        return Answer(int(status[1]), raw, failures)

    def _seed(self, renderings: bool) -> None:
        compute, storage, network = "/compute/c1", "/storage/s1", "/network/n1"
        source = f'X-OCCI-Attribute: occi.core.source="{compute}"'
        self._made(b"PUT", compute, COMPUTE, "X-OCCI-Attribute: occi.compute.cores=2")
        self._made(b"PUT", storage, _category("storage"), "X-OCCI-Attribute: occi.storage.size=1")
        self._made(b"PUT", network, _category("network"))
        self._made(b"PUT", "/networkinterface/ni1", _category("networkinterface"), source,
                   f'X-OCCI-Attribute: occi.core.target="{network}"')
        self._made(b"PUT", "/storagelink/sl1", _category("storagelink"), source,
                   f'X-OCCI-Attribute: occi.core.target="{storage}"',
                   'X-OCCI-Attribute: occi.storagelink.deviceid="vdb"')
        self._made(b"POST", locations.QUERY, f'Category: tag; scheme="{TAG_SCHEME}"; '
                   'class="mixin"; location="/tag/"')
        self._made(b"POST", "/tag/", f"X-OCCI-Location: {BASE}{compute}")
        self._made(b"PUT", locations.noteAt(compute, "note1"), "A note.")
        acted = self._made(b"POST", f"{compute}?action=start", prefer=b"respond-async")
        monitor = _header(acted.raw, b"location")
        self.ids["request"] = monitor.rpartition(b"/")[2].decode()
        feed = self._made(b"GET", locations.logOf(compute), accept=b"text/plain")
        self.ids["event"] = feed.body.split(b" ", 1)[0].rstrip(b"/").rpartition(b"/")[2].decode()
        seeds = (compute, "/networkinterface/ni1") if renderings else ()
        for mediaType in RENDERINGS:
            for seed in seeds:
                got = self._made(b"GET", seed, accept=mediaType.encode())
                self.bodies[f"{mediaType} {seed}"] = got.body
        self.routes = self._routes([compute, storage, network, "/networkinterface/ni1",
                                    "/storagelink/sl1"])
        self.paths = [path for paths in self.routes.values() for path in paths]
        if renderings:
            self.allowed = {path: self._allowed(path) for path in self.paths}

    def _allowed(self, path: str) -> list[str]:
        """The methods ``path`` takes, as its 405 to a method nobody takes says."""
        refused = self.send(Request(b"FOO", path.encode()))
        allowed = _header(refused.raw, b"allow") if refused.code == 405 else b"GET"
        return [method.strip().decode() for method in allowed.split(b",")]

    def _made(self, method: bytes, path: str, *lines: str, accept: bytes = b"*/*",
              prefer: bytes | None = None) -> Answer:
        headers = [(b"Content-Type", b"text/plain"), (b"Accept", accept)]
        if prefer is not None:
            headers.append((b"Prefer", prefer))
        answer = self.send(Request(method, path.encode(), tuple(headers),
                                   "\n".join(lines).encode()))
        assert answer.code < 300, answer.raw
        return answer

    def _routes(self, entities: list[str]) -> dict[str, list[str]]:
        """Every location of the world by the kind of route that serves it, built as the
        server builds them."""
        registry = self.client.store.registry
        # Ids that differ between worlds stay placeholders: send() puts each world's in.
        event, requestId = "{event}", "{request}"
        compute = entities[0]  # it has one of every sub-resource
        request = locations.requestAt(compute, requestId)
        kinds = [k.location for k in registry.kinds() if k.location is not None]
        mixins = [m.location for m in registry.mixins() if m.location is not None]
        return {
            "landing": [locations.ROOT],
            "query": list(locations.QUERY_PATHS),
            "feed": [locations.FEED, *map(locations.logOf, [*kinds, *mixins, *entities]),
                     locations.logOf(request)],
            "entry": [locations.logEntry(locations.ROOT, event),
                      locations.logEntry(compute, event)],
            "template": [locations.TEMPLATES, *(locations.templateAt(m.term)
                                                for m in registry.mixins()
                                                if m.location and m.location.count("/") > 2)],
            "kinds": kinds,
            "mixins": mixins,
            "entity": entities,
            "requests": [locations.requestsOf(entity) for entity in entities],
            "request": [request],
            "notes": [locations.notesOf(entity) for entity in entities],
            "note": [locations.noteAt(compute, "note1")],
            # Unsigned here (a signed one would be served by threads this world has not):
            # what a forger has.
            "files": [locations.fileOf(entities[1]), locations.fileOf(compute, ".ova"),
                      locations.fileOf("/compute/")],
        }


class SixtyFourBitStore(MemoryStore):
    """The memory store, refusing what SQLite and PostgreSQL cannot hold -- an integer
    outside 64 bits -- as SQLite does (OverflowError), so that the fuzz suite finds the
    inputs that would reach a real store that way."""

    def __getattribute__(self, name: str) -> Any:
        found = super().__getattribute__(name)
        if name.startswith("_") or not callable(found):
            return found

        def checked(*args: Any, **kwargs: Any) -> Any:
            for value in (*args, *kwargs.values()):
                if type(value) is int and not -(2 ** 63) <= value < 2 ** 63:
                    raise OverflowError(f"Python int too large to convert to SQLite INTEGER "
                                        f"(in {name})")
            return found(*args, **kwargs)

        return checked


def _header(raw: bytes, name: bytes) -> bytes:
    for line in raw.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        found, _, value = line.partition(b":")
        if found.strip().lower() == name:
            return value.strip()
    raise AssertionError(f"no {name!r} in {raw[:300]!r}")


def _category(kind: str) -> str:
    return f'Category: {kind}; scheme="{INFRA}"; class="kind"'
