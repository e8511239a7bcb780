"""Checking Basic credentials against the users' bcrypt hashes, off the reactor thread.

bcrypt is slow on purpose (milliseconds to a second per check, by the cost the hash was
made with), so each check runs on a thread pool, and a password that was verified a moment
ago is recognised by a keyed digest instead of being hashed again on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict
from collections.abc import Iterable

import bcrypt
from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import IUsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorFromThreads, IReactorTime
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool
from zope.interface import implementer

from .directory import UserDirectory

log = Logger()

#: What ``twisted.cred`` checkers answer: bytes, or ``()`` for its anonymous avatar.
AvatarId = bytes | tuple[()]

#: bcrypt reads at most 72 bytes of a password (the library refuses longer ones); Apache's
#: htpasswd made the hash from those 72, so that is what is checked.
_BCRYPT_LENGTH = 72


class VerificationCache:
    """Recent successful verifications, one per user name, so that a client sending the
    same Basic credentials on every request costs one hash per ``lifetime``, not one per
    request.

    Only a digest is kept: HMAC-SHA256, under a key drawn when the process starts, of the
    name, the user's bcrypt hash and the password.  Nothing kept can be turned back into
    a password or checked offline without the key; a changed hash cannot match an old
    entry; and comparing with :func:`hmac.compare_digest` keeps the time of a comparison
    from telling how much of a guess was right.  At most ``size`` entries (the least
    recently used go first), each forgotten ``lifetime`` seconds after its verification.
    """

    def __init__(self, clock: IReactorTime, size: int = 4096, lifetime: float = 600.0) -> None:
        self._clock = clock
        self._size = size
        self._lifetime = lifetime
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def digestOf(self, name: str, password: bytes, hashed: bytes) -> bytes:
        encoded = name.encode("utf-8")
        # The name's length first: no other name and password can give the same message.
        message = b"%d:%s%s%s" % (len(encoded), encoded, hashed, password)
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def holds(self, name: str, digest: bytes) -> bool:
        entry = self._entries.get(name)
        if entry is None:
            return False
        remembered, expires = entry
        if self._clock.seconds() >= expires:
            del self._entries[name]
            return False
        if not hmac.compare_digest(remembered, digest):
            return False
        self._entries.move_to_end(name)
        return True

    def remember(self, name: str, digest: bytes) -> None:
        self._entries[name] = (digest, self._clock.seconds() + self._lifetime)
        self._entries.move_to_end(name)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def forget(self, names: Iterable[str]) -> None:
        for name in names:
            self._entries.pop(name, None)


@implementer(ICredentialsChecker)
class BcryptChecker:
    """Checks a name and password against the :class:`UserDirectory`; the avatar id is
    the user name in UTF-8.

    A wrong password and an unknown name fail alike: both run one bcrypt check on the
    pool (an unknown name against the directory's dummy hash, at the users' usual cost)
    and both end in the same :class:`UnauthorizedLogin`, so neither the answer nor its
    time tells which names exist.  Concurrent checks of the same credentials share one
    bcrypt run, so a client opening many connections at once hashes once.
    """

    credentialInterfaces = (IUsernamePassword,)

    def __init__(self, directory: UserDirectory, reactor: IReactorFromThreads,
                 threadpool: ThreadPool, clock: IReactorTime, *, cacheSize: int = 4096,
                 cacheLifetime: float = 600.0) -> None:
        self.directory = directory
        self.cache = VerificationCache(clock, cacheSize, cacheLifetime)
        self._reactor = reactor
        self._threadpool = threadpool
        self._running: dict[bytes, list[Deferred[bool]]] = {}
        directory.whenChanged(self.cache.forget)

    def requestAvatarId(self, credentials: IUsernamePassword) -> Deferred[AvatarId]:
        name = _textOf(credentials.username)
        password = _bytesOf(credentials.password)[:_BCRYPT_LENGTH]
        hashed = self.directory.hashOf(name) if name is not None else None
        if name is None or hashed is None:
            checked = self._bcrypt(password, self.directory.dummyHash)
            return checked.addCallback(lambda _: _refused())
        digest = self.cache.digestOf(name, password, hashed)
        if self.cache.holds(name, digest):
            known: AvatarId = name.encode("utf-8")
            return succeed(known)
        waiting = self._running.get(digest)
        if waiting is not None:
            shared: Deferred[bool] = Deferred()
            waiting.append(shared)
            return shared.addCallback(_accepted, name)
        self._running[digest] = waiting = []

        def settled(matches: bool) -> bool:
            del self._running[digest]
            # Remembered only if the hash is still the user's: a reload while bcrypt ran
            # may have changed the password.
            if matches and self.directory.hashOf(name) == hashed:
                self.cache.remember(name, digest)
            for each in waiting:
                each.callback(matches)
            return matches

        checked = self._bcrypt(password, hashed).addCallback(settled)
        return checked.addCallback(_accepted, name)

    def _bcrypt(self, password: bytes, hashed: bytes) -> Deferred[bool]:
        checked = deferToThreadPool(self._reactor, self._threadpool, bcrypt.checkpw,
                                    password, hashed)

        def broken(failure: Failure) -> bool:
            # The directory only holds well-formed hashes; should bcrypt still object,
            # the login fails like any other, and the operator hears why.
            log.failure("A bcrypt check failed", failure)
            return False

        return checked.addErrback(broken)


def _accepted(matches: bool, name: str) -> AvatarId:
    if not matches:
        _refused()
    return name.encode("utf-8")


def _refused() -> AvatarId:
    raise UnauthorizedLogin("Unauthorized")


def _textOf(value: bytes | str) -> str | None:
    """The user name as text: RFC 7617's ``charset="UTF-8"`` challenge asks clients for
    UTF-8; a name that is not cannot be anyone's."""
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _bytesOf(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")
