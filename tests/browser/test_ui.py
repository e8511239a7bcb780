"""The HTML interface in a real headless Chromium (Debian's, driven by Playwright): create a
compute with the form, open it, stop it and see the state change, delete it.  A screenshot
of the entity page is kept as an artefact of the run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import ROOT, RunningServer
from .support import launch, needsChromium

ARTEFACTS = Path(os.environ.get("OCCI_ARTEFACTS", ROOT / "tests" / "artefacts"))

pytestmark = needsChromium


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = RunningServer(tmp_path / "occi-data").start()
    try:
        yield running
    finally:
        running.stop()


def test_create_stop_and_delete_in_a_browser(server: RunningServer) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()
            page.goto(f"{server.url}/compute/")
            # Single-user mode: everyone is the administrator, and the page says so.
            expect(page.locator("#signed-in")).to_have_text("Signed in as admin")
            create = page.locator("form#create")
            create.locator('[name="occi.core.title"]').fill("web-1")
            create.locator('[name="occi.compute.cores"]').fill("2")
            create.locator('[type="submit"]').click()
            # Post/Redirect/Get: the browser lands on the new compute's page.
            expect(page.locator("#title")).to_contain_text("web-1")
            assert "/compute/" in page.url
            entity = page.url.split("?")[0]
            expect(page.locator("#state")).to_contain_text("inactive")

            page.locator("form.action-start [type=submit]").click()
            page.goto(entity)
            expect(page.locator("#state")).to_contain_text("active")

            stop = page.locator("form.action-stop")
            stop.locator('[name="method"]').select_option("poweroff")
            stop.locator("[type=submit]").click()
            page.goto(entity)
            expect(page.locator("#state")).to_contain_text("inactive")
            ARTEFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTEFACTS / "compute-page.png"), full_page=True)

            page.locator("form#delete [type=submit]").click()
            assert page.url.rstrip("/").endswith("/compute")
            gone = page.goto(entity)
            assert gone is not None and gone.status == 404
        finally:
            browser.close()
    assert (ARTEFACTS / "compute-page.png").stat().st_size > 1000
