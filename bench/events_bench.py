"""Event delivery benchmark: XMPP notifications to 50 subscribers and long-poll wake-ups.

    python bench/events_bench.py [--subscribers 50] [--changes 200] [--seconds 10]
                                 [--connections 8] [--waiters 1000]

One run, three measurements, each beside a baseline taken in the same run:

1. Latency from a state change to its notification: ``--subscribers`` slixmpp accounts, through
   a real Prosody, subscribed to one compute's node; the compute's title is changed over HTTP
   ``--changes`` times, one at a time, and for every (change, subscriber) pair the time from
   the change -- the ``updated`` time of the notification's Atom entry, which the server
   sets as it makes the change, before storing it -- to the notification's arrival in
   slixmpp's handler, both on the wall clock, is kept; beside it, the time from just before
   the HTTP request is sent (an upper bound, by the monotonic clock) and from its answer's
   arrival (a lower bound: the change is committed before the answer).  Baselines: the HTTP
   round trip of the same update (with XMPP, and on a server without it), and what Prosody
   alone takes to fan the same entry out to as many bare-socket readers
   (bench/prosody_floor.py), against the arrival at the last subscriber.
2. Events per second sustained: the same accounts subscribed to ``/``; wrk creates computes
   for ``--seconds`` and the notifications arriving in that window are counted, in total
   (stanzas: each is one event delivered to one subscriber) and per subscriber, with the CPU
   shares of the server, Prosody and the subscribers from /proc.  Then, with no more HTTP
   load, the backlog's delivery rate.  Baseline: wrk's create rate on a server without XMPP.
3. Long-poll wake-ups: ``--waiters`` raw HTTP GETs of a waiting backup request with
   ``Prefer: wait=30`` and ``If-None-Match``, then a DELETE cancelling it, as
   tests/launch/test_long_poll.py does; wake-up delays and the server's thread count.

The subscribers run in ``--processes`` processes of their own (bench/xmpp_subscribers.py),
all of a process's clients on one event loop.  The machine is noisy and small (2 cores shared
by the server, Prosody, wrk and the subscribers): compare ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import importlib
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from procstat import TICK, cpuSeconds  # noqa: E402
from prosody_floor import floor  # noqa: E402

from tests.conftest import RunningServer  # noqa: E402
from tests.xmpp.prosody import Prosody  # noqa: E402

# Imported at run time only: mypy would otherwise check the test helper itself, whose
# slixmpp calls are not all typed.
longPoll: Any = importlib.import_module("tests.launch.test_long_poll")

PASSWORD = "bench-password"
ATOM = "http://www.w3.org/2005/Atom"
COMPUTE = (
    'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\n'
    "X-OCCI-Attribute: occi.compute.cores=2\n"
    "X-OCCI-Attribute: occi.compute.memory=4.0\n"
    'X-OCCI-Attribute: occi.core.title="bench"\n'
)


class Subscribers:
    """``count`` slixmpp accounts split over ``processes`` bench/xmpp_subscribers.py processes
    (see there), used as one: the lists they answer are in account order."""

    def __init__(self, jids: list[str], password: str, address: tuple[str, int],
                 service: str, processes: int) -> None:
        self.workers = [subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "xmpp_subscribers.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for _ in range(processes)]
        self.shares = [jids[i::processes] for i in range(processes)]
        self.size = len(jids)
        self._all("start", [{"jids": share, "password": password, "host": address[0],
                             "port": address[1], "service": service}
                            for share in self.shares])

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self.workers]

    def _all(self, op: str, arguments: list[dict[str, Any]] | None = None
             ) -> list[dict[str, Any]]:
        for worker, extra in zip(self.workers, arguments or [{}] * len(self.workers),
                                 strict=True):
            assert worker.stdin is not None
            worker.stdin.write(json.dumps({"op": op, **extra}) + "\n")
            worker.stdin.flush()
        answers = []
        for worker in self.workers:
            assert worker.stdout is not None
            line = worker.stdout.readline()
            assert line, f"a subscriber process ended (exit {worker.poll()})"
            answers.append(json.loads(line))
        return answers

    def _merged(self, lists: list[list[Any]]) -> list[Any]:
        """Per-process lists back in account order."""
        merged: list[Any] = [None] * self.size
        for index, values in enumerate(lists):
            merged[index::len(self.workers)] = values
        return merged

    def _split(self, values: list[Any]) -> list[list[Any]]:
        return [values[i::len(self.workers)] for i in range(len(self.workers))]

    def subscribe(self, node: str) -> None:
        self._all("subscribe", [{"node": node}] * len(self.workers))

    def collector(self, enabled: bool) -> None:
        """Python's garbage collector on or off in the subscriber processes."""
        self._all("collector", [{"enabled": enabled}] * len(self.workers))

    def counts(self) -> list[int]:
        return self._merged([a["counts"] for a in self._all("counts")])

    def wait(self, counts: list[int], timeout: float) -> bool:
        """Whether every account has its count of items within ``timeout`` seconds."""
        got = self._merged([a["counts"] for a in self._all(
            "wait", [{"counts": share, "timeout": timeout} for share in self._split(counts)])])
        return all(g >= c for g, c in zip(got, counts, strict=True))

    def arrivals(self, since: list[int]) -> tuple[list[list[float]], list[list[float | None]]]:
        """Each account's arrival times from its ``since``-th item on, and the seconds from
        each item's change (its entry's ``updated``) to its arrival."""
        answers = self._all("arrivals", [{"since": share} for share in self._split(since)])
        return (self._merged([a["arrivals"] for a in answers]),
                self._merged([a["sinceChange"] for a in answers]))

    def window(self, start: float, end: float) -> tuple[list[int], float]:
        """Items that arrived within ``[start, end]`` per account; the latest arrival."""
        answers = self._all("window", [{"start": start, "end": end}] * len(self.workers))
        return self._merged([a["counts"] for a in answers]), max(a["last"] for a in answers)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._all("stop")
        for worker in self.workers:
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()


class Client:
    """One persistent HTTP/1.1 connection."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, body: str = "",
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        self.connection.request(method, path, body, headers or {})
        response = self.connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()


def createCompute(client: Client) -> str:
    status, headers, body = client.call("POST", "/compute/", COMPUTE,
                                        {"Content-Type": "text/plain"})
    assert status == 201, (status, body)
    return headers["Location"][headers["Location"].index("/compute/"):]


def update(client: Client, path: str, n: int) -> None:
    status, _, body = client.call("POST", path, f'X-OCCI-Attribute: occi.core.title="t{n}"\n',
                                  {"Content-Type": "text/plain"})
    assert status in (200, 201, 204), (status, body)


def machineBusy() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine, all cores."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / TICK, sum(fields) / TICK


def quantiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    return (statistics.median(ordered), ordered[min(len(ordered) - 1,
                                                    int(0.99 * len(ordered)))], ordered[-1])


def wrk(url: str, seconds: int, connections: int, script: Path) -> float:
    output = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s",
                             str(script), url], capture_output=True, text=True,
                            check=True).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert found is not None, output
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    assert errors is None, output
    return float(found.group(1))


def latency(server: RunningServer, subscribers: Subscribers, changes: int,
            plainPort: int) -> dict[str, Any]:
    client = Client(server.port)
    path = createCompute(client)
    subscribers.subscribe(path)
    # Warm-up: how many notifications one update gives each subscriber.
    before = subscribers.counts()
    update(client, path, -1)
    assert subscribers.wait([b + 1 for b in before], 10), "no notification"
    time.sleep(0.5)
    perChange = subscribers.counts()[0] - before[0]
    delays: list[float] = []
    fromChange: list[float] = []
    afterAnswer: list[float] = []
    firsts: list[float] = []
    lasts: list[float] = []
    rtts: list[float] = []
    missing = 0
    subscribers.collector(False)
    for n in range(changes):
        before = subscribers.counts()
        sent = time.monotonic()
        update(client, path, n)
        answered = time.monotonic()
        rtts.append(answered - sent)
        if not subscribers.wait([b + perChange for b in before], 5):
            missing += 1
        arrivals, sinceChange = subscribers.arrivals(before)
        these = [arrived[0] - sent for arrived in arrivals if arrived]
        fromChange.extend(delay[0] for delay in sinceChange if delay and delay[0] is not None)
        delays.extend(these)
        afterAnswer.extend(delay - (answered - sent) for delay in these)
        firsts.append(min(these))
        lasts.append(max(these))
        time.sleep(0.005)
    subscribers.collector(True)
    plain = Client(plainPort)
    plainPath = createCompute(plain)
    plainRtts = []
    for n in range(changes):
        sent = time.monotonic()
        update(plain, plainPath, n)
        plainRtts.append(time.monotonic() - sent)
    p50, p99, worst = quantiles(delays)
    r50, r99, _ = quantiles(rtts)
    q50, q99, _ = quantiles(plainRtts)
    f50, f99, _ = quantiles(firsts)
    l50, l99, _ = quantiles(lasts)
    a50, a99, _ = quantiles(afterAnswer)
    c50, c99, cmax = quantiles(fromChange)
    # The newest entry of the compute's log: the payload its last notifications carried.
    status, _, body = client.call("GET", path + "/log/", headers={
        "Accept": "application/atom+xml"})
    assert status == 200, status
    entry = re.search(r"<entry>.*?</entry>", body.decode(), re.S)
    assert entry is not None
    payload = entry.group(0).replace("<entry>", f"<entry xmlns='{ATOM}'>", 1)
    return {"payload": payload,
            "p50": p50, "p99": p99, "max": worst, "rtt50": r50, "rtt99": r99,
            "first50": f50, "first99": f99, "last50": l50, "last99": l99,
            "answer50": a50, "answer99": a99, "change50": c50, "change99": c99,
            "changeMax": cmax, "plain50": q50, "plain99": q99,
            "pairs": len(delays), "missing": missing,
            "perChange": perChange}


def throughput(server: RunningServer, prosody: Prosody, subscribers: Subscribers,
               plain: RunningServer, *, args: argparse.Namespace, script: Path
               ) -> dict[str, float]:
    seconds: int = args.seconds
    connections: int = args.connections
    assert plain.process is not None
    plainPid = plain.process.pid
    plainBefore, started = cpuSeconds(plainPid), time.monotonic()
    baseline = wrk(f"http://127.0.0.1:{plain.port}/compute/", seconds, connections, script)
    plainShare = (cpuSeconds(plainPid) - plainBefore) / (time.monotonic() - started)
    subscribers.subscribe("/")
    time.sleep(1)
    assert server.process is not None and prosody.process is not None
    pids = {"server": [server.process.pid], "prosody": [prosody.process.pid],
            "subscribers": subscribers.pids}

    def used() -> dict[str, float]:
        return {name: sum(cpuSeconds(pid) for pid in group) for name, group in pids.items()}

    cpuBefore = used()
    busyBefore, allBefore = machineBusy()
    counted = sum(subscribers.counts())
    started = time.monotonic()
    rate = wrk(f"http://127.0.0.1:{server.port}/compute/", seconds, connections, script)
    ended = time.monotonic()
    wall = ended - started
    shares = {name: (cpu - cpuBefore[name]) / wall for name, cpu in used().items()}
    busyAfter, allAfter = machineBusy()
    shares["machine"] = (busyAfter - busyBefore) / (allAfter - allBefore)
    shares["plain"] = plainShare
    # Then the backlog: how long until every created compute's events are delivered, with
    # the CPU shares over the first 10 s of it (no HTTP load then).
    cpuBefore = used()
    drainStart = time.monotonic()
    drainCounted = sum(subscribers.counts())
    time.sleep(10)
    drainWall = time.monotonic() - drainStart
    for name, cpu in used().items():
        shares[f"drain_{name}"] = (cpu - cpuBefore[name]) / drainWall
    delivered = sum(subscribers.counts())
    shares["drain_rate"] = (delivered - drainCounted) / drainWall
    settled = ended
    last = -1
    while time.monotonic() - ended < 300:
        total = sum(subscribers.counts())
        if total == last:
            break
        last = total
        settled = time.monotonic()
        time.sleep(1.0)
    inWindow, latest = subscribers.window(started, ended)
    drain = latest - ended
    perCreate = (last - counted) / subscribers.size / (rate * wall)
    perSub = [c / wall for c in inWindow]
    return {"http": rate, "baseline": baseline, "total": sum(inWindow) / wall,
            "perSub": statistics.mean(perSub), "perSubMin": min(perSub),
            "drain": max(0.0, drain), "perCreate": perCreate, "settled": settled - ended, **{
                f"cpu_{k}": v for k, v in shares.items()}}


async def waiters(server: RunningServer, count: int) -> tuple[list[float], list[float], int]:
    """tests/launch/test_long_poll.py's ``_waiters``, also timing from the DELETE's sending:
    wake-ups after it was sent, after its answer arrived, and the server's thread count."""
    path, etag = longPoll._waitingBackup(server)
    polls = [asyncio.ensure_future(longPoll._poll(server.port, path, etag))
             for _ in range(count)]
    await asyncio.sleep(1.0 + 2 * count / 1000)  # every poll connected and waiting
    assert not any(poll.done() for poll in polls)
    assert server.process is not None
    threads: int = longPoll._threads(server.process.pid)
    loop = asyncio.get_running_loop()
    sent = time.monotonic()
    cancelled = await loop.run_in_executor(None, lambda: longPoll._call(server.port, "DELETE",
                                                                         path))
    answered = time.monotonic()
    assert cancelled.status == 200
    answers = await asyncio.gather(*polls)
    assert {status.split()[1] for _, status in answers} == {b"200"}
    return ([arrived - sent for arrived, _ in answers],
            [arrived - answered for arrived, _ in answers], threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--waiters", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=1,
                        help="processes the subscribers are spread over (on 2 cores, one "
                             "contends least with Prosody and the server)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")

    work = Path(tempfile.mkdtemp(prefix="occi-events-bench-"))
    prosody = Prosody(work / "prosody")
    names = [f"bench{i}" for i in range(args.subscribers)]
    for name in names:
        prosody.addUser(name, PASSWORD)
    prosody.start()
    server = RunningServer(work / "occi-data", "--xmpp-component", prosody.componentEndpoint,
                           "--xmpp-jid", prosody.componentJID, "--xmpp-secret",
                           prosody.secret).start()
    plain = RunningServer(work / "plain-data").start()
    subscribers = Subscribers([f"{name}@{prosody.domain}/bench" for name in names],
                              PASSWORD, ("127.0.0.1", prosody.c2sPort), prosody.componentJID,
                              args.processes)
    try:
        script = work / "post.lua"
        script.write_text('wrk.method = "POST"\nwrk.body = ' + json.dumps(COMPUTE) + "\n"
                          'wrk.headers["Content-Type"] = "text/plain"\n')

        lat = latency(server, subscribers, args.changes, plain.port)
        alone = floor(work / "prosody-alone", lat["payload"], subscribers=args.subscribers,
                      events=2 * args.changes)
        rate = throughput(server, prosody, subscribers, plain, args=args, script=script)
        fromSent, fromAnswer, threads = asyncio.run(waiters(plain, args.waiters))
        w50, w99, wmax = quantiles(fromSent)
        a50, a99, amax = quantiles(fromAnswer)

        ms = 1000.0
        print(f"1. change -> notification, {args.subscribers} subscribers x {args.changes} "
              f"changes ({lat['pairs']:.0f} pairs, {lat['perChange']:.0f} notification(s) "
              f"per change, {lat['missing']:.0f} changes with missing ones)")
        print(f"   from the change (the entry's updated, +-0.5 ms) to receipt: p50 "
              f"{lat['change50'] * ms:6.2f} ms  p99 {lat['change99'] * ms:6.2f} ms  max "
              f"{lat['changeMax'] * ms:6.2f} ms   (goal p99 < 20 ms)")
        print(f"   from the HTTP request's sending (an upper bound):   p50 {lat['p50'] * ms:6.2f} "
              f"ms  p99 {lat['p99'] * ms:6.2f} ms  max {lat['max'] * ms:6.2f} ms")
        print(f"   from the HTTP answer's arrival (a lower bound):     p50 "
              f"{lat['answer50'] * ms:6.2f} ms  p99 {lat['answer99'] * ms:6.2f} ms")
        print(f"   first of the {args.subscribers} subscribers per change: p50 "
              f"{lat['first50'] * ms:.2f} ms  p99 {lat['first99'] * ms:.2f} ms;  last: p50 "
              f"{lat['last50'] * ms:.2f} ms  p99 {lat['last99'] * ms:.2f} ms")
        print(f"   HTTP RTT p50 {lat['rtt50'] * ms:7.2f} ms  p99 {lat['rtt99'] * ms:7.2f} ms"
              f"   (no-XMPP server: p50 {lat['plain50'] * ms:.2f} ms, "
              f"p99 {lat['plain99'] * ms:.2f} ms)")
        print(f"   ratio latency/RTT  p50 {lat['p50'] / lat['rtt50']:.2f}  "
              f"p99 {lat['p99'] / lat['rtt99']:.2f}")
        print(f"   baseline, Prosody alone (bench/prosody_floor.py: bare-socket component and "
              f"readers, the same {len(lat['payload'])}-byte entry): last of "
              f"{args.subscribers} p50 {alone['p50'] * ms:.2f} ms  p99 {alone['p99'] * ms:.2f} "
              f"ms, {alone['cpu']:.0f} us of Prosody CPU a stanza")
        print(f"   ratio last subscriber / Prosody alone  p50 "
              f"{lat['last50'] / alone['p50']:.2f}  p99 {lat['last99'] / alone['p99']:.2f}")
        print(f"2. sustained, {args.subscribers} subscribers on '/', wrk -c{args.connections} "
              f"creates for {args.seconds} s")
        print(f"   HTTP creates/s with XMPP {rate['http']:8.0f}   without XMPP "
              f"{rate['baseline']:8.0f}")
        print(f"   delivered in window: {rate['total']:8.0f} events/s to the subscribers in all "
              f"(one stanza each; goal >= 2000/s), {rate['perSub']:.0f} to each "
              f"(min {rate['perSubMin']:.0f})")
        print(f"   ratio events/s per subscriber / HTTP changes/s without XMPP "
              f"{rate['perSub'] / rate['baseline']:.2f}")
        print(f"   backlog after wrk stopped: last event {rate['drain']:.1f} s later; "
              f"{rate['perCreate']:.2f} notifications per create per subscriber in all")
        print(f"   CPU share (of one core): server {rate['cpu_server']:.2f}  prosody "
              f"{rate['cpu_prosody']:.2f}  subscribers ({args.processes} process(es)) "
              f"{rate['cpu_subscribers']:.2f}; no-XMPP server in its baseline "
              f"{rate['cpu_plain']:.2f}; whole machine busy {rate['cpu_machine'] * 100:.0f} %")
        print(f"   first 10 s of the backlog (no HTTP load): {rate['cpu_drain_rate']:.0f} "
              f"stanzas/s; CPU server {rate['cpu_drain_server']:.2f}  prosody "
              f"{rate['cpu_drain_prosody']:.2f}  subscribers {rate['cpu_drain_subscribers']:.2f}")
        print(f"3. long poll, {args.waiters} waiters (no-XMPP server), server threads while "
              f"they wait: {threads}")
        print(f"   wake-up after the DELETE was sent:      p50 {w50 * ms:7.1f} ms  p99 "
              f"{w99 * ms:7.1f} ms  max {wmax * ms:7.1f} ms")
        print(f"   after its answer arrived (the test's):  p50 {a50 * ms:7.1f} ms  p99 "
              f"{a99 * ms:7.1f} ms  max {amax * ms:7.1f} ms")
    finally:
        subscribers.close()
        server.stop()
        plain.stop()
        prosody.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
