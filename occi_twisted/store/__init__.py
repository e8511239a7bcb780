"""Storage of entities, persistent requests and shared state, behind small interfaces with
several backends.  The values they keep (requests, events, notes, answers) are the model's."""

from .interface import (
    CREATE,
    Change,
    Delete,
    IAnswerStore,
    IEntityStore,
    IEventLog,
    INoteStore,
    IPubSubStore,
    IRequestStore,
    IStore,
    ISubscriptionStore,
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
    "IAnswerStore",
    "IEntityStore",
    "IEventLog",
    "INoteStore",
    "IPubSubStore",
    "IRequestStore",
    "IStore",
    "ISubscriptionStore",
    "MemoryStore",
    "Page",
    "Put",
    "Query",
    "SQLiteStore",
    "StoreUnavailable",
]
