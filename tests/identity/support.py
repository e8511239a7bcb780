"""Real htpasswd files (made by Apache's own ``htpasswd -B``) and a thread pool that runs
only when a test says, for the identity tests."""

from __future__ import annotations

import base64
import http.client
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from twisted.python.failure import Failure

if TYPE_CHECKING:
    from ..conftest import RunningServer


def htpasswd(path: Path, name: str, password: str, *, create: bool = False,
             cost: int | None = None) -> Path:
    """Add (or replace) ``name`` in ``path`` as ``htpasswd -B`` does, at its default cost
    (5: a few milliseconds a check) unless told another."""
    tool = shutil.which("htpasswd")
    if tool is None:
        pytest.fail("htpasswd is not installed: apt-get install -y apache2-utils")
    costs = ["-C", str(cost)] if cost is not None else []
    subprocess.run([tool, "-Bbc" if create else "-Bb", *costs, str(path), name, password],
                   check=True, capture_output=True)
    return path


def usersFile(directory: Path, **passwords: str) -> Path:
    """A fresh htpasswd file holding ``passwords`` (name=password)."""
    path = directory / "users.htpasswd"
    for index, (name, password) in enumerate(passwords.items()):
        htpasswd(path, name, password, create=index == 0)
    return path


def ask(server: RunningServer, method: str, path: str, body: str = "", *,
        source: str = "127.0.0.1", user: tuple[str, str] | None = None,
        headers: dict[str, str] | None = None) -> tuple[http.client.HTTPResponse, str]:
    """One request to a running server from ``source`` (a loopback address), as ``user``
    (HTTP Basic) if given, a body in ``text/plain``: the response and its body."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10,
                                            source_address=(source, 0))
    sent = {"Accept": "text/plain", "Host": f"127.0.0.1:{server.port}", **(headers or {})}
    if user is not None:
        sent["Authorization"] = "Basic " + base64.b64encode(":".join(user).encode()).decode()
    if body:
        sent["Content-Type"] = "text/plain"
    connection.request(method, path, body=body.encode(), headers=sent)
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    return response, text


class ImmediateReactor:
    """``callFromThread`` as a reactor's, minus the thread: the call runs at once."""

    def callFromThread(self, f: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        f(*args, **kwargs)


class HeldPool:
    """A thread pool whose threads are all busy until :meth:`runAll`: what was asked of it
    is kept, so a test sees that the reactor thread did not run it, and what with."""

    def __init__(self) -> None:
        self.calls: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self._pending: list[tuple[Callable[[bool, Any], None], Callable[..., Any],
                                  tuple[Any, ...]]] = []

    def callInThreadWithCallback(self, onResult: Callable[[bool, Any], None],
                                 f: Callable[..., Any], *args: Any) -> None:
        self.calls.append((f, args))
        self._pending.append((onResult, f, args))

    def runAll(self) -> None:
        pending, self._pending = self._pending, []
        for onResult, f, args in pending:
            try:
                outcome = f(*args)
            except Exception:
                onResult(False, Failure())
            else:
                onResult(True, outcome)
