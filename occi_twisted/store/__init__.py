"""Storage of entities, persistent requests and shared state, behind one interface with
several backends."""

from .answers import Answer, KeyTaken, RememberAnswer
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
    "Answer",
    "Change",
    "Delete",
    "IStore",
    "KeyTaken",
    "MemoryStore",
    "Page",
    "Put",
    "Query",
    "RememberAnswer",
    "RequestPage",
    "RequestRecord",
    "RequestState",
    "SQLiteStore",
    "StoreUnavailable",
    "newRequest",
]
