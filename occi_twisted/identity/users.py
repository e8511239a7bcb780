"""Reading the users: an htpasswd file of bcrypt lines and the config's ``[users.NAME]`` tables.

The parsers are pure (bytes or TOML values in, users out) so that a property test can feed
them anything; every mistake they find is a :class:`UsersError` whose message is the one
line an operator reads, naming the file and, where the file has lines, the line.
"""

from __future__ import annotations

import math
import re
import secrets
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import bcrypt

from .principal import ROLES, Principal, Quota

#: What ``htpasswd -B`` writes (``$2y$``), and what other bcrypt tools write (``$2a$``,
#: ``$2b$``): a cost of 4 to 31, then 22 characters of salt and 31 of hash.  The salt's
#: last character carries 2 of its 6 bits, so only four characters may stand there.
_BCRYPT: Final = re.compile(
    rb"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{21}[.Oeu][./A-Za-z0-9]{31}")
_BCRYPT_ALPHABET: Final = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#: User names appear in URLs (``?owner=``), feeds and logs: a plain, bounded alphabet.
#: No ``:`` (Basic credentials split there) and no ``/`` (it could read as a location).
_NAME: Final = re.compile(r"[A-Za-z0-9._@+-]{1,64}")
#: A bare JID, ``local@domain``: XMPP subscriptions come from one, whatever the resource.
_BARE_JID: Final = re.compile(r"[^\s@/\"&'<>:]{1,64}@[A-Za-z0-9.-]{1,253}")
#: The quota fields, and whether each takes fractions (GiB) or whole numbers only.
_QUOTA_FIELDS: Final = {"cores": False, "memory": True, "storage": True, "entities": False,
                        "requests": False}
#: ``htpasswd -B``'s own default cost, for a dummy hash when no user gives one.
_DEFAULT_COST: Final = 5


class UsersError(Exception):
    """The users file or the ``[users]`` tables cannot be used; the message is one line."""


@dataclass(frozen=True)
class User:
    """One user as the files describe it: the bcrypt hash and who logging in makes you."""

    hash: bytes
    principal: Principal


def _shown(value: object) -> str:
    """A value quoted for an error message: one line, never long."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parseHtpasswd(data: bytes, source: str) -> dict[str, bytes]:
    """Names and bcrypt hashes from the text of an htpasswd file; blank lines and ``#``
    comments are skipped, as Apache does.  Other hash schemes (``$apr1$``, ``{SHA}``,
    crypt) are refused rather than skipped: a user who silently cannot log in is a
    puzzle, a line saying why is not."""
    hashes: dict[str, bytes] = {}
    for number, raw in enumerate(data.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(b"#"):
            continue
        where = f"{source}, line {number}"
        rawName, colon, hashed = line.partition(b":")
        if not colon:
            raise UsersError(f"{where}: not NAME:HASH")
        try:
            name = rawName.decode("utf-8")
        except UnicodeDecodeError:
            raise UsersError(f"{where}: the user name is not UTF-8") from None
        if not _NAME.fullmatch(name):
                raise UsersError(f"{where}: user name {_shown(name)} is not 1-64 letters, "
                             f"digits or . _ @ + -")
        if not _BCRYPT.fullmatch(hashed):
            raise UsersError(f"{where}: {name}'s password is not a bcrypt hash "
                             f"(make it with htpasswd -B)")
        if name in hashes:
            raise UsersError(f"{where}: {name} is named twice")
        hashes[name] = hashed
    return hashes


def parseUserSettings(table: object, source: str) -> dict[str, Principal]:
    """The principals the config's ``[users.NAME]`` tables describe (role, JID, quota)."""
    if not isinstance(table, Mapping):
        raise UsersError(f"{source}: [users] must be a table of [users.NAME] tables")
    principals: dict[str, Principal] = {}
    owners: dict[str, str] = {}
    for name, settings in table.items():
        if not _NAME.fullmatch(name):
            raise UsersError(f"{source}: [users.{_shown(name)}]: a user name is 1-64 "
                             f"letters, digits or . _ @ + -")
        where = f"{source}: [users.{name}]"
        if not isinstance(settings, Mapping):
            raise UsersError(f"{where} must be a table")
        unknown = sorted(_shown(key) for key in set(settings) - {"role", "jid", "quota"})
        if unknown:
            raise UsersError(f"{where} has unknown setting(s): {', '.join(unknown)}")
        role = settings.get("role", "user")
        if role not in ROLES:
            raise UsersError(f"{where} role must be admin or user, not {_shown(role)}")
        jid = settings.get("jid")
        if jid is not None:
            if not isinstance(jid, str) or not _BARE_JID.fullmatch(jid):
                raise UsersError(f"{where} jid must be a bare JID (name@domain), "
                                 f"not {_shown(jid)}")
            jid = jid.lower()
            if jid in owners:
                raise UsersError(f"{where} jid {jid} is also {owners[jid]}'s")
            owners[jid] = name
        quota = _quotaOf(settings.get("quota", {}), f"{source}: [users.{name}.quota]")
        principals[name] = Principal(name=name, role=role, jid=jid, quota=quota)
    return principals


def _quotaOf(table: object, where: str) -> Quota:
    if not isinstance(table, Mapping):
        raise UsersError(f"{where} must be a table")
    unknown = sorted(str(key) for key in set(table) - set(_QUOTA_FIELDS))
    if unknown:
        raise UsersError(f"{where} has unknown limit(s): {', '.join(unknown)}; "
                         f"known: {', '.join(_QUOTA_FIELDS)}")
    limits: dict[str, Any] = {}
    for key, value in table.items():
        fractional = _QUOTA_FIELDS[key]
        number = value if isinstance(value, int | float) and not isinstance(value, bool) else -1
        if not math.isfinite(number) or number < 0 or not (fractional or isinstance(number, int)):
            what = "a number of GiB" if fractional else "a whole number"
            raise UsersError(f"{where} {key} must be {what}, at least 0, "
                             f"not {_shown(value)}")
        limits[key] = number
    return Quota(**limits)


def usersOf(hashes: Mapping[str, bytes], principals: Mapping[str, Principal]) -> dict[str, User]:
    """The users: every name of the htpasswd file, with its settings or the defaults.
    Settings for a name the file does not hold are left aside, not refused: removing a user
    with ``htpasswd -D`` must take effect at the next reload even before the config is
    tidied, or the removed user would keep logging in."""
    return {name: User(hashed, principals.get(name) or Principal(name=name))
            for name, hashed in hashes.items()}


def readUsers(usersFile: Path, configFile: Path | None) -> dict[str, User]:
    """Read both files; any failure is a :class:`UsersError` naming the file."""
    try:
        data = usersFile.read_bytes()
    except OSError as error:
        raise UsersError(f"cannot read the users file {usersFile}: {error.strerror}") from None
    hashes = parseHtpasswd(data, str(usersFile))
    table: object = {}
    if configFile is not None:
        try:
            with configFile.open("rb") as file:
                table = tomllib.load(file).get("users", {})
        except OSError as error:
            raise UsersError(f"cannot read the config file {configFile}: "
                             f"{error.strerror}") from None
        except tomllib.TOMLDecodeError as error:
            raise UsersError(f"the config file {configFile} is not valid TOML: "
                             f"{error}") from None
    return usersOf(hashes, parseUserSettings(table, str(configFile)))


def dummyHash(hashes: Iterable[bytes]) -> bytes:
    """A well-formed bcrypt hash that no password matches, at the cost most users' hashes
    have: checking an unknown name against it takes as long as checking a known one, so
    the time of a refusal does not tell which names exist.  Made from random characters
    rather than by hashing, which at a high cost would hold the reactor for a second."""
    costs = Counter(int(hashed[4:6]) for hashed in hashes)
    cost = max(costs, key=lambda each: (costs[each], each)) if costs else _DEFAULT_COST
    # bcrypt's own salt (its last character carries only some bits, so not any will do),
    # then a hash part of random characters.
    hashed = "".join(secrets.choice(_BCRYPT_ALPHABET) for _ in range(31))
    return bcrypt.gensalt(cost) + hashed.encode("ascii")
