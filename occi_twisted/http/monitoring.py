"""Health and metrics over HTTP: ``/-/health`` for load balancers, ``/-/metrics`` for the
operator, and the resource that measures every request on its way through.

``/-/health`` is open to anyone, credentials or not (a load balancer probes without them):
it answers 200 when every part works and 503 naming each part that does not, and says
nothing else -- ``ok`` or ``failing`` per part (see :mod:`occi_twisted.monitoring.health`).

``/-/metrics`` is the operator's: an administrator reads it (in single-user mode the one user
is one); for anyone else there is nothing there, 404 as for another user's things.  A
scraper without credentials reads the metrics on a listener of their own instead
(``--metrics-listen``, :class:`MetricsOnly`).

:class:`Measured` stands outermost, in front of the door: each request is counted once it is
answered (or its client gone), by the shape of the place it reached (:func:`.methods.shapeOf`)
-- a refusal at the door reached none -- its method and its status.
"""

from __future__ import annotations

import json
from time import perf_counter
from typing import Any, cast

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.web.http import Request
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET

from ..model import locations as loc
from ..model.errors import NotFound
from ..monitoring import Health, Metrics
from ..monitoring.metrics import LOST, UNROUTED
from ..renderings import negotiation
from ..store.interface import IStore
from . import parts
from .answering import SERVER, plain
from .methods import Shape, allow, shapeOf

#: What the health of the server is written as: a line per failing part, or a JSON object.
_HEALTH_TYPES = ("text/plain", "application/json")
_ROUTES = {shape: shape.name.lower() for shape in Shape}
#: The places of files: what their answers send, and their spooled bodies bring, is counted.
_FILES = frozenset(_ROUTES[shape] for shape in (Shape.IMAGE, Shape.FILE, Shape.IMPORT))


class Measured(Resource):
    """``inner``, every request through it counted in ``metrics`` once it is answered."""

    isLeaf = True

    def __init__(self, inner: IResource, metrics: Metrics) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.inner = inner
        self.metrics = metrics

    def render(self, request: IRequest) -> Any:
        answer = cast(Request, request)
        answer.notifyFinish().addBoth(self._answered, answer, perf_counter())
        return self.inner.render(request)

    def _answered(self, outcome: Failure | None, request: Request, started: float) -> None:
        shape = shapeOf(cast(IRequest, request))
        route = _ROUTES[shape] if shape is not None else UNROUTED
        status = LOST if isinstance(outcome, Failure) else str(request.code)
        self.metrics.answered(route, request.method.decode("latin-1"), status,
                              perf_counter() - started)
        if route in _FILES:
            if request.method == b"GET":
                self.metrics.transferred("download", request.sentLength)
            sink = getattr(request, "sink", None)
            if sink is not None:
                self.metrics.transferred("upload", sink.received)


class MonitoringRoutes:
    """What ``/-/health`` and ``/-/metrics`` answer, for one server."""

    def __init__(self, store: IStore, metrics: Metrics, health: Health) -> None:
        self.store = store
        self.metrics = metrics
        self.health = health

    async def healthOf(self, request: IRequest, method: str) -> bytes:
        """200 if every part works, else 503; as text, or JSON if asked for."""
        allow(request, method, Shape.HEALTH, loc.HEALTH)
        checks = await self.health.check()
        works = all(checks.values())
        request.setResponseCode(200 if works else 503)
        request.setHeader(b"Cache-Control", b"no-store")
        named = parts.argument(request, "format")
        asJSON = named == "json" if named is not None else negotiation.choose(
            parts.header(request, b"accept"), _HEALTH_TYPES) == "application/json"
        if asJSON:
            body = json.dumps({"status": "ok" if works else "failing", "checks": {
                name: "ok" if ok else "failing" for name, ok in checks.items()}}).encode()
            request.setHeader(b"Content-Type", b"application/json")
            request.setHeader(b"Content-Length", str(len(body)).encode())
        else:
            body = plain(request, "ok" if works else "\n".join(
                f"{name}: failing" for name, ok in checks.items() if not ok))
        return b"" if method == "HEAD" else body

    async def metricsOf(self, request: IRequest, method: str) -> bytes:
        """The metrics, for an administrator; nothing, for anyone else."""
        if not parts.principalOf(request).isAdmin:
            raise NotFound(f"There is nothing at {loc.METRICS}.")
        allow(request, method, Shape.METRICS, loc.METRICS)
        return await exposition(request, self.metrics, self.store)


async def exposition(request: IRequest, metrics: Metrics, store: IStore) -> bytes:
    """The metrics as the answer, in the format the scraper accepts."""
    body, mediaType = await metrics.exposition(store, parts.header(request, b"accept"))
    request.setHeader(b"Content-Type", mediaType.encode())
    request.setHeader(b"Content-Length", str(len(body)).encode())
    request.setHeader(b"Cache-Control", b"no-store")
    return b"" if request.method == b"HEAD" else body


class MetricsOnly(Resource):
    """A listener of the metrics' own (``--metrics-listen``): ``/-/metrics`` to anyone who
    reaches it, without credentials -- a scraper on loopback or a private network -- and
    nothing else."""

    isLeaf = True

    def __init__(self, routes: MonitoringRoutes) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.routes = routes

    def render(self, request: IRequest) -> Any:
        request.setHeader(b"Server", SERVER.encode())
        if parts.pathOf(request) != loc.METRICS:
            request.setResponseCode(404)
            return plain(request, f"Only {loc.METRICS} is served here.")
        if request.method not in (b"GET", b"HEAD"):
            request.setResponseCode(405)
            request.setHeader(b"Allow", b"GET, HEAD")
            return plain(request, f"{loc.METRICS} takes GET and HEAD.")
        gone: list[Failure] = []
        cast(Request, request).notifyFinish().addErrback(gone.append)
        answered = Deferred.fromCoroutine(exposition(request, self.routes.metrics,
                                                     self.routes.store))
        answered.addErrback(_unavailable, request)
        answered.addCallback(_send, request, gone)
        return NOT_DONE_YET


def _unavailable(failure: Failure, request: IRequest) -> bytes:
    request.setResponseCode(503)
    return plain(request, f"The metrics cannot be read now: {failure.getErrorMessage()}")


def _send(body: bytes, request: IRequest, gone: list[Failure]) -> None:
    if not gone:  # the scraper may have hung up meanwhile
        request.write(body)
        request.finish()
