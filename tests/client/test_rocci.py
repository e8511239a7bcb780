"""rOCCI-cli's command lines, as its users' scripts type them, against a real ``twistd -n
occi`` with users.

The forms come from rOCCI-cli's own documentation (github.com/gwdg/rOCCI-cli):
``README.md`` ("To list available resources use ..." and the sections after it),
``doc/occi.1`` (the manual page: OPTIONS, and EXAMPLES' "Quick reference guide", "Creating
resources", "Linking/unlinking resources", "Triggering actions on resources",
"Authentication", "Output formats", "Attribute values (type-casting)") and
``lib/occi/cli/occi_opts/cli_examples.erb`` (``occi --examples``); the short flags from
``lib/occi/cli/occi_opts.rb``.  Only the endpoint, the ids and the template names
(``debian-12`` where rOCCI-cli's examples have ``debian6``) are this server's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import RunningServer
from ..identity.support import usersFile
from .support import INFRA, occi, ok, refused

ALICE = ("--auth", "basic", "--username", "alice", "--password", "wonderland")
BOB = ("-n", "basic", "-u", "bob", "-p", "builder")


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    home = tmp_path_factory.mktemp("rocci")
    server = RunningServer(home / "occi-data", "--users",
                           str(usersFile(home, alice="wonderland", bob="builder"))).start()
    yield server
    server.stop()


def _rocci(home: Path, server: RunningServer, *args: str) -> str:
    return ok(occi(home, "--endpoint", f"{server.url}/", *args))


def test_list_and_describe_as_the_readme_writes_them(users: RunningServer,
                                                     tmp_path: Path) -> None:
    made = _rocci(tmp_path, users, "--action", "create", "--resource", "compute",
                  "--mixin", "os_tpl#debian-12", "--mixin", "resource_tpl#small",
                  "--attributes", "title=My rOCCI VM", *ALICE).strip()
    assert made.startswith(f"{users.url}/compute/")
    # list: the locations, one a line (rOCCI-cli's plain output).
    listed = _rocci(tmp_path, users, "--action", "list", "--resource", "compute", *ALICE)
    assert made in listed.splitlines()
    for kind in ("storage", "network"):
        _rocci(tmp_path, users, "--action", "list", "--resource", kind, *ALICE)
    # The templates: their identifiers.
    templates = _rocci(tmp_path, users, "--action", "list", "--resource", "os_tpl",
                       *ALICE).split()
    assert "http://schemas.occi-twisted.org/occi/infrastructure/os_tpl#debian-12" in templates
    sizes = _rocci(tmp_path, users, "--action", "list", "--resource", "resource_tpl", *ALICE)
    assert "resource_tpl#small" in sizes
    # describe: one template, one compute, every compute.
    template = _rocci(tmp_path, users, "--action", "describe", "--resource",
                      "os_tpl#debian-12", *ALICE)
    assert "Debian GNU/Linux 12" in template
    path = made[len(users.url):]
    described = _rocci(tmp_path, users, "--action", "describe", "--resource", path, *ALICE)
    assert "My rOCCI VM" in described and "os_tpl#debian-12" in described
    assert "occi.compute.cores" in described  # from resource_tpl#small
    every = _rocci(tmp_path, users, "--action", "describe", "--resource", "compute", *ALICE)
    assert path in every


def test_the_manual_pages_forms(users: RunningServer, tmp_path: Path) -> None:
    # Creating resources: [ --attribute attribute_name='attribute_value' ]+ with type casts.
    made = _rocci(tmp_path, users, "--action", "create", "--attribute",
                  "occi.core.title=cast", "--attribute", "occi.compute.cores=num(2)",
                  "--attribute", "occi.compute.memory=float(1.5)", "--resource", "compute",
                  *ALICE).strip()
    entity = json.loads(_rocci(tmp_path, users, "--action", "describe", "--resource", made,
                               "--output-format", "json", *ALICE))
    assert entity["attributes"]["occi.compute.cores"] == 2
    assert entity["attributes"]["occi.compute.memory"] == 1.5
    assert entity["title"] == "cast"
    # Triggering actions: by term, and by scheme#term, with an attribute.
    started = _rocci(tmp_path, users, "--action", "trigger", "--trigger-action", "start",
                     "--resource", made, *ALICE)
    assert "active" in started
    stopped = _rocci(tmp_path, users, "--action", "trigger", "--trigger-action",
                     f"{INFRA.rstrip('#')}/compute/action#stop", "--attribute",
                     "method=acpioff", "--resource", made, *ALICE)
    assert "Stopped (acpioff)" in stopped
    # Linking/unlinking resources.
    network = _rocci(tmp_path, users, "--action", "create", "--resource", "network",
                     "--attribute", "title=lan", *ALICE).strip()
    link = _rocci(tmp_path, users, "--action", "link", "--resource", made[len(users.url):],
                  "--link", network[len(users.url):], *ALICE).strip()
    assert link.startswith(f"{users.url}/networkinterface/")
    linked = json.loads(_rocci(tmp_path, users, "-a", "describe", "-r", made, "-o", "json",
                               *ALICE))
    assert [each["target"]["location"] for each in linked["links"]] == [network]
    plain = _rocci(tmp_path, users, "-a", "describe", "-r", made, *ALICE)
    assert f"{network} (networkinterface)" in plain
    _rocci(tmp_path, users, "--action", "unlink", "--resource", link, *ALICE)
    # Deleting resources.
    _rocci(tmp_path, users, "--action", "delete", "--resource", made, *ALICE)
    gone = refused(occi(tmp_path, "--endpoint", users.url, "--action", "describe",
                        "--resource", made, *ALICE))
    assert gone.startswith("occi: 404 ")


def test_short_flags_output_formats_and_the_model(users: RunningServer,
                                                  tmp_path: Path) -> None:
    # -e -a -r -M -t -n -u -p -o, comma-separated lists as rOCCI-cli's OptionParser reads.
    made = json.loads(_rocci(tmp_path, users, "-a", "create", "-r", "compute",
                             "-M", "resource_tpl#medium,os_tpl#alpine-3.20",
                             "-t", "title=short,occi.compute.hostname=alpine", "-o", "json",
                             *BOB))
    assert made["location"].startswith(f"{users.url}/compute/")
    mixins = made["entity"]["mixins"]
    assert any(m.endswith("#medium") for m in mixins) and \
        any(m.endswith("#alpine-3.20") for m in mixins)
    assert made["entity"]["attributes"]["occi.compute.hostname"] == "alpine"
    for form in ("json", "json_pretty", "json_extended", "json_extended_pretty"):
        listed = json.loads(_rocci(tmp_path, users, "-a", "list", "-r", "compute", "-o",
                                   form, *BOB))
        assert listed == [made["location"]]
    # Tenancy holds: alice sees none of bob's.
    assert made["location"] not in _rocci(tmp_path, users, "-a", "list", "-r", "compute",
                                          *ALICE)
    model = _rocci(tmp_path, users, "--dump-model", *BOB)
    assert f"{INFRA}compute" in model and "secure_erase" in model
    # The media type is accepted (this client always speaks JSON).
    _rocci(tmp_path, users, "-a", "list", "-r", "network", "-y", "text/plain,text/occi", *BOB)
    # Delete every compute of a kind: bob's only.
    _rocci(tmp_path, users, "--action", "delete", "--resource", "compute", *BOB)
    assert _rocci(tmp_path, users, "-a", "list", "-r", "compute", *BOB) == ""


def test_authentication_and_usage(users: RunningServer, tmp_path: Path) -> None:
    url = users.url
    anonymous = refused(occi(tmp_path, "--endpoint", url, "--action", "list", "--resource",
                             "compute", "--auth", "none"))
    assert anonymous.startswith("occi: 401 ")
    wrong = refused(occi(tmp_path, "-e", url, "-a", "list", "-r", "compute", "-n", "basic",
                         "-u", "alice", "-p", "queen-of-hearts"))
    assert wrong.startswith("occi: 401 ")
    x509 = refused(occi(tmp_path, "-e", url, "-a", "list", "-r", "compute", "--auth", "x509"),
                   2)
    assert "--auth x509 is not supported" in x509
    assert occi(tmp_path, "-e", url, "-a", "list").returncode == 2  # no --resource
    assert occi(tmp_path, "-e", url, "-a", "trigger", "-r", "/compute/x").returncode == 2
    assert occi(tmp_path, "-e", url, "-a", "launch", "-r", "compute").returncode == 2
    # The password from the environment, as with the subcommands.
    assert ok(occi(tmp_path, "-e", url, "-a", "list", "-r", "compute", "-n", "basic",
                   OCCI_USER="alice", OCCI_PASSWORD="wonderland")) is not None
