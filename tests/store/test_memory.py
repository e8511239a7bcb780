"""The store contract, kept by the memory store."""

from __future__ import annotations

from pathlib import Path

from occi_twisted.model import Registry
from occi_twisted.store.interface import IStore
from occi_twisted.store.memory import MemoryStore

from .contract import StoreContract


class TestMemoryStore(StoreContract):
    def makeStore(self, path: Path, registry: Registry) -> IStore:
        return MemoryStore(registry)

    async def restart(self, store: IStore) -> IStore:
        """Memory survives only in the object: restart that, with a fresh registry."""
        assert isinstance(store, MemoryStore)
        await store.stop()
        store.registry = Registry.standard()
        await store.start()
        return store
