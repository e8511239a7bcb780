"""A real Prosody for the tests, from a config file in a temporary directory.

Debian's ``prosody`` package (0.12) starts in about 0.1 s.  It runs in the foreground (``-F``)
with everything -- config, data, log, pid file -- under one directory, on free loopback ports:
c2s for the subscribers (plain TCP, no TLS: there is no certificate; clients authenticate
with SCRAM-SHA-1, which slixmpp allows on loopback with its ``unencrypted_scram`` option) and
the component port for the server under test.  Accounts are written straight into the data
directory in the format of ``internal_plain``, which needs no ``prosodyctl`` run.  As root,
``run_as_root`` keeps Prosody from refusing to start (it would not switch users by itself, and
the ``prosody`` user could not read a pytest temporary directory anyway).

Two settings are tuned for fanning notifications out, as docs/operating.rst advises operators
(measured with bench/events_bench.py): Lua's generational collector (Prosody 0.12's default,
incremental with a pause of 105 %, spent half of Prosody's time per notification collecting,
and a lazier incremental one paused it for tens of milliseconds now and then), and no Nagle
delay on its sockets.  Prosody's ``opportunistic_writes`` is left off: one write per stanza
cut its throughput to a third.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from ..conftest import freePort

CONFIG = """\
run_as_root = true
pidfile = "{directory}/prosody.pid"
data_path = "{directory}/data"
certificates = "{directory}/certs"
log = {{ {level} = "{directory}/prosody.log" }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {c2s} }}
c2s_direct_tls_ports = {{ }}
legacy_ssl_ports = {{ }}
component_ports = {{ {component} }}
component_interfaces = {{ "127.0.0.1" }}
modules_enabled = {{ "roster", "saslauth", "disco", "ping", "posix" }}
modules_disabled = {{ "s2s", "offline", "tls" }}
authentication = "internal_plain"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
gc = {{ mode = "generational" }}
network_settings = {{ nagle = false }}

VirtualHost "{domain}"

Component "{componentJID}"
    component_secret = "{secret}"
"""


def prosodyOrSkip() -> str:
    """The ``prosody`` executable; without one the XMPP tests are skipped, except in CI
    (``.ci/run`` installs it), where they fail."""
    found = shutil.which("prosody")
    if found is None:
        message = "Prosody is not installed (apt-get install prosody)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


class Prosody:
    """One Prosody server: ``start``, ``stop``, ``restart`` (same ports, same accounts)."""

    def __init__(self, directory: Path, *, domain: str = "localhost",
                 componentJID: str = "pubsub.localhost", secret: str = "component-secret",
                 debug: bool = False) -> None:
        self.executable = prosodyOrSkip()
        self.directory = directory
        self.domain = domain
        self.componentJID = componentJID
        self.secret = secret
        self.c2sPort = freePort()
        self.componentPort = freePort()
        self.process: subprocess.Popen[bytes] | None = None
        (directory / "data").mkdir(parents=True, exist_ok=True)
        (directory / "certs").mkdir(exist_ok=True)
        self.config = directory / "prosody.cfg.lua"
        self.config.write_text(CONFIG.format(
            directory=directory, level="debug" if debug else "info", c2s=self.c2sPort,
            component=self.componentPort, domain=domain, componentJID=componentJID,
            secret=secret))
        self.log = directory / "prosody.log"

    @property
    def componentEndpoint(self) -> str:
        """The endpoint string the server under test connects to."""
        return f"tcp:127.0.0.1:{self.componentPort}"

    def addUser(self, name: str, password: str) -> str:
        """An account (written as ``internal_plain`` keeps it); its bare JID."""
        accounts = self.directory / "data" / _encoded(self.domain) / "accounts"
        accounts.mkdir(parents=True, exist_ok=True)
        (accounts / f"{_encoded(name)}.dat").write_text(
            f'return {{\n\t["password"] = {_luaString(password)};\n}};\n')
        return f"{name}@{self.domain}"

    def start(self, timeout: float = 10.0) -> Prosody:
        output = (self.directory / "prosody.out").open("ab")
        self.process = subprocess.Popen(
            [self.executable, "--config", str(self.config), "-F"],
            stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        output.close()
        deadline = time.monotonic() + timeout
        waiting = [self.c2sPort, self.componentPort]
        while waiting:
            if self.process.poll() is not None:
                raise RuntimeError(f"prosody exited: {self.tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"prosody did not listen in {timeout} s: {self.tail()}")
            try:
                with socket.create_connection(("127.0.0.1", waiting[0]), timeout=0.2):
                    waiting.pop(0)
            except OSError:
                time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, as an operator's restart does: Prosody closes every stream first."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def tail(self, size: int = 3000) -> str:
        parts = []
        for name in ("prosody.out", "prosody.log"):
            path = self.directory / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')[-size:]}")
        return "\n".join(parts)


def _encoded(name: str) -> str:
    """Prosody's datamanager file name encoding: every byte but ASCII letters and digits
    as ``%xx``."""
    return "".join(chr(b) if chr(b).isascii() and chr(b).isalnum() else f"%{b:02x}"
                   for b in name.encode())


def _luaString(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
