"""What the XMPP tests share: a store with storages and request steps in it, a bridge from the
subscriber's futures to Deferreds, and comparisons of XML payloads.

The store is the real :class:`~occi_twisted.store.memory.MemoryStore`: it keeps events and
subscriptions and calls its listeners after each commit, as the SQLite store does.
"""

from __future__ import annotations

import concurrent.futures
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any, TypeVar

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater

from occi_twisted.model import Description, Entity, newEntity, withState
from occi_twisted.model.events import Event
from occi_twisted.model.infrastructure import SECURE_ERASE, STORAGE
from occi_twisted.model.requests import RequestState, newRequest
from occi_twisted.store.interface import CREATE, IStore, Put

T = TypeVar("T")
#: Where a notification's ``<items/>`` is, under ``<message/>``.
NS_EVENT_ITEMS = ("{http://jabber.org/protocol/pubsub#event}event/"
                  "{http://jabber.org/protocol/pubsub#event}items")
NODE = "test-node"
LEASE = 60.0


def entryOf(event: Event) -> str:
    """A minimal Atom entry for ``event``: the unit tests' ``entryOf``."""
    return f"<entry xmlns='http://www.w3.org/2005/Atom'><id>urn:uuid:{event.id}</id></entry>"


def deferred(future: concurrent.futures.Future[T]) -> Deferred[T]:
    """A Deferred that fires, on the reactor, as the subscriber's ``future`` is done."""
    result: Deferred[T] = Deferred()

    def done(finished: concurrent.futures.Future[T]) -> None:
        error = finished.exception()
        if error is not None:
            reactor.callFromThread(result.errback, error)  # type: ignore[attr-defined]
        else:
            reactor.callFromThread(result.callback, finished.result())  # type: ignore[attr-defined]

    future.add_done_callback(done)
    return result


def sleep(seconds: float) -> Deferred[None]:
    return deferLater(reactor, seconds, lambda: None)  # type: ignore[arg-type]


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until ``condition()`` holds (checked every 10 ms); fail after ``timeout``."""
    deadline = reactor.seconds() + timeout  # type: ignore[attr-defined]
    while not condition():
        if reactor.seconds() > deadline:  # type: ignore[attr-defined]
            raise AssertionError(f"still false after {timeout} s")
        await sleep(0.01)


def shape(element: ET.Element | None) -> Any:
    """An element as nested tuples (tag, attributes, text, children): equal for equal XML,
    whatever prefixes were used for its namespaces.

    Line ends are compared as LF: the entry writes a CR as ``&#13;`` so that an XML parser
    keeps it, but Prosody re-serializes stanzas escaping only ``&<>'"``, so after it the CR is
    raw and the subscriber's parser turns CRLF into LF (XML 1.0, 2.11).
    """
    if element is None:
        return None

    def text(value: str | None) -> str:
        return (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()

    return (element.tag, sorted(element.attrib.items()), text(element.text),
            [shape(child) for child in element], text(element.tail))


def parsed(xml: str) -> ET.Element:
    return ET.fromstring(xml)


# -- a store with storages and erases ------------------------------------------------------


def storage(entityId: str, now: float = 100.0, *, owner: str = "alice") -> Entity:
    return newEntity(Description(kind=STORAGE, attributes={"occi.storage.size": 1.0}),
                     entityId=entityId, owner=owner, now=now)


async def createStorage(store: IStore, entityId: str, *, owner: str = "alice") -> Entity:
    entity = storage(entityId, owner=owner)
    await store.apply([Put(entity, expect=CREATE)])
    return entity


async def newEvents(store: IStore, after: int) -> list[Event]:
    return await store.eventsAfter(after, 10_000)


async def lastSeq(store: IStore) -> int:
    page = await store.events("/", limit=1)
    return page.events[0].seq if page.events else 0


class Erase:
    """A secure erase of a storage, step by step as the scheduler runs one: queued, started,
    a progress checkpoint after each pass, succeeded; each step is one event."""

    def __init__(self, store: IStore, entityId: str, passes: int = 3) -> None:
        self.store = store
        self.entityId = entityId
        self.passes = passes
        self.now = 1000.0
        self.request = newRequest(entityId, SECURE_ERASE.identifier, owner="alice",
                                  now=self.now, attributes={"passes": passes})

    def _tick(self) -> float:
        self.now += 1.0
        return self.now

    async def queue(self) -> None:
        await self.store.addRequest(self.request)

    async def start(self) -> None:
        claimed = await self.store.claimDue(NODE, self._tick(), 1, LEASE)
        assert [r.id for r in claimed] == [self.request.id]

    async def progress(self, done: int) -> None:
        await self.store.checkpoint(
            self.request.id, NODE, now=self._tick(), leaseSeconds=LEASE,
            progress={"pass": done, "passes": self.passes,
                      "percent": round(100 * done / self.passes)})

    async def finish(self) -> None:
        await self.store.finish(self.request.id, NODE, now=self._tick(),
                                state=RequestState.SUCCEEDED, message="Erased.")


async def touch(store: IStore, entity: Entity, message: str) -> Entity:
    """An update of the storage (its state message): one event."""
    changed = withState(entity, {"occi.storage.state.message": message},
                        now=entity.updated + 1)
    await store.apply([Put(changed, expect=entity.revision)])
    return changed
