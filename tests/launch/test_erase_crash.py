"""kill -9 during a three-pass secure erase of a 64 MiB storage: started again, the server
resumes the erase from its last checkpoint and finishes it; every byte holds the last
pattern.  And kill -9 while requests are claimed and starting: none lost, none run twice."""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path
from typing import Any

from ..conftest import RunningServer

STORAGE = ('Category: storage; scheme="http://schemas.ogf.org/occi/infrastructure#"; '
           'class="kind"\nX-OCCI-Attribute: occi.storage.size=0.0625\n')
MIB = 1 << 20


def call(port: int, method: str, path: str, body: str = "",
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def attributes(port: int, path: str) -> dict[str, Any]:
    status, _, body = call(port, "GET", path, headers={"Accept": "application/json"})
    assert status == 200, body
    found: dict[str, Any] = json.loads(body)["attributes"]
    return found


def until(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def path(location: str) -> str:
    return location[location.index("/", len("http://")):]


def test_kill_9_mid_erase_resumes_from_the_checkpoint(tmp_path: Path) -> None:
    data = tmp_path / "occi-data"
    server = RunningServer(data).start()
    try:
        status, headers, _ = call(server.port, "POST", "/storage/", STORAGE,
                                  {"Content-Type": "text/plain"})
        assert status == 201
        storage = path(headers["Location"])
        image = data / "storage" / f"{storage.rpartition('/')[2]}.img"
        assert image.stat().st_size == 64 * MIB
        status, headers, _ = call(server.port, "POST", f"{storage}/requests",
                                  "action=secure_erase&passes=3&pattern=ones",
                                  {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 202
        request = path(headers["Location"])

        def midway() -> dict[str, Any] | None:
            found = attributes(server.port, request)
            progress = found.get("occi-twisted.request.progress", {})
            return found if progress.get("bytes", 0) > 0 else None

        before = until(midway, 30, "the erase to make progress")
        assert before["occi-twisted.request.state"] == "running"
        server.kill()
        done = before["occi-twisted.request.progress"]["bytes"]
        assert done < 4 * 64 * MIB, "the erase ended before the kill: nothing to resume"

        server = RunningServer(data).start()
        resumed = attributes(server.port, request)
        # Progress never goes back: the erase goes on from its checkpoint.
        assert resumed["occi-twisted.request.progress"].get("bytes", 0) >= done
        ended = until(lambda: (a := attributes(server.port, request))[
            "occi-twisted.request.state"] in ("succeeded", "failed") and a, 120,
            "the erase to end")
        assert ended["occi-twisted.request.state"] == "succeeded", ended
        assert ended["occi-twisted.request.attempts"] == 2
        assert "verified" in ended["occi-twisted.request.message"]
        assert ended["occi-twisted.request.progress"]["bytes"] == 4 * 64 * MIB
        with image.open("rb") as disk:
            while chunk := disk.read(4 * MIB):
                assert chunk.count(b"\xff") == len(chunk)
        assert image.stat().st_size == 64 * MIB
    finally:
        server.stop()


def test_kill_9_while_requests_start_loses_and_repeats_nothing(tmp_path: Path) -> None:
    data = tmp_path / "occi-data"
    server = RunningServer(data).start()
    computes: list[str] = []
    try:
        for _ in range(40):
            status, headers, _ = call(server.port, "POST", "/compute/", "kind=compute",
                                      {"Content-Type": "application/x-www-form-urlencoded"})
            assert status == 201
            computes.append(path(headers["Location"]))
        acknowledged: dict[str, str] = {}
        lock = threading.Lock()

        def start(batch: list[str]) -> None:
            for compute in batch:
                try:
                    status, headers, _ = call(server.port, "POST", f"{compute}?action=start",
                                              headers={"Prefer": "respond-async"})
                except OSError:
                    return
                if status == 202:
                    with lock:
                        acknowledged[compute] = path(headers["Location"])

        threads = [threading.Thread(target=start, args=(computes[i::4],)) for i in range(4)]
        for thread in threads:
            thread.start()
        until(lambda: len(acknowledged) >= 20, 30, "half the starts")
        server.kill()  # while requests are being claimed, started and finished
        for thread in threads:
            thread.join()
        for _round in range(2):
            server = RunningServer(data).start()
            time.sleep(0.3)
            server.kill()
        server = RunningServer(data).start()

        def settled() -> bool:
            return all(attributes(server.port, request)["occi-twisted.request.state"]
                       in ("succeeded", "failed", "cancelled")
                       for request in acknowledged.values())

        until(settled, 60, "every request to end")
        for compute, request in acknowledged.items():
            ended = attributes(server.port, request)
            assert ended["occi-twisted.request.state"] == "succeeded", ended
            assert attributes(server.port, compute)["occi.compute.state"] == "active"
            status, _, listed = call(server.port, "GET", f"{compute}/requests/",
                                     headers={"Accept": "text/uri-list"})
            assert status == 200 and len(listed.split()) == 1
            # Created, then changed once by the one start: revision 2.
            _, headers, _ = call(server.port, "GET", compute, headers={"Accept": "text/plain"})
            assert headers["ETag"].startswith('"2-'), headers["ETag"]
        for compute in set(computes) - set(acknowledged):
            status, _, listed = call(server.port, "GET", f"{compute}/requests/",
                                     headers={"Accept": "text/uri-list"})
            assert len(listed.split()) <= 1  # made but not acknowledged: at most once
    finally:
        server.stop()
