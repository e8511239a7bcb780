"""The whole chain with real parts: ``twistd -n occi --xmpp-*`` connected to a real Prosody,
a slixmpp subscriber on a storage's node, a three-pass secure erase started over HTTP, and a
Prosody restart in the middle of it."""

from __future__ import annotations

import http.client
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from slixmpp.exceptions import IqError, IqTimeout

from ..conftest import RunningServer
from .prosody import Prosody
from .subscriber import Subscriber

ATOM = "{http://www.w3.org/2005/Atom}"
STORAGE = ('Category: storage; scheme="http://schemas.ogf.org/occi/infrastructure#"; '
           'class="kind"\nX-OCCI-Attribute: occi.storage.size=0.25\n')


def call(port: int, method: str, path: str, body: str = "",
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def contentOf(entry: ET.Element) -> tuple[str, str]:
    """An entry's id and content, line ends as an XML parser reads them."""
    entryId = entry.findtext(f"{ATOM}id") or ""
    content = (entry.findtext(f"{ATOM}content") or "").replace("\r\n", "\n")
    return entryId.removeprefix("urn:uuid:"), content


@pytest.fixture
def server(tmp_path: Path, prosody: Prosody) -> Iterator[RunningServer]:
    running = RunningServer(
        tmp_path / "occi-data", "--xmpp-component", prosody.componentEndpoint,
        "--xmpp-jid", prosody.componentJID, "--xmpp-secret", prosody.secret).start()
    try:
        yield running
    finally:
        running.stop()


def subscribeWhenUp(subscriber: Subscriber, node: str) -> None:
    """Subscribe as soon as the server's component is connected to Prosody."""
    def attempt() -> bool:
        try:
            subscriber.subscribe(node).result(10)
        except (IqError, IqTimeout):
            return False
        return True

    until(attempt, 20, "the component to come up")


def test_erase_progress_reaches_a_subscriber_across_a_prosody_restart(
        server: RunningServer, prosody: Prosody,
        subscribers: Callable[[str], Subscriber]) -> None:
    status, headers, _ = call(server.port, "POST", "/storage/", STORAGE,
                              {"Content-Type": "text/plain"})
    assert status == 201
    storage = headers["Location"][headers["Location"].index("/storage/"):]
    alice = subscribers("alice")
    subscribeWhenUp(alice, storage)

    status, headers, _ = call(server.port, "POST", f"{storage}/requests",
                              "action=secure_erase&passes=3&pattern=zeros",
                              {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 202
    request = headers["Location"][headers["Location"].index("/storage/"):]
    before = alice.waitForNotifications(3, timeout=30).result(35)
    assert before

    prosody.restart()  # mid-way: the erase goes on, the component and alice reconnect
    alice.waitOnline(2, timeout=20).result(25)

    def state() -> str:
        _, _, body = call(server.port, "GET", request, headers={"Accept": "application/json"})
        return str(json.loads(body)["attributes"]["occi-twisted.request.state"])

    until(lambda: state() == "succeeded", 120, "the erase to succeed")
    _, _, feed = call(server.port, "GET", f"{storage}/log/?number=1000")
    entries = [contentOf(e) for e in ET.fromstring(feed).iter(f"{ATOM}entry")]
    history = dict(entries)
    oldestFirst = [entryId for entryId, _ in reversed(entries)]
    last = oldestFirst[-1]  # the request's "succeeded"
    until(lambda: any(n.itemId == last for n in alice.notifications), 20,
          "the last event to reach the subscriber")

    received = [n for n in alice.notifications if n.node == storage]
    ids = [n.itemId for n in received]
    # In order, none twice, each one an event of the feed with the same payload.
    assert ids == sorted(ids, key=oldestFirst.index) and len(ids) == len(set(ids))
    for notification in received:
        assert notification.payload is not None
        entryId, content = contentOf(notification.payload)
        assert entryId == notification.itemId and history[entryId] == content
    # Events after the restart arrived: the steps that came once it was back.
    assert last in ids and len(ids) > len(before)

    items = alice.items(storage, maxItems=1000).result(10)
    assert [itemId for itemId, _ in items] == [entryId for entryId, _ in entries]
