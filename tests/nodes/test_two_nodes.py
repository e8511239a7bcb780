"""Two real ``twistd`` nodes on one PostgreSQL database: what one node is told, the other
knows at once -- a user mixin defined, a change that wakes a long poll, a feed's ETag."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ..conftest import RunningServer, call
from ..launch.test_long_poll import _poll, _waitingBackup
from ..launch.test_request_crash import STATE, attributes, pathOf
from .conftest import twoNodes

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
TAGS = "http://example.com/tags#"
OCCI_JSON = {"Content-Type": "application/occi+json", "Accept": "application/occi+json"}


@pytest.fixture
def nodes(tmp_path: Path, database: str) -> Iterator[tuple[RunningServer, RunningServer]]:
    with twoNodes(tmp_path / "data", database, "--lease", "3") as both:
        yield both


def test_a_mixin_defined_on_one_node_is_used_at_once_on_another(
        nodes: tuple[RunningServer, RunningServer]) -> None:
    a, b = nodes
    for n in range(10):  # each time a race between the notification and the request
        term = f"fast{n}"
        status, _, body = call(a.port, "POST", "/-/", json.dumps({
            "term": term, "scheme": TAGS, "location": f"/{term}/",
            "applies": [f"{INFRA}compute"]}), OCCI_JSON)
        assert status == 200, body
        status, headers, body = call(b.port, "POST", "/compute/", json.dumps({
            "kind": f"{INFRA}compute", "mixins": [TAGS + term]}), OCCI_JSON)
        assert status == 201, body
        assert TAGS + term in json.loads(body)["mixins"]
        status, _, body = call(b.port, "GET", f"/{term}/", headers={"Accept": "text/uri-list"})
        assert status == 200 and body.decode().strip().endswith(
            headers["location"].rpartition("/compute/")[2]), body
    status, _, body = call(a.port, "POST", "/compute/", json.dumps({
        "kind": f"{INFRA}compute", "mixins": [TAGS + "never"]}), OCCI_JSON)
    assert status == 400 and b"not known" in body


def test_a_long_poll_on_one_node_wakes_at_a_change_on_another(
        nodes: tuple[RunningServer, RunningServer]) -> None:
    """A request waiting for the backup window, long-polled on B, cancelled on A: B's
    answer is the cancelled request (a poll that timed out would answer 304)."""
    a, b = nodes
    for _ in range(3):
        path, etag = _waitingBackup(a)
        assert asyncio.run(_pollAndChange(b, path, etag, a)).startswith(b"HTTP/1.1 200")
        assert attributes(b.port, path)[STATE] == "cancelled"


async def _pollAndChange(polled: RunningServer, path: str, etag: str,
                         changer: RunningServer) -> bytes:
    """Long-poll ``path`` on ``polled`` while ``changer`` cancels it; the poll's status line."""
    poll = asyncio.ensure_future(_poll(polled.port, path, etag))
    await asyncio.sleep(0.5)  # the poll waits by now (if not, it is answered at once)
    status, _, body = await asyncio.to_thread(call, changer.port, "DELETE", path)
    assert status in (200, 202, 204), body
    return (await poll)[1]


def test_feeds_change_their_etag_on_every_node(
        nodes: tuple[RunningServer, RunningServer]) -> None:
    a, b = nodes
    feeds = ("/log/", "/compute/log/")
    seen = {feed: call(b.port, "GET", feed)[1]["etag"] for feed in feeds}
    for n in range(3):
        status, _, body = call(a.port, "POST", "/compute/", json.dumps({
            "kind": f"{INFRA}compute", "attributes": {"occi.compute.hostname": f"h{n}"}}),
            OCCI_JSON)
        assert status == 201, body
        for feed in feeds:
            status, headers, _ = call(b.port, "GET", feed,
                                      headers={"If-None-Match": seen[feed]})
            assert status == 200 and headers["etag"] != seen[feed]
            seen[feed] = headers["etag"]
            assert call(b.port, "GET", feed, headers={"If-None-Match": seen[feed]})[0] == 304


def test_a_node_carries_on_when_its_connections_are_ended(
        nodes: tuple[RunningServer, RunningServer], database: str) -> None:
    """The server ends every connection of the nodes (as a restart does): a write then may
    fail (503), the next ones succeed; reads too."""
    a, b = nodes
    with psycopg.connect(database, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname ="
            " current_database() AND application_name LIKE 'occi-twisted %'").fetchall()
    assert len(ended) >= 6  # each node's writer, readers and listener
    compute = json.dumps({"kind": f"{INFRA}compute"})
    for node in (a, b):
        status, _, body = call(node.port, "POST", "/compute/", compute, OCCI_JSON)
        assert status in (201, 503), body
        for _ in range(3):
            status, headers, body = call(node.port, "POST", "/compute/", compute, OCCI_JSON)
            assert status == 201, body
            assert call(node.port, "GET", pathOf(headers["location"]), headers=OCCI_JSON)[0] == 200
