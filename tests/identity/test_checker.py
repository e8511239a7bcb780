"""Checking passwords: bcrypt on a pool, never on the reactor thread; a keyed cache of what
was verified; an unknown name costs one bcrypt check like a wrong password."""

from __future__ import annotations

from pathlib import Path

import bcrypt
import pytest
import pytest_twisted
from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from occi_twisted.identity import BcryptChecker, UserDirectory, VerificationCache
from tests.scheduler.support import result

from .support import HeldPool, ImmediateReactor, htpasswd, usersFile


class Harness:
    """A checker over a real htpasswd file, a held pool and a Clock."""

    def __init__(self, tmp_path: Path, **cache: float) -> None:
        self.path = usersFile(tmp_path, alice="wonderland", bob="builder")
        self.directory = UserDirectory(self.path)
        self.pool = HeldPool()
        self.clock = Clock()
        self.checker = BcryptChecker(self.directory, ImmediateReactor(), self.pool, self.clock,
                                     **cache)

    def check(self, name: bytes, password: bytes) -> bytes | Failure:
        checking = self.checker.requestAvatarId(UsernamePassword(name, password))
        self.pool.runAll()
        outcomes: list[bytes | Failure] = []
        checking.addBoth(outcomes.append)
        assert outcomes, "the check did not finish once the pool ran"
        return outcomes[0]


def refused(outcome: bytes | Failure) -> bool:
    return isinstance(outcome, Failure) and outcome.check(UnauthorizedLogin) is not None


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


def test_bcrypt_runs_on_the_pool_not_the_reactor(harness: Harness) -> None:
    checking = harness.checker.requestAvatarId(UsernamePassword(b"alice", b"wonderland"))
    assert not checking.called
    assert harness.pool.calls == [(bcrypt.checkpw,
                                   (b"wonderland", harness.directory.hashOf("alice")))]
    harness.pool.runAll()
    assert result(checking) == b"alice"


def test_wrong_password_and_unknown_name_fail_alike(harness: Harness) -> None:
    wrong = harness.check(b"alice", b"wonderlan")
    unknown = harness.check(b"mallory", b"wonderland")
    undecodable = harness.check(b"\xff", b"wonderland")
    for outcome in (wrong, unknown, undecodable):
        assert refused(outcome)
        assert outcome.getErrorMessage() == "Unauthorized"
    # The same work for each: one bcrypt check, the unknown names against the dummy hash
    # (at the users' cost), so the time of a refusal does not tell which names exist.
    assert harness.pool.calls == [
        (bcrypt.checkpw, (b"wonderlan", harness.directory.hashOf("alice"))),
        (bcrypt.checkpw, (b"wonderland", harness.directory.dummyHash)),
        (bcrypt.checkpw, (b"wonderland", harness.directory.dummyHash)),
    ]
    assert harness.directory.dummyHash[3:7] == harness.directory.hashOf("alice")[3:7] == b"$05$"
    assert len(harness.checker.cache) == 0


def test_a_verified_password_is_not_hashed_again(harness: Harness) -> None:
    assert harness.check(b"alice", b"wonderland") == b"alice"
    assert len(harness.pool.calls) == 1
    assert harness.check(b"alice", b"wonderland") == b"alice"
    assert len(harness.pool.calls) == 1  # a hit: answered on the reactor thread
    # Another password for the same name is a miss, checked (and refused) by bcrypt.
    assert refused(harness.check(b"alice", b"wonderland!"))
    assert len(harness.pool.calls) == 2
    assert harness.check(b"alice", b"wonderland") == b"alice"
    assert len(harness.pool.calls) == 2


def test_verifications_expire(tmp_path: Path) -> None:
    harness = Harness(tmp_path, cacheLifetime=60.0)
    harness.check(b"alice", b"wonderland")
    harness.clock.advance(59.9)
    harness.check(b"alice", b"wonderland")
    assert len(harness.pool.calls) == 1
    harness.clock.advance(0.1)
    assert harness.check(b"alice", b"wonderland") == b"alice"
    assert len(harness.pool.calls) == 2


def test_the_cache_keeps_the_most_recently_used(tmp_path: Path) -> None:
    harness = Harness(tmp_path, cacheSize=1)
    harness.check(b"alice", b"wonderland")
    harness.check(b"bob", b"builder")
    assert len(harness.checker.cache) == 1
    harness.check(b"bob", b"builder")
    assert len(harness.pool.calls) == 2  # bob is the one kept
    harness.check(b"alice", b"wonderland")
    assert len(harness.pool.calls) == 3


def test_the_cache_is_bounded_and_least_recently_used_goes() -> None:
    cache = VerificationCache(Clock(), size=3)
    digests = {name: cache.digestOf(name, b"pw", b"hash") for name in "abcd"}
    for name in "abc":
        cache.remember(name, digests[name])
    assert cache.holds("a", digests["a"])  # a is now the most recent
    cache.remember("d", digests["d"])
    assert len(cache) == 3
    assert not cache.holds("b", digests["b"])
    assert all(cache.holds(name, digests[name]) for name in "acd")


def test_digests_are_keyed_per_process_and_per_hash() -> None:
    one, other = VerificationCache(Clock()), VerificationCache(Clock())
    digest = one.digestOf("alice", b"pw", b"hash")
    assert len(digest) == 32
    assert digest != other.digestOf("alice", b"pw", b"hash")
    assert digest != one.digestOf("alice", b"pw", b"other hash")
    # The name's length is part of the message: moving bytes across the boundary differs.
    assert one.digestOf("ab", b"c", b"") != one.digestOf("a", b"bc", b"")


def test_a_reload_forgets_changed_passwords(harness: Harness) -> None:
    harness.check(b"alice", b"wonderland")
    harness.check(b"bob", b"builder")
    htpasswd(harness.path, "alice", "looking-glass")
    assert harness.directory.reload()
    assert len(harness.checker.cache) == 1  # bob's stays
    assert refused(harness.check(b"alice", b"wonderland"))
    assert harness.check(b"alice", b"looking-glass") == b"alice"
    calls = len(harness.pool.calls)
    assert harness.check(b"bob", b"builder") == b"bob"
    assert len(harness.pool.calls) == calls


def test_a_password_changed_while_bcrypt_ran_is_not_remembered(harness: Harness) -> None:
    checking = harness.checker.requestAvatarId(UsernamePassword(b"alice", b"wonderland"))
    htpasswd(harness.path, "alice", "looking-glass")
    harness.directory.reload()
    harness.pool.runAll()
    assert result(checking) == b"alice"  # it was right when it was asked
    assert len(harness.checker.cache) == 0


def test_concurrent_checks_of_the_same_credentials_share_one_bcrypt(harness: Harness) -> None:
    checks = [harness.checker.requestAvatarId(UsernamePassword(b"alice", password))
              for password in (b"wonderland", b"wonderland", b"nope", b"wonderland")]
    assert len(harness.pool.calls) == 2
    harness.pool.runAll()
    outcomes: list[bytes | Failure] = []
    for checking in checks:
        checking.addBoth(outcomes.append)
    assert outcomes[0] == outcomes[1] == outcomes[3] == b"alice"
    assert refused(outcomes[2])


def test_long_passwords_are_checked_on_their_first_72_bytes(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    htpasswd(harness.path, "carol", "x" * 80)
    harness.directory.reload()
    assert harness.check(b"carol", b"x" * 80) == b"carol"
    assert harness.pool.calls[-1][1][0] == b"x" * 72


def test_text_credentials_are_taken_as_utf8(harness: Harness) -> None:
    htpasswd(harness.path, "dora", "çà et là")
    harness.directory.reload()
    assert harness.check("dora", "çà et là") == b"dora"


@pytest_twisted.ensureDeferred
async def test_through_a_real_thread_pool(tmp_path: Path) -> None:
    from twisted.internet import reactor

    directory = UserDirectory(usersFile(tmp_path, alice="wonderland"))
    pool = ThreadPool(minthreads=1, maxthreads=2, name="bcrypt-test")
    pool.start()
    try:
        checker = BcryptChecker(directory, reactor, pool, reactor)
        assert await checker.requestAvatarId(UsernamePassword(b"alice", b"wonderland")) \
            == b"alice"
        for name, password in ((b"alice", b"nope"), (b"nobody", b"wonderland")):
            with pytest.raises(UnauthorizedLogin):
                await checker.requestAvatarId(UsernamePassword(name, password))
        assert len(checker.cache) == 1
    finally:
        pool.stop()
