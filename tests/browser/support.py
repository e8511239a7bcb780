"""What the browser tests share: Debian's Chromium (driven by Playwright), skipped where it is
not installed, and a way to ask the server through its API as a user."""

from __future__ import annotations

import http.client
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ..conftest import RunningServer
from ..identity.support import ask
from . import drivers

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

needsChromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                   reason="Chromium is not installed (.ci/run installs it)")


def launch(playwright: Playwright, *args: str) -> Browser:
    """Headless Chromium, with ``args`` besides the ones every test needs."""
    return playwright.chromium.launch(executable_path=CHROMIUM,
                                      args=["--no-sandbox", "--headless=new", *args])


@contextmanager
def serverWith(driver: str, folder: Path,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    """A server running ``driver``, one of :mod:`.drivers`' plugins: the module is copied
    into ``folder/dropins/occi_twisted/plugins`` on the server's ``PYTHONPATH`` (as a
    deployer adds a driver); the server's data in ``folder/occi-data``."""
    plugins = folder / "dropins" / "occi_twisted" / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(drivers.__file__, plugins / "browser_test_drivers.py")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(folder / "dropins"), *filter(None, [os.environ.get("PYTHONPATH")])]))
    running = RunningServer(folder / "occi-data", "--driver", driver).start()
    try:
        yield running
    finally:
        running.stop()


#: Counts the loads of pages in a tab (a reload would count one more): run it with
#: ``page.add_init_script`` and read ``window.sessionStorage.getItem('loads')``.
COUNT_LOADS = ("window.sessionStorage.setItem('loads', "
               "String(Number(window.sessionStorage.getItem('loads')) + 1))")


def waitFor(page: Page, what: Callable[[], bool], message: Callable[[], str],
            seconds: float = 30) -> None:
    """Until ``what()`` holds, an AssertionError saying ``message()`` after ``seconds``.
    The page's events (``page.on``) are handed on while it waits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if what():
            return
        page.wait_for_timeout(50)
    raise AssertionError(message())


def consoleText(page: Page) -> str:
    """The serial console's text as a compute's page shows it now."""
    text: str = page.evaluate("document.getElementById('console-text').textContent")
    return text


def api(server: RunningServer, method: str, path: str, body: str = "", *,
        user: tuple[str, str] | None = None,
        accept: str = "text/plain") -> tuple[int, str, http.client.HTTPResponse]:
    """One request through the API (``text/plain``), as ``user``: status, body, response."""
    response, text = ask(server, method, path, body, user=user, headers={"Accept": accept})
    return response.status, text, response
