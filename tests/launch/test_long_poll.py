"""Long polls of a request against the real server: a waiter wakes as soon as the request
changes, and a thousand of them cost the server no thread each."""

from __future__ import annotations

import asyncio
import http.client
import time
from pathlib import Path

from ..conftest import RunningServer

STORAGE = ('Category: storage; scheme="http://schemas.ogf.org/occi/infrastructure#"; '
           'class="kind"\nX-OCCI-Attribute: occi.storage.size=0.001\n')


def _call(port: int, method: str, path: str, body: str = "",
          headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, body, headers or {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def _waitingBackup(server: RunningServer) -> tuple[str, str]:
    """A backup request waiting for tonight's window: its path and ETag."""
    made = _call(server.port, "POST", "/storage/", STORAGE, {"Content-Type": "text/plain"})
    location = made.getheader("Location")
    assert made.status == 201 and location is not None
    storage = location[location.index("/storage/"):]
    asked = _call(server.port, "POST", f"{storage}?action=backup",
                  headers={"Prefer": "respond-async"})
    requestAt = asked.getheader("Location")
    assert asked.status == 202 and requestAt is not None
    path = requestAt[requestAt.index("/storage/"):]
    etag = _call(server.port, "GET", path).getheader("ETag")
    assert etag is not None
    return path, etag


async def _poll(port: int, path: str, etag: str) -> tuple[float, bytes]:
    """One long poll; when its answer arrived (monotonic) and its status line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nPrefer: wait=30\r\n"
                  f"If-None-Match: {etag}\r\nConnection: close\r\n\r\n").encode())
    await writer.drain()
    status = await reader.readline()
    arrived = time.monotonic()
    await reader.read()
    writer.close()
    return arrived, status


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no thread count")


async def _waiters(server: RunningServer, count: int) -> tuple[list[float], float, int]:
    path, etag = _waitingBackup(server)
    polls = [asyncio.ensure_future(_poll(server.port, path, etag)) for _ in range(count)]
    await asyncio.sleep(1.0 + 2 * count / 1000)  # every poll connected and waiting
    early = [poll.result()[1] for poll in polls if poll.done()]
    assert not early, early[:3]
    assert server.process is not None
    threads = _threads(server.process.pid)
    loop = asyncio.get_running_loop()
    cancelled = await loop.run_in_executor(None, lambda: _call(server.port, "DELETE", path))
    changed = time.monotonic()
    assert cancelled.status == 200
    answers = await asyncio.gather(*polls)
    assert {status.split()[1] for _, status in answers} == {b"200"}
    return [arrived - changed for arrived, _ in answers], changed, threads


def test_a_waiter_wakes_at_once(tmp_path: Path) -> None:
    server = RunningServer(tmp_path / "occi-data").start()
    try:
        delays, _, _ = asyncio.run(_waiters(server, 1))
        # Measured from the moment the cancel's answer arrived: the change is committed
        # before either answer leaves.
        assert delays[0] < 0.05, delays
    finally:
        server.stop()


def test_a_thousand_waiters_cost_no_thread_each(tmp_path: Path) -> None:
    server = RunningServer(tmp_path / "occi-data").start()
    try:
        delays, _, threads = asyncio.run(_waiters(server, 1000))
        assert threads < 40, threads
        # All of them answered within a few seconds on a loaded two-core machine.
        assert max(delays) < 5.0, max(delays)
    finally:
        server.stop()
