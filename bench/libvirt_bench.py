"""The libvirt driver against libvirt itself, on real tiny guests, in one run.

    python bench/libvirt_bench.py [--rounds 3] [--seconds 8] [--guests 4]

Needs root and QEMU (as the libvirt tests do: it starts libvirtd if none runs, and builds the
tiny guest if it is missing).  One ``twistd occi --driver libvirt`` on a temporary data
directory; one compute of 128 MiB.  Each round:

- start: ``POST {compute}?action=start`` (``Prefer: wait``) until the answer says ``active``,
  against ``virsh start`` of the same domain (the server sees that start as an event);
- ACPI stop, once the guest listens to its power button: ``?action=stop`` (graceful) until
  ``inactive``, against ``virsh shutdown`` and polling until the domain is shut off.

Then GET latency of the compute, one request after another on one connection for
``--seconds``: idle, and while ``--guests`` more computes boot (started through the API at
the window's start).  Prints the medians, the ratios (goals: start <= 1.2x virsh; GET p99
while booting < 3x idle) and the absolute figures.  The machine is shared: compare ratios
measured in the same run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.libvirt.support import INFRA, URI, Server, hypervisor  # noqa: E402


def virsh(*args: str) -> None:
    subprocess.run(["virsh", "-c", URI, *args], check=True, capture_output=True)


def timed(work: object) -> float:
    begun = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - begun


def waitInactive(connection: object, name: str) -> None:
    domain = connection.lookupByName(name)  # type: ignore[attr-defined]
    while domain.isActive():
        time.sleep(0.02)


def latencies(port: int, path: str, seconds: float) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    found = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        begun = time.perf_counter()
        connection.request("GET", path, headers={"Accept": "text/plain"})
        response = connection.getresponse()
        response.read()
        found.append(time.perf_counter() - begun)
    connection.close()
    return found


def p99(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.99) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--guests", type=int, default=4)
    options = parser.parse_args()
    daemon = hypervisor()
    connection = next(daemon)
    scratch = Path(tempfile.mkdtemp(prefix="libvirt-bench-"))
    server = Server(scratch / "data", connection).start()
    made: list[str] = []
    try:
        computeId = server.create("compute", INFRA + "compute", {
            "occi.compute.memory": 0.125, "occi.compute.hostname": "bench"})["id"]
        made.append(computeId)
        location = f"/compute/{computeId}"
        figures: dict[str, list[float]] = {"occi start": [], "virsh start": [],
                                           "occi acpi stop": [], "virsh shutdown": []}
        for _ in range(options.rounds):
            since = len(server.console(computeId))
            figures["occi start"].append(timed(lambda: server.act(location, "start")))
            server.waitReady(computeId, since)
            figures["occi acpi stop"].append(timed(
                lambda: server.act(location, "stop", "graceful")))
            since = len(server.console(computeId))
            figures["virsh start"].append(timed(lambda: virsh("start", computeId)))
            server.waitReady(computeId, since)
            figures["virsh shutdown"].append(timed(lambda: (
                virsh("shutdown", computeId), waitInactive(connection, computeId))))
            server.waitState(location, "inactive", 30)
        medians = {name: statistics.median(values) for name, values in figures.items()}
        for name, value in medians.items():
            print(f"{name:16s} median {value * 1000:8.0f} ms  "
                  f"({', '.join(f'{v * 1000:.0f}' for v in figures[name])})")
        print(f"start: occi / virsh = {medians['occi start'] / medians['virsh start']:.2f}x "
              "(goal <= 1.2x)")
        print(f"ACPI stop: occi / virsh = "
              f"{medians['occi acpi stop'] / medians['virsh shutdown']:.2f}x")

        port = server.process.port
        idle = latencies(port, location, options.seconds)
        others = [server.create("compute", INFRA + "compute", {
            "occi.compute.memory": 0.125})["id"] for _ in range(options.guests)]
        made += others
        for other in others:
            server.request("POST", f"/compute/{other}?action=start", {
                "action": INFRA[:-1] + "/compute/action#start"}, {"Prefer": "respond-async"})
        booting = latencies(port, location, options.seconds)
        print(f"GET idle:    n={len(idle)} p50 {statistics.median(idle) * 1000:.1f} ms "
              f"p99 {p99(idle) * 1000:.1f} ms")
        print(f"GET booting: n={len(booting)} p50 {statistics.median(booting) * 1000:.1f} ms "
              f"p99 {p99(booting) * 1000:.1f} ms ({options.guests} guests booting)")
        print(f"GET p99 booting / idle = {p99(booting) / p99(idle):.2f}x (goal < 3x)")
    finally:
        server.remove([f"/compute/{each}" for each in made])
        shutil.rmtree(scratch, ignore_errors=True)
        daemon.close()


if __name__ == "__main__":
    main()
