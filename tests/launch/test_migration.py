"""Migration between two real ``twistd occi`` servers on SQLite: a compute with a 64 MiB
storage moves to its peer with the same ids, its image byte for byte (SHA-256), its note and
its network interface along; the old URLs answer 301 (curl follows them to the copy), 410
once the operator forgets the forward; and a migration whose source is killed -9 half-way
through the image leaves the compute whole at the source, then resumes and completes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ..conftest import RunningServer
from ..conftest import call as _call

TAGS = "http://example.com/tags#"
INFRA = "http://schemas.ogf.org/occi/infrastructure#"
OCTET = "application/octet-stream"
JSON = "application/occi+json"
SIZE = 64 << 20
NETWORK = "/network/5f0c3a0e-4d7b-4b1e-9a51-0d8e6f1c2b3a"


@pytest.fixture
def peers(tmp_path: Path) -> Iterator[tuple[RunningServer, RunningServer]]:
    """The peer, then the source that may migrate to it; the network is known to both."""
    peer = RunningServer(tmp_path / "peer").start()
    source = RunningServer(tmp_path / "source", "--peer", peer.url).start()
    for server in (source, peer):
        status, _, body = _call(server.port, "PUT", NETWORK,
                                f'Category: network; scheme="{INFRA}"; class="kind"\n',
                                {"Content-Type": "text/plain"})
        assert status == 201, body
    yield source, peer
    for server in (source, peer):
        if server.process is not None and server.process.poll() is None:
            os.kill(server.process.pid, signal.SIGCONT)
        server.stop()


def _curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["curl", "-sS", "--fail-with-body", *args], capture_output=True,
                          timeout=120, check=False)


def _computeWithDisk(source: RunningServer, tmp_path: Path) -> tuple[str, str, str]:
    """A compute with a 64 MiB storage of random bytes, a network interface, a user's
    mixin (a tag) and a note:
    the compute's and the storage's paths, and the image's SHA-256."""
    body = (f'Category: storage; scheme="{INFRA}"; class="kind"\n'
            f"X-OCCI-Attribute: occi.storage.size={SIZE / (1 << 30)}\n")
    status, headers, answer = _call(source.port, "POST", "/storage/", body,
                                    {"Content-Type": "text/plain"})
    assert status == 201, answer
    storage = urlsplit(headers["location"]).path
    image = tmp_path / "disk.img"
    image.write_bytes(os.urandom(SIZE))
    put = _curl("-L", "-T", str(image), "-H", f"Content-Type: {OCTET}",
                f"{source.url}{storage}")
    assert put.returncode == 0, put.stderr
    status, _, answer = _call(source.port, "POST", "/-/", json.dumps({
        "term": "fast", "scheme": TAGS, "location": "/fast/", "title": "Fast ones",
        "applies": [f"{INFRA}compute"]}), {"Content-Type": JSON})
    assert status == 200, answer
    compute = {"kind": f"{INFRA}compute", "attributes": {"occi.compute.cores": 2},
               "mixins": [f"{TAGS}fast"],
               "links": [{"kind": f"{INFRA}storagelink",
                          "target": {"location": storage, "kind": f"{INFRA}storage"},
                          "attributes": {"occi.storagelink.deviceid": "vda"}},
                         {"kind": f"{INFRA}networkinterface",
                          "target": {"location": NETWORK, "kind": f"{INFRA}network"}}]}
    status, headers, answer = _call(source.port, "POST", "/compute/", json.dumps(compute),
                                    {"Content-Type": JSON})
    assert status == 201, answer
    path = urlsplit(headers["location"]).path
    status, _, answer = _call(source.port, "PUT", f"{path}/notes/boot", "It booted.",
                              {"Content-Type": "text/plain"})
    assert status == 201, answer
    return path, storage, hashlib.sha256(image.read_bytes()).hexdigest()


def _migrate(source: RunningServer, path: str, target: str) -> str:
    """Ask for the migration, answered at once: the request's path."""
    status, headers, body = _call(
        source.port, "POST", f"{path}?action=migrate",
        f'X-OCCI-Attribute: target="{target}"\n',
        {"Content-Type": "text/plain", "Prefer": "respond-async"})
    assert status == 202, body
    return urlsplit(headers["location"]).path


def _requestState(server: RunningServer, request: str) -> dict[str, object]:
    status, _, body = _call(server.port, "GET", request, headers={"Accept": JSON})
    assert status == 200, body
    attributes: dict[str, object] = json.loads(body)["attributes"]
    return attributes


def _waitForEnd(server: RunningServer, request: str, timeout: float = 90.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = str(_requestState(server, request)["occi-twisted.request.state"])
        if state in ("succeeded", "failed", "cancelled"):
            return state
        time.sleep(0.1)
    raise AssertionError(f"{request} did not end in time")


def _digestAt(url: str, tmp_path: Path) -> str:
    """The SHA-256 of a storage's image downloaded from ``url``, following every redirect
    (a 301 of a migrated storage, then the 303 to the signed URL)."""
    target = tmp_path / "down.img"
    got = _curl("-L", "-H", f"Accept: {OCTET}", "-o", str(target), url)
    assert got.returncode == 0, got.stderr
    return hashlib.sha256(target.read_bytes()).hexdigest()


def _idVia(url: str) -> str:
    shown = _curl("-L", "-H", f"Accept: {JSON}", url)
    assert shown.returncode == 0, shown.stderr
    return str(json.loads(shown.stdout)["id"])


def _gone(server: RunningServer, path: str) -> bool:
    status, _, _ = _call(server.port, "GET", path, headers={"Accept": JSON})
    return status == 301


def test_a_compute_and_its_disk_move_and_the_old_urls_lead_there(
        peers: tuple[RunningServer, RunningServer], tmp_path: Path) -> None:
    source, peer = peers
    compute, storage, digest = _computeWithDisk(source, tmp_path)
    request = _migrate(source, compute, peer.url)
    assert _waitForEnd(source, request) == "succeeded"
    # curl -L follows the 301 to the copy: the same occi.core.id, the same bytes.
    entityId = compute.rpartition("/")[2]
    assert _idVia(f"{source.url}{compute}") == entityId
    assert _digestAt(f"{source.url}{storage}", tmp_path) == digest
    status, headers, _ = _call(source.port, "GET", compute, headers={"Accept": JSON})
    assert (status, headers["location"]) == (301, f"{peer.url}{compute}")
    status, _, body = _call(peer.port, "GET", compute, headers={"Accept": JSON})
    assert f"{TAGS}fast" in json.loads(body)["mixins"]  # the tag went along, defined there
    links = json.loads(body)["links"]
    assert status == 200 and {urlsplit(link["target"]["location"]).path for link in links} \
        == {storage, NETWORK}
    status, _, note = _call(peer.port, "GET", f"{compute}/notes/boot",
                            headers={"Accept": "text/plain"})
    assert status == 200 and b"It booted." in note
    status, _, tagged = _call(peer.port, "GET", "/fast/", headers={"Accept": "text/uri-list"})
    assert status == 200 and tagged.decode().split() == [f"{peer.url}{compute}"], tagged
    # Every method, every path below it: 301, the query kept; nothing of it here any more.
    for method in ("GET", "HEAD", "PUT", "POST", "DELETE"):
        status, headers, _ = _call(source.port, method, f"{compute}/notes/boot?x=1", "note",
                                   {"Content-Type": "text/plain"})
        assert (status, headers.get("location")) == \
            (301, f"{peer.url}{compute}/notes/boot?x=1"), method
    assert not (source.dataDir / "storage" / f"{storage.rpartition('/')[2]}.img").exists()
    # The request that moved it is still read here, to its end.
    assert "Moved to" in str(_requestState(source, request)["occi-twisted.request.message"])
    # The operator forgets where it went: 410 from then on; a deleted entity stays 404.
    status, _, body = _call(source.port, "DELETE", f"/-/forwards{compute}",
                            headers={"Accept": "text/plain"})
    assert status == 200 and b"gone" in body, body
    assert _call(source.port, "GET", compute, headers={"Accept": JSON})[0] == 410
    assert _call(source.port, "GET", storage, headers={"Accept": JSON})[0] == 301
    status, headers, _ = _call(source.port, "POST", "/network/",
                               f'Category: network; scheme="{INFRA}"; class="kind"\n',
                               {"Content-Type": "text/plain"})
    deleted = urlsplit(headers["location"]).path
    assert _call(source.port, "DELETE", deleted)[0] == 200
    assert _call(source.port, "GET", deleted, headers={"Accept": JSON})[0] == 404


def _uploadsIn(dataDir: Path) -> list[Path]:
    return list((dataDir / "storage").glob(".upload-*"))


def test_a_migration_killed_half_way_leaves_the_compute_whole_then_completes(
        peers: tuple[RunningServer, RunningServer], tmp_path: Path) -> None:
    source, peer = peers
    compute, storage, digest = _computeWithDisk(source, tmp_path)
    assert peer.process is not None
    request = _migrate(source, compute, peer.url)
    # The image is on its way: the peer is paused mid-upload, and the source killed -9.
    deadline = time.monotonic() + 60
    while not _uploadsIn(peer.dataDir):
        assert time.monotonic() < deadline, "the image never started to go"
        time.sleep(0.001)
    os.kill(peer.process.pid, signal.SIGSTOP)
    source.kill()
    source.start()
    # The compute is whole and live at the source, its image intact; the request resumes.
    status, _, body = _call(source.port, "GET", compute, headers={"Accept": JSON})
    assert status == 200, body
    assert len(json.loads(body)["links"]) == 2
    image = source.dataDir / "storage" / f"{storage.rpartition('/')[2]}.img"
    assert hashlib.sha256(image.read_bytes()).hexdigest() == digest
    assert _requestState(source, request)["occi-twisted.request.state"] in \
        ("queued", "scheduled", "running")
    os.kill(peer.process.pid, signal.SIGCONT)
    assert _waitForEnd(source, request) == "succeeded"
    assert int(str(_requestState(source, request)["occi-twisted.request.attempts"])) >= 2
    # Then it lives at the peer only: 301 here, the same bytes there.
    assert _gone(source, compute) and _gone(source, storage)
    assert _idVia(f"{source.url}{compute}") == compute.rpartition("/")[2]
    assert _digestAt(f"{peer.url}{storage}", tmp_path) == digest
