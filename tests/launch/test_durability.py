"""Everything answered 2xx survives kill -9 of the real server process."""

from __future__ import annotations

import http.client
import threading
import time
from pathlib import Path

from ..conftest import RunningServer

COMPUTE = ('Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; '
           'class="kind"\nX-OCCI-Attribute: occi.compute.cores=2\n')


def _writer(port: int, acknowledged: list[str], stop: threading.Event) -> None:
    """Create computes until the server dies; record each one it acknowledged."""
    while not stop.is_set():
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("POST", "/compute/", COMPUTE,
                               {"Content-Type": "text/plain", "Accept": "text/plain"})
            response = connection.getresponse()
            response.read()
            connection.close()
        except OSError:
            return
        if response.status == 201:
            location = response.getheader("Location")
            assert location is not None
            acknowledged.append(location[location.index("/compute/"):])


def test_kill_9_loses_no_acknowledged_write(tmp_path: Path) -> None:
    server = RunningServer(tmp_path / "occi-data").start()
    acknowledged: list[str] = []
    stop = threading.Event()
    writers = [threading.Thread(target=_writer, args=(server.port, acknowledged, stop))
               for _ in range(8)]
    for writer in writers:
        writer.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()
    stop.set()
    for writer in writers:
        writer.join()
    assert len(acknowledged) >= 300

    restarted = RunningServer(tmp_path / "occi-data")
    restarted.port = server.port
    restarted.url = server.url
    restarted.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", restarted.port, timeout=30)
        connection.request("GET", "/compute/", headers={"Accept": "text/uri-list"})
        listed = {line[line.index("/compute/"):]
                  for line in connection.getresponse().read().decode().split()}
        missing = [location for location in acknowledged if location not in listed]
        assert not missing, f"{len(missing)} acknowledged creates lost"
        connection.request("GET", acknowledged[-1], headers={"Accept": "text/plain"})
        answer = connection.getresponse()
        assert answer.status == 200
        assert b"occi.compute.cores=2" in answer.read()
    finally:
        restarted.stop()
