"""The browser's view of an entity against OCCI's text rendering, in one run.

    python bench/html_bench.py [--seconds 10] [--connections 50]

wrk loads ``GET /compute/<id>`` on one server three ways -- ``Accept: text/plain`` (the
baseline), ``Accept: text/html`` (the HTML page with its forms), and no ``Accept`` (the
walkthrough's 300 Multiple Choices) -- and prints each rate with its p99 and the ratio to
text/plain.  Goal: the HTML page at 0.5 x the text/plain rate or better.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from http_bench import COMPUTE, freePort, request, startServer


def wrk(url: str, seconds: int, connections: int, accept: str | None) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if accept is not None:
        command[1:1] = ["-H", f"Accept: {accept}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"99%\s+([\d.]+)(\w+)", output)
    assert rate is not None and p99 is not None, output
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return {"rate": float(rate.group(1)), "p99": float(p99.group(1)) * scale}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="occi-html-bench-"))
    port = freePort()
    server = startServer(work / "occi-data", port)
    try:
        status, headers, _ = request(port, "POST", "/compute/", COMPUTE.encode(),
                                     {"Content-Type": "text/plain"})
        assert status == 201
        url = f"http://127.0.0.1:{port}" + headers["location"].split(str(port), 1)[1]
        for accept in ("text/plain", "text/html", None):  # warm up
            wrk(url, 2, options.connections, accept)
        results = {name: wrk(url, options.seconds, options.connections, accept)
                   for name, accept in (("text/plain", "text/plain"), ("text/html", "text/html"),
                                        ("300 (no Accept)", None))}
        base = results["text/plain"]["rate"]
        print(f"{'GET /compute/<id>':<20} {'req/s':>10} {'p99 ms':>8} {'x text/plain':>13}")
        for name, figures in results.items():
            print(f"{name:<20} {figures['rate']:>10,.0f} {figures['p99']:>8.1f} "
                  f"{figures['rate'] / base:>13.2f}")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
