"""Storage of entities and shared state, behind one interface with several backends."""

from .interface import (
    CREATE,
    Change,
    Delete,
    IStore,
    Page,
    Put,
    Query,
    StoreUnavailable,
)
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = [
    "CREATE",
    "Change",
    "Delete",
    "IStore",
    "MemoryStore",
    "Page",
    "Put",
    "Query",
    "SQLiteStore",
    "StoreUnavailable",
]
