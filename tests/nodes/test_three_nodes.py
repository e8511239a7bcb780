"""Three real ``twistd`` nodes on one PostgreSQL database, one shared ``--data`` and one XMPP
component JID (a real Prosody): a mixed load through all three, and the node running a
secure erase killed -9 at a random moment of it.

Afterwards every acknowledged write is there (and every acknowledged deletion gone), every
acknowledged request ran exactly once, the erase was finished by another node with every byte
right, and a feed reader and an XMPP subscriber that followed the whole run saw every event
once, in commit order (the subscriber sees again, with the same item ids, at most what the
dead node had sent unconfirmed, if it held the component).
"""

from __future__ import annotations

import http.client
import random
import threading
import time
import xml.etree.ElementTree as ET
from contextlib import suppress
from pathlib import Path
from typing import Any

from ..conftest import RunningServer, call
from ..launch.test_request_crash import (
    ATTEMPTS,
    FINAL,
    FORM,
    JSON,
    PROGRESS,
    STATE,
    attributes,
    noTracebacks,
    pathOf,
    startErase,
    until,
)
from ..xmpp.conftest import PASSWORD
from ..xmpp.prosody import Prosody
from ..xmpp.subscriber import Subscriber
from ..xmpp.test_server import subscribeWhenUp

ATOM = "{http://www.w3.org/2005/Atom}"
MIB = 1 << 20
NODE = "occi-twisted.request.node"
#: A lease this short makes the takeover quick; the nodes renew every second.
LEASE = "3"
ERASED = 128 * MIB



class Cloud:
    """The three nodes, and which of them are alive."""

    def __init__(self, tmp_path: Path, database: str, prosody: Prosody) -> None:
        data = tmp_path / "data"
        self.nodes = {
            name: RunningServer(
                data, "--store", database, "--node", name, "--lease", LEASE,
                "--xmpp-component", prosody.componentEndpoint,
                "--xmpp-jid", prosody.componentJID, "--xmpp-secret", prosody.secret)
            for name in ("n0", "n1", "n2")}
        self.dead: set[str] = set()

    def start(self) -> None:
        for node in self.nodes.values():  # one by one: the first sets the database up
            node.start(timeout=30)

    def alive(self) -> list[RunningServer]:
        return [node for name, node in self.nodes.items() if name not in self.dead]

    def any(self) -> RunningServer:
        return random.choice(self.alive())

    def kill(self, name: str) -> None:
        self.dead.add(name)
        self.nodes[name].kill()

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop()


class FeedReader(threading.Thread):
    """Follows ``/log/`` through whichever node is alive, as an Atom reader does: the newest
    page, then older pages until the last entry it has; every entry once, oldest first."""

    def __init__(self, cloud: Cloud) -> None:
        super().__init__(daemon=True)
        self.cloud = cloud
        self.seen: list[str] = []
        self.done = threading.Event()
        self.errors: list[BaseException] = []

    def run(self) -> None:
        try:
            while not self.done.is_set():
                self.step()
                time.sleep(0.02)
            self.step()
        except BaseException as error:  # reported by the test
            self.errors.append(error)

    def step(self) -> None:
        try:
            fresh = newerThan(self.cloud.any().port, self.seen[-1] if self.seen else None)
        except (OSError, http.client.HTTPException):
            return  # that node just died
        self.seen.extend(fresh)


def newerThan(port: int, last: str | None) -> list[str]:
    """The ids of the events after ``last`` (all, if ``None``), oldest first."""
    found: list[str] = []
    path: str | None = "/log/?number=500"
    while path is not None:
        status, _, body = call(port, "GET", path, headers={"Accept": "application/atom+xml"})
        assert status == 200, body
        feed = ET.fromstring(body)
        for entry in feed.iter(f"{ATOM}entry"):
            entryId = (entry.findtext(f"{ATOM}id") or "").removeprefix("urn:uuid:")
            if entryId == last:
                return found[::-1]
            found.append(entryId)
        older = feed.find(f"{ATOM}link[@rel='next']")
        path = None if older is None else pathOf(older.attrib["href"])
    assert last is None, f"the reader's last entry {last} is no longer in the feed"
    return found[::-1]


class Load(threading.Thread):
    """One client: creates computes, renames, starts and deletes some of them, through any
    node, remembering what was acknowledged."""

    def __init__(self, cloud: Cloud, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.cloud, self.stop = cloud, stop
        self.created: list[str] = []
        self.named: dict[str, set[str]] = {}  # acknowledged name, and any in doubt after it
        self.deleted: list[str] = []
        self.started: dict[str, str] = {}  # compute -> its start request
        self.inDoubt: set[str] = set()
        self.refused: list[tuple[str, int, bytes]] = []

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            port = self.cloud.any().port
            # A node that dies under it leaves what it asked in doubt.
            with suppress(OSError, http.client.HTTPException):
                self.step(port, n)
            time.sleep(0.03)

    def step(self, port: int, n: int) -> None:
        mine = [c for c in self.created if c not in self.deleted and c not in self.inDoubt]
        if n % 4 != 1 and mine:
            compute = random.choice(mine)
            if n % 4 == 2:
                name = f"h{n}"
                self.inDoubt.add(compute)
                self.named.setdefault(compute, set()).add(name)
                status, _, body = call(port, "POST", compute, "compute.hostname=" + name,
                                       FORM)
                self.check("rename", status, body, 200)
                self.named[compute] = {name}
                self.inDoubt.discard(compute)
                return
            if n % 4 == 3 and compute not in self.started:
                self.inDoubt.add(compute)
                status, headers, body = call(port, "POST", f"{compute}?action=start",
                                             headers={"Prefer": "respond-async"})
                self.check("start", status, body, 202)
                self.started[compute] = pathOf(headers["location"])
                self.inDoubt.discard(compute)
                return
            if n % 4 == 0 and compute not in self.started:
                self.inDoubt.add(compute)
                status, _, body = call(port, "DELETE", compute)
                self.check("delete", status, body, 200, 204)
                self.deleted.append(compute)
                self.inDoubt.discard(compute)
                return
        status, headers, body = call(port, "POST", "/compute/",
                                     "kind=compute&compute.cores=1", FORM)
        self.check("create", status, body, 201)
        self.created.append(pathOf(headers["location"]))

    def check(self, what: str, status: int, body: bytes, *expected: int) -> None:
        if status not in expected:
            self.refused.append((what, status, body[:200]))
            raise http.client.HTTPException(f"{what}: {status}")


def runningOn(cloud: Cloud, request: str) -> str | None:
    """The node writing the erase (some progress made, some left); ``None`` once it ended
    before it was seen so."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = attributes(cloud.any().port, request)
        if found[STATE] in FINAL:
            return None
        progress = found.get(PROGRESS) or {}
        if found[STATE] == "running" and NODE in found and progress.get("phase") not in (
                "verifying", "done") and progress.get("bytes", 0) > 0:
            node: str = found[NODE]
            return node
    raise AssertionError(f"the erase {request} did not run in 60 s")


def test_three_nodes_a_mixed_load_and_a_node_killed_mid_erase(
        tmp_path: Path, database: str, prosody: Prosody) -> None:
    prosody.addUser("watcher", PASSWORD)
    cloud = Cloud(tmp_path, database, prosody)
    cloud.start()
    watcher = Subscriber(f"watcher@{prosody.domain}/test", PASSWORD,
                         ("127.0.0.1", prosody.c2sPort), prosody.componentJID)
    try:
        watcher.start().result(10)
        subscribeWhenUp(watcher, "/")
        reader = FeedReader(cloud)
        reader.start()
        stop = threading.Event()
        clients = [Load(cloud, stop) for _ in range(4)]
        for client in clients:
            client.start()
        time.sleep(1.0)

        # The node that runs an erase dies at a random moment of it.
        storage, erase = startErase(cloud.any().port, ERASED)
        victim = runningOn(cloud, erase)
        while victim is None:  # it ended before it was seen running: another one
            storage, erase = startErase(cloud.any().port, ERASED)
            victim = runningOn(cloud, erase)
        time.sleep(random.uniform(0.0, 0.2))
        holder = holding(cloud)
        cloud.kill(victim)
        killedAt = time.monotonic()
        time.sleep(2.0)
        stop.set()
        for client in clients:
            client.join(60)

        port = cloud.alive()[0].port
        ended = until(lambda: final(port, erase), 60, "the erase to end", pause=0.1)
        takeover = time.monotonic() - killedAt
        assert ended[STATE] == "succeeded", ended
        assert ended[ATTEMPTS] >= 2, ended  # the dead node's run, then another node's
        image = tmp_path / "data" / "storage" / f"{storage.rpartition('/')[2]}.img"
        assert image.stat().st_size == ERASED
        with image.open("rb") as disk:
            while chunk := disk.read(4 * MIB):
                assert chunk.count(0xFF) == len(chunk)

        for client in clients:
            assert not client.refused, client.refused
            for compute in client.created:
                status, _, body = call(port, "GET", compute, headers=JSON)
                if compute in client.deleted:
                    assert status == 404, (compute, status)
                    continue
                if compute in client.inDoubt:
                    continue
                assert status == 200, (compute, status, body)
                if compute in client.named:
                    assert attributes(port, compute)["occi.compute.hostname"] in \
                        client.named[compute]
            for compute, request in client.started.items():
                done = until(lambda r=request: final(port, r), 30, f"{request} to end",
                             pause=0.1)
                # Succeeded, so it ran once: a second run would fail ("already active").
                assert done[STATE] == "succeeded", done
                assert attributes(port, compute)["occi.compute.state"] == "active"
        assert sum(len(c.created) for c in clients) > 50

        # Every event, once, in commit order: the feed reader's, and the subscriber's.
        reader.done.set()
        reader.join(60)
        assert not reader.errors, reader.errors
        every = newerThan(port, None)
        assert reader.seen == every[len(every) - len(reader.seen):]
        assert len(reader.seen) > 100
        until(lambda: bool(watcher.notifications) and
              watcher.notifications[-1].itemId == every[-1], 30,
              "the subscriber to catch up")
        notified = [n.itemId for n in watcher.notifications]
        once = list(dict.fromkeys(notified))
        first = every.index(once[0])
        assert once == every[first:]
        again = len(notified) - len(once)
        if holder != victim:
            assert again == 0, notified
        else:  # what it had sent in its last moments, unconfirmed
            assert again <= 50, notified
        assert takeover < 30
        assert noTracebacks(tmp_path)
    finally:
        watcher.close()
        cloud.stop()


def final(port: int, request: str) -> dict[str, Any] | None:
    """The request's attributes once it has ended."""
    found = attributes(port, request)
    return found if found[STATE] in FINAL else None


def holding(cloud: Cloud) -> str:
    """The node holding the XMPP component: the one whose log says it connected."""
    [holder] = [name for name, node in cloud.nodes.items()
                if "XMPP component pubsub.localhost connected" in node.log.read_text()]
    return holder
