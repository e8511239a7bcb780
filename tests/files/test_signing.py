"""Signed URLs: what a signature covers, expiry, key rotation and the keys file."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from occi_twisted.files.signing import (
    KEY,
    MAX_BYTES,
    OWNER,
    SIGNATURE,
    VALIDITY,
    BadSignature,
    KeyRing,
    KeysError,
)


class Now:
    def __init__(self, when: float = 1_800_000_000.0) -> None:
        self.when = when

    def __call__(self) -> float:
        return self.when


def ring(tmp_path: Path, now: Now) -> KeyRing:
    return KeyRing.inData(tmp_path, now)


def split(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    return parts.path, dict(parse_qsl(parts.query))


def test_a_signed_url_verifies_with_its_claims(tmp_path: Path) -> None:
    now = Now()
    keys = ring(tmp_path, now)
    path, query = split(keys.sign("GET", "/-/files/storage/s1", {OWNER: "alice"}))
    signed = keys.verify("GET", path, query)
    assert signed.claims == {OWNER: "alice"}
    assert signed.expires == int(now.when + VALIDITY)
    assert keys.verify("HEAD", path, query).method == "GET"  # HEAD goes where GET may


def test_the_keys_file_is_private_and_refused_when_others_may_read_it(tmp_path: Path) -> None:
    keys = ring(tmp_path, Now())
    assert stat.S_IMODE(keys.path.stat().st_mode) == 0o600
    os.chmod(keys.path, 0o644)
    with pytest.raises(KeysError, match="chmod 600"):
        ring(tmp_path, Now())


def test_a_damaged_keys_file_is_one_line(tmp_path: Path) -> None:
    keys = ring(tmp_path, Now())
    keys.path.write_text("nonsense\n")
    with pytest.raises(KeysError, match="damaged"):
        ring(tmp_path, Now())


def test_another_method_path_or_claim_does_not_verify(tmp_path: Path) -> None:
    keys = ring(tmp_path, Now())
    path, query = split(keys.sign("PUT", "/-/files/storage/s1", {OWNER: "a", MAX_BYTES: "10"}))
    keys.verify("PUT", path, query)
    for method, where, changed in [
        ("GET", path, query),
        ("PUT", "/-/files/storage/s2", query),
        ("PUT", path, {**query, MAX_BYTES: "11"}),
        ("PUT", path, {**query, OWNER: "b"}),
        ("PUT", path, {k: v for k, v in query.items() if k != OWNER}),
        ("PUT", path, {**query, "extra": "1"}),
    ]:
        with pytest.raises(BadSignature):
            keys.verify(method, where, changed)


def test_an_expired_url_is_refused(tmp_path: Path) -> None:
    now = Now()
    keys = ring(tmp_path, now)
    path, query = split(keys.sign("GET", "/f", validity=10))
    now.when += 10
    with pytest.raises(BadSignature, match="expired"):
        keys.verify("GET", path, query)


def test_a_rotated_key_verifies_until_its_urls_expire_then_is_forgotten(
        tmp_path: Path) -> None:
    now = Now()
    keys = ring(tmp_path, now)
    path, old = split(keys.sign("GET", "/f"))
    now.when += 100
    new = keys.rotate()
    _, fresh = split(keys.sign("GET", "/f"))
    assert fresh[KEY] == new.keyId != old[KEY]
    keys.verify("GET", path, old)  # still valid: signed before the rotation
    # Another node sharing --data reads the rotated file and knows both keys.
    other = KeyRing.inData(tmp_path, now)
    other.verify("GET", path, old)
    other.verify("GET", path, fresh)
    now.when += VALIDITY
    keys.rotate()  # the first key has signed nothing still valid: gone from the file
    assert old[KEY] not in keys.path.read_text()


def test_a_node_reads_the_keys_again_when_another_node_rotated(tmp_path: Path) -> None:
    now = Now()
    first, second = ring(tmp_path, now), ring(tmp_path, now)
    first.rotate()
    path, query = split(first.sign("GET", "/f"))
    with pytest.raises(BadSignature):
        second.verify("GET", path, query)  # read a moment ago: not again at once
    now.when += 5
    second.verify("GET", path, query)


def test_keys_rotate_when_their_lifetime_is_over(tmp_path: Path) -> None:
    now = Now()
    keys = KeyRing.inData(tmp_path, now, lifetime=3600)
    assert not keys.dueForRotation()
    now.when += 3600
    assert keys.dueForRotation()


@given(st.dictionaries(st.sampled_from([OWNER, MAX_BYTES, "expires", KEY, SIGNATURE, "x"]),
                       st.text(max_size=40)),
       st.sampled_from(["GET", "PUT", "HEAD", "DELETE"]), st.text(max_size=40))
def test_arbitrary_queries_only_ever_fail_as_bad_signatures(
        query: dict[str, str], method: str, path: str) -> None:
    keys = KEYS
    try:
        keys.verify(method, path, query)
    except BadSignature:
        return
    raise AssertionError("an arbitrary query verified")


@given(st.integers(min_value=0, max_value=400), st.characters(codec="utf-8"))
def test_changing_any_character_of_a_signed_url_breaks_it(position: int, char: str) -> None:
    url = KEYS.sign("GET", "/-/files/storage/abc", {OWNER: "alice"})
    position %= len(url)
    if url[position] == char:
        return
    tampered = url[:position] + char + url[position + 1:]
    path, query = split(tampered)
    if (path, query) == split(url):
        return  # an edit the URL syntax ignores (e.g. in a separator's place)
    with pytest.raises(BadSignature):
        KEYS.verify("GET", path, query)


def _module_ring() -> KeyRing:
    import tempfile

    return KeyRing.inData(Path(tempfile.mkdtemp()), Now())


KEYS = _module_ring()


def test_an_operator_rotates_with_one_command_and_a_server_takes_the_new_key(
        tmp_path: Path) -> None:
    import subprocess
    import sys

    now = Now(time.time())
    server = KeyRing.inData(tmp_path, now)
    _, before = split(server.sign("GET", "/f"))
    done = subprocess.run([sys.executable, "-m", "occi_twisted.files.signing", "rotate",
                           str(tmp_path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "signs from now" in done.stdout, done.stderr
    assert server.refresh() is None  # read again: the operator's key is new, not due
    path, after = split(server.sign("GET", "/f"))
    assert after[KEY] != before[KEY]
    server.verify("GET", path, before)  # the old key verifies what it signed
    usage = subprocess.run([sys.executable, "-m", "occi_twisted.files.signing"],
                           capture_output=True, text=True, check=False)
    assert usage.returncode == 2 and usage.stderr.startswith("usage:")
