"""What the browser tests share: Debian's Chromium (driven by Playwright), skipped where it is
not installed, and a way to ask the server through its API as a user."""

from __future__ import annotations

import http.client
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ..conftest import RunningServer
from ..identity.support import ask

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

needsChromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                   reason="Chromium is not installed (.ci/run installs it)")


def launch(playwright: Playwright, *args: str) -> Browser:
    """Headless Chromium, with ``args`` besides the ones every test needs."""
    return playwright.chromium.launch(executable_path=CHROMIUM,
                                      args=["--no-sandbox", "--headless=new", *args])


def api(server: RunningServer, method: str, path: str, body: str = "", *,
        user: tuple[str, str] | None = None,
        accept: str = "text/plain") -> tuple[int, str, http.client.HTTPResponse]:
    """One request through the API (``text/plain``), as ``user``: status, body, response."""
    response, text = ask(server, method, path, body, user=user, headers={"Accept": accept})
    return response.status, text, response
