"""The figures only the store knows, read when the metrics are scraped.

Requests by action and state, and the events in the log, change with every request step and
every change: maintaining gauges of them on each would cost every write something, and would
count only this node's writes where several nodes share a store.  They are read from the
store once per scrape instead -- one query each, which :meth:`StoreCollector.refresh` runs
before the registry is rendered (a collector is called synchronously, a store answers
later).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..store.interface import IStore


class StoreCollector(Collector):
    """Requests by action and state, and the events logged, as the last refresh read them."""

    def __init__(self) -> None:
        self._requests: Mapping[tuple[str, str], int] = {}
        self._events = 0
        self._read = False

    async def refresh(self, store: IStore) -> None:
        """Read the store's figures (a :class:`~.store.interface.StoreUnavailable` passes)."""
        requests = await store.countRequests()
        events = await store.newestSeq()
        self._requests, self._events, self._read = requests, events, True

    def collect(self) -> Iterator[Metric]:
        if not self._read:
            return
        requests = GaugeMetricFamily(
            "occi_requests", "Requests (of actions) in the store, by action and state "
            "(queued, scheduled, running, succeeded, failed, cancelled)",
            labels=("action", "state"))
        for (action, state), count in sorted(self._requests.items()):
            requests.add_metric((action, state), count)
        yield requests
        yield CounterMetricFamily(
            "occi_events", "Events in the store's log (every change and request step, as "
            "feeds, long polls and XMPP publish them): the newest event's number",
            value=self._events)
