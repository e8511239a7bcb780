"""A storage's image through a real ``twistd occi``: upload and download of a 1 GiB image
through signed URLs, against ``dd`` and ``twisted.web.static.File`` on the same disk, in one
run.

    python bench/transfer_bench.py [--dir DIR] [--size 1024] [--rounds 3] [--seconds 4]
                                   [--uploads-only] [--settle 5]

A file of ``--size`` MiB of random bytes is written under ``--dir`` (default: the system's
temporary directory), beside the server's ``--data``, so that every figure is of one file
system.  Each round:

- *upload*: ``dd if=SOURCE of=COPY bs=BS conv=fsync`` for BS of 64K, 1M and 8M (the
  baseline: the bytes written and synced; which block size is fastest changes with the
  machine, even from one hour to the next on this one, so each round's fastest is the
  baseline) against ``curl -L -T SOURCE`` to ``/storage/<id>`` (307 to the signed URL; the
  body is written beside the image, synced and renamed over it before the answer).  Goal:
  upload >= 0.8 x dd.  After a first round untimed, each write starts on a rested disk (the
  last write and the removal of the last copy synced, then ``--settle`` seconds), in the
  reverse order every other round; beside the ratio of the medians, each round's upload is
  divided by that round's fastest ``dd``, and the median of those ratios is printed too;
- two more baselines for the upload: the same ``curl`` to a bare Twisted protocol that
  reads the bytes and drops them (no HTTP parsing, no disk) -- what receiving through the
  reactor costs here -- and to a bare socket server that splices them to ``/dev/null`` --
  the most ``curl`` and loopback TCP deliver here, the ceiling of a spliced upload;
- *download*: ``curl -o /dev/null`` of the image through its signed URL against the same
  file served by ``twistd web --path`` (``twisted.web.static.File``), and ``dd`` reading it,
  each server first every other round, after an untimed read (an image uploaded past the
  page cache has never been in it, and on a virtual machine the first read of it pays for
  memory the guest had not touched, whoever reads).  Goal: signed URL >= 0.9 x static.File.

``--uploads-only`` skips the downloads and the probes.  Beside the rates: the occi server's
CPU seconds and the growth of its resident memory during each transfer (goal < 30 MiB), and
the p99 of GETs of an entity by ``--probes`` other clients while downloads run back to back,
against idle (goal < 3 x).  Medians over the rounds; the machine is noisy, so compare ratios
within one run.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from files_bench import evict, percentile, probe, timed, writeFile  # noqa: E402
from http_bench import freePort, waitForPort  # noqa: E402

MiB = 1 << 20
INFRA = "http://schemas.ogf.org/occi/infrastructure#"
OCTET = "application/octet-stream"
TWISTD = str(Path(sys.executable).parent / "twistd")
#: dd's block sizes: which is fastest varies with the machine (and from one hour to the next
#: on a virtual one), and the upload is measured against the fastest of each round.
DD_BLOCKS = ("64K", "1M", "8M")


#: A server that only receives: each connection's bytes are counted and dropped, then an
#: answer once ``size`` bytes came (run with ``python -c``).
DISCARD = """
import sys
from twisted.internet import reactor, protocol
size = int(sys.argv[2])
class Drop(protocol.Protocol):
    seen = 0
    def connectionMade(self):
        self.transport.bufferSize = 1 << 20
    def dataReceived(self, data):
        self.seen += len(data)
        if self.seen >= size:
            self.transport.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n")
            self.transport.loseConnection()
factory = protocol.Factory.forProtocol(Drop)
reactor.listenTCP(int(sys.argv[1]), factory, interface="127.0.0.1")
reactor.run()
"""

#: A server that splices each body to /dev/null (no Python copy, no disk): what ``curl``
#: and loopback TCP can deliver to a spliced upload on this machine, its ceiling.
SPLICED = """
import os, socket, sys
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
null = os.open(os.devnull, os.O_WRONLY)
read, write = os.pipe()
while True:
    client, _ = server.accept()
    head = got = b"-"
    while got and b"\\r\\n\\r\\n" not in head:
        got = client.recv(65536)
        head += got
    if not got:  # a probe of the port
        client.close()
        continue
    head, _, body = head.partition(b"\\r\\n\\r\\n")
    if b"100-continue" in head.lower():
        client.sendall(b"HTTP/1.1 100 Continue\\r\\n\\r\\n")
    left = int(sys.argv[2]) - len(body)
    while left:
        moved = os.splice(client.fileno(), write, min(left, 1 << 20))
        left -= moved
        while moved:
            moved -= os.splice(read, null, moved)
    client.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n")
    client.close()
"""


def call(port: int, method: str, path: str, body: str = "",
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(method, path, body, headers or {})
    response = connection.getresponse()
    answer = (response.status, {k.lower(): v for k, v in response.getheaders()},
              response.read())
    connection.close()
    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--size", type=int, default=1024, help="MiB (a multiple of 8)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--probes", type=int, default=4)
    parser.add_argument("--uploads-only", action="store_true")
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds the disk rests before each timed write")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="transfer-bench-", dir=args.dir))
    servers: list[subprocess.Popen[bytes]] = []
    try:
        source, copy = work / "source.img", work / "copy.img"
        writeFile(source, args.size)
        port, staticPort = freePort(), freePort()
        occi = subprocess.Popen([TWISTD, "-n", "--pidfile=", "occi", "--listen",
                                 f"tcp:{port}:interface=127.0.0.1", "--data",
                                 str(work / "data")], cwd=work,
                                env=dict(os.environ, PYTHONPATH=str(ROOT)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        servers.append(occi)
        waitForPort(port, occi)
        status, headers, body = call(port, "POST", "/storage/", (
            f'Category: storage; scheme="{INFRA}"; class="kind"\n'
            f"X-OCCI-Attribute: occi.storage.size={args.size / 1024}\n"),
            {"Content-Type": "text/plain"})
        assert status == 201, body
        storage = urlsplit(headers["location"]).path
        image = work / "data" / "storage" / f"{storage.rpartition('/')[2]}.img"
        static = subprocess.Popen([TWISTD, "-n", "--pidfile=", "web", "--listen",
                                   f"tcp:{staticPort}:interface=127.0.0.1", "--path",
                                   str(image.parent)], cwd=work,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        servers.append(static)
        waitForPort(staticPort, static)
        dropPort = freePort()
        drop = subprocess.Popen([sys.executable, "-c", DISCARD, str(dropPort),
                                 str(args.size * MiB)])
        servers.append(drop)
        waitForPort(dropPort, drop)
        splicePort = freePort()
        spliced = subprocess.Popen([sys.executable, "-c", SPLICED, str(splicePort),
                                    str(args.size * MiB)])
        servers.append(spliced)
        waitForPort(splicePort, spliced)
        rows: dict[str, list[dict[str, float]]] = {}
        writes = {f"dd write bs={bs} (conv=fsync)": ["dd", f"if={source}", f"of={copy}",
                                                    f"bs={bs}", "conv=fsync"]
                  for bs in DD_BLOCKS}
        writes["upload (signed URL)"] = ["curl", "-sS", "--fail", "-L", "-T", str(source),
                                         "-H", f"Content-Type: {OCTET}",
                                         f"http://127.0.0.1:{port}{storage}"]
        rows.update((name, []) for name in writes)
        for command in writes.values():  # a round untimed: the first writes are slower
            copy.unlink(missing_ok=True)
            subprocess.run(command, check=True, capture_output=True)
        for turn in range(args.rounds):
            # Each goes first every other round, and each starts on a settled disk (the
            # last write and the removal of the last copy synced, then --settle seconds):
            # whichever comes second would otherwise find the disk still busy with the first
            # (the host of a virtual machine may write back after the guest's fsync).
            for name in sorted(writes, reverse=bool(turn % 2)):
                copy.unlink(missing_ok=True)
                os.sync()
                time.sleep(args.settle)
                rows.setdefault(name, []).append(timed(writes[name], occi.pid))
            for name, server, bare in (("bare Twisted receive", drop, dropPort),
                                       ("bare splice to /dev/null", spliced, splicePort)):
                rows.setdefault(name, []).append(timed(
                    ["curl", "-sS", "--fail", "-T", str(source),
                     f"http://127.0.0.1:{bare}/x"], server.pid))
            if args.uploads_only:
                continue
            signed = call(port, "GET", storage, headers={"Accept": OCTET})[1]["location"]
            # An image uploaded past the page cache has never been in it: the first read of
            # it takes pages the guest has not touched for a while, which on a virtual
            # machine cost more than the disk (2.8 s of system time a GiB against 0.1).
            # So a read untimed first, and each server reads first every other round.
            evict(image)
            subprocess.run(["dd", f"if={image}", "of=/dev/null", "bs=8M"], check=True,
                           capture_output=True)
            downloads = [("download (signed URL)", signed),
                         ("static.File", f"http://127.0.0.1:{staticPort}/{image.name}")]
            for name, url in downloads[::-1] if turn % 2 else downloads:
                evict(image)
                rows.setdefault(name + " cold", []).append(timed(
                    ["curl", "-sS", "--fail", "-o", "/dev/null", url], occi.pid))
                rows.setdefault(name + " hot", []).append(timed(
                    ["curl", "-sS", "--fail", "-o", "/dev/null", url], occi.pid))
            evict(image)
            rows.setdefault("dd read cold", []).append(timed(
                ["dd", f"if={image}", "of=/dev/null", "bs=8M"], occi.pid))
        report(rows, args.size)
        if args.uploads_only:
            return
        probeEntity = storage
        idle = probe(port, args.seconds, args.probes, path=probeEntity,
                     headers={"Accept": "application/occi+json"})
        signed = call(port, "GET", storage, headers={"Accept": OCTET})[1]["location"]
        busy = probe(port, args.seconds, args.probes, lambda: subprocess.run(
            ["curl", "-sS", "-o", "/dev/null", signed], check=True),
            path=probeEntity, headers={"Accept": "application/occi+json"})
        print(f"\nGET {probeEntity} by {args.probes} clients: p99 idle "
              f"{percentile(idle, 0.99):.1f} ms, during downloads "
              f"{percentile(busy, 0.99):.1f} ms = "
              f"{percentile(busy, 0.99) / percentile(idle, 0.99):.2f}x (goal < 3x)")
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)


def report(rows: dict[str, list[dict[str, float]]], size: int) -> None:
    rate = {name: size / statistics.median(r["seconds"] for r in runs)
            for name, runs in rows.items()}
    print(f"{size} MiB, median of {len(next(iter(rows.values())))} rounds")
    for name, runs in rows.items():
        growth = max(r["growth"] for r in runs) / 1024
        cpu = statistics.median(r["cpu"] for r in runs) * 1024 / size
        print(f"  {name:28} {rate[name]:8.0f} MiB/s   server CPU {cpu:5.2f} s/GiB   "
              f"server RSS growth {growth:5.1f} MiB")
    upload = rate["upload (signed URL)"]
    dds = [rows[f"dd write bs={bs} (conv=fsync)"] for bs in DD_BLOCKS]
    fastest = [min(dd["seconds"] for dd in ofRound) for ofRound in zip(*dds, strict=True)]
    print(f"upload / fastest dd write: {upload * statistics.median(fastest) / size:.2f}x "
          f"(goal >= 0.8x); upload / bare Twisted receive: "
          f"{upload / rate['bare Twisted receive']:.2f}x; upload / bare splice: "
          f"{upload / rate['bare splice to /dev/null']:.2f}x")
    paired = [dd / up["seconds"] for dd, up in
              zip(fastest, rows["upload (signed URL)"], strict=True)]
    print(f"upload / fastest dd write, round by round: "
          f"{', '.join(f'{ratio:.2f}' for ratio in paired)} "
          f"(median {statistics.median(paired):.2f}x)")
    if "dd read cold" not in rate:
        return
    for heat in ("cold", "hot"):
        ratio = rate[f"download (signed URL) {heat}"] / rate[f"static.File {heat}"]
        print(f"download / static.File ({heat}): {ratio:.2f}x (goal >= 0.9x)")
    print(f"download cold / dd read cold: "
          f"{rate['download (signed URL) cold'] / rate['dd read cold']:.2f}x")


if __name__ == "__main__":
    main()
