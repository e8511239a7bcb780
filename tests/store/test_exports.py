"""The store package's public names: what other rooms may import from ``occi_twisted.store``."""

from __future__ import annotations

from occi_twisted import store
from occi_twisted.store import interface, memory, sqlite


def test_exports() -> None:
    assert sorted(store.__all__) == sorted([
        "CREATE", "AddRequest", "Answer", "Change", "Delete", "IStore", "KeyTaken",
        "MemoryStore", "Page", "Put", "Query", "RememberAnswer", "RequestPage", "RequestRecord",
        "RequestState", "SQLiteStore",
        "StoreUnavailable", "newRequest",
    ])
    assert store.IStore is interface.IStore
    assert store.MemoryStore is memory.MemoryStore
    assert store.SQLiteStore is sqlite.SQLiteStore
    assert issubclass(store.StoreUnavailable, Exception)
