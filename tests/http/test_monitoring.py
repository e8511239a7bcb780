"""``/-/health`` and ``/-/metrics`` on the in-memory app: the metrics after a load, read with
``prometheus_client``'s own parser, count what the load did; only an administrator reads them;
health is 200 while the store answers and the scheduler runs, 503 naming what does not."""

from __future__ import annotations

from typing import Any

import pytest_twisted as pt
from prometheus_client.parser import text_string_to_metric_families

from occi_twisted.monitoring import Metrics

from .support import ACTING, Client

START = "http://schemas.ogf.org/occi/infrastructure/compute/action#start"
TEXT = {"Accept": "text/plain", "Content_Type": "text/plain", "Prefer": "respond-async"}


async def scrape(client: Client, **headers: str) -> dict[tuple[str, frozenset[Any]], float]:
    """Every sample of ``/-/metrics``, by name and labels."""
    answer = await client.request("GET", "/-/metrics", **headers)
    assert answer.code == 200, answer.text
    assert (answer.header("content-type") or "").startswith("text/plain; version=0.0.4")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples}


def sample(samples: dict[tuple[str, frozenset[Any]], float], name: str,
           **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def served(samples: dict[tuple[str, frozenset[Any]], float], route: str, method: str,
           status: str) -> float:
    return sample(samples, "occi_http_requests_total", route=route, method=method,
                  status=status)


@pt.ensureDeferred
async def test_the_metrics_count_a_load() -> None:
    client = Client(timings={("start", "default"): 60.0})
    computes = [await client.create("compute") for _ in range(3)]
    for _ in range(5):
        assert (await client.request("GET", computes[0], Accept="text/plain")).code == 200
    missing = await client.request("GET", "/compute/no-such-compute", Accept="text/plain")
    assert missing.code == 404
    nowhere = await client.request("GET", "/nowhere/", Accept="text/plain")
    assert nowhere.code == 404
    asked = await client.request("POST", f"{computes[1]}?action=start", **TEXT)
    assert asked.code == 202, asked.text

    before = await scrape(client)
    assert served(before, "kind_collection", "POST", "201") == 3
    assert served(before, "entity", "GET", "200") == 5
    assert served(before, "entity", "GET", "404") == 1
    assert served(before, "entity", "POST", "202") == 1
    assert served(before, "none", "GET", "404") == 1  # reached no place of the URL space
    assert sample(before, "occi_http_request_duration_seconds_count", route="entity",
                  method="GET") == 6
    assert sample(before, "occi_http_request_duration_seconds_bucket", route="entity",
                  method="GET", le="+Inf") == 6
    assert 0 < sample(before, "occi_http_request_duration_seconds_sum", route="entity",
                      method="GET") < 60
    assert sample(before, "occi_requests", action=START, state="running") == 1
    # Three creates, and the request queued then started.
    assert sample(before, "occi_events_total") == 5

    # The start takes a minute: once it has, it is counted as succeeded.
    for _ in range(130):
        client.clock.advance(0.5)  # type: ignore[attr-defined]  # the driver's steps
    after = await scrape(client)
    assert sample(after, "occi_requests", action=START, state="running") == 0
    assert sample(after, "occi_requests", action=START, state="succeeded") == 1
    # Its steps are events too (a progress every half second, the end, the compute's state).
    assert sample(after, "occi_events_total") == 5 + 120 + 2
    # The first scrape is counted by the second; what the second does, by the next.
    assert served(after, "metrics", "GET", "200") == 1
    assert served(after, "entity", "GET", "200") == 5
    # Process figures come with them.
    assert sample(after, "process_resident_memory_bytes") > 0


@pt.ensureDeferred
async def test_only_an_administrator_reads_the_metrics() -> None:
    client = Client(quotas={})
    await client.create("compute", **{ACTING: "bob"})
    for method in ("GET", "HEAD", "POST", "PUT", "DELETE"):
        refused = await client.request(method, "/-/metrics", **{ACTING: "bob"})
        assert refused.code == 404, (method, refused.text)
        assert b"occi_" not in refused.body
    self = await client.request("GET", "/-/metrics", **{ACTING: "compute:c1"})
    assert self.code == 401
    samples = await scrape(client, **{ACTING: "admin"})
    # For bob there was no place there: refused before it, as for a path that leads nowhere.
    for method in ("GET", "HEAD", "POST", "PUT", "DELETE"):
        assert served(samples, "none", method, "404") == 1
    assert served(samples, "none", "GET", "401") == 1
    head = await client.request("HEAD", "/-/metrics", **{ACTING: "admin"})
    assert head.code == 200 and head.body == b""
    wrong = await client.request("POST", "/-/metrics", **{ACTING: "admin"})
    assert wrong.code == 405 and wrong.header("allow") == "GET, HEAD"


@pt.ensureDeferred
async def test_openmetrics_when_the_scraper_asks_for_it() -> None:
    client = Client()
    answer = await client.request("GET", "/-/metrics",
                                  Accept="application/openmetrics-text; version=1.0.0")
    assert answer.code == 200
    assert (answer.header("content-type") or "").startswith("application/openmetrics-text")
    assert answer.text.endswith("# EOF\n")


@pt.ensureDeferred
async def test_health_is_ok_while_store_and_scheduler_work() -> None:
    client = Client(quotas={})
    for who in ({}, {ACTING: "bob"}, {ACTING: "compute:c1"}):
        answer = await client.request("GET", "/-/health", **who)
        assert (answer.code, answer.text) == (200, "ok\n"), who
        assert answer.header("cache-control") == "no-store"
    answer = await client.request("GET", "/-/health", Accept="application/json")
    assert answer.code == 200
    assert answer.json() == {"status": "ok", "checks": {"store": "ok", "scheduler": "ok"}}
    assert (await client.request("GET", "/-/health?format=json")).json()["status"] == "ok"
    head = await client.request("HEAD", "/-/health")
    assert head.code == 200 and head.body == b""
    assert (await client.request("POST", "/-/health")).code == 405


@pt.ensureDeferred
async def test_health_names_each_part_that_fails() -> None:
    client = Client()
    await client.operations.scheduler.stopService()
    answer = await client.request("GET", "/-/health")
    assert (answer.code, answer.text) == (503, "scheduler: failing\n")
    await client.store.stop()
    answer = await client.request("GET", "/-/health")
    assert (answer.code, answer.text) == (503, "store: failing\nscheduler: failing\n")
    answer = await client.request("GET", "/-/health", Accept="application/json")
    assert answer.code == 503
    assert answer.json() == {"status": "failing",
                             "checks": {"store": "failing", "scheduler": "failing"}}
    await client.store.start()
    client.operations.scheduler.startService()
    assert (await client.request("GET", "/-/health")).code == 200


@pt.ensureDeferred
async def test_each_server_counts_in_a_registry_of_its_own() -> None:
    one, other = Client(), Client()
    await one.create("compute")
    samples = await scrape(other)
    assert served(samples, "kind_collection", "POST", "201") == 0
    assert one.server.metrics.registry is not other.server.metrics.registry


def test_methods_outside_http_are_counted_as_other() -> None:
    metrics = Metrics()
    metrics.answered("none", "BREW", "405", 0.001)
    metrics.answered("none", "GET", "404", 0.001)
    counted = metrics.registry.get_sample_value
    assert counted("occi_http_requests_total",
                   {"route": "none", "method": "other", "status": "405"}) == 1
    assert counted("occi_http_requests_total",
                   {"route": "none", "method": "BREW", "status": "405"}) is None


def test_storage_jobs_count_the_bytes_of_each_checkpoint() -> None:
    metrics = Metrics()
    metrics.progressed("erase", {}, {"bytes": 100, "percent": 10.0})
    metrics.progressed("erase", {"bytes": 100}, {"bytes": 250})
    metrics.progressed("erase", {"bytes": 250}, {"percent": 50.0})  # no bytes: nothing
    metrics.progressed("backup", {"bytes": 5}, {"bytes": 5})
    counted = metrics.registry.get_sample_value
    assert counted("occi_action_bytes_total", {"action": "erase"}) == 250
    assert counted("occi_action_bytes_total", {"action": "backup"}) is None
