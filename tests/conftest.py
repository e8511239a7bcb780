"""Shared fixtures: helpers to run the real server as a separate process."""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .postgres import Cluster

ROOT = Path(__file__).resolve().parent.parent


def freePort() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def call(port: int, method: str, path: str, body: bytes | str | Iterable[bytes] = b"",
         headers: dict[str, str] | None = None, *, user: tuple[str, str] | None = None,
         timeout: float = 60) -> tuple[int, dict[str, str], bytes]:
    """One request to a server on loopback, on a connection of its own: the status, the
    headers (names in lower case) and the body.  A body of several pieces goes chunked; with
    ``user``, HTTP Basic credentials."""
    sent = dict(headers or {})
    if user is not None:
        sent["Authorization"] = "Basic " + base64.b64encode(":".join(user).encode()).decode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body, sent,
                           encode_chunked=not isinstance(body, (bytes, str)))
        response = connection.getresponse()
        return (response.status, {k.lower(): v for k, v in response.getheaders()},
                response.read())
    finally:
        connection.close()


def twistdCommand(*args: str) -> list[str]:
    """``twistd -n occi ARGS``, with the twistd of this interpreter's environment."""
    twistd = Path(sys.executable).parent / "twistd"
    return [str(twistd), "-n", "--pidfile=", "occi", *args]


def serverEnvironment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class RunningServer:
    """A ``twistd -n occi`` process on a free loopback port."""

    def __init__(self, dataDir: Path, *extra: str, listen: str | None = None) -> None:
        """``listen`` is an endpoint string with ``{port}`` for the free port (a TLS
        listener's, say); plain TCP on loopback by default."""
        self.dataDir = dataDir
        self.port = freePort()
        self.url = f"http://127.0.0.1:{self.port}"
        self._listen = listen or "tcp:{port}:interface=127.0.0.1"
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None
        self.log = dataDir.parent / f"server-{self.port}.log"

    def start(self, timeout: float = 20.0) -> RunningServer:
        logFile = self.log.open("ab")
        self.process = subprocess.Popen(
            twistdCommand("--listen", self._listen.format(port=self.port),
                          "--data", str(self.dataDir), *self.extra),
            cwd=self.dataDir.parent, env=serverEnvironment(),
            stdout=logFile, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            # The port is bound (and queues connections) before the store is open: ready
            # means answering.
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as raw:
                    probe = raw
                    if self._listen.startswith("ssl:"):  # only whether it answers, not who
                        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                        tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
                        probe = tls.wrap_socket(raw)
                    probe.sendall(b"GET /-/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                  b"Connection: close\r\n\r\n")
                    if probe.recv(9).startswith(b"HTTP/1.1 "):
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: no chance to flush or clean up, as in a crash."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = RunningServer(tmp_path / "occi-data").start()
    yield running
    running.stop()


#: Characters of a parameter's value that its test's id may show.
_ID_LENGTH = 60


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """A long text or bytes parameter (a malformed body of megabytes, say) is named by its
    start, its length and a digest: the whole value would go into every report, into
    xdist's messages and into the environment of each process a test starts
    (``PYTEST_CURRENT_TEST``), where more than 128 KiB cannot be passed at all."""
    if not isinstance(val, (str, bytes)) or len(val) <= _ID_LENGTH:
        return None
    data = val.encode() if isinstance(val, str) else val
    start = repr(val[:24])[1 if isinstance(val, str) else 2:-1]
    return f"{start}...{len(val)}-{hashlib.sha256(data).hexdigest()[:8]}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under ``-n`` (pytest-xdist, ``--dist loadgroup``), the tests that boot guests run in
    one worker, one after another: they share one libvirtd, and booting several guests at
    once on two cores would only make each start wait.  First of this hook's
    implementations: xdist's reads the group marks in its own."""
    for item in items:
        if "libvirt" in item.path.parts:
            item.add_marker(pytest.mark.xdist_group("libvirt"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster shared by the session's tests (see tests/postgres.py);
    each test makes its own database in it.  Its directory is not pytest's: as root, the
    ``postgres`` user runs the cluster, and could not reach a directory under pytest's."""
    from .postgres import Cluster

    directory = Path(tempfile.mkdtemp(prefix="occi-postgres-"))
    cluster = Cluster(directory).start()
    yield cluster
    cluster.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def database(postgres: Cluster) -> Iterator[str]:
    """A new, empty database of the session's cluster, dropped after the test; its URL."""
    url = postgres.database()
    yield url
    postgres.drop(url)
