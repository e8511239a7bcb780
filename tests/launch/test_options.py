"""Launching with twistd: a bad option or data directory is one line and exit status 1."""

from __future__ import annotations

import subprocess
from datetime import time
from pathlib import Path

import pytest

from occi_twisted.service import withBacklog
from occi_twisted.tap import DEFAULT_LISTEN, ConfigError, Options

from ..conftest import serverEnvironment, twistdCommand


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(twistdCommand(*args), check=False, cwd=tmp_path, env=serverEnvironment(),
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--bogus"], "option --bogus not recognized"),
        (["--listen", "nonsense:1"], "is not a usable endpoint"),
        (["--store", "mysql://x"], "--store must be"),
        (["--base-url", "ftp://x"], "--base-url must be"),
        (["--config", "missing.toml"], "cannot read the config file"),
        (["--driver", "xen"], "no driver called 'xen'"),
        (["--store", "postgresql://occi@127.0.0.1:1/occi"], "Cannot use the store postgresql://"),
        (["--backup-at", "25:00"], "--backup-at"),
        (["--backup-at", "midnight"], "is not a time of day"),
        (["--node", "a b"], "--node must be"),
        (["--concurrency", "0"], "--concurrency must be between"),
        (["--concurrency", "many"], "--concurrency must be a whole number"),
        (["--lease", "1"], "--lease must be a number of seconds from 3 to 3600, not '1'"),
        (["--lease", "soon"], "--lease must be a number of seconds"),
        (["--url-validity", "0"], "--url-validity must be a number of seconds from 1"),
        (["--xmpp-component", "tcp:localhost:5347"], "go together"),
        (["--xmpp-component", "tcp:localhost:5347", "--xmpp-jid", "not a jid",
          "--xmpp-secret", "s"], "--xmpp-jid must be a domain name"),
        (["--xmpp-component", "nonsense:1", "--xmpp-jid", "pubsub.localhost",
          "--xmpp-secret", "s"], "--xmpp-component 'nonsense:1' is not a usable endpoint"),
        (["--metrics-listen", "tcp:9464"], "--metrics-listen 'tcp:9464' answers without"),
        (["--metrics-listen", "nonsense:1"], "--metrics-listen 'nonsense:1' is not a"),
        (["--peer", "ftp://peer.example"], "a peer must be an absolute http(s) URL"),
        (["--peer", "https://u:p@peer.example"], "without credentials, query"),
    ],
)
def test_bad_options_one_line_exit_1(tmp_path: Path, args: list[str], says: str) -> None:
    result = _run(tmp_path, *args)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert says in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_unusable_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = _run(tmp_path, "--data", str(blocker / "sub"))
    assert result.returncode == 1
    assert "cannot create the data directory" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_config_file_and_command_line(tmp_path: Path) -> None:
    config = tmp_path / "occi.toml"
    config.write_text('listen = ["tcp:9999"]\ndata = "/srv/occi"\nbase-url = "https://c.example/"\n')
    options = Options()
    options.parseOptions(["--config", str(config), "--data", str(tmp_path)])
    settings = options.settings
    assert settings.listen == ["tcp:9999"]
    assert settings.dataDir == tmp_path
    assert settings.baseURL == "https://c.example"
    assert settings.store == f"sqlite:{tmp_path / 'occi.sqlite3'}"


def test_defaults_and_repeatable_listen() -> None:
    options = Options()
    options.parseOptions([])
    assert options.settings.listen == [DEFAULT_LISTEN]
    options = Options()
    options.parseOptions(["--listen", "tcp:1", "--listen", "unix:/tmp/occi.sock"])
    assert options.settings.listen == ["tcp:1", "unix:/tmp/occi.sock"]


def test_metrics_listeners_on_loopback_or_when_insecure(tmp_path: Path) -> None:
    config = tmp_path / "occi.toml"
    config.write_text('metrics-listen = "tcp:9464:interface=127.0.0.1"\n')
    options = Options()
    options.parseOptions(["--config", str(config)])
    assert options.settings.metricsListen == ["tcp:9464:interface=127.0.0.1"]
    options = Options()
    options.parseOptions(["--metrics-listen", "tcp:9464", "--metrics-listen", "unix:/tmp/m",
                          "--insecure"])
    assert options.settings.metricsListen == ["tcp:9464", "unix:/tmp/m"]


def test_peers_from_the_command_line_and_the_config(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    config = tmp_path / "occi.toml"
    config.write_text(f'[peers."https://b.example/"]\nusername = "m"\npassword = "s3"\n'
                      f'ca-file = "{ca}"\n[peers."http://c.example:8080"]\n')
    options = Options()
    options.parseOptions(["--config", str(config)])
    peers = options.settings.peers
    assert [(p.url, p.credentials, p.caFile) for p in peers] == [
        ("https://b.example", ("m", "s3"), ca), ("http://c.example:8080", None, None)]
    assert "s3" not in repr(peers)
    chosen = Options()
    chosen.parseOptions(["--config", str(config), "--peer", "https://b.example"])
    assert [p.credentials for p in chosen.settings.peers] == [("m", "s3")]


@pytest.mark.parametrize(("toml", "says"), [
    ('peers = "https://b.example"\n', 'peers in the config file is the [peers."URL"] tables'),
    ('[peers."https://b.example"]\nusername = "m"\n', "needs both username and password"),
    ('[peers."https://b.example"]\ntoken = "t"\n', "unknown setting(s) in [peers."),
    ('[peers."https://b.example"]\nusername = 1\npassword = "p"\n', "must be a non-empty"),
    ('[peers."http://b.example"]\nca-file = "/etc/hosts"\n', "is for an https peer"),
    ('[peers."https://b.example"]\nca-file = "/nonexistent.pem"\n', "is not a readable"),
    ('[peers."b.example"]\n', "a peer must be an absolute http(s) URL"),
])
def test_bad_peers_are_one_line(tmp_path: Path, toml: str, says: str) -> None:
    config = tmp_path / "occi.toml"
    config.write_text(toml)
    with pytest.raises(SystemExit) as stopped:
        Options().parseOptions(["--config", str(config)])
    line = str(stopped.value)
    assert says in line and "\n" not in line, line


def test_request_settings(tmp_path: Path) -> None:
    config = tmp_path / "occi.toml"
    config.write_text('backup-at = "02:30"\nnode = "node-a"\nconcurrency = 8\nlease = 12\n')
    options = Options()
    options.parseOptions(["--config", str(config), "--backup-at", "03:15:30"])
    settings = options.settings
    assert settings.backupAt == time(3, 15, 30)
    assert settings.node == "node-a" and settings.concurrency == 8 and settings.lease == 12
    defaults = Options()
    defaults.parseOptions([])
    assert defaults.settings.backupAt == time(0, 0)
    assert defaults.settings.concurrency == 32 and defaults.settings.node
    assert defaults.settings.lease == 60


def test_bad_time_zone_is_one_line(tmp_path: Path) -> None:
    env = {**serverEnvironment(), "TZ": "Mars/Olympus_Mons"}
    result = subprocess.run(twistdCommand("--data", str(tmp_path / "d")), check=False,
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "TZ" in result.stderr


def test_config_rejects_unknown_keys(tmp_path: Path) -> None:
    config = tmp_path / "occi.toml"
    config.write_text('colour = "blue"\n')
    with pytest.raises(SystemExit, match="unknown setting"):
        Options().parseOptions(["--config", str(config)])
    config.write_text("listen = [")
    with pytest.raises(SystemExit, match="not valid TOML"):
        Options().parseOptions(["--config", str(config)])
    assert issubclass(ConfigError, Exception)


def test_data_that_is_no_database(tmp_path: Path) -> None:
    data = tmp_path / "occi-data"
    data.mkdir()
    (data / "occi.sqlite3").write_bytes(b"this is not a database" * 100)
    result = _run(tmp_path, "--data", str(data))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "store" in result.stderr


def test_access_log_only_when_asked(tmp_path: Path) -> None:
    options = Options()
    options.parseOptions(["--access-log", str(tmp_path / "access.log")])
    assert options.settings.accessLog == str(tmp_path / "access.log")
    options = Options()
    options.parseOptions([])
    assert options.settings.accessLog is None


@pytest.mark.parametrize(
    ("description", "listens"),
    [
        ("tcp:8080:interface=127.0.0.1", "tcp:8080:interface=127.0.0.1:backlog=1024"),
        ("unix:/run/occi.sock", "unix:/run/occi.sock:backlog=1024"),
        ("tcp:8080:backlog=64", "tcp:8080:backlog=64"),
        ("systemd:domain=INET:index=0", "systemd:domain=INET:index=0"),
    ],
)
def test_listeners_queue_a_burst_of_connections(description: str, listens: str) -> None:
    """Twisted's backlog of 50 would drop a burst's SYNs (a second's wait for each client)."""
    assert withBacklog(description) == listens


def test_a_burst_of_connections_is_queued(tmp_path: Path) -> None:
    """300 connections opened at once while the server is busy are all answered at once."""
    import socket
    import time as clock

    from ..conftest import RunningServer

    server = RunningServer(tmp_path / "data").start()
    try:
        assert server.process is not None
        server.process.send_signal(19)  # SIGSTOP: nothing is accepted meanwhile
        connections = []
        try:
            for _ in range(300):
                connection = socket.socket()
                connection.settimeout(5)
                connection.connect(("127.0.0.1", server.port))
                connections.append(connection)
            started = clock.monotonic()
            for connection in connections:
                connection.sendall(b"GET /-/ HTTP/1.1\r\nHost: localhost\r\n"
                                   b"Connection: close\r\n\r\n")
        finally:
            server.process.send_signal(18)  # SIGCONT
        for connection in connections:
            assert connection.recv(12).startswith(b"HTTP/1.1 200")
            connection.close()
        assert clock.monotonic() - started < 0.9
    finally:
        server.stop()
