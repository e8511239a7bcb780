"""A storage's page in a real headless Chromium: its image uploaded with the page's form and
downloaded with its link (byte for byte against the file on disk), and a secure erase started
with the page's action form whose progress bar moves as the request's events arrive -- by the
page's script, and without script by reloading -- until it ends at 100 %.

The server runs the simulated driver with a slowed erase (``throttled-erase`` of
:mod:`.drivers`): the erase is real, only paced so that there is something to watch."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from ..conftest import RunningServer
from .drivers import THROTTLED
from .support import api, launch, needsChromium, serverWith

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = needsChromium

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
MIB = 1 << 20
#: The storage of these tests: 64 MiB (occi.storage.size is in GiB).
SIZE = 64 * MIB


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    with serverWith(THROTTLED, tmp_path, monkeypatch) as running:
        yield running


def storageIn(server: RunningServer) -> tuple[str, Path]:
    """A new 64 MiB storage (offline, as new storages are): its path and its image file."""
    status, text, response = api(server, "POST", "/storage/", (
        f'Category: storage; scheme="{INFRA}"; class="kind"\n'
        f"X-OCCI-Attribute: occi.storage.size={SIZE / 1024 ** 3}\n"))
    assert status == 201, text
    path = urlsplit(response.getheader("Location") or "").path
    return path, server.dataDir / "storage" / f"{path.rpartition('/')[2]}.img"


def progressOf(page: Page) -> tuple[float, str] | None:
    """The bar's value and the request's state as the page shows them now; None while the
    page is being loaded again."""
    try:
        # Both read at once: read one by one, a reload between them mixes two pages.
        shown = page.evaluate("""() => {
            const bar = document.getElementById("progress");
            const state = document.getElementById("state");
            return bar && state ? [bar.getAttribute("value"), state.innerText] : null;
        }""")
    except Exception:  # the page went away under the question (its last reload)
        return None
    if not shown or shown[0] is None:
        return None
    return float(shown[0]), str(shown[1])


def watchErase(page: Page, passes: str) -> list[tuple[float, str]]:
    """Start a secure erase with the storage page's action form, and note every value the
    request page's bar takes until the request has ended."""
    form = page.locator("form.action-secure_erase")
    form.locator('[name="passes"]').fill(passes)
    form.locator('[name="pattern"]').select_option("ones")
    form.locator("[type=submit]").click()
    # The action is still running after the wait a POST is given: 202, and the browser is
    # sent to the request's page.
    page.wait_for_url(re.compile(r"/requests/[^/]+$"))
    seen: list[tuple[float, str]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        now = progressOf(page)
        if now is not None and (not seen or seen[-1] != now):
            seen.append(now)
        if now is not None and now[1] not in ("queued", "scheduled", "running"):
            # What a read shows as the page is replaced may be part one page, part the
            # next: the last word is the page once loaded.
            page.wait_for_load_state()
            settled = progressOf(page)
            if settled is not None and settled != seen[-1]:
                seen[-1] = settled
            break
        time.sleep(0.05)
    return seen


def rising(seen: list[tuple[float, str]]) -> int:
    """How many times the bar moved forward while the request ran."""
    running = [value for value, state in seen if state == "running"]
    return sum(1 for before, after in pairwise(running) if after > before)


def test_an_image_uploaded_and_downloaded_with_the_page_alone(server: RunningServer,
                                                              tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    storage, image = storageIn(server)
    data = os.urandom(3 * MIB + 17)
    (tmp_path / "new.img").write_bytes(data)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            # No script at all: the form and the link are all it takes.
            page = browser.new_context(java_script_enabled=False,
                                       accept_downloads=True).new_page()
            page.goto(f"{server.url}{storage}")
            page.set_input_files("#upload-image", str(tmp_path / "new.img"))
            page.locator("#upload [type=submit]").click()
            # Back on the storage's page, which says what happened.
            page.wait_for_url(f"{server.url}{storage}")
            assert f"Image replaced by an upload of {len(data)} bytes" in page.inner_text("main")
            stored = image.read_bytes()
            assert stored[:len(data)] == data and stored[len(data):] == bytes(SIZE - len(data))

            with page.expect_download() as download:
                page.locator("#download").click()
            download.value.save_as(tmp_path / "down.img")
            assert download.value.suggested_filename.endswith(".img")
            assert (tmp_path / "down.img").read_bytes() == image.read_bytes()

            # Without script, the request's page reloads itself until the erase is done.
            seen = watchErase(page, passes="2")
            assert seen[0][1] == "running" and seen[-1] == (100.0, "succeeded"), seen
        finally:
            browser.close()
    assert image.read_bytes() == b"\xff" * SIZE


def test_a_secure_erase_started_on_the_page_shows_its_progress_live(
        server: RunningServer) -> None:
    from playwright.sync_api import sync_playwright

    storage, image = storageIn(server)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()
            page.goto(f"{server.url}{storage}")
            requests: list[str] = []
            page.on("request", lambda sent: requests.append(sent.headers.get("prefer", "")))
            page.add_init_script("window.sessionStorage.setItem('loads', "
                                 "String(Number(window.sessionStorage.getItem('loads')) + 1))")
            seen = watchErase(page, passes="3")
            assert seen[-1] == (100.0, "succeeded"), seen
            # The bar moved again and again while the request ran, within one page: the
            # script moved it (with long polls), the page was loaded once more at the end.
            assert rising(seen) >= 2, seen
            assert "wait=25" in requests
            assert page.evaluate("window.sessionStorage.getItem('loads')") == "2"
            details = page.locator("#live").inner_text()
            assert "pass 3 of 3" in details and "256.0 MiB of 256.0 MiB" in details, details
        finally:
            browser.close()
    assert image.read_bytes() == b"\xff" * SIZE
