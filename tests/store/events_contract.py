"""The contract of the event log (:class:`~occi_twisted.store.interface.IEventLog`), kept by
every store: one event per change, in the change's transaction, in commit order; none for a
refused change or a lease renewal; the listeners told of commits."""

from __future__ import annotations

import uuid

import pytest
import pytest_twisted
from zope.interface.verify import verifyObject

from occi_twisted.model import Description, Mixin, newEntity, withMixins, withState
from occi_twisted.model.errors import Conflict
from occi_twisted.model.events import EventType, requestOfEvent
from occi_twisted.model.infrastructure import NETWORK, NETWORKINTERFACE
from occi_twisted.model.requests import RequestState
from occi_twisted.store.interface import CREATE, Delete, IEventLog, IStore, Put

from .requests_contract import LEASE, compute, request, withEntity


async def types(store: IStore, after: int = 0) -> list[EventType]:
    return [event.type for event in await store.eventsAfter(after, 1000)]


class EventContract:
    """Tests of :class:`IEventLog`; needs a backend (:mod:`.backends`)."""

    def test_provides_i_event_log(self, store: IStore) -> None:
        assert verifyObject(IEventLog, store)

    @pytest_twisted.ensureDeferred
    async def test_entity_changes_make_events(self, store: IStore) -> None:
        c1 = compute("c1")
        await store.apply([Put(c1, expect=CREATE)])
        [created] = await store.eventsAfter(0, 10)
        assert created.type is EventType.CREATED and created.seq == 1
        assert (created.entityId, created.location, created.collection) == (
            "c1", "/compute/c1", "/compute/")
        assert created.owner == "alice" and created.requestId is None
        assert created.content["attributes"]["occi.core.id"] == "c1"  # type: ignore[index]
        assert created.title == "compute /compute/c1 created"
        assert created.nodes == ("/compute/c1", "/compute/", "/")

        changed = withState(c1, {"occi.compute.state": "active"}, now=200.0)
        await store.apply([Put(changed, expect=c1.revision)])
        tag = await store.defineMixin(Mixin("http://example.com/tags#", "blue",
                                            location="/blue/"))
        tagged = withMixins(changed, [tag], now=300.0)
        await store.apply([Put(tagged, expect=changed.revision)])
        assert await types(store) == [EventType.CREATED, EventType.UPDATED, EventType.MIXINS]
        updated = (await store.eventsAfter(1, 1))[0]
        assert updated.updated == 200.0

    @pytest_twisted.ensureDeferred
    async def test_the_newest_seq_moves_with_every_change_and_only_then(
            self, store: IStore) -> None:
        assert await store.newestSeq() == 0
        await store.apply([Put(compute("c1"), expect=CREATE)])
        assert await store.newestSeq() == 1
        with pytest.raises(Conflict):
            await store.apply([Put(compute("c1"), expect=CREATE)])
        assert await store.newestSeq() == 1
        await store.apply([Delete("c1")])
        assert await store.newestSeq() == 2

    @pytest_twisted.ensureDeferred
    async def test_events_record_who_made_the_change(self, store: IStore) -> None:
        c1 = compute("c1")
        await store.apply([Put(c1, expect=CREATE)])
        changed = withState(c1, {"occi.compute.state": "active"}, now=200.0)
        await store.apply([Put(changed, expect=c1.revision, author="root")])
        await store.apply([Delete("c1", author="root")])
        made = await store.eventsAfter(0, 10)
        assert [(event.owner, event.madeBy) for event in made] == [
            (c1.owner, c1.owner), (c1.owner, "root"), (c1.owner, "root")]

    @pytest_twisted.ensureDeferred
    async def test_a_delete_makes_one_event_per_entity_it_takes(self, store: IStore) -> None:
        network = newEntity(Description(kind=NETWORK), entityId="n1", now=100.0)
        c1 = compute("c1")
        link = newEntity(Description(kind=NETWORKINTERFACE, attributes={
            "occi.core.source": "/compute/c1", "occi.core.target": "/network/n1"}),
            entityId="l1", now=100.0)
        await store.apply([Put(network, expect=CREATE), Put(c1, expect=CREATE),
                           Put(link, expect=CREATE)])
        await store.apply([Delete("c1")])
        deleted = await store.eventsAfter(3, 10)
        assert sorted((e.type, e.location) for e in deleted) == [
            (EventType.DELETED, "/compute/c1"), (EventType.DELETED, "/networkinterface/l1")]
        assert all(e.content == {} for e in deleted)

    @pytest_twisted.ensureDeferred
    async def test_a_refused_change_makes_no_event(self, store: IStore) -> None:
        await withEntity(store, "c1")
        with pytest.raises(Conflict):
            await store.apply([Put(compute("c2"), expect=CREATE), Put(compute("c1"),
                                                                     expect=CREATE)])
        assert await types(store) == [EventType.CREATED]

    @pytest_twisted.ensureDeferred
    async def test_every_step_of_a_request(self, store: IStore) -> None:
        await withEntity(store, "c1")
        await store.addRequest(request(requestId="r"))
        await store.claimDue("n", 1000.0, 1, LEASE)
        await store.checkpoint("r", "n", now=1001.0, leaseSeconds=LEASE)  # a renewal: no event
        await store.checkpoint("r", "n", now=1002.0, leaseSeconds=LEASE,
                               progress={"percent": 50})
        await store.cancel("r", 1003.0)
        await store.finish("r", "n", now=1004.0, state=RequestState.CANCELLED,
                           message="Cancelled.")
        steps = (await store.eventsAfter(1, 100))
        assert [e.type for e in steps] == [EventType.QUEUED, EventType.STARTED,
                                           EventType.PROGRESS, EventType.CANCELLING,
                                           EventType.CANCELLED]
        assert {e.requestId for e in steps} == {"r"}
        assert {e.location for e in steps} == {"/compute/c1"}
        progress = requestOfEvent(steps[2])
        assert progress is not None and progress.progress == {"percent": 50}
        assert "checkpoint" not in steps[2].content

    @pytest_twisted.ensureDeferred
    async def test_retries_and_restarts_are_steps_too(self, store: IStore) -> None:
        await withEntity(store, "c1")
        await store.addRequest(request(requestId="r", notBefore=2000.0))
        await store.claimDue("n", 2000.0, 1, LEASE)
        await store.release("r", "n", now=2001.0, notBefore=2100.0, message="busy")
        await store.claimDue("n", 2100.0, 1, LEASE)
        await store.releaseNode("n", 2101.0)
        assert await types(store, 1) == [EventType.SCHEDULED, EventType.STARTED,
                                         EventType.SCHEDULED, EventType.STARTED,
                                         EventType.QUEUED]

    @pytest_twisted.ensureDeferred
    async def test_reading_by_node_newest_first(self, store: IStore) -> None:
        await withEntity(store, "c1", "c2")
        await store.apply([Put(newEntity(Description(kind=NETWORK), entityId="n1", now=1.0),
                               expect=CREATE)])
        await store.addRequest(request(requestId="r"))
        everything = await store.events("/")
        assert [e.seq for e in everything.events] == [4, 3, 2, 1] and not everything.more
        computes = await store.events("/compute/")
        assert [e.entityId for e in computes.events] == ["c1", "c2", "c1"]
        one = await store.events("/compute/c1", limit=1)
        assert [e.type for e in one.events] == [EventType.QUEUED] and one.more
        older = await store.events("/compute/c1", before=one.events[0].seq)
        assert [e.type for e in older.events] == [EventType.CREATED] and not older.more
        only = await store.events("/compute/c1", requestId="r")
        assert [e.requestId for e in only.events] == ["r"]
        assert (await store.events("/network/n1")).events[0].entityId == "n1"
        assert await store.event(everything.events[1].id) == everything.events[1]
        assert await store.event("no-such-event") is None

    @pytest_twisted.ensureDeferred
    async def test_reading_one_owners_events(self, store: IStore) -> None:
        """A user's feed holds only their events, on every node."""
        await withEntity(store, "c1")
        bobs = newEntity(Description(kind=NETWORK), entityId="n1", owner="bob", now=1.0)
        await store.apply([Put(bobs, expect=CREATE)])
        assert [e.entityId for e in (await store.events("/", owner="bob")).events] == ["n1"]
        assert [e.entityId for e in (await store.events("/", owner="alice")).events] == ["c1"]
        assert (await store.events("/compute/", owner="bob")).events == []
        page = await store.events("/compute/c1", owner="alice", limit=1)
        assert [e.entityId for e in page.events] == ["c1"] and not page.more

    @pytest_twisted.ensureDeferred
    async def test_ids_carry_the_time_of_their_change(self, store: IStore) -> None:
        """Event and request ids begin with the time of the change (UUID version 7), told
        by the clock that stamped it -- never read from the wall by the store."""
        await withEntity(store, "c1")  # created at 100.0
        await store.addRequest(request(requestId=None, now=1000.0))
        created, queued = await store.eventsAfter(0, 10)
        assert uuid.UUID(created.id).int >> 80 == 100_000
        assert uuid.UUID(queued.id).int >> 80 == 1_000_000
        assert queued.requestId is not None and uuid.UUID(queued.requestId).int >> 80 == 1_000_000

    @pytest_twisted.ensureDeferred
    async def test_listeners_hear_of_commits(self, store: IStore) -> None:
        heard: list[int] = []
        store.addEventListener(lambda: heard.append(1))
        await withEntity(store, "c1")
        await _turn()
        assert heard
        store.removeEventListener(heard.append)  # not registered: harmless

    @pytest_twisted.ensureDeferred
    async def test_listeners_hear_of_a_commit_whose_writer_stopped_waiting(
            self, store: IStore) -> None:
        """A client that hangs up cancels the Deferred of the write it asked for; the write
        is committed all the same, and whoever follows the store must hear of it."""
        heard: list[int] = []
        store.addEventListener(lambda: heard.append(1))
        written = store.apply([Put(compute("c1"), expect=CREATE)])
        written.cancel()
        written.addErrback(lambda _: None)
        for _ in range(500):
            if heard:
                break
            await _turn()
        assert heard
        assert [event.entityId for event in await store.eventsAfter(0, 10)] == ["c1"]


async def _turn() -> None:
    """Let the reactor run once: a store may tell its listeners on the next turn."""
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    await deferLater(reactor, 0.01, lambda: None)
