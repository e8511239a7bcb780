"""What one server counts, in a Prometheus registry of its own.

Each server has its own :class:`~prometheus_client.CollectorRegistry` (not the library's
global one): tests, and several servers in one process, never mix their figures.

Two kinds of figure:

- those measured as things happen, on the reactor thread: HTTP requests (by route, method
  and status) and their latency (without a lock: :mod:`.served`), the bytes storage jobs
  process and transfers carry, the latency of the store's commits, XMPP notifications and
  their lag behind the commit;
- those read when the metrics are scraped, so that nothing is maintained on every change:
  requests by action and state and the events in the store's log (one query each, see
  :class:`.collector.StoreCollector`), connections open and XMPP subscribers (read from the
  objects that know them).

Labels come from bounded sets only: a route is the shape of the place a request reached
(:class:`~occi_twisted.http.methods.Shape`), never its path; a method outside HTTP's own is
counted as ``other``; an action is one the registry defines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.process_collector import ProcessCollector

from ..model import Value
from ..store.interface import IStore
from .collector import StoreCollector
from .served import Served

#: The methods counted by name; any other is ``other`` (a client may send any token).
METHODS: Final = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH"})
#: A request that reached no place of the URL space (a 404 of an unknown path, a refusal
#: at the front door).
UNROUTED: Final = "none"
#: The status of a request whose client went away before its answer was complete.
LOST: Final = "lost"
#: Answers take a millisecond; downloads and long polls take up to minutes.
LATENCY_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                          2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
#: A commit waits for one sync of the disk, after at most one other.
COMMIT_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                         1.0, 2.5, 5.0)
#: Notifications leave within milliseconds of the commit, unless the XMPP server lags.
LAG_BUCKETS: Final = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                      30.0, 60.0)

class Metrics:
    """The instruments of one server, and its exposition."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        ProcessCollector(registry=registry)
        #: HTTP answers: every request's, so counted without a lock (see :mod:`.served`).
        self.served = Served(LATENCY_BUCKETS)
        registry.register(self.served)
        self.actionBytes = Counter(
            "occi_action_bytes", "Bytes storage jobs processed, by action (a secure erase "
            "counts every pass and its verification read; a backup what it copied)",
            ("action",), registry=registry)
        self.transferBytes = Counter(
            "occi_transfer_bytes", "Bytes of files carried through signed URLs, by direction "
            "(download: images and OVAs sent; upload: images and OVAs received)",
            ("direction",), registry=registry)
        self.commits = Histogram(
            "occi_store_commit_seconds", "Time from a write handed to the store to its being "
            "durable", buckets=COMMIT_BUCKETS, registry=registry)
        self.notifications = Counter(
            "occi_xmpp_notifications", "XMPP pubsub notifications sent (one per event and "
            "subscriber)", registry=registry)
        self.publishLag = Histogram(
            "occi_xmpp_publish_lag_seconds", "Time from an event's commit to its XMPP "
            "notifications being written to the stream", buckets=LAG_BUCKETS,
            registry=registry)
        #: Read at each scrape: ``connections.set_function(...)``, as the listener knows.
        self.connections = Gauge(
            "occi_http_connections_open", "HTTP connections open now", registry=registry)
        #: Read at each scrape, as the XMPP publisher knows.
        self.subscribers = Gauge(
            "occi_xmpp_subscribers", "XMPP subscribers the publisher notifies (of the nodes "
            "it has notified lately)", registry=registry)
        self.store = StoreCollector()
        registry.register(self.store)

    # -- measured as things happen -----------------------------------------------------------

    def answered(self, route: str, method: str, status: str, seconds: float) -> None:
        """One HTTP request answered (or abandoned: ``status`` :data:`LOST`)."""
        self.served.add(route, method if method in METHODS else "other", status, seconds)

    def progressed(self, action: str, before: Mapping[str, Value],
                   after: Mapping[str, Value]) -> None:
        """A request's checkpoint: the bytes its job did since the one before (the job's
        ``bytes`` progress never goes back, even across a resume)."""
        done, previous = after.get("bytes"), before.get("bytes", 0)
        if isinstance(done, int) and isinstance(previous, int) and done > previous:
            self.actionBytes.labels(action).inc(done - previous)

    def transferred(self, direction: str, count: int) -> None:
        """``count`` bytes of a file sent (``download``) or received (``upload``)."""
        if count > 0:
            self.transferBytes.labels(direction).inc(count)

    # -- read when scraped -------------------------------------------------------------------

    async def exposition(self, store: IStore, accept: str | None) -> tuple[bytes, str]:
        """The metrics, and their media type: the Prometheus text format, or OpenMetrics
        when ``accept`` asks for it.  The store's figures are read first."""
        await self.store.refresh(store)
        encoder, mediaType = choose_encoder(accept or "")
        return encoder(self.registry), mediaType
