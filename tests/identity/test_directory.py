"""The user directory: read at start, read again on reload, kept when a reload cannot be."""

from __future__ import annotations

from pathlib import Path

import pytest
from twisted.logger import LogLevel, globalLogPublisher

from occi_twisted.identity import UserDirectory, UsersError

from .support import htpasswd, usersFile


@pytest.fixture
def logged() -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


def test_users_and_their_principals(tmp_path: Path) -> None:
    config = tmp_path / "occi.toml"
    config.write_text("[users.alice]\nrole = 'admin'\njid = 'alice@example.org'\n")
    directory = UserDirectory(usersFile(tmp_path, alice="a", bob="b"), config)
    assert directory.names == {"alice", "bob"}
    assert directory.hashOf("alice").startswith(b"$2y$")
    assert directory.hashOf("nobody") is None
    assert directory.principalOf("alice").isAdmin
    assert directory.principalOf("nobody") is None
    assert directory.principalOfJID("Alice@Example.ORG") == directory.principalOf("alice")
    assert directory.principalOfJID("bob@example.org") is None


def test_a_malformed_file_at_start_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text("alice:$apr1$x$y\n")
    with pytest.raises(UsersError, match=r"^\S+users, line 1: alice's password is not"):
        UserDirectory(path)


def test_reload_reads_both_files_again(tmp_path: Path) -> None:
    path = usersFile(tmp_path, alice="a")
    config = tmp_path / "occi.toml"
    config.write_text("")
    directory = UserDirectory(path, config)
    changes: list[frozenset[str]] = []
    directory.whenChanged(changes.append)
    before = directory.hashOf("alice")
    htpasswd(path, "bob", "b")
    config.write_text("[users.bob]\nrole = 'admin'\n")
    assert directory.reload()
    assert directory.principalOf("bob").isAdmin
    assert directory.hashOf("alice") == before
    assert changes == [frozenset()]  # nobody's password changed
    htpasswd(path, "alice", "new")
    path.write_text("\n".join(line for line in path.read_text().splitlines()
                              if not line.startswith("bob:")))
    assert directory.reload()
    assert changes[-1] == {"alice", "bob"}  # alice's password changed, bob is gone
    assert directory.names == {"alice"}


@pytest.mark.parametrize("breakage", ["users", "config", "missing"])
def test_a_broken_reload_keeps_the_old_users(tmp_path: Path, breakage: str,
                                             logged: list[dict[str, object]]) -> None:
    path = usersFile(tmp_path, alice="a", bob="b")
    config = tmp_path / "occi.toml"
    config.write_text("[users.alice]\nrole = 'admin'\n")
    directory = UserDirectory(path, config)
    changes: list[frozenset[str]] = []
    directory.whenChanged(changes.append)
    if breakage == "users":
        path.write_text(path.read_text() + "carol:plain-text\n")
    elif breakage == "config":
        config.write_text("[users.alice]\nrole = 'boss'\n")
    else:
        path.unlink()
    assert not directory.reload()
    assert directory.names == {"alice", "bob"}
    assert directory.principalOf("alice").isAdmin
    assert changes == []
    errors = [event for event in logged if event["log_level"] is LogLevel.error]
    assert len(errors) == 1
    assert errors[0]["count"] == 2
    assert str(tmp_path) in str(errors[0]["error"])
