"""Running the installed ``occi`` console script against real servers: with pipes (as a
script does) or in a pseudo-terminal (as a person sees it)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from ..conftest import serverEnvironment

OCCI = Path(sys.executable).parent / "occi"
INFRA = "http://schemas.ogf.org/occi/infrastructure#"
#: Control sequences of the progress bar, removed to read a screen as text.
_ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def environment(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a run: ``HOME`` a directory of the test's (no ``~/.netrc`` of
    the machine's), no ``OCCI_*`` variable unless given."""
    env = {name: value for name, value in serverEnvironment().items()
           if not name.startswith("OCCI_")}
    env["HOME"] = str(home)
    env.update(extra)
    return env


def occi(home: Path, *args: str, endpoint: str | None = None, timeout: float = 120,
         **extra: str) -> subprocess.CompletedProcess[str]:
    """``occi ARGS`` with pipes for its output and standard input from /dev/null."""
    if not OCCI.exists():
        pytest.fail("the occi console script is not installed: pip install -e .")
    env = environment(home, **({"OCCI_ENDPOINT": endpoint} if endpoint else {}), **extra)
    return subprocess.run([str(OCCI), *args], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=timeout, check=False)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The standard output of a run that succeeded."""
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result.stdout


def refused(result: subprocess.CompletedProcess[str], status: int = 1) -> str:
    """The one line a run that failed with ``status`` wrote on standard error."""
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    if status == 1:
        assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return lines[-1]


class Terminal:
    """``occi ARGS`` in a pseudo-terminal of ``columns`` columns: what it draws, and keys
    typed at it."""

    def __init__(self, home: Path, *args: str, endpoint: str, columns: int = 120,
                 **extra: str) -> None:
        env = environment(home, OCCI_ENDPOINT=endpoint, TERM="xterm", COLUMNS=str(columns),
                          **extra)
        pid, fd = pty.fork()
        if pid == 0:  # the child: the pty is its controlling terminal
            os.execve(str(OCCI), [str(OCCI), *args], env)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        self.screen = ""
        self.status: int | None = None

    def read(self, timeout: float) -> bool:
        """Read what arrives within ``timeout``; False once the program has closed it."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child is gone and the pty closed
            return False
        if not data:
            return False
        self.screen += data.decode("utf-8", "replace")
        return True

    def expect(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        """Wait until the screen (as text) matches ``pattern``."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.text())
            if found:
                return found
            if time.monotonic() > deadline or not self.read(0.2):
                found = re.search(pattern, self.text())
                if found:
                    return found
                raise AssertionError(f"{pattern!r} never appeared on:\n{self.text()[-3000:]}")

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def interrupt(self) -> None:
        """Ctrl-C, as the terminal sends it: SIGINT to the foreground process group."""
        self.type(b"\x03")

    def wait(self, timeout: float = 60) -> int:
        """Read to the end; the exit status."""
        deadline = time.monotonic() + timeout
        while self.read(0.2):
            assert time.monotonic() < deadline, self.text()[-3000:]
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def kill(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
            self.status = -9

    def text(self) -> str:
        return _ESCAPES.sub("", self.screen)

    def frames(self) -> list[str]:
        """Each drawing of the bar: the screen cut at every carriage return."""
        return [frame.strip() for frame in re.split(r"[\r\n]+", self.text()) if frame.strip()]


def storage(home: Path, endpoint: str, gib: float) -> str:
    """A new storage of ``gib`` GiB: its location."""
    return ok(occi(home, "create", "storage", f"size={gib}", endpoint=endpoint)).strip()
