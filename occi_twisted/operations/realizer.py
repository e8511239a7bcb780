"""The infrastructure follows the store: every change of a storage (of an entity of the kinds
followed), once it is committed, is made real by the driver (its image made, resized,
removed) -- whoever made it, and whatever becomes of the client who asked.

The HTTP layer asks the driver to follow a change it has just committed, and answers once it
has; but a client that hangs up then cancels what its request waits for, and a request that
is cancelled between the commit and that call makes none.  So the work after a commit is
carried here, by the server: the realizer hears the store's change notifications (the one
path every follower of the store takes), reads the events since the last it saw, and has the
driver follow each entity they name -- as the store has it *now*, so a burst of changes is
followed once, and a late follow-up can only bring the infrastructure up to date.  The driver
does one job per storage at a time, in the order asked: the HTTP layer's call and this one
never run in the wrong order, and the second of them finds the revision followed already
and does nothing (an image removed meanwhile is not made again behind a reader's back: it
is made at the next change, or the next start).  A storage deleted and made
again under its id gets a fresh image, never the bytes of the one deleted.

At start-up it reconciles: what the driver holds for entities the store no longer has (the
image of a storage deleted just before a crash) is removed, each removal logged, and every
storage's image is made or sized as stored.  An entity that cannot be followed is logged and
marked -- its state ``error``, with a message saying so -- and holds back no other; it is
tried again at its next change, or the next start, and unmarked once followed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field

from twisted.internet.defer import Deferred, DeferredSemaphore, gatherResults, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from ..drivers import IDriver, IHoldings
from ..model import Entity, Kind, Value, withState
from ..model.attributes import AttributeDefinition
from ..model.errors import OCCIError
from ..model.events import Event, EventType
from ..model.infrastructure import STORAGE
from ..store.interface import IStore, Put, Query
from .following import EventReader

_log = Logger()

#: The events that say an entity changed (its requests' steps do not).
_CHANGES = frozenset({EventType.CREATED, EventType.UPDATED, EventType.DELETED,
                      EventType.MIXINS})
#: How the state message of an entity the infrastructure could not follow begins.
NOT_FOLLOWED = "The infrastructure could not follow the last change"


@dataclass
class _Due:
    """An entity to follow, and who waits for it."""

    kind: Kind
    #: A deletion was seen: an entity with the id now is a new one, made afresh.
    deleted: bool = False
    waiters: list[Deferred[None]] = field(default_factory=list)


class Realizer:
    """Has ``driver`` follow the entities of ``store`` (see the module's docstring)."""

    #: Events read at a time while catching up with the store.
    batch = 500
    #: Entities followed at once; the driver queues their disk work in its own pool.
    concurrency = 64

    def __init__(self, store: IStore, driver: IDriver, clock: IReactorTime, *,
                 kinds: Sequence[Kind] = (STORAGE,)) -> None:
        """``kinds``: the kinds whose entities are followed and reconciled at start-up --
        storages, the only ones the bundled driver keeps anything for, so that the changes
        of every other entity cost the realizer nothing but reading their events."""
        self._store = store
        self._driver = driver
        self._clock = clock
        self._kinds = frozenset(kind.identifier for kind in kinds)
        #: Entities to follow, in the order they were asked for.
        self._queue: dict[str, _Due] = {}
        #: Entities being followed now.
        self._following: dict[str, Deferred[None]] = {}
        self._slots = DeferredSemaphore(self.concurrency)
        self._draining = False
        self._reader = EventReader(store, self._heard, "The realizer", batch=self.batch)
        self._stopped = True

    @property
    def store(self) -> IStore:
        """The store the driver follows (and reads, when it needs more than the entity)."""
        return self._store

    # -- asking -----------------------------------------------------------------------------

    def follow(self, kind: Kind, entityId: str) -> Deferred[None]:
        """Have the driver follow the entity ``entityId`` of ``kind`` as the store has it
        (soon); fires once it has, or has failed to (which is logged, never raised)."""
        waiter: Deferred[None] = Deferred()
        self._due(kind, entityId, waiter=waiter)
        return waiter

    def _due(self, kind: Kind, entityId: str, *, deleted: bool = False,
             waiter: Deferred[None] | None = None) -> None:
        """Queue ``entityId`` to follow, with ``waiter`` told once it is followed -- told
        of before draining starts, since the following can end before ``_drain`` returns
        (the store answering from its cache, the driver with nothing to do)."""
        due = self._queue.get(entityId)
        if due is None:
            due = self._queue[entityId] = _Due(kind)
        due.deleted = due.deleted or deleted
        if waiter is not None:
            due.waiters.append(waiter)
        self._drain()

    # -- following the store ----------------------------------------------------------------

    def start(self) -> Deferred[None]:
        """Follow the store from its newest event on; fires once positioned there."""
        self._stopped = False
        self._store.addEventListener(self._reader.changed)
        return Deferred.fromCoroutine(self._position())

    def stop(self) -> Deferred[None]:
        """Stop following; fires once the work under way has ended (those waiting for what
        was still queued are told at once)."""
        self._stopped = True
        self._store.removeEventListener(self._reader.changed)
        self._reader.stop()
        queued, self._queue = self._queue, {}
        for due in queued.values():
            _tell(due)
        under = list(self._following.values())
        return gatherResults(under).addCallback(lambda _: None) if under else succeed(None)

    async def _position(self) -> None:
        await self._reader.position()
        if self._stopped:
            self._reader.stop()
        elif self._reader.pending:
            self._reader.changed()  # told of a change while it looked for the newest event

    async def _heard(self, events: Sequence[Event]) -> None:
        for event in events:
            if event.type in _CHANGES:
                kind = self._store.registry.atLocation(event.collection)
                if isinstance(kind, Kind) and kind.identifier in self._kinds:
                    self._due(kind, event.entityId, deleted=event.type is EventType.DELETED)

    # -- the work ---------------------------------------------------------------------------

    def _drain(self) -> None:
        if not self._draining and not self._stopped:
            self._draining = True
            drained = Deferred.fromCoroutine(self._drainQueue())
            drained.addErrback(lambda failure: _log.failure(
                "The realizer stopped following the store", failure))

    async def _drainQueue(self) -> None:
        """Start following each queued entity that is not being followed already (one that
        is waits its turn: it is followed again once that ends)."""
        try:
            while not self._stopped:
                entityId = next((each for each in self._queue
                                 if each not in self._following), None)
                if entityId is None:
                    return
                await self._slots.acquire()
                due = self._queue.pop(entityId, None)
                if due is None or self._stopped:
                    self._slots.release()
                    continue
                following = Deferred.fromCoroutine(self._followNow(entityId, due))
                self._following[entityId] = following
                following.addBoth(self._followed, entityId, due)
        finally:
            self._draining = False

    def _followed(self, result: object, entityId: str, due: _Due) -> None:
        if isinstance(result, Failure):
            _log.failure("The realizer could not follow {id}", result, id=entityId)
        del self._following[entityId]
        self._slots.release()
        _tell(due)
        if entityId in self._queue:
            self._drain()

    async def _followNow(self, entityId: str, due: _Due) -> None:
        try:
            current = await self._store.get(entityId)
        except Exception:
            _log.failure("The realizer could not read {id}", id=entityId)
            return
        if current is None:
            before, after = _gone(due.kind, entityId), None
        elif due.deleted:
            before, after = None, current  # deleted, then made again: a new entity
        else:
            before, after = current, current
        try:
            await self._driver.realize(before, after)
        except Exception as error:
            _log.failure("The infrastructure of {location} could not follow the store",
                         location=f"{due.kind.location}{entityId}")
            if current is not None:
                await self._mark(current, f"{NOT_FOLLOWED} ({_reason(error)}); it is tried "
                                          "again at its next change or the next start.")
            return
        if current is not None:
            await self._unmark(current)

    async def _mark(self, entity: Entity, message: str) -> None:
        """Say on the entity that its infrastructure is not what the store says."""
        state = _stateOf(entity.kind)
        if state is None:
            return
        name = state.name
        if (entity.attributes.get(name) == "error"
                and entity.attributes.get(f"{name}.message") == message):
            return  # marked already: the write of the mark is what brought it here again
        await self._write(entity, {name: "error", f"{name}.message": message})

    async def _unmark(self, entity: Entity) -> None:
        """Take back a mark once the infrastructure has followed after all: the entity is
        in its kind's first state again (a storage offline)."""
        state = _stateOf(entity.kind)
        if state is None or not isinstance(state.default, str):
            return
        message = entity.attributes.get(f"{state.name}.message")
        if (entity.attributes.get(state.name) != "error" or not isinstance(message, str)
                or not message.startswith(NOT_FOLLOWED)):
            return  # not marked, or an error of the driver's own: not ours to take back
        await self._write(entity, {state.name: state.default,
                                   f"{state.name}.message": "The infrastructure follows "
                                                            "again."})

    # -- what the infrastructure did on its own ------------------------------------------------

    def report(self, entityId: str, changes: Mapping[str, Value]) -> Deferred[None]:
        """Store what the driver saw the infrastructure do (a guest that powered itself off):
        the entity's server-managed ``changes``, unless it says so already; an entity the
        store does not have (a domain of another server) is ignored."""
        return Deferred.fromCoroutine(self._report(entityId, changes))

    async def _report(self, entityId: str, changes: Mapping[str, Value]) -> None:
        for _ in range(3):  # another writer in between: read again and write on top
            entity = await self._store.get(entityId)
            if entity is None or all(entity.attributes.get(name) == value
                                     for name, value in changes.items()):
                return
            try:
                await self._store.apply([Put(withState(entity, changes,
                                                       now=self._clock.seconds()),
                                             expect=entity.revision)])
                return
            except OCCIError:
                continue

    async def _write(self, entity: Entity, changes: dict[str, Value]) -> None:
        marked = withState(entity, changes, now=self._clock.seconds())
        # Changed or deleted meanwhile (a domain error): that change is followed in its turn.
        with suppress(OCCIError):
            await self._store.apply([Put(marked, expect=entity.revision)])

    # -- start-up -----------------------------------------------------------------------------

    def reconcile(self) -> Deferred[int]:
        """Remove what the driver holds for entities the store no longer has, and follow
        every entity of the reconciled kinds; fires with how many of those there were, once
        all are followed (or marked)."""
        return Deferred.fromCoroutine(self._reconcile())

    async def _reconcile(self) -> int:
        waiting: list[Deferred[None]] = []
        holdings = IHoldings(self._driver, None)
        if holdings is not None:
            for kind, entityId in await holdings.held():
                if await self._store.get(entityId) is None:
                    _log.info("Removing what {location} left on the infrastructure: the store "
                              "has no such entity", location=f"{kind.location}{entityId}")
                    waiting.append(self.follow(kind, entityId))
        count, after = 0, None
        query = Query(kinds=self._kinds)
        while not self._stopped:
            page = await self._store.page(query, after, self.batch)
            for entity in page.entities:
                waiting.append(self.follow(entity.kind, entity.id))
                count += 1
            if page.cursor is None:
                break
            after = page.cursor
        await gatherResults(waiting)
        return count


def _tell(due: _Due) -> None:
    waiters, due.waiters = due.waiters, []
    for waiter in waiters:
        waiter.callback(None)


def _gone(kind: Kind, entityId: str) -> Entity:
    """What the driver is told of an entity the store no longer has: its kind and id."""
    return Entity(kind=kind, mixins=(), attributes={"occi.core.id": entityId})


def _stateOf(kind: Kind) -> AttributeDefinition | None:
    """The kind's state attribute, if it has one that can say ``error``."""
    for ancestor in kind.ancestry():
        for definition in ancestor.attributes:
            if definition.name.endswith(".state") and "error" in definition.enum:
                return definition
    return None


def _reason(error: Exception) -> str:
    """Why, in words a client may read: no path of the server's."""
    if isinstance(error, OCCIError):
        return str(error.message)
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return type(error).__name__
