"""The backends every store contract runs against, and how each is made and restarted.

A test class is a backend and a contract: ``class TestRequests(InSQLite, RequestContract)``.
Each contract tests one of the store's small interfaces through the ``store`` fixture; the
backend gives it a started store and takes it down after.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor

from occi_twisted.model import Registry
from occi_twisted.store.interface import IStore
from occi_twisted.store.memory import MemoryStore
from occi_twisted.store.postgres import PostgresStore
from occi_twisted.store.sqlite import SQLiteStore

from ..postgres import Cluster


def sqliteStore(path: Path, registry: Registry | None = None) -> SQLiteStore:
    return SQLiteStore(path, registry or Registry.standard(), reactor)


class Backend:
    """A started store for each test (``store``), in a file ``path`` for a durable one."""

    path: Path

    def makeStore(self, path: Path, registry: Registry) -> IStore:
        """A new, unstarted store keeping its data at ``path`` (a file name in a temp dir)."""
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[IStore]:
        self.path = tmp_path / "data" / "store.sqlite3"
        store = self.makeStore(self.path, Registry.standard())
        self.opened = [store]
        pytest_twisted.blockon(store.start())
        yield store
        for each in self.opened:
            pytest_twisted.blockon(each.stop())

    async def restart(self, store: IStore) -> IStore:
        """Stop ``store`` and open its data again, with a fresh registry."""
        await store.stop()
        again = self.makeStore(self.path, Registry.standard())
        self.opened.append(again)
        await again.start()
        return again


class InMemory(Backend):
    def makeStore(self, path: Path, registry: Registry) -> IStore:
        return MemoryStore(registry)

    async def restart(self, store: IStore) -> IStore:
        """Memory survives only in the object: restart that, with a fresh registry."""
        assert isinstance(store, MemoryStore)
        await store.stop()
        store.registry = Registry.standard()
        await store.start()
        return store


class InSQLite(Backend):
    def makeStore(self, path: Path, registry: Registry) -> IStore:
        return sqliteStore(path, registry)


class InPostgres(Backend):
    """A new database of the session's cluster for each test (see tests/postgres.py)."""

    url: str

    @pytest.fixture(autouse=True)
    def database(self, postgres: Cluster) -> Iterator[str]:
        self.url = postgres.database()
        yield self.url
        postgres.drop(self.url)

    def makeStore(self, path: Path, registry: Registry) -> IStore:
        return PostgresStore(self.url, registry, reactor)
