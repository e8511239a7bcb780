"""The listener's limits against a real ``twistd occi``: large bodies refused before they
are read, slow clients cut off, connections capped per address and kept below the
descriptor limit, and a port in use refused at start."""

from __future__ import annotations

import contextlib
import resource
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import RunningServer, freePort, serverEnvironment, twistdCommand

HEAD = ("POST /compute/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
        "{extra}\r\n")


@pytest.fixture(scope="module")
def spool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's temporary directory (TMPDIR): where Twisted spools bodies."""
    return tmp_path_factory.mktemp("spool")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, spool: Path) -> Iterator[RunningServer]:
    patch = pytest.MonkeyPatch()
    patch.setenv("TMPDIR", str(spool))
    try:
        running = RunningServer(tmp_path_factory.mktemp("hardening") / "occi-data",
                                "--header-timeout", "1", "--connections-per-address", "40")
        running.start()
    finally:
        patch.undo()
    yield running
    running.stop()


def _connect(server: RunningServer, source: str = "127.0.0.1") -> socket.socket:
    connection = socket.socket()
    connection.settimeout(10)
    connection.bind((source, 0))
    connection.connect(("127.0.0.1", server.port))
    return connection


def _answer(connection: socket.socket) -> bytes:
    """Everything until the server closes (or a second of silence)."""
    received = b""
    connection.settimeout(1)
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return received


def _spooled(server: RunningServer, spool: Path) -> list[str]:
    """The server's open files in its temporary directory.  Twisted spools with
    ``TemporaryFile``, which on Linux has no name in the directory (O_TMPFILE): only the
    process's descriptors show it."""
    assert server.process is not None
    descriptors = Path(f"/proc/{server.process.pid}/fd")
    links = []
    for descriptor in descriptors.iterdir():
        with contextlib.suppress(OSError):  # closed meanwhile
            links.append(str(descriptor.readlink()))
    return [link for link in links if link.startswith(f"{spool}/")]


def _get(server: RunningServer, source: str = "127.0.0.1") -> bytes:
    with _connect(server, source) as connection:
        connection.sendall(b"GET /-/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return _answer(connection)


def test_a_huge_declared_body_is_refused_before_a_byte_is_sent(
        server: RunningServer, spool: Path) -> None:
    with _connect(server) as connection:
        connection.sendall(HEAD.format(extra="Content-Length: 100000000000\r\n").encode())
        time.sleep(0.3)
        assert _spooled(server, spool) == []  # nothing opened to hold the body
        # Not a byte of the body sent: the answer comes anyway.
        assert _answer(connection).startswith(b"HTTP/1.1 413 ")
    assert list(spool.iterdir()) == []
    assert _get(server).startswith(b"HTTP/1.1 200 ")


def test_expect_100_continue_with_a_large_body_gets_413_not_continue(
        server: RunningServer) -> None:
    with _connect(server) as connection:
        connection.sendall(HEAD.format(extra="Expect: 100-continue\r\n"
                                             "Content-Length: 2000000\r\n").encode())
        answer = _answer(connection)
    assert answer.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in answer


def test_expect_100_continue_with_a_small_body_continues(server: RunningServer) -> None:
    body = b'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; ' \
           b'class="kind"\n'
    with _connect(server) as connection:
        connection.sendall(HEAD.format(extra=f"Expect: 100-continue\r\nConnection: close\r\n"
                                             f"Content-Length: {len(body)}\r\n").encode())
        assert connection.recv(25) == b"HTTP/1.1 100 Continue\r\n\r\n"
        connection.sendall(body)
        assert _answer(connection).startswith(b"HTTP/1.1 201 ")


def test_a_chunked_body_is_cut_at_the_limit(server: RunningServer, spool: Path) -> None:
    """413 once the body passes 1 MiB; what the client goes on sending is read and dropped
    for a moment (so that it sees the answer), then the connection is closed."""
    chunk = b"%x\r\n%s\r\n" % (65536, b"a" * 65536)
    started = time.monotonic()
    with _connect(server) as connection:
        connection.sendall(HEAD.format(extra="Transfer-Encoding: chunked\r\n").encode())
        try:
            while time.monotonic() - started < 10:
                connection.sendall(chunk)
        except OSError:
            pass  # closed by the server
        connection.settimeout(5)
        answer = connection.recv(100)
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert time.monotonic() - started < 6  # the linger, not the client, ended it
    assert _spooled(server, spool) == [] and list(spool.iterdir()) == []


def test_a_trickled_head_is_cut_off_at_the_deadline(server: RunningServer) -> None:
    started = time.monotonic()
    with _connect(server) as connection:
        try:
            for byte in b"GET /-/ HTTP/1.1\r\nHost: 127.0.0.1\r\n":
                connection.send(bytes([byte]))
                time.sleep(0.1)
        except OSError:
            pass
        answer = _answer(connection)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - started < 4.0


def test_connections_per_address_are_capped(server: RunningServer) -> None:
    held = [_connect(server) for _ in range(40)]
    try:
        time.sleep(0.3)  # all of them accepted
        answer = _get(server)
        assert answer.startswith(b"HTTP/1.1 503 ") and b"Retry-After: " in answer
        assert _get(server, "127.0.0.2").startswith(b"HTTP/1.1 200 ")
    finally:
        for connection in held:
            connection.close()
    time.sleep(0.3)
    assert _get(server).startswith(b"HTTP/1.1 200 ")


def test_a_crowd_of_slow_clients_near_the_descriptor_limit_does_not_lock_others_out(
        server: RunningServer) -> None:
    """Four hundred trickling sockets from ten addresses against a server that may open
    256 files: the newest connections displace the slowest, and a plain GET is answered."""
    assert server.process is not None
    hard = resource.prlimit(server.process.pid, resource.RLIMIT_NOFILE)[1]
    resource.prlimit(server.process.pid, resource.RLIMIT_NOFILE, (256, hard))
    stop = threading.Event()
    crowd: list[socket.socket] = []

    def trickle() -> None:
        while not stop.is_set():
            for connection in list(crowd):
                try:
                    connection.send(b"X")
                except OSError:
                    crowd.remove(connection)
            time.sleep(0.2)

    try:
        for number in range(400):
            with contextlib.suppress(OSError):
                crowd.append(_connect(server, f"127.0.0.{10 + number % 10}"))
        trickler = threading.Thread(target=trickle, daemon=True)
        trickler.start()
        for _ in range(5):
            started = time.monotonic()
            assert _get(server).startswith(b"HTTP/1.1 200 ")
            assert time.monotonic() - started < 2.0
            time.sleep(0.2)
    finally:
        stop.set()
        for connection in crowd:
            connection.close()
        resource.prlimit(server.process.pid, resource.RLIMIT_NOFILE, (20000, hard))


def test_a_port_in_use_is_one_line_and_exit_1(tmp_path: Path) -> None:
    port = freePort()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = subprocess.run(
            twistdCommand("--listen", f"tcp:{port}:interface=127.0.0.1",
                          "--data", str(tmp_path / "d")),
            check=False, cwd=tmp_path, env=serverEnvironment(), capture_output=True,
            text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"twistd occi: cannot listen on tcp:{port}:interface=127.0.0.1: address already in use"]
