"""The users files: htpasswd lines as Apache's tool writes them, and ``[users.NAME]`` tables."""

from __future__ import annotations

import string
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import bcrypt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from occi_twisted.identity import ADMIN, USER, Principal, Quota, UsersError
from occi_twisted.identity.users import dummyHash, parseHtpasswd, parseUserSettings, readUsers

from .support import htpasswd, usersFile

T = TypeVar("T")
U = TypeVar("U")
HASH = b"$2y$05$" + b"a" * 21 + b"O" + b"b" * 31


def test_htpasswd_writes_what_is_read(tmp_path: Path) -> None:
    path = usersFile(tmp_path, alice="wonder land", bob="s3cret:colon")
    hashes = parseHtpasswd(path.read_bytes(), str(path))
    assert sorted(hashes) == ["alice", "bob"]
    assert hashes["alice"].startswith(b"$2y$05$")
    assert bcrypt.checkpw(b"wonder land", hashes["alice"])
    assert bcrypt.checkpw(b"s3cret:colon", hashes["bob"])


def test_comments_blank_lines_and_crlf_are_skipped() -> None:
    data = b"# the operators\r\n\r\nalice:" + HASH + b"\r\n   \n#bob:" + HASH + b"\n"
    assert parseHtpasswd(data, "users") == {"alice": HASH}


@pytest.mark.parametrize(("line", "complaint"), [
    (b"alice", "line 2: not NAME:HASH"),
    (b"alice:$apr1$abc$defghijklmnopqrstuvwxy", "line 2: alice's password is not a bcrypt hash"),
    (b"alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "line 2: alice's password is not a bcrypt hash"),
    (b"alice:" + HASH[:-1], "line 2: alice's password is not a bcrypt hash"),
    (b"alice:" + HASH[:28] + b"A" + HASH[29:], "line 2: alice's password is not a bcrypt hash"),
    (b"a/b:" + HASH, "line 2: user name 'a/b' is not 1-64 letters"),
    (b":" + HASH, "line 2: user name '' is not"),
    (b"\xff\xfe:" + HASH, "line 2: the user name is not UTF-8"),
    (b"zed:" + HASH, "line 2: zed is named twice"),
])
def test_a_bad_line_is_one_line_naming_file_and_line(line: bytes, complaint: str) -> None:
    with pytest.raises(UsersError) as raised:
        parseHtpasswd(b"zed:" + HASH + b"\n" + line + b"\n", "/etc/occi/users")
    message = str(raised.value)
    assert message.startswith("/etc/occi/users, ")
    assert complaint in message
    assert "\n" not in message


def test_settings_give_role_jid_and_quota() -> None:
    table = tomllib.loads("""
        [users.alice]
        role = "admin"
        jid = "Alice@Example.org"
        [users.bob.quota]
        cores = 8
        memory = 15.5
        storage = 100
        entities = 20
        requests = 4
    """)["users"]
    principals = parseUserSettings(table, "occi.toml")
    assert principals["alice"] == Principal(name="alice", role=ADMIN, jid="alice@example.org")
    assert principals["alice"].isAdmin
    assert principals["bob"] == Principal(
        name="bob", role=USER,
        quota=Quota(cores=8, memory=15.5, storage=100, entities=20, requests=4))
    assert not principals["bob"].isAdmin


@pytest.mark.parametrize(("toml", "complaint"), [
    ("users = 3", "occi.toml: [users] must be a table"),
    ("[users]\nalice = 1", "[users.alice] must be a table"),
    ("[users.alice]\nrole = 'root'", "[users.alice] role must be admin or user, not 'root'"),
    ("[users.alice]\npassword = 'x'", "[users.alice] has unknown setting(s): 'password'"),
    ("[users.alice]\njid = 'alice'", "[users.alice] jid must be a bare JID"),
    ("[users.alice]\njid = 'a@b/c'", "[users.alice] jid must be a bare JID"),
    ("[users.alice]\njid = 'a@b'\n[users.bob]\njid = 'A@B'", "[users.bob] jid a@b is also alice's"),
    ("[users.alice]\nquota = 3", "[users.alice.quota] must be a table"),
    ("[users.alice.quota]\ncpus = 3", "[users.alice.quota] has unknown limit(s): cpus"),
    ("[users.alice.quota]\ncores = 1.5", "[users.alice.quota] cores must be a whole number"),
    ("[users.alice.quota]\ncores = -1", "cores must be a whole number, at least 0, not -1"),
    ("[users.alice.quota]\nentities = true", "entities must be a whole number"),
    ("[users.alice.quota]\nstorage = 'lots'", "storage must be a number of GiB"),
    ("[users.alice.quota]\nmemory = inf", "memory must be a number of GiB"),
    ("[users.'a b']\nrole = 'user'", "[users.'a b']: a user name is 1-64"),
    ("[users.\"a\\nb\"]\nrole = 'user'", "[users.'a\\nb']: a user name"),
])
def test_bad_settings_are_one_line_naming_the_table(toml: str, complaint: str) -> None:
    with pytest.raises(UsersError) as raised:
        parseUserSettings(tomllib.loads(toml).get("users"), "occi.toml")
    assert complaint in str(raised.value)
    assert str(raised.value).startswith("occi.toml: ")
    assert "\n" not in str(raised.value)


def test_users_join_both_files(tmp_path: Path) -> None:
    path = usersFile(tmp_path, alice="a", carol="c")
    config = tmp_path / "occi.toml"
    config.write_text("listen = ['tcp:8080']\n[users.alice]\nrole = 'admin'\n"
                      "[users.gone]\nrole = 'admin'\n")
    users = readUsers(path, config)
    assert users["alice"].principal.isAdmin
    # No table: an ordinary user without limits.
    assert users["carol"].principal == Principal(name="carol")
    # A table for a name the htpasswd file no longer holds is no user (htpasswd -D works).
    assert "gone" not in users


def test_unreadable_files_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(UsersError, match=r"cannot read the users file .*missing: No such"):
        readUsers(tmp_path / "missing", None)
    path = usersFile(tmp_path, alice="a")
    broken = tmp_path / "occi.toml"
    broken.write_text("[users.alice\n")
    with pytest.raises(UsersError, match=r"occi.toml is not valid TOML: .*line 1"):
        readUsers(path, broken)


def test_the_dummy_hash_has_the_users_usual_cost(tmp_path: Path) -> None:
    path = usersFile(tmp_path, alice="a", bob="b")
    htpasswd(path, "carol", "c", cost=6)
    hashes = parseHtpasswd(path.read_bytes(), "users").values()
    dummy = dummyHash(hashes)
    assert dummy.startswith(b"$2b$05$")
    assert not bcrypt.checkpw(b"a", dummy)
    assert dummyHash([b"$2y$04$" + HASH[7:]] * 2 + [HASH]).startswith(b"$2b$04$")
    assert dummyHash([]).startswith(b"$2b$05$")  # htpasswd -B's own default
    assert dummy != dummyHash(hashes)  # random: no password can be made to match it


# Properties: whatever the files hold, the parsers answer users or a one-line UsersError.


def parsedOrRefused(parse: Callable[[T, str], dict[str, U]], given: T) -> dict[str, U]:
    """What ``parse`` makes of ``given``; nothing when it refuses it in one line."""
    try:
        return parse(given, "source")
    except UsersError as error:
        assert "\n" not in str(error)
        return {}

_names = st.text(string.ascii_letters + string.digits + "._@+-", min_size=1, max_size=64)


# No deadline: the machine is shared, and a slow example is no wrong answer.
@settings(deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_give_users_or_a_users_error(data: bytes) -> None:
    hashes = parsedOrRefused(parseHtpasswd, data)
    assert all(name and ":" not in name for name in hashes)


@settings(deadline=None)
@given(st.dictionaries(_names, st.sampled_from([HASH, HASH.replace(b"$2y$", b"$2b$")]),
                       max_size=5),
       st.sampled_from([b"\n", b"\r\n"]))
def test_written_lines_read_back(users: dict[str, bytes], newline: bytes) -> None:
    data = newline.join(name.encode() + b":" + hashed for name, hashed in users.items())
    assert parseHtpasswd(data, "users") == users


_toml = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["role", "jid", "quota", "cores", "memory", "x"])
                      | st.text(max_size=5), children, max_size=4),
    max_leaves=12)


@settings(deadline=None)
@given(st.dictionaries(_names | st.text(max_size=8), _toml, max_size=4) | _toml)
def test_any_settings_give_principals_or_a_users_error(table: object) -> None:
    principals = parsedOrRefused(parseUserSettings, table)
    assert all(principal.name == name and principal.role in ("admin", "user")
               for name, principal in principals.items())
