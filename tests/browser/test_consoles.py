"""A compute's screen and serial console on its page, in a real headless Chromium, against
what a console really does: the page starts with the log's tail at a line's beginning,
follows the log as it grows (a character cut in two between reads arrives whole, terminal
escapes and carriage returns are left out), starts again when the log is replaced, and
shows the screen only while there is one -- all without a reload.

The server runs the simulated driver with consoles and screens the test writes
(``consoled`` of :mod:`.drivers`); ``tests/libvirt/test_browser.py`` watches a real guest
boot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from occi_twisted.drivers.libvirt.screens import png
from occi_twisted.renderings.html.screens import NOT_RUNNING, TAIL

from ..conftest import RunningServer
from .drivers import CONSOLED, consolesOf
from .support import (
    COUNT_LOADS,
    api,
    consoleText,
    launch,
    needsChromium,
    serverWith,
    waitFor,
)

pytestmark = needsChromium

INFRA = "http://schemas.ogf.org/occi/infrastructure#"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    with serverWith(CONSOLED, tmp_path, monkeypatch) as running:
        yield running


def runningCompute(server: RunningServer) -> str:
    """A new compute, started: its path."""
    status, text, response = api(server, "POST", "/compute/",
                                 f'Category: compute; scheme="{INFRA}"; class="kind"\n')
    assert status == 201, text
    path = urlsplit(response.getheader("Location") or "").path
    status, text, _ = api(server, "POST", f"{path}?action=start",
                          f'Category: start; scheme="{INFRA[:-1]}/compute/action#"; '
                          'class="action"\n')
    assert status == 200, text
    return path


def test_the_console_follows_its_log_and_the_screen_shows_while_there_is_one(
        server: RunningServer) -> None:
    from playwright.sync_api import expect, sync_playwright

    path = runningCompute(server)
    consoles = consolesOf(server.dataDir)
    consoles.mkdir()
    name = path.rpartition("/")[2]
    log, screen = consoles / f"{name}.log", consoles / f"{name}.png"
    # Longer than the tail the page starts with: 16 bytes a line.
    lines = [b"old line %06d\n" % number for number in range(TAIL // 16 + 100)]
    log.write_bytes(b"".join(lines) + b"\x1b[1;32mgreen\x1b[0m text\r\n# \x1b[6n")
    screen.write_bytes(png(b"P6\n4 3\n255\n" + bytes(range(36))))
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()
            answered: list[str] = []
            page.on("response", lambda response: answered.append(
                response.headers.get("content-range", "")) if response.url.endswith(
                    "/console") else None)
            page.add_init_script(COUNT_LOADS)
            page.goto(f"{server.url}{path}")

            waitFor(page, lambda: "green text\n# " in consoleText(page),
                    lambda: f"not shown: {consoleText(page)[-200:]!r}")
            text = consoleText(page)
            assert text.endswith(f"old line {len(lines) - 1:06d}\ngreen text\n# ")
            # The tail's first line, cut, is left out: the text starts at a line's start.
            first = text.split("\n", 1)[0]
            assert first.startswith("old line ") and len(first) == 15, first
            assert len(text) <= TAIL and "\x1b" not in text and "\r" not in text

            # "é" cut in two between two reads arrives whole.
            e = "é".encode()
            length = log.stat().st_size
            with log.open("ab") as appended:
                appended.write(e[:1])
            waitFor(page, lambda: any(each.endswith(f"/{length + 1}") for each in answered),
                    lambda: f"the first half was not read: {answered[-3:]}")
            with log.open("ab") as appended:
                appended.write(e[1:] + b"t\xc3\xa9 done\n")
            waitFor(page, lambda: consoleText(page).endswith("# été done\n"),
                    lambda: f"not whole: {consoleText(page)[-40:]!r}")

            # The log replaced by a shorter one (a console log started again): read anew.
            log.write_bytes(b"fresh boot\n")
            waitFor(page, lambda: consoleText(page) == "fresh boot\n",
                    lambda: f"not read anew: {consoleText(page)[-80:]!r}")

            # The screen: a PNG the page takes again, gone while the compute has none.
            image = page.locator("#screen")
            waitFor(page, lambda: image.evaluate("image => image.src").startswith("blob:"),
                    lambda: "the screen was not taken again")
            assert image.evaluate("image => image.naturalWidth") == 4
            screen.unlink()
            expect(image).to_be_hidden(timeout=10000)
            expect(page.locator("#screen-note")).to_have_text(NOT_RUNNING)
            screen.write_bytes(png(b"P6\n5 2\n255\n" + bytes(30)))
            expect(image).to_be_visible(timeout=15000)
            expect(page.locator("#screen-note")).to_be_hidden()
            waitFor(page, lambda: image.evaluate("image => image.naturalWidth") == 5,
                    lambda: "the new screen is not shown")
            assert page.evaluate("window.sessionStorage.getItem('loads')") == "1"
        finally:
            browser.close()
