"""Following with ``occi`` fed by XMPP: a real ``twistd -n occi --xmpp-*`` and a real
Prosody, the client logged in to Prosody as alice.

That the steps came by XMPP and not by long poll is read in the server's access log: the
client asks for the request three times (before subscribing, after, and its final state),
while the bar is drawn at many more places than three.
"""

from __future__ import annotations

import http.client
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ..conftest import RunningServer, freePort
from ..xmpp.prosody import Prosody
from .support import OCCI, Terminal, environment, occi, ok, storage
from .test_follow import _percents

PASSWORD = "alice-password"


@pytest.fixture(scope="module")
def prosody(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prosody]:
    server = Prosody(tmp_path_factory.mktemp("prosody"))
    server.addUser("alice", PASSWORD)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory,
              prosody: Prosody) -> Iterator[RunningServer]:
    """The server, with its component connected to Prosody and an access log."""
    data = tmp_path_factory.mktemp("published") / "occi-data"
    server = RunningServer(
        data, "--xmpp-component", prosody.componentEndpoint, "--xmpp-jid",
        prosody.componentJID, "--xmpp-secret", prosody.secret, "--access-log",
        str(data.parent / "access.log")).start()
    try:
        deadline = time.monotonic() + 20
        while _health(server) != "ok":  # 503 until the component is connected
            assert time.monotonic() < deadline, _health(server)
            time.sleep(0.1)
        yield server
    finally:
        server.stop()


def _health(server: RunningServer) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", "/-/health")
        return connection.getresponse().read().decode().strip()
    finally:
        connection.close()


def _xmpp(prosody: Prosody, port: int | None = None) -> dict[str, str]:
    """The environment that gives ``occi`` alice's XMPP account."""
    return {"OCCI_XMPP_JID": "alice@localhost", "OCCI_XMPP_PASSWORD": PASSWORD,
            "OCCI_XMPP_SERVICE": prosody.componentJID,
            "OCCI_XMPP_SERVER": f"127.0.0.1:{port or prosody.c2sPort}"}


def _gets(server: RunningServer, path: str) -> int:
    log = server.dataDir.parent / "access.log"
    return sum(1 for line in log.read_text().splitlines() if f'"GET {path} ' in line)


def test_follow_a_secure_erase_fed_by_xmpp_in_a_terminal(
        published: RunningServer, prosody: Prosody, tmp_path: Path) -> None:
    disk = storage(tmp_path, published.url, 0.25)
    terminal = Terminal(tmp_path, "action", disk, "secure_erase", "passes=3", "--follow",
                        endpoint=published.url, **_xmpp(prosody))
    try:
        assert terminal.wait(120) == 0, terminal.text()[-3000:]
    finally:
        terminal.kill()
    assert "long poll" not in terminal.text(), terminal.text()
    drawn = _percents(terminal.frames(), "secure_erase")
    percents = [percent for _, percent in drawn]
    assert percents == sorted(percents) and percents[-1] == 100.0, percents
    assert len(set(percents)) > 3, percents
    passes = {found.group(1) for frame in terminal.frames()
              if (found := re.search(r"pass (\d) of 3", frame))}
    assert passes == {"1", "2", "3"}, terminal.frames()
    assert terminal.frames()[-1].startswith("Erased: pass 3 of 3")
    # Fed by XMPP: the request was read over HTTP three times, never long-polled.
    requests = f"{urlsplit(disk).path}/requests/"
    log = (published.dataDir.parent / "access.log").read_text()
    paths = set(re.findall(rf'"GET ({re.escape(requests)}[^ ?]+)', log))
    assert len(paths) == 1, log
    assert _gets(published, paths.pop()) == 3, log


def test_events_streams_notifications_as_lines(
        published: RunningServer, prosody: Prosody, tmp_path: Path) -> None:
    disk = storage(tmp_path, published.url, 0.001)
    watching = subprocess.Popen(
        [str(OCCI), "events", disk], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env=environment(tmp_path, OCCI_ENDPOINT=published.url, **_xmpp(prosody)))
    try:
        assert watching.stdout is not None
        assert watching.stdout.readline().split() == ["UPDATED", "EVENT", "TITLE"]
        assert " created " in watching.stdout.readline()  # the newest, over HTTP
        ok(occi(tmp_path, "update", disk, "occi.core.title=renamed", endpoint=published.url))
        streamed = watching.stdout.readline()
        assert re.match(r"\d{4}-\d\d-\d\dT[\d:.]+Z  updated  ", streamed), streamed
        watching.send_signal(signal.SIGINT)
        _, errors = watching.communicate(timeout=30)
    finally:
        watching.kill()
    assert watching.returncode == 0, errors
    assert errors == ""


def test_follow_falls_back_to_long_poll_when_xmpp_is_down(
        published: RunningServer, prosody: Prosody, tmp_path: Path) -> None:
    disk = storage(tmp_path, published.url, 0.0625)
    result = occi(tmp_path, "action", disk, "secure_erase", "passes=2", "--follow",
                  endpoint=published.url, **_xmpp(prosody, port=freePort()))
    lines = ok(result).splitlines()
    assert lines[-1].startswith("Erased: pass 2 of 2"), lines
    assert [line for line in lines if line.startswith("secure_erase: ")][-1]\
        .startswith("secure_erase: 100.0 %")
    said = result.stderr.strip().splitlines()
    assert len(said) == 1 and said[0].startswith("occi: no events over XMPP (cannot reach "),\
        result.stderr
    assert said[0].endswith("; following by long poll"), said
