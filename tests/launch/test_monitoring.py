"""Health and metrics of a real ``twistd occi``: with users, ``/-/health`` answers without
credentials and ``/-/metrics`` only an administrator; after a secure erase, a download and an
upload through signed URLs, the metrics (read with ``prometheus_client``'s parser) count
their bytes, the store's commits and the connections; ``--metrics-listen`` serves them
without credentials; and health is 503 naming XMPP while the component cannot connect."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from prometheus_client.parser import text_string_to_metric_families

from occi_twisted.model.infrastructure import SECURE_ERASE

from ..conftest import RunningServer, call, freePort
from ..identity.support import usersFile

ROOT = ("root", "operator-secret")
ALICE = ("alice", "wonderland")
MIB = 1 << 20
STORAGE = ('Category: storage; scheme="http://schemas.ogf.org/occi/infrastructure#"; '
           'class="kind"\nX-OCCI-Attribute: occi.storage.size=0.0625\n')
OCTET = "application/octet-stream"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samplesOf(text: bytes) -> Samples:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text.decode())
            for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def operated(tmp_path: Path) -> Iterator[tuple[RunningServer, int]]:
    config = tmp_path / "occi.toml"
    config.write_text("[users.root]\nrole = 'admin'\n")
    metricsPort = freePort()
    server = RunningServer(
        tmp_path / "occi-data", "--users", str(usersFile(tmp_path, root=ROOT[1],
                                                          alice=ALICE[1])),
        "--config", str(config), "--metrics-listen",
        f"tcp:{metricsPort}:interface=127.0.0.1").start(timeout=30)
    yield server, metricsPort
    server.stop()


def test_health_and_metrics_of_a_real_server(operated: tuple[RunningServer, int]) -> None:
    server, metricsPort = operated
    port = server.port
    first = samplesOf(call(port, "GET", "/-/metrics", user=ROOT)[2])
    assert call(port, "GET", "/-/health")[::2] == (200, b"ok\n")
    assert call(port, "GET", "/-/metrics")[0] == 401
    assert call(port, "GET", "/-/metrics", user=ALICE)[0] == 404

    # A one-pass erase of a 64 MiB storage: the pass and its verification read.
    status, headers, body = call(port, "POST", "/storage/", STORAGE, user=ALICE,
                                 headers={"Content-Type": "text/plain"})
    assert status == 201, body
    storage = urlsplit(headers["location"]).path
    status, headers, body = call(port, "POST", f"{storage}/requests",
                                 "action=secure_erase&passes=1&pattern=ones", user=ALICE,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 202, body
    request = urlsplit(headers["location"]).path
    deadline = time.monotonic() + 60
    while b'state="succeeded"' not in call(port, "GET", request, user=ALICE,
                                           headers={"Accept": "text/plain"})[2]:
        assert time.monotonic() < deadline, "the erase did not end in 60 s"
        time.sleep(0.05)
    # The image down and up again through signed URLs.
    status, headers, _ = call(port, "GET", storage, user=ALICE, headers={"Accept": OCTET})
    assert status == 303
    status, _, image = call(port, "GET", urlsplit(headers["location"]).path + "?" +
                            urlsplit(headers["location"]).query)
    assert status == 200 and image == b"\xff" * 64 * MIB
    status, headers, _ = call(port, "PUT", storage, b"", user=ALICE,
                              headers={"Content-Type": OCTET, "Content-Length": "0"})
    assert status == 307
    target = urlsplit(headers["location"])
    status, _, body = call(port, "PUT", f"{target.path}?{target.query}", os.urandom(MIB),
                           headers={"Content-Type": OCTET})
    assert status == 200, body

    status, headers, text = call(port, "GET", "/-/metrics", user=ROOT)
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = samplesOf(text)
    assert value(samples, "occi_action_bytes_total",
                 action=SECURE_ERASE.identifier) == 2 * 64 * MIB
    assert value(samples, "occi_requests", action=SECURE_ERASE.identifier,
                 state="succeeded") == 1
    assert value(samples, "occi_transfer_bytes_total", direction="download") == 64 * MIB
    assert value(samples, "occi_transfer_bytes_total", direction="upload") == MIB
    assert value(samples, "occi_http_requests_total", route="image", method="GET",
                 status="200") == 1
    assert value(samples, "occi_http_requests_total", route="image", method="PUT",
                 status="200") == 1
    assert value(samples, "occi_http_requests_total", route="health", method="GET",
                 status="200") == 1
    # Refused at the door, it reached no place (the fixture's probes while the server
    # started were refused too).
    refused = {"route": "none", "method": "GET", "status": "401"}
    assert value(samples, "occi_http_requests_total", **refused) == \
        value(first, "occi_http_requests_total", **refused) + 1
    assert value(samples, "occi_store_commit_seconds_count") > 0
    assert value(samples, "occi_events_total") > 0
    assert value(samples, "occi_http_connections_open") >= 1
    assert value(samples, "process_open_fds") > 0

    # The metrics' own listener: no credentials, nothing else.
    status, _, alone = call(metricsPort, "GET", "/-/metrics")
    assert status == 200
    assert value(samplesOf(alone), "occi_action_bytes_total",
                 action=SECURE_ERASE.identifier) == 2 * 64 * MIB
    assert call(metricsPort, "GET", "/compute/")[0] == 404
    assert call(metricsPort, "POST", "/-/metrics")[0] == 405


def test_health_is_503_naming_xmpp_while_it_is_not_connected(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    nobody = freePort()  # nothing listens there: the component keeps trying
    server = RunningServer(tmp_path / "occi-data", "--xmpp-component",
                           f"tcp:127.0.0.1:{nobody}", "--xmpp-jid", "pubsub.example.com",
                           "--xmpp-secret-file", str(secret)).start(timeout=30)
    try:
        status, headers, body = call(server.port, "GET", "/-/health")
        assert (status, body) == (503, b"xmpp: failing\n")
        assert headers["content-type"].startswith("text/plain")
        status, _, body = call(server.port, "GET", "/-/health",
                               headers={"Accept": "application/json"})
        answer: dict[str, Any] = json.loads(body)
        assert status == 503 and answer == {"status": "failing", "checks": {
            "store": "ok", "scheduler": "ok", "xmpp": "failing"}}
        assert call(server.port, "HEAD", "/-/health")[::2] == (503, b"")
    finally:
        server.stop()
