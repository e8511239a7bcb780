"""Creating POSTs retried with one Idempotency-Key, many at once, against the real server:
exactly one resource, and every retry gets the first answer."""

from __future__ import annotations

import http.client
import threading
from pathlib import Path

from ..conftest import RunningServer

COMPUTE = ('Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; '
           'class="kind"\nX-OCCI-Attribute: occi.compute.cores=2\n')


def _post(port: int, path: str, body: str, headers: dict[str, str]) -> tuple[int, str | None]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location")
    finally:
        connection.close()


def _get(port: int, path: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Accept": "text/uri-list"})
        return connection.getresponse().read().decode()
    finally:
        connection.close()


def _storm(port: int, path: str, body: str,
           headers: dict[str, str]) -> list[tuple[int, str | None]]:
    """16 clients, each retrying 5 times, all at once."""
    answers: list[tuple[int, str | None]] = []
    lock = threading.Lock()
    go = threading.Barrier(16)

    def client() -> None:
        go.wait()
        for _ in range(5):
            answer = _post(port, path, body, headers)
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_concurrent_retries_create_exactly_once(tmp_path: Path) -> None:
    server = RunningServer(tmp_path / "occi-data").start()
    try:
        headers = {"Content-Type": "text/plain", "Accept": "text/plain",
                   "Idempotency-Key": "create-once"}
        answers = _storm(server.port, "/compute/", COMPUTE, headers)
        assert len(answers) == 80
        assert {status for status, _ in answers} == {201}
        locations = {location for _, location in answers}
        assert len(locations) == 1
        assert _get(server.port, "/compute/").split() == list(locations)

        [compute] = locations
        assert compute is not None
        path = compute[compute.index("/compute/"):]
        form = {"Content-Type": "application/x-www-form-urlencoded",
                "Idempotency-Key": "start-once"}
        answers = _storm(server.port, f"{path}/requests", "action=start", form)
        assert {status for status, _ in answers} == {202}
        assert len({location for _, location in answers}) == 1
        assert len(_get(server.port, f"{path}/requests/").split()) == 1
    finally:
        server.stop()
