"""What authentication and TLS cost a GET of one entity, measured in one run.

    python bench/auth_bench.py [--seconds 10] [--connections 50]

1. The same compute read through ``twistd -n occi`` in single-user mode (no credentials) and
   through one started with ``--users`` (Basic credentials on every request: after the first,
   each is answered from the checker's cache of recent verifications, not by bcrypt).
2. Over TLS: the server with ``--users`` behind an ``ssl:`` listener, against a bare Klein
   app over TLS answering the very bytes the server answered (``bare_klein.py``).

Each line prints the rate of both and their ratio, with the p99 latencies beside them.  The
machine is noisy: compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from http_bench import COMPUTE, freePort, waitForPort, wrk  # noqa: E402

USER, PASSWORD = "alice", "wonderland"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def serve(directory: Path, name: str, listen: str, *extra: str) -> subprocess.Popen[bytes]:
    twistd = Path(sys.executable).parent / "twistd"
    data = directory / name
    return subprocess.Popen(
        [str(twistd), "-n", "--pidfile=", "-l", str(directory / f"{name}.log"), "occi",
         "--listen", listen, "--data", str(data), *extra],
        cwd=directory, env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )


def call(url: str, method: str, path: str, body: str = "", *, auth: bool,
         context: ssl.SSLContext | None = None) -> tuple[int, dict[str, str], bytes]:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection: http.client.HTTPConnection
    if context is not None:
        connection = http.client.HTTPSConnection(parts.hostname or "", parts.port,
                                                 context=context, timeout=60)
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
    headers = {"Accept": "text/plain", "Content-Type": "text/plain"}
    if auth:
        headers["Authorization"] = BASIC
    connection.request(method, path, body=body.encode(), headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def created(url: str, *, auth: bool, context: ssl.SSLContext | None = None) -> str:
    status, headers, _ = call(url, "POST", "/compute/", COMPUTE, auth=auth, context=context)
    assert status == 201, status
    return headers["location"].split("/compute/", 1)[1]


def script(directory: Path, auth: bool) -> Path:
    path = directory / f"get-{'auth' if auth else 'plain'}.lua"
    lines = ['wrk.headers["Accept"] = "text/plain"']
    if auth:
        lines.append(f'wrk.headers["Authorization"] = "{BASIC}"')
    path.write_text("\n".join(lines) + "\n")
    return path


def line(name: str, ours: dict[str, float], base: dict[str, float]) -> str:
    return (f"{name:<34} {ours['rate']:>9.0f} req/s (p99 {ours['p99']:.1f} ms)  vs "
            f"{base['rate']:>9.0f} req/s (p99 {base['p99']:.1f} ms)  ratio "
            f"{ours['rate'] / base['rate']:.2f} x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("htpasswd") is None:
        raise SystemExit("wrk and htpasswd are needed: apt-get install wrk apache2-utils")
    directory = Path(tempfile.mkdtemp(prefix="occi-auth-bench-"))
    users = directory / "users.htpasswd"
    subprocess.run(["htpasswd", "-B", "-b", "-c", str(users), USER, PASSWORD], check=True,
                   capture_output=True)
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(cafile=str(cert))
    ports = {name: freePort() for name in ("single", "users", "tls", "bare")}
    tls = f"ssl:{ports['tls']}:interface=127.0.0.1:privateKey={key}:certKey={cert}"
    servers = {
        "single": serve(directory, "single", f"tcp:{ports['single']}:interface=127.0.0.1"),
        "users": serve(directory, "users", f"tcp:{ports['users']}:interface=127.0.0.1",
                       "--users", str(users)),
        "tls": serve(directory, "tls", tls, "--users", str(users)),
    }
    try:
        for name, process in servers.items():
            waitForPort(ports[name], process)
        single = f"http://127.0.0.1:{ports['single']}"
        withUsers = f"http://127.0.0.1:{ports['users']}"
        overTLS = f"https://localhost:{ports['tls']}"
        plainPath = f"/compute/{created(single, auth=False)}"
        authPath = f"/compute/{created(withUsers, auth=True)}"
        tlsPath = f"/compute/{created(overTLS, auth=True, context=context)}"
        _, headers, body = call(overTLS, "GET", tlsPath, auth=True, context=context)
        answers = directory / "answers.json"
        answers.write_text(json.dumps({"entity": {"type": headers["content-type"],
                                                  "body": body.decode()}}))
        bare = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_klein.py"),
                                 str(ports["bare"]), str(answers), str(key), str(cert)])
        try:
            waitForPort(ports["bare"], bare)
            plain, auth = script(directory, False), script(directory, True)
            # One warm-up each, so that the checker's cache and the caches of renderings
            # hold what the measured run reads.
            for url, lua in [(single + plainPath, plain), (withUsers + authPath, auth),
                             (overTLS + tlsPath, auth)]:
                wrk(url, 1, 4, lua)
            noAuth = wrk(single + plainPath, args.seconds, args.connections, plain,
                         servers["single"].pid)
            basic = wrk(withUsers + authPath, args.seconds, args.connections, auth,
                        servers["users"].pid)
            print(line("GET entity, Basic vs no auth", basic, noAuth))
            secure = wrk(overTLS + tlsPath, args.seconds, args.connections, auth,
                         servers["tls"].pid)
            bareTLS = wrk(f"https://localhost:{ports['bare']}/compute/x", args.seconds,
                          args.connections, plain, bare.pid)
            print(line("GET entity over TLS, vs bare Klein", secure, bareTLS))
            print(f"{'server CPU per request (us)':<34} no auth {noAuth['cpu_us']:.0f}, "
                  f"Basic {basic['cpu_us']:.0f}, TLS+Basic {secure['cpu_us']:.0f}, "
                  f"bare TLS {bareTLS['cpu_us']:.0f}")
        finally:
            bare.terminate()
            bare.wait()
    finally:
        for process in servers.values():
            process.terminate()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
