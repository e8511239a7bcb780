"""Each subcommand of ``occi`` against a real ``twistd -n occi``: what it prints for people
and for scripts (``--json``), and its exit status (0 done, 1 refused or failed, 2 usage)."""

from __future__ import annotations

import json
from pathlib import Path

from ..conftest import RunningServer
from .support import INFRA, occi, ok, refused


def test_create_show_list_update_delete(running: RunningServer, tmp_path: Path) -> None:
    url = running.url
    location = ok(occi(tmp_path, "create", "compute", "cores=2", "title=web server",
                       "--mixin", "resource_tpl#small", endpoint=url)).strip()
    assert location.startswith(f"{url}/compute/")
    shown = ok(occi(tmp_path, "show", location, endpoint=url))
    rows = dict(line.split(None, 1) for line in shown.splitlines() if " " in line)
    assert rows["kind"] == f"{INFRA}compute"
    assert rows["occi.compute.cores"].strip() == "2"
    assert rows["occi.core.title"].strip() == "web server"
    assert "resource_tpl#small" in rows["mixin"]
    # A path works as well as a URL, and the table names it.
    path = location[len(url):]
    listed = ok(occi(tmp_path, "list", "compute", endpoint=url)).splitlines()
    assert listed[0].split() == ["LOCATION", "TITLE", "STATE"]
    assert any(line.startswith(path) and "web server" in line and "inactive" in line
               for line in listed), listed
    updated = ok(occi(tmp_path, "update", path, "cores=4", "occi.core.summary=the front",
                      endpoint=url))
    assert "occi.compute.cores          4" in updated or " 4\n" in updated
    again = json.loads(ok(occi(tmp_path, "show", path, "--json", endpoint=url)))
    assert again["attributes"]["occi.compute.cores"] == 4
    assert again["summary"] == "the front"
    assert ok(occi(tmp_path, "delete", path, endpoint=url)).strip() == f"deleted {location}"
    gone = refused(occi(tmp_path, "show", path, endpoint=url))
    assert gone.startswith("occi: 404 ") and path in gone


def test_json_for_scripts(running: RunningServer, tmp_path: Path) -> None:
    url = running.url
    made = json.loads(ok(occi(tmp_path, "--json", "create", "network", "vlan=12",
                              endpoint=url)))
    assert made["location"].startswith(f"{url}/network/")
    assert made["entity"]["attributes"]["occi.network.vlan"] == 12
    listed = json.loads(ok(occi(tmp_path, "list", "network", "--json", endpoint=url)))
    assert made["entity"]["id"] in [entity["id"] for entity in listed]


def test_actions_answered_waited_for_and_accepted(running: RunningServer,
                                                   tmp_path: Path) -> None:
    url = running.url
    compute = ok(occi(tmp_path, "create", "compute", endpoint=url)).strip()
    started = ok(occi(tmp_path, "action", compute, "start", endpoint=url))
    assert "active" in started and "inactive" not in started
    # --wait: until the request ends, whatever the server's own wait.
    stopped = ok(occi(tmp_path, "action", compute, "stop", "method=acpioff", "--wait",
                      endpoint=url))
    assert "Stopped (acpioff)" in stopped
    # A backup waits for tonight's window: accepted, and its request printed.
    disk = ok(occi(tmp_path, "create", "storage", "size=0.001", endpoint=url)).strip()
    request = ok(occi(tmp_path, "action", disk, "backup", endpoint=url)).strip()
    assert request.startswith(f"{disk}/requests/")
    shown = json.loads(ok(occi(tmp_path, "show", request, "--json", endpoint=url)))
    assert shown["attributes"]["occi-twisted.request.state"] in ("queued", "scheduled")
    # An action the state does not allow: the server's sentence, status 1.
    wrong = refused(occi(tmp_path, "action", compute, "stop", endpoint=url))
    assert wrong.startswith("occi: 409 ")
    # An action the entity does not offer.
    unknown = refused(occi(tmp_path, "action", compute, "secure_erase", endpoint=url))
    assert "no action 'secure_erase'" in unknown


def test_a_failed_request_is_status_1_with_its_message(running: RunningServer,
                                                       tmp_path: Path) -> None:
    """A restore of a storage that has no backup fails: answered within the wait, the
    server's 409; followed, the request's own message."""
    url = running.url
    disk = ok(occi(tmp_path, "create", "storage", "size=0.001", endpoint=url)).strip()
    waited = refused(occi(tmp_path, "action", disk, "restore", "--wait", endpoint=url))
    assert waited.startswith("occi: 409 ") and "no backup to restore" in waited
    followed = refused(occi(tmp_path, "action", disk, "restore", "--follow", endpoint=url))
    assert followed.startswith("occi: restore failed: "), followed
    assert "no backup to restore" in followed


def test_events_of_everything_and_of_one_entity(running: RunningServer,
                                                tmp_path: Path) -> None:
    url = running.url
    compute = ok(occi(tmp_path, "create", "compute", "title=logged", endpoint=url)).strip()
    ok(occi(tmp_path, "update", compute, "cores=3", endpoint=url))
    own = ok(occi(tmp_path, "events", compute, endpoint=url)).splitlines()
    assert own[0].split() == ["UPDATED", "EVENT", "TITLE"]
    assert [line.split()[1] for line in own[1:]] == ["created", "updated"]  # oldest first
    everything = json.loads(ok(occi(tmp_path, "events", "--json", "-n", "5",
                                    endpoint=url)))
    assert 0 < len(everything) <= 5
    assert everything[0]["entity"] == compute


def test_exit_statuses(running: RunningServer, tmp_path: Path) -> None:
    url = running.url
    # Usage: 2, with argparse's or our own sentence.
    assert occi(tmp_path, endpoint=url).returncode == 2
    assert occi(tmp_path, "frobnicate", endpoint=url).returncode == 2
    assert occi(tmp_path, "create", "compute", "cores", endpoint=url).returncode == 2
    typed = refused(occi(tmp_path, "create", "compute", "cores=many", endpoint=url), 2)
    assert "occi.compute.cores takes a number" in typed
    assert refused(occi(tmp_path, "list", "compute", endpoint="ftp://x"), 2).startswith(
        "occi: the endpoint must be")
    # Refused by the server, or unknown to it: 1, one line.
    assert "knows no kind or mixin 'computer'" in refused(occi(tmp_path, "list", "computer",
                                                      endpoint=url))
    invalid = refused(occi(tmp_path, "create", "compute", "cores=0", endpoint=url))
    assert invalid.startswith("occi: 400 ")
    # Following what is no request.
    compute = ok(occi(tmp_path, "create", "compute", endpoint=url)).strip()
    assert refused(occi(tmp_path, "follow", compute, endpoint=url)).endswith(
        f"{compute} is not a request (its URL is {{entity}}/requests/ID)")
    # Nobody there: 1, saying whom it could not reach.
    down = refused(occi(tmp_path, "list", "compute", endpoint="http://127.0.0.1:9"))
    assert "cannot reach http://127.0.0.1:9/" in down


def test_help_and_version(tmp_path: Path) -> None:
    assert "export-ova" in ok(occi(tmp_path, "--help"))
    assert ok(occi(tmp_path, "--version")).startswith("occi ")
