"""Users in a real Chromium against a real ``twistd -n occi --users`` on loopback: alice signs
in with HTTP Basic (an htpasswd file made by ``htpasswd -B``), lists, creates through the form
and deletes, never seeing bob's compute; the administrator sees both.  Then the attacks a
page the user merely visits could make through that signed-in browser: another origin's page
that auto-submits ``_method=DELETE`` and a create is refused (403) and changes nothing, and a
rebound host name (DNS rebinding) is answered 421."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ..conftest import RunningServer
from ..identity.support import usersFile
from .support import api, launch, needsChromium

pytestmark = needsChromium

ALICE = ("alice", "wonderland")
BOB = ("bob", "builder")
ROOT = ("root", "bcrypt-all-the-way")
INFRA = "http://schemas.ogf.org/occi/infrastructure#"
#: Where the other origin's pages are served: another loopback address, so another site.
ELSEWHERE = "127.0.0.2"
#: A name of the attacker's that now resolves to the server (DNS rebinding).
REBOUND = "rebound.test"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    users = usersFile(tmp_path, alice=ALICE[1], bob=BOB[1], root=ROOT[1])
    config = tmp_path / "occi.toml"
    config.write_text('[users.root]\nrole = "admin"\n')
    running = RunningServer(tmp_path / "occi-data", "--users", str(users),
                            "--config", str(config)).start(timeout=30)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright, f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1")
        try:
            yield browser
        finally:
            browser.close()


def create(server: RunningServer, user: tuple[str, str], title: str) -> str:
    """A compute of ``user``'s, made through the API: its path."""
    status, _, response = api(server, "POST", "/compute/",
                              f'Category: compute; scheme="{INFRA}"; class="kind"\n'
                              f'X-OCCI-Attribute: occi.core.title="{title}"\n', user=user)
    assert status == 201, status
    return (response.getheader("Location") or "").split(f":{server.port}", 1)[1]


def computes(server: RunningServer, user: tuple[str, str]) -> list[str]:
    """The paths of the computes ``user`` sees, through the API."""
    status, body, _ = api(server, "GET", "/compute/", user=user, accept="text/uri-list")
    assert status == 200, status
    return sorted(line.split(f":{server.port}", 1)[1] for line in body.split())


def titles(server: RunningServer, user: tuple[str, str]) -> list[str]:
    """The titles of the computes ``user`` sees."""
    found = []
    for path in computes(server, user):
        status, body, _ = api(server, "GET", path, user=user)
        assert status == 200, (path, status)
        found += [line.split('="', 1)[1].rstrip('"') for line in body.splitlines()
                  if "occi.core.title=" in line]
    return sorted(found)


def signedIn(browser: Any, user: tuple[str, str]) -> Any:
    """A browser context holding ``user``'s Basic credentials, as a person's browser does
    once they have typed them in."""
    return browser.new_context(http_credentials={"username": user[0], "password": user[1]})


def test_a_user_signs_in_lists_creates_and_deletes(server: RunningServer,
                                                   chromium: Any) -> None:
    from playwright.sync_api import expect

    bobs = create(server, BOB, "bobs-box")
    context = signedIn(chromium, ALICE)
    page = context.new_page()
    listed = page.goto(f"{server.url}/compute/")
    assert listed is not None and listed.status == 200
    expect(page.locator("#signed-in")).to_have_text("Signed in as alice")
    expect(page.locator("#role")).to_have_count(0)
    expect(page.locator("#entities tbody.resources tr")).to_have_count(0)

    for title in ("web-1", "web-2"):
        page.goto(f"{server.url}/compute/")
        create_ = page.locator("form#create")
        create_.locator('[name="occi.core.title"]').fill(title)
        create_.locator('[name="occi.compute.cores"]').fill("2")
        create_.locator('[type="submit"]').click()
        # Post/Redirect/Get: the new compute's page, still signed in as alice.
        expect(page.locator("#title")).to_contain_text(title)
        expect(page.locator("#user")).to_have_text("alice")
    second = page.url.split("?")[0]

    page.goto(f"{server.url}/compute/")
    rows = page.locator("#entities tbody.resources tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#entities")).not_to_contain_text("bobs-box")
    hrefs = [rows.nth(i).locator("a").first.get_attribute("href") for i in range(2)]
    assert bobs not in hrefs

    page.goto(second)
    page.locator("form#delete [type=submit]").click()
    assert page.url.rstrip("/").endswith("/compute")
    expect(page.locator("#entities tbody.resources tr")).to_have_count(1)
    gone = page.goto(second)
    assert gone is not None and gone.status == 404
    hidden = page.goto(f"{server.url}{bobs}")
    assert hidden is not None and hidden.status == 404
    context.close()

    assert titles(server, ALICE) == ["web-1"]
    assert titles(server, BOB) == ["bobs-box"]

    administrator = signedIn(chromium, ROOT).new_page()
    administrator.goto(f"{server.url}/compute/")
    expect(administrator.locator("#signed-in")).to_have_text("Signed in as root (admin)")
    expect(administrator.locator("#entities tbody.resources tr")).to_have_count(2)
    administrator.goto(f"{server.url}/compute/?owner=bob")
    expect(administrator.locator("#entities tbody.resources tr")).to_have_count(1)
    expect(administrator.locator("#entities")).to_contain_text("bobs-box")


class Elsewhere(ThreadingHTTPServer):
    """Another origin's web server: the pages it holds, by path."""

    def __init__(self, pages: dict[str, str]) -> None:
        self.pages = pages
        super().__init__((ELSEWHERE, 0), _Page)

    @property
    def url(self) -> str:
        return f"http://{ELSEWHERE}:{self.server_address[1]}"


class _Page(BaseHTTPRequestHandler):
    server: Elsewhere

    def do_GET(self) -> None:
        body = self.server.pages.get(self.path, "").encode()
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def autoSubmitting(action: str, **fields: str) -> str:
    """A page that posts a form of ``fields`` to ``action`` as soon as it is opened."""
    inputs = "".join(f'<input type="hidden" name="{name}" value="{value}">'
                     for name, value in fields.items())
    return (f'<!DOCTYPE html><html><body onload="document.forms[0].submit()">'
            f'<form method="post" action="{action}">{inputs}</form></body></html>')


@pytest.fixture
def elsewhere() -> Iterator[Elsewhere]:
    pages: dict[str, str] = {}
    running = Elsewhere(pages)
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    try:
        yield running
    finally:
        running.shutdown()
        running.server_close()
        thread.join()


def test_another_origins_page_changes_nothing(server: RunningServer, chromium: Any,
                                              elsewhere: Elsewhere) -> None:
    kept = create(server, ALICE, "kept")
    elsewhere.pages["/delete"] = autoSubmitting(f"{server.url}{kept}", _method="DELETE",
                                                _next="/compute/")
    elsewhere.pages["/create"] = autoSubmitting(f"{server.url}/compute/", kind="compute",
                                                **{"occi.core.title": "planted"})
    page = signedIn(chromium, ALICE).new_page()
    # Alice is signed in and using the server: her browser holds her credentials.
    page.goto(f"{server.url}/compute/")
    assert page.locator("#user").text_content() == "alice"

    for path in ("/delete", "/create"):
        with page.expect_response(lambda r: r.url.startswith(server.url)) as sent:
            page.goto(f"{elsewhere.url}{path}")
        answer = sent.value
        assert answer.request.method == "POST"
        assert answer.status == 403, (path, answer.status, answer.text())
        assert answer.request.header_value("origin") == elsewhere.url
        assert "another" in answer.text()
    assert computes(server, ALICE) == [kept]
    assert titles(server, ALICE) == ["kept"]


def test_a_rebound_host_name_is_misdirected(server: RunningServer, chromium: Any) -> None:
    page = signedIn(chromium, ALICE).new_page()
    rebound = page.goto(f"http://{REBOUND}:{server.port}/compute/")
    assert rebound is not None and rebound.status == 421
    # The page is now the rebound origin's own: a form it posts is "same origin" to the
    # browser, and the Host still gives it away.
    posted = page.evaluate("""async () => (await fetch("/compute/", {method: "POST",
        headers: {"Content-Type": "application/x-www-form-urlencoded"},
        body: "kind=compute&occi.core.title=rebound"})).status""")
    assert posted == 421
    assert computes(server, ALICE) == []
    status, _, _ = api(server, "GET", "/compute/", user=ALICE)
    assert status == 200
