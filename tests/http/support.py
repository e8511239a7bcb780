"""An in-memory server for HTTP tests: the real app over a memory store, driven by StubTreq."""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, time
from pathlib import Path
from typing import Any, TypeVar

from treq.testing import StubTreq
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import Clock, LoopingCall
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource

from occi_twisted.drivers.disks import DiskDriver
from occi_twisted.files.signing import KeyRing
from occi_twisted.http import parts
from occi_twisted.http.app import OCCIServer
from occi_twisted.identity import ADMIN, Principal, Quota, introspector
from occi_twisted.identity.principal import COMPUTE_PREFIX
from occi_twisted.model import Registry
from occi_twisted.operations import Operations
from occi_twisted.plugins.simulated import SimulatedDriver
from occi_twisted.store.interface import IStore
from occi_twisted.store.memory import MemoryStore

BASE = "http://occi.test"
INFRA = "http://schemas.ogf.org/occi/infrastructure#"
COMPUTE_CATEGORY = f'compute; scheme="{INFRA}"; class="kind"'


T = TypeVar("T")

#: The header the test door reads whom a request acts for: a user's name, ``admin``, or
#: ``compute:ID`` for an introspection request from that compute.
ACTING = "X-Test-Principal"


class HeaderDoor(Resource):
    """A front door for tests only: the principal is whoever :data:`ACTING` names (no
    header: the app's own single-user default), with the quota ``quotas`` gives them."""

    isLeaf = True

    def __init__(self, inner: IResource, quotas: Mapping[str, Quota]) -> None:
        super().__init__()
        self.inner = inner
        self.quotas = quotas

    def render(self, request: IRequest) -> Any:
        named = request.getHeader(ACTING.encode())
        if named is not None:
            name = named.decode() if isinstance(named, bytes) else named
            parts.setPrincipal(request, self.principalNamed(name))
        return self.inner.render(request)

    def principalNamed(self, name: str) -> Principal:
        if name.startswith(COMPUTE_PREFIX):
            return introspector(name[len(COMPUTE_PREFIX):])
        role = ADMIN if name == "admin" else "user"
        return Principal(name=name, role=role, quota=self.quotas.get(name, Quota()))


def synchronously(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that needs no reactor turn (StubTreq over a memory store) to its end.

    Property tests run many examples inside one test; each example must be complete when
    hypothesis looks at it, so they run this way rather than through pytest-twisted.
    """
    results: list[T | Failure] = []
    Deferred.fromCoroutine(coroutine).addBoth(results.append)
    assert results, "the request did not complete without the reactor"
    result = results[0]
    if isinstance(result, Failure):
        result.raiseException()
    return result  # type: ignore[return-value]


@dataclass
class Answer:
    code: int
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


@functools.cache
def _keysDirectory() -> Path:
    """Where the in-memory servers of a test run keep their URL signing keys (removed when
    the run ends: one directory per run, not per server)."""
    directory = tempfile.mkdtemp(prefix="occi-keys-")
    atexit.register(shutil.rmtree, directory, True)
    return Path(directory)


class Client:
    """Requests to the in-memory server, answered in full."""

    def __init__(self, clock: IReactorTime | None = None, *,
                 timings: Mapping[tuple[str, str], float] | None = None,
                 disks: DiskDriver | None = None, waitBudget: float = 3.0,
                 quotas: Mapping[str, Quota] | None = None,
                 store: IStore | None = None, peers: tuple[str, ...] = ()) -> None:
        """``clock`` defaults to a fixed :class:`Clock`; pass the reactor for listings of
        more than one page, which give the reactor a turn between pages.  Actions are
        instant unless ``timings`` say otherwise (see the simulated driver).  With
        ``quotas`` the app stands behind the test's :class:`HeaderDoor`.  ``store``, if
        given, is started already (a memory store is made otherwise).  ``peers``: the URLs
        a migration may go to."""
        if clock is None:
            clock = Clock()
            clock.advance(1_700_000_000)
        self.clock = clock
        if store is None:
            store = MemoryStore(Registry.standard())
            started: list[object] = []
            store.start().addBoth(started.append)
            assert started == [None], started
        self.store = store
        self.driver = SimulatedDriver(seed=1, timings=timings, disks=disks)
        self.operations = Operations.build(self.store, self.driver, clock, node="test",
                                           backupAt=time(0, 0), zone=UTC)
        self.operations.scheduler.startService()
        self.server = OCCIServer(self.store, self.driver, self.clock, self.operations.desk,
                                 waitBudget=waitBudget,
                                 keys=KeyRing.inData(_keysDirectory(), clock.seconds),
                                 peers=peers)
        resource = self.server.resource()
        if quotas is not None:
            resource = HeaderDoor(resource, quotas)
        self.treq = StubTreq(resource)

    async def request(self, method: str, path: str, body: bytes | str = b"", *,
                      follow: bool = True, **headers: str) -> Answer:
        if isinstance(body, str):
            body = body.encode()
        sent = {name.replace("_", "-"): [value] for name, value in headers.items()}
        pump = None
        if not isinstance(self.clock, Clock):
            # Answers written over several reactor turns reach StubTreq's client only when
            # it is flushed, so keep flushing while the answer streams.
            pump = LoopingCall(self.treq.flush)
            pump.clock = self.clock
            pump.start(0.001)
        try:
            response = await self.treq.request(method, BASE + path, data=body or None,
                                               headers=sent, allow_redirects=follow)
            content = await response.content()
        finally:
            if pump is not None:
                pump.stop()
        received = {name.decode().lower(): [v.decode() for v in values]
                    for name, values in response.headers.getAllRawHeaders()}
        return Answer(response.code, received, content)

    async def create(self, kind: str = "compute", body: str = "", **headers: str) -> str:
        """Create an entity with a text/plain body; returns its path."""
        category = f'Category: {kind}; scheme="{INFRA}"; class="kind"\n'
        answer = await self.request("POST", f"/{kind}/", category + body,
                                    Content_Type="text/plain", Accept="text/plain", **headers)
        assert answer.code == 201, answer.text
        location = answer.header("location")
        assert location is not None and location.startswith(BASE)
        return location[len(BASE):]

    async def everything(self) -> bytes:
        """Every resource and every link, in JSON: ``/resource/`` then ``/link/`` (the
        ``entity`` kind has no collection, GFD.223 section 3)."""
        listings = [await self.request("GET", path, Accept="application/occi+json")
                    for path in ("/resource/", "/link/")]
        return b"".join(listing.body for listing in listings)
