"""Many slixmpp subscribers on one asyncio loop, in a process of their own, driven over a pipe.

    python bench/xmpp_subscribers.py      (started by bench/events_bench.py)

A load generator must not be slower than what it measures.  One thread with one event loop
for all its clients reads every socket that became ready from one ``epoll`` wake-up; fifty
clients each on a thread of their own (as tests/xmpp/subscriber.py runs one) would instead
pass Python's global lock around fifty ways for every event, and their arrival times would
measure that.  events_bench.py starts one or more of these processes, so that the
subscribers can use more than one core, and reads arrival times taken here with
``time.monotonic()`` -- ``CLOCK_MONOTONIC``, the same clock in every process of the machine.

Each client logs in, sends presence, and counts the pubsub notifications it is sent, keeping
the arrival time of each item.  Commands come on stdin, one JSON object a line; each is
answered on stdout by one JSON line:

``{"op": "start", "jids": [...], "password": ..., "host": ..., "port": ..., "service": ...}``
    connect every client; ``{"ok": true}`` once all are online.
``{"op": "subscribe", "node": ...}``
    subscribe every client to ``node`` (ten requests at a time).
``{"op": "wait", "counts": [...], "timeout": s}``
    answer once client *i* has ``counts[i]`` items, or at the timeout: ``{"counts": [...]}``.
``{"op": "counts"}``
    how many items each client has: ``{"counts": [...]}``.
``{"op": "arrivals", "since": [...]}``
    client *i*'s arrival times from its ``since[i]``-th item on: ``{"arrivals": [[...]],
    "sinceChange": [[...]]}``, the second the seconds from each item's change -- its Atom
    entry's ``updated``, to the millisecond -- to its arrival, both read on the wall clock.
``{"op": "window", "start": t0, "end": t1}``
    items that arrived within ``[t0, t1]`` per client, and the latest arrival of all.
``{"op": "collector", "enabled": bool}``
    turn Python's cyclic garbage collector off (for a latency measurement: its pauses are the
    client's, not the service's) or back on.
``{"op": "stop"}``
    disconnect everyone and exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

from slixmpp import ClientXMPP
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_EVENT = NS_PUBSUB + "#event"
ITEM = f"{{{NS_EVENT}}}item"
UPDATED = "{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}updated"


def sinceChange(stamp: tuple[float, str]) -> float | None:
    """Seconds from the change an entry records to its arrival (``None`` without a date)."""
    wall, updated = stamp
    if not updated:
        return None
    return wall - datetime.fromisoformat(updated).timestamp()


class Counting:
    """One subscriber: a slixmpp client keeping the arrival time of every item notified."""

    def __init__(self, jid: str, password: str, service: str, arrived: asyncio.Event
                 ) -> None:
        self.service = service
        self.arrivals: list[float] = []
        #: (wall-clock arrival, the entry's ``updated`` text) of each item.
        self.stamps: list[tuple[float, str]] = []
        #: Set at every notification (shared by the process's clients).
        self.arrived = arrived
        self.online = asyncio.Event()
        self.client = ClientXMPP(jid, password, plugin_config={
            "feature_mechanisms": {"unencrypted_scram": True}})
        self.client.enable_direct_tls = False
        self.client.enable_starttls = False
        self.client.enable_plaintext = True
        # No plugins (slixmpp's xep_0060 and what it needs would add a handful of handlers,
        # each tried on every stanza): the subscription request is written by hand, and
        # notifications are taken straight from the stream.
        self.client.register_handler(Callback(
            "bench items", MatchXPath(f"{{jabber:client}}message/{{{NS_EVENT}}}event"),
            self._notified))
        self.client.add_event_handler("session_start", self._started)

    def _started(self, _: Any) -> None:
        self.client.send_presence()
        self.online.set()

    def _notified(self, message: Any) -> None:
        arrived = time.monotonic()
        wall = time.time()
        for item in message.xml.iter(ITEM):
            self.arrivals.append(arrived)
            updated = item.find(UPDATED)
            self.stamps.append((wall, "" if updated is None else updated.text or ""))
        self.arrived.set()

    async def connect(self, host: str, port: int) -> None:
        self.client.connect(host, port)
        await asyncio.wait_for(self.online.wait(), 60)

    async def subscribe(self, node: str) -> None:
        request = ET.Element(f"{{{NS_PUBSUB}}}pubsub")
        ET.SubElement(request, f"{{{NS_PUBSUB}}}subscribe", node=node,
                      jid=self.client.boundjid.bare)
        for attempt in range(50):
            try:
                iq = self.client.make_iq_set(request, ito=self.service)
                await iq.send(timeout=10)
                return
            except Exception:
                # The node may not be known yet (the service follows the store).
                if attempt == 49:
                    raise
                await asyncio.sleep(0.1)


async def bounded(works: list[Awaitable[None]], limit: int = 10) -> None:
    gate = asyncio.Semaphore(limit)

    async def one(work: Awaitable[None]) -> None:
        async with gate:
            await work

    await asyncio.gather(*(one(w) for w in works))


async def serve() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    clients: list[Counting] = []
    arrived = asyncio.Event()

    def answer(value: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()

    while line := await reader.readline():
        command = json.loads(line)
        op = command["op"]
        if op == "start":
            clients = [Counting(jid, command["password"], command["service"], arrived)
                       for jid in command["jids"]]
            await bounded([c.connect(command["host"], command["port"]) for c in clients])
            # What is alive now lives as long as the process: out of the collector's sight,
            # its full collections stay short (and off the arrival times).
            gc.collect()
            gc.freeze()
            answer({"ok": True})
        elif op == "subscribe":
            await bounded([c.subscribe(command["node"]) for c in clients])
            answer({"ok": True})
        elif op == "wait":
            deadline = time.monotonic() + command["timeout"]
            wanted = command["counts"]
            while (any(len(c.arrivals) < n for c, n in zip(clients, wanted, strict=True))
                   and (left := deadline - time.monotonic()) > 0):
                arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), left)
            answer({"counts": [len(c.arrivals) for c in clients]})
        elif op == "collector":
            if command["enabled"]:
                gc.enable()
            else:
                gc.collect()
                gc.disable()
            answer({"ok": True})
        elif op == "counts":
            answer({"counts": [len(c.arrivals) for c in clients]})
        elif op == "arrivals":
            since = command["since"]
            answer({"arrivals": [c.arrivals[n:] for c, n in zip(clients, since, strict=True)],
                    "sinceChange": [[sinceChange(stamp) for stamp in c.stamps[n:]]
                                    for c, n in zip(clients, since, strict=True)]})
        elif op == "window":
            start, end = command["start"], command["end"]
            answer({"counts": [sum(1 for t in c.arrivals if start <= t <= end)
                               for c in clients],
                    "last": max((c.arrivals[-1] for c in clients if c.arrivals), default=0.0)})
        elif op == "stop":
            await asyncio.gather(*(c.client.disconnect(wait=1.0) for c in clients),
                                 return_exceptions=True)
            answer({"ok": True})
            return


if __name__ == "__main__":
    asyncio.run(serve())
