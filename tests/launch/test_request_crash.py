"""Persistent requests against kill -9 of the real server process.

- A three-pass secure erase of a 64 MiB storage, killed mid-way, resumes from its last
  checkpoint when the server starts again (it does not start over), verifies, and leaves every
  byte of the image holding the last pattern.
- A storm of ``start`` requests, with the server killed again and again at different moments
  (while the requests are submitted, claimed, running, ending): every acknowledged request
  runs exactly once, and none that was never acknowledged runs twice.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..conftest import RunningServer

T = TypeVar("T")
MIB = 1 << 20
STORAGE = ('Category: storage; scheme="http://schemas.ogf.org/occi/infrastructure#"; '
           'class="kind"\nX-OCCI-Attribute: occi.storage.size=0.0625\n')
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Accept": "application/json"}
STATE = "occi-twisted.request.state"
PROGRESS = "occi-twisted.request.progress"
ATTEMPTS = "occi-twisted.request.attempts"
MESSAGE = "occi-twisted.request.message"
FINAL = ("succeeded", "failed", "cancelled")


def call(port: int, method: str, path: str, body: str = "",
         headers: dict[str, str] | None = None,
         timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        connection.close()


def pathOf(location: str) -> str:
    """``http://host:port/a/b`` -> ``/a/b``: the port changes with every restart."""
    return location[location.index("/", len("http://")):]


def attributes(port: int, path: str) -> dict[str, Any]:
    status, _, body = call(port, "GET", path, headers=JSON)
    assert status == 200, (path, status, body)
    found: dict[str, Any] = json.loads(body)["attributes"]
    return found


def until(condition: Callable[[], T | None], timeout: float, what: str,
          pause: float = 0.0) -> T:
    """Poll ``condition`` until it returns something true; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(pause)


def launch(data: Path, *extra: str) -> tuple[RunningServer, int]:
    """A new server on ``data`` (stopped if it fails to start); and where its log starts
    (a port, and so a log file, may come back)."""
    server = RunningServer(data, *extra)
    offset = server.log.stat().st_size if server.log.exists() else 0
    try:
        server.start(timeout=30)
    except BaseException:
        server.stop()  # it may be running, only slow to listen
        raise
    return server, offset


def logSince(server: RunningServer, offset: int) -> str:
    return server.log.read_bytes()[offset:].decode("utf-8", "replace")


def noTracebacks(tmp_path: Path) -> bool:
    """No life of the server logged an unexpected failure."""
    for log in tmp_path.glob("server-*.log"):
        text = log.read_text("utf-8", "replace")
        assert "Traceback" not in text, f"{log.name}:\n{text[-3000:]}"
    return True


# -- 1. secure erase ---------------------------------------------------------------------------


def startErase(port: int, size: str = STORAGE) -> tuple[str, str]:
    """A new storage (64 MiB unless ``size`` is another's text), and a three-pass erase of
    it with ones: their paths."""
    status, headers, body = call(port, "POST", "/storage/", size,
                                 {"Content-Type": "text/plain"})
    assert status == 201, body
    storage = pathOf(headers["location"])
    status, headers, body = call(port, "POST", f"{storage}/requests",
                                 "action=secure_erase&passes=3&pattern=ones", FORM)
    assert status == 202, body
    return storage, pathOf(headers["location"])


def inPassTwo(port: int, request: str) -> dict[str, Any] | None:
    """The request once it writes its second or third pass (at least one slice of work
    left, so a kill now cuts it short); ``None`` if the poll missed that window, once the
    request ended.  On a fast disk the whole erase takes ~0.2 s: polled without a pause."""
    deadline = time.monotonic() + 60
    missed = False
    while time.monotonic() < deadline:
        found = attributes(port, request)
        if found[STATE] in FINAL:
            return None
        progress = found.get(PROGRESS) or {}
        if progress.get("phase") in ("verifying", "done"):
            missed = True  # let it end, so that it does not resume with the next one
        elif not missed and found[STATE] == "running" and progress.get("pass", 0) >= 2:
            return found
    raise AssertionError(f"the erase {request} did not get past its first pass in 60 s")


def test_kill_9_mid_erase_resumes_from_its_checkpoint_and_verifies(tmp_path: Path) -> None:
    data = tmp_path / "occi-data"
    size = 64 * MIB
    total = 4 * size  # three passes and the verification read
    server, _ = launch(data)
    try:
        # A machine busy elsewhere may leave the poll behind a whole erase: then another.
        for _ in range(3):
            storage, request = startErase(server.port)
            before = inPassTwo(server.port, request)
            if before is not None:
                break
        else:
            raise AssertionError("three erases in a row ended before they could be killed")
        server.kill()
        image = data / "storage" / f"{storage.rpartition('/')[2]}.img"
        assert image.stat().st_size == size
        requestId = request.rpartition("/")[2]
        recorded: dict[str, Any] = before[PROGRESS]
        # Pass 1 was written and checkpointed: a resume must not write it again.
        assert size <= recorded["bytes"] < 3 * size, recorded
        firstLife = server.log.read_text()
        assert f"{image.name}: pass 1 of 3 (ones) written" in firstLife
        assert f"{image.name} verified" not in firstLife

        server, offset = launch(data)
        seen: list[dict[str, Any]] = []

        def ended() -> dict[str, Any] | None:
            found = attributes(server.port, request)
            seen.append(found)
            return found if found[STATE] in FINAL else None

        last = until(ended, 90, "the resumed erase to end", pause=0.005)
        assert last[STATE] == "succeeded", last
        assert last[ATTEMPTS] == 2, last  # the run cut short by the kill, and this one
        assert "verified" in last[MESSAGE], last
        assert last[PROGRESS]["bytes"] == total, last
        assert last[PROGRESS]["phase"] == "done", last

        # Resumed, not started over: progress never went back below what was recorded.
        observed = [found[PROGRESS]["bytes"] for found in seen if found.get(PROGRESS)]
        assert seen[0].get(PROGRESS), seen[0]
        assert observed[0] >= recorded["bytes"], (recorded, observed)
        assert observed == sorted(observed), observed
        secondLife = logSince(server, offset)
        assert f"Request {requestId} was left running by an earlier life" in secondLife
        # No pass that the recorded checkpoint had finished is written again.
        for finished in range(1, min(recorded["bytes"] // size, 3) + 1):
            assert f"{image.name}: pass {finished} of 3" not in secondLife, secondLife
        assert f"{image.name} verified" in secondLife

        # Every byte is the last pattern, and the image kept its size.
        assert image.stat().st_size == size
        assert image.stat().st_blocks * 512 >= size  # fully allocated: holes were written
        chunkSize = 4 * MIB
        with image.open("rb") as disk:
            offsetInImage = 0
            while chunk := disk.read(chunkSize):
                assert chunk.count(0xFF) == len(chunk), f"a byte not 0xff near {offsetInImage}"
                offsetInImage += len(chunk)
        assert offsetInImage == size
        assert noTracebacks(tmp_path)
    finally:
        server.stop()


# -- 2. a storm of starts, killed again and again ----------------------------------------------


def revisionOf(port: int, compute: str) -> int:
    status, headers, body = call(port, "GET", compute, headers={"Accept": "text/plain"})
    assert status == 200, body
    return int(headers["etag"].strip('"').partition("-")[0])


def requestsOf(port: int, compute: str) -> list[str]:
    status, _, body = call(port, "GET", f"{compute}/requests/",
                           headers={"Accept": "text/uri-list"})
    assert status == 200, body
    return [pathOf(line) for line in body.decode().split()]


def activeComputes(port: int) -> list[str]:
    """One request for them all: a poll fast enough to kill as a batch of starts ends."""
    status, _, body = call(port, "GET", "/compute/", headers={
        "Accept": "text/uri-list", "X-OCCI-Attribute": 'occi.compute.state="active"'})
    assert status == 200, body
    return body.decode().split()


def test_kill_9_during_a_storm_of_starts_runs_each_exactly_once(tmp_path: Path) -> None:
    data = tmp_path / "occi-data"
    # Eight at a time: most requests wait for a free slot, so every life of the server claims
    # and starts some while others end.
    options = ("--concurrency", "8")
    server, _ = launch(data, *options)
    try:
        computes: list[str] = []
        created: dict[str, int] = {}
        for _ in range(40):
            status, headers, body = call(server.port, "POST", "/compute/",
                                         "kind=compute&compute.cores=1", FORM)
            assert status == 201, body
            computes.append(pathOf(headers["location"]))
        for compute in computes:
            created[compute] = revisionOf(server.port, compute)
            assert attributes(server.port, compute)["occi.compute.state"] == "inactive"

        acknowledged: dict[str, str] = {}  # compute -> its start request, answered 202
        refused: dict[str, tuple[int, bytes]] = {}
        lock = threading.Lock()
        go = threading.Barrier(8)
        port = server.port

        def submit(batch: list[str]) -> None:
            go.wait()
            for compute in batch:
                try:
                    status, headers, body = call(port, "POST", f"{compute}?action=start",
                                                 headers={"Prefer": "respond-async"})
                except (OSError, http.client.HTTPException):
                    return  # the server died: this one and the rest go unacknowledged
                with lock:
                    if status == 202:
                        acknowledged[compute] = pathOf(headers["location"])
                    else:
                        refused[compute] = (status, body)

        threads = [threading.Thread(target=submit, args=(computes[i::8],)) for i in range(8)]
        for thread in threads:
            thread.start()
        try:
            # Kill 1: while the last starts are being submitted (some may be made but never
            # answered) and the first claimed and run.
            until(lambda: len(acknowledged) >= 34, 30, "34 starts acknowledged", pause=0.001)
        finally:
            server.kill()
            for thread in threads:
                thread.join(30)
        assert not refused, refused
        assert len(acknowledged) >= 34
        assert len(set(acknowledged.values())) == len(acknowledged)

        # Kill 2: as soon as the restarted server listens (orphans being released, the
        # first claims made, runs starting).
        server, _ = launch(data, *options)
        server.kill()
        # Kill 3: the moment one more compute is seen active -- while the batch it belongs to
        # ends, and the next requests are claimed and started in the slots they leave.
        server, _ = launch(data, *options)
        try:
            port = server.port
            baseline = len(activeComputes(port))
            deadline = time.monotonic() + 15
            while len(activeComputes(port)) == baseline and time.monotonic() < deadline:
                pass  # (after 15 s, all had ended: kill anyway)
        finally:
            server.kill()

        server, _ = launch(data, *options)
        port = server.port
        every = {request for compute in computes for request in requestsOf(port, compute)}

        def settled() -> bool:
            return all(attributes(port, request)[STATE] in FINAL for request in every)

        until(settled, 60, "every request to end", pause=0.1)

        for compute in computes:
            listed = requestsOf(port, compute)
            # No compute has more than one request: none was made twice.
            assert len(listed) <= 1, (compute, listed)
            state = attributes(port, compute)
            revision = revisionOf(port, compute)
            if compute in acknowledged:
                # Every acknowledged request exists, and it is the one listed.
                assert listed == [acknowledged[compute]], (compute, listed)
            elif not listed:
                # Never acknowledged and never made: nothing happened to the compute.
                assert state["occi.compute.state"] == "inactive", (compute, state)
                assert revision == created[compute], (compute, revision)
                continue
            ended = attributes(port, listed[0])
            # Succeeded, so it ran once: a second run would fail ("already active").
            assert ended[STATE] == "succeeded", (compute, ended)
            assert ended[ATTEMPTS] <= 4, (compute, ended)  # three kills, then the last run
            assert state["occi.compute.state"] == "active", (compute, state)
            assert state["occi.compute.state.message"] == "Started", (compute, state)
            # One state change after creation, whatever was killed when.
            assert revision == created[compute] + 1, (compute, created[compute], revision)

        assert noTracebacks(tmp_path)
    finally:
        server.stop()
