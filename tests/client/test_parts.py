"""The client's pure parts without a server: the progress line (on a clock the test moves),
names resolved against a query interface, values typed, the connection's sources in order,
and which command line is rOCCI-cli's."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from occi_twisted.client.categories import Categories, attributeName, typedValue
from occi_twisted.client.config import DEFAULT_ENDPOINT, connectionFrom
from occi_twisted.client.errors import ClientError, UsageError
from occi_twisted.client.progress import ProgressView, Step, duration
from occi_twisted.client.rocci import isRocci
from occi_twisted.renderings.document import CategoryRef
from occi_twisted.renderings.values import byteSize

MIB = 1 << 20
INFRA = "http://schemas.ogf.org/occi/infrastructure#"
OURS = "http://schemas.occi-twisted.org/occi/infrastructure/"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_plain_line_has_percent_pass_rate_and_time_left() -> None:
    out, clock = io.StringIO(), Clock()
    view = ProgressView(out, "secure_erase", terminal=False, clock=clock)
    view.show(Step(0.0, 0, 400 * MIB, 1, 3, "writing"))
    clock.now += 2
    view.show(Step(25.0, 100 * MIB, 400 * MIB, 2, 3, "writing"))
    clock.now += 2
    view.show(Step(75.0, 300 * MIB, 400 * MIB, 3, 3, "verifying"))
    view.show(Step(75.0, 300 * MIB, 400 * MIB, 3, 3, "verifying"))  # the same: no line
    view.finish()
    assert out.getvalue().splitlines() == [
        "secure_erase:   0.0 %  pass 1 of 3  0 B of 400.0 MiB  -- B/s  ETA --:--",
        "secure_erase:  25.0 %  pass 2 of 3  100.0 MiB of 400.0 MiB  50.0 MiB/s  ETA 0:06",
        "secure_erase:  75.0 %  pass 3 of 3  verifying  300.0 MiB of 400.0 MiB  75.0 MiB/s  "
        "ETA 0:01",
    ]


def test_the_terminal_bar_is_drawn_in_place_and_fits() -> None:
    out, clock = io.StringIO(), Clock()
    view = ProgressView(out, "down.img", terminal=True, clock=clock)
    view.show(Step(50.0, 5 * MIB, 10 * MIB))
    assert view.line(80).startswith("down.img [##########..........]  50.0 %")
    assert len(view.line(40)) <= 39
    view.suspend()
    view.resume()
    view.finish()
    assert out.getvalue().count("\r\x1b[K") == 3 and out.getvalue().endswith("\n")


def test_a_throttled_view_still_draws_the_end() -> None:
    out, clock = io.StringIO(), Clock()
    view = ProgressView(out, "f", terminal=False, interval=1.0, clock=clock)
    for done in range(1, 11):
        clock.now += 0.01
        view.show(Step(done * 10.0, done, 10))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[-1].startswith("f: 100.0 %")


def test_sizes_durations_and_steps_of_requests() -> None:
    assert (byteSize(512), byteSize(1536), byteSize(3 * MIB)) == ("512 B", "1.5 KiB", "3.0 MiB")
    assert (duration(None), duration(59.6), duration(3725)) == ("--:--", "1:00", "1:02:05")
    step = Step.fromRequest({"percent": 12.5, "pass": 1, "passes": 3, "bytes": 5,
                             "totalBytes": 40, "phase": "writing"}, 12.5)
    assert step == Step(12.5, 5, 40, 1, 3, "writing")
    assert Step.fromRequest(None, None) == Step(0.0)


def _categories() -> Categories:
    attribute = CategoryRef.Attribute
    resource = CategoryRef("http://schemas.ogf.org/occi/core#", "resource", "kind",
                           attributes=(attribute("occi.core.title"),
                                       attribute("occi.core.summary")))
    compute = CategoryRef(INFRA, "compute", "kind", location="http://h/compute/",
                          rel=(resource.identifier,),
                          attributes=(attribute("occi.compute.cores", "number"),
                                      attribute("occi.compute.state", "string")))
    network = CategoryRef(INFRA, "network", "kind", location="http://h/network/",
                          attributes=(attribute("occi.network.state", "string"),))
    osTpl = CategoryRef(INFRA, "os_tpl", "mixin", location="http://h/os_tpl/")
    debian = CategoryRef(f"{OURS}os_tpl#", "debian-12", "mixin", rel=(osTpl.identifier,))
    small = CategoryRef(f"{OURS}resource_tpl#", "small", "mixin")
    stop = CategoryRef(f"{INFRA.rstrip('#')}/compute/action#", "stop", "action",
                       attributes=(attribute("method", "string"),))
    return Categories((resource, compute, network), (osTpl, debian, small), (stop,))


def test_names_resolved_against_the_query_interface() -> None:
    categories = _categories()
    assert categories.kind("compute").term == "compute"
    assert categories.kind(f"{INFRA}network").term == "network"
    assert categories.mixin("os_tpl#debian-12").term == "debian-12"  # the mixin it depends on
    assert categories.mixin("resource_tpl#small").term == "small"  # its scheme's last word
    assert categories.mixin("small").term == "small"
    assert [ref.term for ref in categories.templatesOf("os_tpl")] == ["debian-12"]
    assert categories.kindAt("http://h/network/abc").term == "network"  # type: ignore[union-attr]
    assert categories.action("stop", [f"{INFRA.rstrip('#')}/compute/action#stop"]).term == \
        "stop"
    with pytest.raises(ClientError, match="knows no action 'stop'"):
        categories.action("stop", ["http://other#start"])
    with pytest.raises(ClientError, match="knows no kind 'computer'"):
        categories.kind("computer")
    definitions = categories.definitions([categories.kind("compute")])
    assert set(definitions) == {"occi.compute.cores", "occi.compute.state",
                                "occi.core.title", "occi.core.summary"}  # with the parent's
    assert attributeName("cores", definitions) == "occi.compute.cores"
    assert attributeName("compute.cores", definitions) == "occi.compute.cores"
    assert attributeName("title", definitions) == "occi.core.title"  # rOCCI-cli's reading
    assert attributeName("x.unknown", definitions) == "x.unknown"
    both = {**definitions, **categories.definitions([categories.kind("network")])}
    with pytest.raises(UsageError, match=r"could be any of occi\.compute\.state, "
                                         r"occi\.network\.state"):
        attributeName("state", both)


def test_values_typed_as_their_attributes_are() -> None:
    assert typedValue("2", "number", "n") == 2
    assert typedValue("2.5", "number", "n") == 2.5
    assert typedValue("2.0", "number", "n") == 2.0
    assert typedValue("yes", "boolean", "b") is True
    assert typedValue('["a", 1]', "array", "a") == ["a", 1]
    assert typedValue("2", "string", "s") == "2"
    assert typedValue("num(3)", None, "n") == 3  # rOCCI-cli's casts
    assert typedValue("float(1)", "string", "n") == 1
    assert typedValue("bool(false)", None, "b") is False
    with pytest.raises(UsageError, match="n takes a number, not 'many'"):
        typedValue("many", "number", "n")


def test_the_connection_from_options_then_environment_then_netrc(tmp_path: Path) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine cloud.example login carol password fromnetrc\n")
    netrc.chmod(0o600)
    env = {"HOME": str(tmp_path), "OCCI_ENDPOINT": "https://cloud.example:8443"}
    found = connectionFrom(None, None, None, None, env)
    assert found.endpoint == "https://cloud.example:8443/"
    assert found.credentials == ("carol", "fromnetrc")
    assert found.url("/compute/x") == "https://cloud.example:8443/compute/x"
    assert found.sameOrigin("https://cloud.example:8443/-/files/x")
    assert not found.sameOrigin("http://cloud.example:8443/")
    withEnv = connectionFrom(None, None, None, None, {**env, "OCCI_USER": "dave",
                                                      "OCCI_PASSWORD": "fromenv"})
    assert withEnv.credentials == ("dave", "fromenv")
    assert connectionFrom(None, "carol", "given", None, env).credentials == ("carol", "given")
    assert connectionFrom(None, None, None, None, env, anonymous=True).credentials is None
    assert connectionFrom(None, None, None, None, {"HOME": str(tmp_path / "none")}) \
        .endpoint == DEFAULT_ENDPOINT


def test_which_command_lines_are_roccis() -> None:
    assert isRocci(["--endpoint", "http://x", "--action", "list", "--resource", "compute"])
    assert isRocci(["-a", "list", "-r", "compute"])
    assert isRocci(["--action=list"])
    assert isRocci(["-m"])
    assert not isRocci(["action", "/compute/1", "start"])
    assert not isRocci(["list", "compute", "-e", "http://x"])


def test_every_subcommand_and_option_is_in_the_docs() -> None:
    """docs/client.rst names every subcommand and flag the two parsers take."""
    from occi_twisted.client import arguments, rocci

    docs = (Path(__file__).resolve().parents[2] / "docs" / "client.rst").read_text()
    top = arguments.parser()
    flags = {flag for action in top._actions for flag in action.option_strings}
    commands = top._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, sub in commands.items():
        assert f"``{name}" in docs, name
        flags |= {flag for action in sub._actions for flag in action.option_strings}
    flags |= {flag for action in rocci.parser()._actions for flag in action.option_strings}
    missing = sorted(flag for flag in flags - {"-h", "--help", "--version", "-v"}
                     if f"``{flag}``" not in docs and f"``{flag} " not in docs)
    assert not missing, f"flags missing from docs/client.rst: {missing}"
