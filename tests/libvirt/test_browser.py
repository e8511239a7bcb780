"""A real guest's page in a real headless Chromium: started with the page's action form, it
boots before the person's eyes -- the serial console's text arrives in the page without a
reload (the guest's ready line, its shell's banner, then what is typed on its console), and
its screen is a real PNG, taken again while it runs and put away when it stops.  Without
script, the page shows the console in a frame and reloading follows it.

One tiny guest (TCG, 128 MiB), booted once for the module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from occi_twisted.drivers.libvirt.guest import READY
from occi_twisted.renderings.html.screens import NOT_RUNNING, TAIL

from ..browser.support import COUNT_LOADS, consoleText, launch, needsChromium, waitFor
from ..browser.test_ui import ARTEFACTS
from .support import INFRA, Server

if TYPE_CHECKING:
    from playwright.sync_api import Response

pytestmark = needsChromium

PNG = b"\x89PNG\r\n\x1a\n"
#: What the guest's shell says when it starts, after the guest's ready line (the kernel
#: itself is quiet).
SHELL = "built-in shell (ash)"


class Guest:
    def __init__(self, server: Server, computeId: str) -> None:
        self.server = server
        self.id = computeId
        self.location = f"/compute/{computeId}"
        self.url = f"{server.process.url}{self.location}"

    def ensureRunning(self) -> None:
        if self.server.state(self.location) != "active":
            since = len(self.server.console(self.id))
            status, body = self.server.act(self.location, "start")
            assert status == 200, body
            self.server.waitReady(self.id, since)


@pytest.fixture(scope="module")
def guest(tmp_path_factory: pytest.TempPathFactory, connection: Any) -> Iterator[Guest]:
    server = Server(tmp_path_factory.mktemp("libvirt-browser") / "data", connection).start()
    computes: list[str] = []
    try:
        computes.append(server.create("compute", INFRA + "compute", {
            "occi.compute.hostname": "browser1", "occi.compute.memory": 0.125})["id"])
        yield Guest(server, computes[0])
    finally:
        server.remove([f"/compute/{each}" for each in computes])


def screens(responses: list[Response]) -> list[int]:
    """The lengths of the screens the page was sent."""
    return [int(response.headers.get("content-length", "0")) for response in responses
            if response.url.endswith("?format=png") and response.status == 200
            and response.headers.get("content-type") == "image/png"]


#: The first bytes and the length of what the image shows now (read in the page).
SHOWN = """image => fetch(image.src).then(response => response.arrayBuffer()).then(
    data => [Array.from(new Uint8Array(data, 0, 8)), data.byteLength])"""


def test_a_guest_started_on_its_page_boots_before_the_eyes(guest: Guest) -> None:
    from playwright.sync_api import expect, sync_playwright

    server = guest.server
    assert server.state(guest.location) == "inactive"
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()
            ranges: list[str] = []
            page.on("request", lambda sent: ranges.append(sent.headers.get("range", ""))
                    if sent.url.endswith("/console") else None)
            responses: list[Response] = []

            def answered(response: Response) -> None:
                responses.append(response)

            page.on("response", answered)
            page.goto(guest.url)
            # Not running: no screen (nor a broken image), a sentence in its place.
            assert page.locator("#screen").count() == 0
            expect(page.locator("#screen-note")).to_have_text(NOT_RUNNING)
            expect(page.locator("#console-text")).to_be_visible()

            page.locator("form.action-start [type=submit]").click()
            page.wait_for_load_state()
            if "/requests/" in page.url:
                # Slower than a form is waited for (a busy machine): the request's page
                # follows it, and leads back to the compute.
                expect(page.locator("#state")).to_have_text("succeeded", timeout=60000)
                page.locator("#title a").click()
            page.wait_for_url(guest.url)
            expect(page.locator("#state")).to_contain_text("active")
            page.add_init_script(COUNT_LOADS)
            page.evaluate(COUNT_LOADS)
            # The guest's ready line, then its shell's banner, as the guest writes them.
            seen: list[str] = []

            def arrived(text: str) -> bool:
                now = consoleText(page)
                if not seen or seen[-1] != now:
                    seen.append(now)
                return text in now

            waitFor(page, lambda: arrived(f"{READY} browser1"),
                    lambda: f"not ready: {seen[-1:]}", seconds=90)
            waitFor(page, lambda: arrived(SHELL), lambda: f"no shell: {seen[-1][-1500:]}")
            before = len(seen[-1])
            # Typed on the console now: it reaches the page that is open.
            server.type(guest.id, "echo browser-$((6*7))")
            waitFor(page, lambda: arrived("browser-42"),
                    lambda: f"not echoed: {seen[-1][-800:]}")
            assert seen[-1].index(READY) < seen[-1].index(SHELL) < seen[-1].index("browser-42")
            assert len(seen[-1]) > before and "\r" not in seen[-1] and "\x1b" not in seen[-1]
            assert page.evaluate("window.sessionStorage.getItem('loads')") == "1"
            # The tail first, then what came after each offset.
            assert ranges[0] == f"bytes=-{TAIL}" and any(
                each.startswith("bytes=") and each.endswith("-") and each[6:-1].isdigit()
                for each in ranges), ranges

            # The screen: a real PNG, taken again while the guest runs.
            screen = page.locator("#screen")
            waitFor(page, lambda: bool(page.evaluate(
                "document.getElementById('screen').src.startsWith('blob:')")),
                lambda: "the screen was not taken again")
            assert screen.evaluate("image => image.complete && image.naturalWidth") > 0
            assert screen.evaluate("image => image.naturalHeight") > 0
            sent = screens(responses)
            assert len(sent) >= 2 and min(sent) > 0, sent
            start, length = screen.evaluate(SHOWN)
            assert bytes(start) == PNG and length > 1000
            expect(page.locator("#screen-note")).to_be_hidden()
            ARTEFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTEFACTS / "booted-compute-page.png"), full_page=True)

            # Stopped behind the page's back: the screen goes, the sentence says why.
            status, body = server.act(guest.location, "stop", "poweroff")
            assert status == 200, body
            expect(screen).to_be_hidden(timeout=15000)
            expect(page.locator("#screen-note")).to_have_text(NOT_RUNNING)
            assert page.evaluate("window.sessionStorage.getItem('loads')") == "1"
        finally:
            browser.close()


def test_without_script_the_page_shows_the_console_and_a_reload_follows_it(
        guest: Guest) -> None:
    from playwright.sync_api import expect, sync_playwright

    guest.ensureRunning()
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_context(java_script_enabled=False).new_page()
            page.goto(guest.url)
            frame = page.frame_locator("#console-frame")
            expect(frame.locator("body")).to_contain_text(f"{READY} browser1")
            expect(page.locator("#console-text")).to_be_hidden()
            screen = page.locator("#screen")
            waitFor(page, lambda: screen.evaluate("image => image.complete"),
                    lambda: "the screen did not load")
            assert screen.evaluate("image => image.naturalWidth") > 0

            since = len(guest.server.console(guest.id))
            guest.server.type(guest.id, "echo reloaded-$((6*7))")
            guest.server.waitConsole(guest.id, "reloaded-42", since=since)
            expect(frame.locator("body")).not_to_contain_text("reloaded-42")
            page.reload()
            expect(page.frame_locator("#console-frame").locator("body")).to_contain_text(
                "reloaded-42")
            ARTEFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTEFACTS / "booted-compute-page-without-script.png"),
                            full_page=True)
        finally:
            browser.close()
