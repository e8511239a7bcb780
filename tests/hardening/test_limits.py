"""The listener's limits as settings: command line over TOML, defaults, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from occi_twisted.http.limits import Limits, MiB
from occi_twisted.tap import Options


def _settings(*args: str) -> Limits:
    options = Options()
    options.parseOptions(list(args))
    return options.settings.limits


def test_defaults() -> None:
    limits = _settings()
    assert limits == Limits()
    assert (limits.maxBody, limits.headerTimeout, limits.idleTimeout) == (MiB, 10.0, 60.0)
    assert limits.connectionsPerAddress == 2048 and limits.fdHeadroom is None


@pytest.mark.parametrize(("given", "bytes_"), [
    ("1048576", MiB), ("512K", 512 * 1024), ("2M", 2 * MiB), ("1 GiB", 1024 * MiB),
    ("3mb", 3 * MiB), ("10", 10),
])
def test_body_sizes(given: str, bytes_: int) -> None:
    assert _settings("--max-body", given).maxBody == bytes_


def test_the_command_line_wins_over_the_file(tmp_path: Path) -> None:
    config = tmp_path / "occi.toml"
    config.write_text('max-body = "4M"\nheader-timeout = 2\nconnections-per-address = 0\n'
                      'fd-headroom = 500\nidle-timeout = 30.5\n')
    limits = _settings("--config", str(config), "--header-timeout", "3")
    assert limits == Limits(maxBody=4 * MiB, headerTimeout=3.0, idleTimeout=30.5,
                            connectionsPerAddress=0, fdHeadroom=500)


@pytest.mark.parametrize(("args", "says"), [
    (["--max-body", "lots"], "--max-body must be a number of bytes"),
    (["--max-body", "0"], "--max-body must be at least one byte"),
    (["--max-body", "1T"], "--max-body must be a number of bytes"),
    (["--header-timeout", "0"], "--header-timeout must be a number of seconds"),
    (["--header-timeout", "nan"], "--header-timeout must be a number of seconds"),
    (["--idle-timeout", "-5"], "--idle-timeout must be a number of seconds"),
    (["--connections-per-address", "\u00b2"], "--connections-per-address must be a whole"),
    (["--fd-headroom", "1e3"], "--fd-headroom must be a whole number"),
])
def test_unusable_limits_are_one_line(args: list[str], says: str) -> None:
    with pytest.raises(SystemExit) as exited:
        Options().parseOptions(args)
    message = str(exited.value)
    assert message.startswith("twistd occi: ") and says in message and "\n" not in message


def test_a_limit_of_the_wrong_type_in_the_file(tmp_path: Path) -> None:
    config = tmp_path / "occi.toml"
    config.write_text("header-timeout = true\n")
    with pytest.raises(SystemExit, match="--header-timeout must be"):
        Options().parseOptions(["--config", str(config)])
