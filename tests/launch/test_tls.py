"""A real ``twistd -n occi`` with users over TLS: a certificate made by the test with
``openssl``, users made with ``htpasswd -B``, curl and treq as clients; SIGHUP reloads the
users under an open connection; start-up refusals are one line."""

from __future__ import annotations

import http.client
import signal
import ssl
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_twisted
import treq
from twisted.internet.ssl import Certificate
from twisted.web.client import Agent, BrowserLikePolicyForHTTPS

from ..conftest import RunningServer, freePort, serverEnvironment, twistdCommand
from ..identity.support import htpasswd, usersFile

ALICE = ("alice", "wonderland")


def makeCertificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, its own CA."""
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return key, cert


class TLSServer(RunningServer):
    """``twistd -n occi --users FILE --listen ssl:PORT:interface=127.0.0.1:...``."""

    def __init__(self, tmp: Path) -> None:
        self.key, self.cert = makeCertificate(tmp)
        self.users = usersFile(tmp, alice=ALICE[1])
        super().__init__(tmp / "occi-data", "--users", str(self.users),
                         listen=(f"ssl:{{port}}:interface=127.0.0.1:privateKey={self.key}"
                                 f":certKey={self.cert}"))
        self.url = f"https://localhost:{self.port}"
        self.start(timeout=30)

    @property
    def running(self) -> subprocess.Popen[bytes]:
        assert self.process is not None
        return self.process

    def curl(self, *args: str) -> tuple[int, str]:
        """The status and headers of ``curl`` trusting only the test's certificate."""
        result = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", "--cacert",
                                 str(self.cert), *args, f"{self.url}/-/"],
                                check=True, capture_output=True, text=True, timeout=30)
        return int(result.stdout.split()[1]), result.stdout.lower()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TLSServer]:
    running = TLSServer(tmp_path)
    yield running
    running.stop()


def test_curl_over_tls(server: TLSServer) -> None:
    code, headers = server.curl()
    assert code == 401
    assert 'www-authenticate: basic realm="occi", charset="utf-8"' in headers
    assert "strict-transport-security: max-age=31536000" in headers
    code, headers = server.curl("-u", ":".join(ALICE))
    assert code == 200
    assert "strict-transport-security: max-age=31536000" in headers
    code, _ = server.curl("-u", "alice:queen-of-hearts")
    assert code == 401


def test_private_files(server: TLSServer) -> None:
    assert stat.S_IMODE(server.dataDir.stat().st_mode) == 0o700
    assert stat.S_IMODE((server.dataDir / "occi.sqlite3").stat().st_mode) == 0o600


@pytest_twisted.ensureDeferred
async def test_treq_over_tls(server: TLSServer) -> None:
    from twisted.internet import reactor

    trusted = Certificate.loadPEM(server.cert.read_bytes())
    agent = Agent(reactor, contextFactory=BrowserLikePolicyForHTTPS(trustRoot=trusted))
    client = treq.client.HTTPClient(agent)
    anonymous = await client.get(f"{server.url}/-/")
    await anonymous.content()
    assert anonymous.code == 401
    signedIn = await client.get(f"{server.url}/compute/", auth=ALICE)
    await signedIn.content()
    assert signedIn.code == 200
    assert signedIn.headers.getRawHeaders(b"strict-transport-security") == [b"max-age=31536000"]


def test_sighup_adds_a_user_under_an_open_connection(server: TLSServer) -> None:
    context = ssl.create_default_context(cafile=str(server.cert))
    connection = http.client.HTTPSConnection("localhost", server.port, context=context,
                                             timeout=30)

    def status(name: str, password: str) -> int:
        connection.request("GET", "/-/", headers={"Authorization": _basic(name, password)})
        response = connection.getresponse()
        response.read()
        return response.status

    assert status(*ALICE) == 200
    assert status("carol", "chess") == 401
    htpasswd(server.users, "carol", "chess")
    server.running.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while status("carol", "chess") != 200:  # the same connection, answered throughout
        assert time.monotonic() < deadline, server.log.read_text()[-2000:]
        time.sleep(0.1)
    assert status(*ALICE) == 200
    assert server.running.poll() is None
    connection.close()


def test_sighup_under_load_drops_no_request(server: TLSServer) -> None:
    """Four clients keep asking over their own connections while the users are reloaded
    five times: every answer is 200 and no connection is dropped."""
    context = ssl.create_default_context(cafile=str(server.cert))
    stop = threading.Event()
    answers: list[int] = []
    problems: list[BaseException] = []

    def client() -> None:
        connection = http.client.HTTPSConnection("localhost", server.port, context=context,
                                                 timeout=30)
        try:
            while not stop.is_set():
                connection.request("GET", "/-/", headers={"Authorization": _basic(*ALICE)})
                response = connection.getresponse()
                response.read()
                answers.append(response.status)
        except BaseException as problem:  # reported below, with the others
            problems.append(problem)
        finally:
            connection.close()

    clients = [threading.Thread(target=client) for _ in range(4)]
    for each in clients:
        each.start()
    try:
        for number in range(5):
            time.sleep(0.3)
            htpasswd(server.users, f"user{number}", "secret")
            server.running.send_signal(signal.SIGHUP)
        time.sleep(0.5)
    finally:
        stop.set()
        for each in clients:
            each.join(30)
    assert not problems, problems
    assert len(answers) > 20 and set(answers) == {200}, set(answers)
    ask = http.client.HTTPSConnection("localhost", server.port, context=context, timeout=30)
    deadline = time.monotonic() + 20
    while True:  # the last reload's user is in, once it is read
        ask.request("GET", "/-/", headers={"Authorization": _basic("user4", "secret")})
        response = ask.getresponse()
        response.read()
        if response.status == 200:
            break
        assert time.monotonic() < deadline, server.log.read_text()[-2000:]
        time.sleep(0.1)
    ask.close()
    assert server.running.poll() is None


def _basic(name: str, password: str) -> str:
    from base64 import b64encode

    return "Basic " + b64encode(f"{name}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("listen", "users", "says"),
    [
        ("tcp:{port}", False, "without --users anyone who reaches it acts as admin"),
        ("tcp:{port}:interface=0.0.0.0", True, "Basic credentials would cross the network"),
    ],
)
def test_refusals_at_start_are_one_line(tmp_path: Path, listen: str, users: bool,
                                        says: str) -> None:
    extra = ["--users", str(usersFile(tmp_path, alice="x"))] if users else []
    result = subprocess.run(
        twistdCommand("--listen", listen.format(port=freePort()), "--data",
                      str(tmp_path / "d"), *extra),
        check=False, cwd=tmp_path, env=serverEnvironment(), capture_output=True, text=True,
        timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert says in lines[0] and "--insecure" in lines[0]


def test_a_malformed_users_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "users"
    bad.write_text("alice:{SHA}nope\n")
    result = subprocess.run(
        twistdCommand("--data", str(tmp_path / "d"), "--users", str(bad)),
        check=False, cwd=tmp_path, env=serverEnvironment(), capture_output=True, text=True,
        timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "line 1" in lines[0], result.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--allowed-host", "a b"], "--allowed-host must be"),
        (["--trusted-proxy", "10.0.0.0/99"], "--trusted-proxy must be"),
        (["--users", "missing.htpasswd"], "cannot read the users file"),
        (["--xmpp-component", "tcp:localhost:5347", "--xmpp-jid", "pubsub.localhost",
          "--xmpp-secret-file", "missing.secret"], "cannot read the XMPP secret file"),
        (["--xmpp-secret", "s", "--xmpp-secret-file", "f"], "not both"),
    ],
)
def test_bad_identity_options_are_one_line(tmp_path: Path, args: list[str], says: str) -> None:
    result = subprocess.run(twistdCommand("--data", str(tmp_path / "d"), *args), check=False,
                            cwd=tmp_path, env=serverEnvironment(), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr


def test_the_secret_file_and_the_warning(tmp_path: Path) -> None:
    from twisted.logger import LogLevel, globalLogPublisher

    from occi_twisted.tap import Options

    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    xmpp = ["--xmpp-component", "tcp:localhost:5347", "--xmpp-jid", "pubsub.localhost"]
    options = Options()
    options.parseOptions([*xmpp, "--xmpp-secret-file", str(secret)])
    assert options.settings.xmpp == ("tcp:localhost:5347", "pubsub.localhost", "s3cret")
    warnings: list[str] = []

    def observe(event: dict[str, object]) -> None:
        if event.get("log_level") is LogLevel.warn:
            warnings.append(str(event.get("log_format")))

    globalLogPublisher.addObserver(observe)
    try:
        options = Options()
        options.parseOptions([*xmpp, "--xmpp-secret", "s3cret"])
    finally:
        globalLogPublisher.removeObserver(observe)
    assert options.settings.xmpp is not None and options.settings.xmpp[2] == "s3cret"
    assert any("process list" in warning for warning in warnings)


def test_users_and_identity_settings_in_the_config(tmp_path: Path) -> None:
    from occi_twisted.tap import Options

    config = tmp_path / "occi.toml"
    config.write_text('users-file = "users"\ninsecure = true\nno-introspection = true\n'
                      'allowed-host = ["cloud.example"]\ntrusted-proxy = ["10.0.0.0/8"]\n'
                      '[users.alice]\nrole = "admin"\n')
    options = Options()
    options.parseOptions(["--config", str(config)])
    settings = options.settings
    assert settings.usersFile == Path("users") and settings.configFile == config
    assert settings.insecure and not settings.introspection
    assert "cloud.example" in settings.hosts.names
    assert [str(network) for network in settings.trustedProxies] == ["10.0.0.0/8"]
