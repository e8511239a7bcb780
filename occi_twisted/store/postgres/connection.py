"""Connections to PostgreSQL as the shared SQL modules use them (see :mod:`.._sql`).

The statements of :mod:`.._sqlwrite` and its siblings are written once, in SQL both engines
run, with ``?`` parameters; :class:`Adapted` runs them on a psycopg connection.  It turns ``?``
into ``%s`` and, on the writer's connection, adds the locks several writers on one database
need (:data:`LOCKS`): SQLite has one writer at a time, PostgreSQL any number, each in READ
COMMITTED, so what a change set reads to check a rule is locked until its commit, which makes
the rule hold however nodes interleave.  A rule's read locks the row it checks; the quota of an
owner, which counts rows rather than reading one, takes that owner's advisory lock first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import errors
from psycopg.pq import TransactionStatus

from .. import _sql, _sqlevents, _sqlnotes, _sqlrequests, _sqlwrite
from ..interface import StoreUnavailable

#: The class of this server's advisory locks (two-key form): "occi".
LOCK_CLASS = 0x6F636369
#: The advisory lock keys within it.
EVENTS_LOCK, SCHEMA_LOCK = 1, 2
#: The class of the owners' quota locks (the key is a hash of the owner).
QUOTA_CLASS = LOCK_CLASS + 1

#: What each shared statement locks on the writer's connection, appended to it.  Put and
#: Delete lock the entity they change (FOR NO KEY UPDATE: a revision checked is the revision
#: replaced); a reference to an entity or a user mixin keeps it from being deleted (KEY
#: SHARE); a claim skips what another node's claim holds.
LOCKS: dict[str, str] = {
    _sqlwrite.STORED: " FOR NO KEY UPDATE",
    _sqlwrite.HAS_USER_MIXIN: " FOR KEY SHARE",
    _sqlwrite.CARRIERS: " FOR NO KEY UPDATE OF e",
    _sql.ENTITY_EXISTS: " FOR KEY SHARE",
    _sqlnotes.GET: " FOR UPDATE",
    _sqlevents.SUBSCRIPTION: " FOR UPDATE",
    _sqlrequests.GET: " FOR UPDATE",
    _sqlrequests.HELD: " FOR UPDATE",
    _sqlrequests.WAITING: " FOR UPDATE SKIP LOCKED",
    _sqlrequests.EXPIRED: " FOR UPDATE SKIP LOCKED",
}
#: Statements run first, with the same parameters: the lock of an owner's quota is taken
#: before the owner's things are counted, by a statement of its own so that the count's
#: snapshot sees what the previous holder committed.
BEFORE: dict[str, str] = {
    _sqlwrite.OWNED: f"SELECT pg_advisory_xact_lock({QUOTA_CLASS}, hashtext(%s))",
}

_translated: dict[tuple[str, bool], str] = {}


def translate(sql: str, locking: bool) -> str:
    """``sql`` for psycopg: ``%s`` parameters, and its lock if ``locking``."""
    key = (sql, locking)
    text = _translated.get(key)
    if text is None:
        text = sql.replace("%", "%%").replace("?", "%s")
        if locking:
            text += LOCKS.get(sql, "")
        _translated[key] = text
    return text


class Adapted:
    """A psycopg connection (in autocommit mode: transactions are begun explicitly) as a
    :class:`.._sql.Transactional`; ``locking`` on the writer's."""

    def __init__(self, connection: psycopg.Connection[Any], locking: bool = False) -> None:
        self.connection = connection
        self._locking = locking
        #: Whether events were appended since :meth:`takeAppended` last looked.
        self._appended = False
        #: Whether user mixins were written since :meth:`takeMixinsWritten` last looked.
        self._mixins = False

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        if self._locking:
            before = BEFORE.get(sql)
            if before is not None:
                self.connection.execute(before, parameters)
            if sql is _sqlevents.INSERT:
                self._appended = True
            elif sql is _sqlwrite.DEFINE_USER_MIXIN or sql is _sqlwrite.REMOVE_USER_MIXIN:
                self._mixins = True
        return self.connection.execute(translate(sql, self._locking), parameters)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /
                    ) -> psycopg.Cursor[Any]:
        cursor = self.connection.cursor()
        cursor.executemany(translate(sql, self._locking), parameters)
        return cursor

    def takeAppended(self) -> bool:
        appended, self._appended = self._appended, False
        return appended

    def takeMixinsWritten(self) -> bool:
        """Whether this transaction wrote user mixins (at worst a change set that did was
        rolled back: the others re-read them for nothing)."""
        written, self._mixins = self._mixins, False
        return written

    @property
    def in_transaction(self) -> bool:
        return self.connection.info.transaction_status in (
            TransactionStatus.INTRANS, TransactionStatus.INERROR)

    def close(self) -> None:
        self.connection.close()


def broken(db: Any) -> bool:
    """Whether the connection of ``db`` (an :class:`Adapted`) is lost for good: its server
    restarted, or its backend was ended."""
    return isinstance(db, Adapted) and (db.connection.broken or db.connection.closed)


def transient(problem: Exception) -> bool:
    """Whether a change set that failed so may simply run again: a deadlock victim, or an
    insert that lost a race for a key (run again, its checks see the winner's row)."""
    return isinstance(problem, (errors.DeadlockDetected, errors.SerializationFailure,
                                errors.UniqueViolation))


def connect(url: str, **options: Any) -> psycopg.Connection[Any]:
    """A connection in autocommit mode; :class:`StoreUnavailable` in one line if the server
    cannot be reached, refuses the credentials or the URL is wrong."""
    try:
        return psycopg.connect(url, autocommit=True, **options)
    except (psycopg.Error, ValueError) as problem:
        raise unavailable(url, problem) from None


def unavailable(url: str, problem: BaseException) -> StoreUnavailable:
    """The one line a person reads when the database ``url`` cannot be used."""
    reason = " ".join(str(problem).split()) or type(problem).__name__
    return StoreUnavailable(f"Cannot use the store {shown(url)}: {reason.rstrip('.')}.")


def shown(url: str) -> str:
    """``url`` without its password: what messages and logs may show."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://…"
    if parts.password is None:
        return url
    netloc = re.sub(r":[^@]*@", ":***@", parts.netloc, count=1)
    return urlunsplit(parts._replace(netloc=netloc))
