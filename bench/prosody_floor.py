"""What Prosody alone takes to fan a notification out: the floor under events_bench.py's latency.

    python bench/prosody_floor.py [--subscribers 50] [--events 400] [--payload FILE]

A Prosody of its own (tests/xmpp/prosody.py's, same settings), a component that is a bare
socket writing the stanzas of one event -- one ``headline`` per subscriber, the payload given
-- in one write, as the server does, and as many accounts logged in over bare sockets that
only count the stanzas they are sent: no XML parsed, no Twisted, no slixmpp.  For each event,
the time from the write to the arrival of the last subscriber's stanza; events one at a time,
5 ms apart, as events_bench.py makes changes.  Prosody's CPU time per stanza from /proc.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import select
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from procstat import cpuSeconds  # noqa: E402

from tests.xmpp.prosody import Prosody  # noqa: E402

PASSWORD = "floor-password"
#: A notification as the server writes it, but for the payload.
STANZA = ("<message from='{service}' to='{to}' type='headline'>"
          "<event xmlns='http://jabber.org/protocol/pubsub#event'><items node='/'>"
          "<item id='{item}'>{payload}</item></items></event></message>")
END = b"</message>"


def _until(connection: socket.socket, pattern: bytes) -> bytes:
    data = b""
    while not re.search(pattern, data):
        more = connection.recv(65536)
        if not more:
            raise ConnectionError(f"closed while waiting for {pattern!r}: {data[-200:]!r}")
        data += more
    return data


def _login(port: int, user: str, domain: str) -> socket.socket:
    """A c2s session over a bare socket: SASL PLAIN (Prosody allows it on this loopback
    test server), then a bound resource."""
    connection = socket.create_connection(("127.0.0.1", port))
    opening = (f"<?xml version='1.0'?><stream:stream to='{domain}' version='1.0' "
               "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>").encode()
    connection.sendall(opening)
    _until(connection, b"</stream:features>")
    credentials = base64.b64encode(f"\0{user}\0{PASSWORD}".encode()).decode()
    connection.sendall(("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
                        f"{credentials}</auth>").encode())
    _until(connection, b"<success")
    connection.sendall(opening)
    _until(connection, b"</stream:features>")
    connection.sendall(b"<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                       b"<resource>floor</resource></bind></iq>")
    _until(connection, b"</iq>")
    return connection


def _component(port: int, jid: str, secret: str) -> socket.socket:
    """A XEP-0114 component over a bare socket."""
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall((f"<stream:stream to='{jid}' xmlns='jabber:component:accept' "
                        "xmlns:stream='http://etherx.jabber.org/streams'>").encode())
    header = _until(connection, rb"id=['\"][^'\"]+['\"]")
    found = re.search(rb"id=['\"]([^'\"]+)['\"]", header)
    assert found is not None
    digest = hashlib.sha1(found.group(1) + secret.encode()).hexdigest()  # XEP-0114 says SHA-1
    connection.sendall(f"<handshake>{digest}</handshake>".encode())
    _until(connection, b"<handshake")
    return connection


class Readers:
    """One thread reading every subscriber's socket, counting stanzas; it notes the time
    the count reaches :attr:`goal`."""

    def __init__(self, connections: list[socket.socket]) -> None:
        self.connections = connections
        self.count = 0
        self.goal = 0
        self.reached = threading.Event()
        self.at = 0.0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def expect(self, goal: int) -> None:
        self.reached.clear()
        self.goal = goal

    def _run(self) -> None:
        owners = {c.fileno(): c for c in self.connections}
        tails = dict.fromkeys(owners, b"")
        while not self._stop:
            ready, _, _ = select.select(list(owners), [], [], 0.2)
            for fd in ready:
                data = tails[fd] + owners[fd].recv(1 << 20)
                self.count += data.count(END)
                tails[fd] = data[-(len(END) - 1):]
            if self.count >= self.goal and not self.reached.is_set():
                self.at = time.monotonic()
                self.reached.set()

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)


def floor(work: Path, payload: str, *, subscribers: int = 50, events: int = 400
          ) -> dict[str, float]:
    """Spans (seconds) from an event's write to its last stanza's arrival: p50, p99, max;
    and Prosody's CPU microseconds per stanza."""
    prosody = Prosody(work)
    names = [f"floor{i}" for i in range(subscribers)]
    for name in names:
        prosody.addUser(name, PASSWORD)
    prosody.start()
    assert prosody.process is not None
    try:
        connections = [_login(prosody.c2sPort, name, prosody.domain) for name in names]
        component = _component(prosody.componentPort, prosody.componentJID, prosody.secret)
        readers = Readers(connections)
        spans = []
        used = cpuSeconds(prosody.process.pid)
        for n in range(events):
            chunk = "".join(STANZA.format(service=prosody.componentJID, item=f"i{n}",
                                          to=f"{name}@{prosody.domain}/floor",
                                          payload=payload) for name in names).encode()
            readers.expect((n + 1) * subscribers)
            written = time.monotonic()
            component.sendall(chunk)
            if not readers.reached.wait(5):
                raise TimeoutError(f"event {n}: {readers.count} stanzas arrived")
            spans.append(readers.at - written)
            time.sleep(0.005)
        perStanza = (cpuSeconds(prosody.process.pid) - used) / (events * subscribers) * 1e6
        readers.close()
        for connection in [*connections, component]:
            connection.close()
    finally:
        prosody.stop()
    ordered = sorted(spans)
    return {"p50": statistics.median(ordered), "p99": ordered[int(0.99 * len(ordered))],
            "max": ordered[-1], "cpu": perStanza}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--payload", type=Path, help="a file holding the payload (XML)")
    args = parser.parse_args()
    payload = (args.payload.read_text() if args.payload else
               "<entry xmlns='http://www.w3.org/2005/Atom'>" + "x" * 900 + "</entry>")
    with tempfile.TemporaryDirectory(prefix="occi-prosody-floor-") as work:
        found = floor(Path(work), payload, subscribers=args.subscribers, events=args.events)
    print(f"Prosody alone, {args.subscribers} stanzas of {len(payload)} payload bytes an event: "
          f"last arrival p50 {found['p50'] * 1e3:.2f} ms  p99 {found['p99'] * 1e3:.2f} ms  max "
          f"{found['max'] * 1e3:.2f} ms;  {found['cpu']:.0f} us of Prosody CPU a stanza")


if __name__ == "__main__":
    main()
