"""Storage of entities, persistent requests and shared state, behind one interface with
several backends."""

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
from .requests import AddRequest, RequestPage, RequestRecord, RequestState, newRequest
from .sqlite import SQLiteStore

__all__ = [
    "CREATE",
    "AddRequest",
    "Change",
    "Delete",
    "IStore",
    "MemoryStore",
    "Page",
    "Put",
    "Query",
    "RequestPage",
    "RequestRecord",
    "RequestState",
    "SQLiteStore",
    "StoreUnavailable",
    "newRequest",
]
