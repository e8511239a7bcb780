"""Signed URLs: a large representation handed to a client without its credentials.

A signed URL names one method on one path until one moment, with claims the server checks
when it is used (who owned the storage when it was signed; how many bytes an upload may
send).  Its signature is HMAC-SHA256 over all of them and the id of the key that signed, so
that keys can be rotated: the newest key signs, and a retired key still verifies until every
URL it signed has expired, then it is forgotten.

The keys live in one file (``<data>/keys/url-signing``, mode 0600: whoever reads it can sign
anything), one line each: ``id secret created retired``.  Nodes that share ``--data`` share
the keys; a node that meets a key id it does not know reads the file again, in case another
node rotated.  Everything here that touches the file blocks: it runs at start-up and at a
rotation, a few times a day, not per request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import stat
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlencode

from ..drivers.storage.files import ensureDirectory, fsyncDirectory

#: How long a signed URL works by default.
VALIDITY = 600.0
#: How long a key signs before a new one takes over.
KEY_LIFETIME = 86_400.0
#: Query arguments a signed URL carries, besides its claims.
EXPIRES, KEY, SIGNATURE = "expires", "key", "signature"
#: The claims the server knows how to check; anything else in a signed URL is refused.
OWNER, MAX_BYTES = "owner", "max"
_CLAIMS = frozenset({OWNER, MAX_BYTES})
_SECRET_BYTES = 32
#: Unknown key ids read the file again at most this often (a client cannot make the server
#: read it per request).
_RELOAD_AFTER = 5.0


class KeysError(Exception):
    """The keys file cannot be used (one line, for the operator)."""


class BadSignature(Exception):
    """A signed URL that does not hold: tampered, expired, or signed by a forgotten key."""


@dataclass(frozen=True)
class Key:
    keyId: str
    secret: bytes
    created: float
    #: When a newer key took over (it verifies until ``retired + VALIDITY``), or None.
    retired: float | None = None

    def line(self) -> str:
        secret = base64.urlsafe_b64encode(self.secret).decode().rstrip("=")
        retired = "-" if self.retired is None else f"{self.retired:.0f}"
        return f"{self.keyId} {secret} {self.created:.0f} {retired}\n"

    @classmethod
    def fromLine(cls, line: str) -> Key:
        keyId, secret, created, retired = line.split()
        return cls(keyId, base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4)),
                   float(created), None if retired == "-" else float(retired))

    def mac(self, message: bytes) -> str:
        digest = hmac.new(self.secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class Signed:
    """What a verified URL says: its method, path, expiry and claims."""

    method: str
    path: str
    expires: int
    claims: Mapping[str, str]


def _message(method: str, path: str, expires: int, keyId: str,
             claims: Mapping[str, str]) -> bytes:
    """The bytes signed: every part on a line of its own, claims sorted.  Paths and claims
    cannot hold a newline (they are URL paths and names), so no two URLs share a message."""
    lines = [method, path, str(expires), keyId, *(f"{k}={v}" for k, v in sorted(claims.items()))]
    return "\n".join(lines).encode()


class KeyRing:
    """The signing keys of ``path``, with the clock that says when it is."""

    def __init__(self, path: Path, now: Callable[[], float], *, validity: float = VALIDITY,
                 lifetime: float = KEY_LIFETIME) -> None:
        self.path = path
        self.now = now
        self.validity = validity
        self.lifetime = lifetime
        self._keys: dict[str, Key] = {}
        self._lastLoad = float("-inf")

    @classmethod
    def inData(cls, dataDir: Path, now: Callable[[], float], **kwargs: float) -> KeyRing:
        """The keys of the server whose data lives in ``dataDir``, read (or made) now."""
        ring = cls(dataDir / "keys" / "url-signing", now, **kwargs)
        ring.load()
        if ring.dueForRotation():
            ring.rotate()
        return ring

    # -- the file (blocking) ---------------------------------------------------------------------

    def load(self) -> None:
        """Read the keys; none yet is an empty ring.  A file others may read is refused: the
        keys are as good as every user's password for the files they name."""
        self._lastLoad = self.now()
        try:
            info = self.path.stat()
            text = self.path.read_text("ascii")
        except FileNotFoundError:
            self._keys = {}
            return
        except (OSError, UnicodeDecodeError) as error:
            raise KeysError(f"cannot read the URL signing keys {self.path}: {error}") from None
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise KeysError(f"the URL signing keys {self.path} may be read by others: "
                            f"chmod 600 {self.path}")
        try:
            keys = [Key.fromLine(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            raise KeysError(f"the URL signing keys {self.path} are damaged; remove the file "
                            "to start with a new key (URLs signed before stop working)") from None
        self._keys = {key.keyId: key for key in keys}

    def rotate(self) -> Key:
        """A new key signs from now; the one before verifies what it signed until that
        expires; keys past that are forgotten.  The file is replaced atomically and durably."""
        now = self.now()
        keys = [k if k.retired is not None else replace(k, retired=now)
                for k in self._keys.values()
                if k.retired is None or k.retired + self.validity > now]
        new = Key(secrets.token_hex(4), secrets.token_bytes(_SECRET_BYTES), now)
        keys.append(new)
        self._write(keys)
        self._keys = {k.keyId: k for k in keys}
        return new

    def _write(self, keys: list[Key]) -> None:
        ensureDirectory(self.path.parent)
        temporary = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.writelines(k.line() for k in keys)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        fsyncDirectory(self.path.parent)

    def refresh(self) -> Key | None:
        """Read the keys again (an operator, or another node, may have rotated them) and
        rotate if the newest has signed long enough: the new key, if one was made."""
        self.load()
        return self.rotate() if self.dueForRotation() else None

    def dueForRotation(self) -> bool:
        current = self._current()
        return current is None or current.created + self.lifetime <= self.now()

    def _current(self) -> Key | None:
        live = [k for k in self._keys.values() if k.retired is None]
        return max(live, key=lambda k: k.created) if live else None

    # -- signing and verifying (no I/O but a reload for a key not known) ----------------------

    def sign(self, method: str, path: str, claims: Mapping[str, str] | None = None, *,
             validity: float | None = None) -> str:
        """``path`` with the query that lets ``method`` through until ``validity`` seconds
        from now."""
        key = self._current()
        if key is None:
            raise KeysError("no URL signing key: the ring was never loaded")
        claims = dict(claims or {})
        unknown = set(claims) - _CLAIMS
        if unknown:
            raise ValueError(f"unknown claims {sorted(unknown)}")
        expires = int(self.now() + (self.validity if validity is None else validity))
        signature = key.mac(_message(method, path, expires, key.keyId, claims))
        query = {**claims, EXPIRES: str(expires), KEY: key.keyId, SIGNATURE: signature}
        return f"{path}?{urlencode(sorted(query.items()))}"

    def verify(self, method: str, path: str, query: Mapping[str, str]) -> Signed:
        """What the URL ``path?query`` signs for ``method`` (``HEAD`` is let through by a
        ``GET`` signature); :class:`BadSignature` when it does not hold."""
        names = set(query)
        missing = {EXPIRES, KEY, SIGNATURE} - names
        if missing or names - _CLAIMS - {EXPIRES, KEY, SIGNATURE}:
            raise BadSignature("This is not a signed URL of this server.")
        expiresText = query[EXPIRES]
        if not (expiresText.isascii() and expiresText.isdigit()) or len(expiresText) > 12:
            raise BadSignature("This signed URL is damaged.")
        expires = int(expiresText)
        key = self._keys.get(query[KEY])
        if key is None and self._lastLoad + _RELOAD_AFTER <= self.now():
            self.load()  # another node may have rotated
            key = self._keys.get(query[KEY])
        claims = {name: query[name] for name in names & _CLAIMS}
        signed = method if method != "HEAD" else "GET"
        if key is None or not hmac.compare_digest(
                key.mac(_message(signed, path, expires, key.keyId, claims)).encode(),
                query[SIGNATURE].encode()):
            raise BadSignature("This signed URL is not valid: it was changed, or signed with "
                               "a key the server no longer has.")
        if expires <= self.now():
            raise BadSignature("This signed URL has expired; ask for the resource again.")
        return Signed(signed, path, expires, claims)


def main(argv: list[str] | None = None) -> int:
    """``python -m occi_twisted.files.signing rotate DATA``: a new key signs from now (a key
    that leaked stops signing; running servers take the new one within a minute, and the old
    one verifies until the URLs it signed expire)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "rotate":
        print("usage: python -m occi_twisted.files.signing rotate DATA_DIR", file=sys.stderr)
        return 2
    try:
        ring = KeyRing.inData(Path(args[1]), time.time)
        key = ring.rotate()
    except (KeysError, OSError) as error:
        print(f"cannot rotate: {error}", file=sys.stderr)
        return 1
    print(f"URL signing key {key.keyId} signs from now ({ring.path})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
