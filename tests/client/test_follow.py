"""Following requests with ``occi`` against a real ``twistd -n occi``: a real three-pass
secure erase drawn as a progress bar in a pseudo-terminal, plain lines through a pipe, and
Ctrl-C asking whether to cancel.

The erase is of a 256 MiB storage: three passes and a verifying read are 1 GiB of I/O, about
a second or three here, slices of a quarter of a second apart -- and whatever the disk's
speed, the request checkpoints at the end of every pass, so the bar is seen at several
places before it is full.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from ..conftest import RunningServer
from .support import OCCI, Terminal, environment, occi, ok, storage

_BAR = re.compile(r"(\w+) \[([#.]+)\]\s+(\d+\.\d) %")


def _percents(frames: list[str], label: str) -> list[tuple[int, float]]:
    """(hashes in the bar, percent) of each drawing of ``label``'s bar."""
    drawn = []
    for frame in frames:
        found = _BAR.search(frame)
        if found and found.group(1) == label:
            drawn.append((found.group(2).count("#"), float(found.group(3))))
    return drawn


def _asyncAction(server: RunningServer, location: str, query: str) -> str:
    """The request of an action made with ``Prefer: respond-async``: its URL."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("POST", f"{urlsplit(location).path}/requests", query,
                           {"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        response.read()
        assert response.status == 202, response.status
        return str(response.getheader("Location"))
    finally:
        connection.close()


def test_follow_a_three_pass_secure_erase_in_a_terminal(running: RunningServer,
                                                        tmp_path: Path) -> None:
    disk = storage(tmp_path, running.url, 0.25)
    terminal = Terminal(tmp_path, "action", disk, "secure_erase", "passes=3", "--follow",
                        endpoint=running.url)
    try:
        assert terminal.wait(120) == 0, terminal.text()[-3000:]
    finally:
        terminal.kill()
    frames = terminal.frames()
    drawn = _percents(frames, "secure_erase")
    percents = [percent for _, percent in drawn]
    # The bar advances (never back), through several places, and ends full at 100 %.
    assert percents == sorted(percents), percents
    assert len(set(percents)) >= 3, percents
    assert percents[-1] == 100.0, percents
    hashes = [count for count, _ in drawn]
    assert hashes == sorted(hashes) and hashes[0] < hashes[-1], hashes
    assert "." not in _BAR.search(frames[-2] if "verified" in frames[-1] else frames[-1])\
        .group(2)  # type: ignore[union-attr]
    # Pass n of 3, the throughput and the time left, as the request's events told them.
    passes = [int(found.group(1)) for frame in frames
              if (found := re.search(r"pass (\d) of 3", frame))]
    assert passes == sorted(passes) and passes[0] == 1 and passes[-1] == 3, passes
    assert any(re.search(r"\d+(\.\d)? [KMG]iB/s  ETA \d+:\d\d", frame) for frame in frames)
    # Drawn in place: carriage returns between the drawings, one newline at the end.
    assert terminal.screen.count("\r\x1b[K") >= len(drawn)
    assert frames[-1].startswith("Erased: pass 3 of 3") and "verified" in frames[-1]


def test_follow_a_request_through_a_pipe(running: RunningServer, tmp_path: Path) -> None:
    disk = storage(tmp_path, running.url, 0.0625)
    request = _asyncAction(running, disk, "action=secure_erase&passes=2&pattern=zeros")
    result = occi(tmp_path, "follow", request, endpoint=running.url)
    lines = ok(result).splitlines()
    # Plain lines, no control sequences: one for each step the request was seen at.
    assert "\x1b" not in result.stdout and "\r" not in result.stdout
    steps = [line for line in lines if line.startswith("secure_erase: ")]
    assert steps and steps[-1].startswith("secure_erase: 100.0 %  pass 2 of 2"), lines
    assert lines[-1].startswith("Erased: pass 2 of 2")


def test_follow_with_json_keeps_standard_output_for_the_json(running: RunningServer,
                                                              tmp_path: Path) -> None:
    disk = storage(tmp_path, running.url, 0.0625)
    result = occi(tmp_path, "action", disk, "secure_erase", "passes=1", "pattern=ones",
                  "--follow", "--json", endpoint=running.url)
    final = json.loads(ok(result))
    assert final["attributes"]["occi-twisted.request.state"] == "succeeded"
    assert final["attributes"]["occi-twisted.request.parameters"]["passes"] == 1
    assert result.stderr.splitlines()[-1].startswith("secure_erase: 100.0 %  pass 1 of 1")


def test_ctrl_c_asks_whether_to_cancel(running: RunningServer, tmp_path: Path) -> None:
    """A backup waits for tonight's window: followed, Ctrl-C asks; no goes on following,
    yes cancels it (and the exit status says it did not succeed)."""
    disk = storage(tmp_path, running.url, 0.001)
    request = _asyncAction(running, disk, "action=backup")
    terminal = Terminal(tmp_path, "follow", request, endpoint=running.url)
    try:
        terminal.expect(r"backup \[\.+\]\s+0\.0 %")
        terminal.interrupt()
        terminal.expect(r"Cancel the request \S+\? \[y/N\] $")
        terminal.type(b"n\n")
        terminal.expect(r"\[y/N\] n\s+backup \[")  # the bar is back
        terminal.interrupt()
        terminal.expect(r"(?s)(Cancel the request .*){2}")
        terminal.type(b"y\n")
        assert terminal.wait(60) == 1
    finally:
        terminal.kill()
    text = terminal.text()
    assert "Cancelling; waiting for the request to stop." in text
    assert text.strip().splitlines()[-1].startswith("occi: backup cancelled"), text[-2000:]
    state = ok(occi(tmp_path, "show", request, "--json", endpoint=running.url))
    assert '"occi-twisted.request.state": "cancelled"' in state


def test_ctrl_c_without_a_terminal_leaves_the_request(running: RunningServer,
                                                      tmp_path: Path) -> None:
    disk = storage(tmp_path, running.url, 0.001)
    request = _asyncAction(running, disk, "action=backup")
    following = subprocess.Popen(
        [str(OCCI), "follow", request], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env=environment(tmp_path, OCCI_ENDPOINT=running.url))
    try:
        assert following.stdout is not None
        assert following.stdout.readline().startswith("backup:   0.0 %")
        following.send_signal(signal.SIGINT)
        _, errors = following.communicate(timeout=30)
    finally:
        following.kill()
    assert following.returncode == 1
    assert errors.strip() == f"occi: stopped following; the request goes on: {request}"
    state = ok(occi(tmp_path, "show", request, "--json", endpoint=running.url))
    assert '"occi-twisted.request.state": "cancelled"' not in state
