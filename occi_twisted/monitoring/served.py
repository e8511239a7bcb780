"""HTTP answers counted on the hot path: plain integers, rendered only when scraped.

Every request is counted, so what counting costs is paid by every GET.  A
``prometheus_client`` counter and histogram take a lock and a few Python frames per call,
which inside a request's path (its caches cold from the rest of the work) cost a GET about
8 microseconds, 4 % of it; here an answer is two dictionary updates and one ``bisect`` on the
reactor thread, the only thread that answers, so no lock is needed.  A scrape turns them into
the families :mod:`prometheus_client` renders.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from itertools import accumulate

from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString


class Served(Collector):
    """HTTP answers by route, method and status, and their latency by route and method, in
    buckets bounded by ``bounds`` (seconds, ascending)."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self._bounds = tuple(bounds)
        self._counts: dict[tuple[str, str, str], int] = {}
        #: By (route, method): a count per bucket (the last one beyond every bound), then the
        #: sum of the seconds.
        self._latency: dict[tuple[str, str], list[float]] = {}

    def add(self, route: str, method: str, status: str, seconds: float) -> None:
        """One answer (on the reactor thread)."""
        counts = self._counts
        key = (route, method, status)
        counts[key] = counts.get(key, 0) + 1
        kept = self._latency.get((route, method))
        if kept is None:
            kept = self._latency[route, method] = [0] * (len(self._bounds) + 2)
        kept[bisect_left(self._bounds, seconds)] += 1
        kept[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "occi_http_requests", "HTTP requests answered, by route (the shape of the place "
            "reached), method and status", labels=("route", "method", "status"))
        for counted, count in sorted(self._counts.items()):
            requests.add_metric(counted, count)
        yield requests
        latency = HistogramMetricFamily(
            "occi_http_request_duration_seconds", "Time from a request's head to the last "
            "byte of its answer, by route and method", labels=("route", "method"))
        bounds = [*map(floatToGoString, self._bounds), "+Inf"]
        for key, kept in sorted(self._latency.items()):
            latency.add_metric(key, list(zip(bounds, accumulate(kept[:-1]), strict=True)),
                               kept[-1])
        yield latency
