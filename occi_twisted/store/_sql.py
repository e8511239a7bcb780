"""What the SQL modules shared by the SQLite and PostgreSQL stores need of a connection.

The statements of :mod:`._sqlwrite`, :mod:`._sqlevents`, :mod:`._sqlnotes` and
:mod:`._sqlrequests` are written once, in SQL both engines run, with ``?`` for parameters: a
:class:`sqlite3.Connection` is a :class:`Database` as it is, and the PostgreSQL store hands them
an adapter (:mod:`.postgres.connection`) that turns ``?`` into psycopg's ``%s`` and adds the
row locks several writers on one database need (the SQLite store has one writer at a time).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

#: Whether an entity exists (a request or note refers to it): PostgreSQL keys-shares the row.
ENTITY_EXISTS = "SELECT 1 FROM entities WHERE id = ?"


class Cursor(Protocol):
    """The result of one statement."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Database(Protocol):
    """A connection the shared statements run on."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...


class Transactional(Database, Protocol):
    """A connection whose transactions the group-commit writer drives."""

    @property
    def in_transaction(self) -> bool: ...

    def close(self) -> None: ...
