"""The store contract kept by the PostgreSQL store, and what only several nodes on one
database show: events in commit order, notifications across nodes, locks across nodes."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

import psycopg
import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, DeferredList, gatherResults, succeed
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from zope.interface.verify import verifyObject

from occi_twisted.model import Mixin, Registry, withState
from occi_twisted.store.interface import (
    CREATE,
    Delete,
    IStore,
    Put,
    Query,
    StoreUnavailable,
)
from occi_twisted.store.postgres import PostgresStore

from ..conftest import freePort
from ..postgres import Cluster
from .answers_contract import AnswerContract
from .backends import InPostgres
from .contract import EntityContract, compute, creates, network, nic, tag
from .events_contract import EventContract
from .notes_contract import NoteContract
from .quotas_contract import QuotaContract
from .requests_contract import RequestContract, request
from .subscriptions_contract import SubscriptionContract


def test_provides_i_store() -> None:
    assert verifyObject(IStore, PostgresStore("postgresql://unused/x", Registry.standard(),
                                              None))


class TestEntities(InPostgres, EntityContract):
    pass


class TestQuotas(InPostgres, QuotaContract):
    pass


class TestRequests(InPostgres, RequestContract):
    pass


class TestEvents(InPostgres, EventContract):
    pass


class TestSubscriptions(InPostgres, SubscriptionContract):
    pass


class TestNotes(InPostgres, NoteContract):
    pass


class TestAnswers(InPostgres, AnswerContract):
    pass


class TestSeveralNodes(InPostgres):
    """Two stores on one database are two nodes of one cloud."""

    def node(self) -> PostgresStore:
        store = PostgresStore(self.url, Registry.standard(), reactor)
        self.opened.append(store)
        return store

    @pytest_twisted.ensureDeferred
    async def test_events_are_numbered_in_commit_order(self, store: IStore) -> None:
        """A slow transaction that appended an event before a fast one committed still
        comes after it: a reader paging with its cursor skips nothing."""
        other = self.node()
        await other.start()
        await store.apply(creates(compute("c1")))
        seen = await store.eventsAfter(0, 100)
        cursor = seen[-1].seq
        with psycopg.connect(self.url) as blocker:
            # Hold c1 until told: the slow change set appends c2's event, then waits for c1.
            blocker.execute("SELECT 1 FROM entities WHERE id = 'c1' FOR UPDATE")
            c1 = await store.get("c1")
            assert c1 is not None
            active = withState(c1, {"occi.compute.state": "active"}, now=10.0)
            slow = store.apply([Put(compute("c2"), expect=CREATE), Put(active, expect=1)])
            await waitFor(lambda: _waiting(self.url))
            await other.apply(creates(compute("c3")))  # the fast one commits meanwhile
            fast = await store.eventsAfter(cursor, 100)
            assert [event.entityId for event in fast] == ["c3"]
            seen += fast
            cursor = fast[-1].seq
            blocker.rollback()
        await slow
        late = await store.eventsAfter(cursor, 100)
        assert [event.entityId for event in late] == ["c2", "c1"]
        seen += late
        everything = await other.eventsAfter(0, 100)
        assert seen == everything
        assert [event.seq for event in everything] == [1, 2, 3, 4]

    @pytest_twisted.ensureDeferred
    async def test_listeners_of_every_node_hear_of_a_commit(self, store: IStore) -> None:
        other = self.node()
        await other.start()
        heard: list[str] = []
        other.addEventListener(lambda: heard.append("other"))
        await store.apply(creates(compute("c1")))
        await waitFor(lambda: succeed(bool(heard)))
        assert [event.entityId for event in await other.eventsAfter(0, 10)] == ["c1"]

    @pytest_twisted.ensureDeferred
    async def test_two_nodes_never_claim_one_request(self, store: IStore) -> None:
        other = self.node()
        await other.start()
        await store.apply(creates(compute("c1")))
        await store.addRequest(*(request(requestId=f"r{i}") for i in range(20)))
        claims = await gatherResults([
            node.claimDue(name, 2000.0, 3, 60.0)
            for _ in range(4) for name, node in (("a", store), ("b", other))])
        claimed = [record.id for claim in claims for record in claim]
        assert sorted(claimed) == sorted(f"r{i}" for i in range(20))

    @pytest_twisted.ensureDeferred
    async def test_link_rules_hold_across_nodes(self, store: IStore) -> None:
        """A link created on one node while its source is deleted on the other: either the
        link is refused, or it is deleted with its source -- never left dangling."""
        other = self.node()
        await other.start()
        for round in range(10):
            await store.apply(creates(compute(f"c{round}"), network(f"n{round}")))
            results = await DeferredList([
                store.apply([Delete(f"c{round}")]),
                other.apply(creates(nic(f"l{round}", f"/compute/c{round}",
                                        f"/network/n{round}"))),
            ], consumeErrors=True)
            assert results[0][0]
            assert await store.get(f"l{round}") is None

    @pytest_twisted.ensureDeferred
    async def test_user_mixins_reach_every_node(self, store: IStore) -> None:
        """A mixin defined through one node comes into the other's registry (it can tag
        with it at once); removed, it leaves it, and the entities carrying it lose it."""
        other = self.node()
        await other.start()
        base = await store.defineMixin(tag("base"))
        red = await store.defineMixin(tag("red", depends=(base,)))
        await waitFor(lambda: succeed(other.registry.get(red.identifier) is not None))
        known = other.registry.get(red.identifier)
        assert isinstance(known, Mixin) and known.depends == (base,)
        assert known.location == red.location and known.owner == red.owner
        await other.apply(creates(compute("c1", mixins=[known])))
        tagged = await store.get("c1")
        assert tagged is not None and [m.identifier for m in tagged.mixins] == [red.identifier]
        await store.removeMixin(red.identifier)
        await waitFor(lambda: succeed(other.registry.get(red.identifier) is None))
        untagged = await other.get("c1")
        assert untagged is not None and untagged.mixins == ()
        assert other.registry.get(base.identifier) is not None

    @pytest_twisted.ensureDeferred
    async def test_a_node_catches_up_on_demand(self, store: IStore) -> None:
        """Asked to, a node re-reads the user mixins at once, whether or not it has heard
        of them yet; asked again, it finds nothing new."""
        other = self.node()
        await other.start()
        red = await store.defineMixin(tag("red"))
        await other.followMixins()
        assert other.registry.get(red.identifier) is not None
        assert not await other.followMixins()

    @pytest_twisted.ensureDeferred
    async def test_a_node_keeps_its_own_mixin_while_writing_it(self, store: IStore) -> None:
        """A re-read that races a node's own define does not take the mixin back out."""
        other = self.node()
        await other.start()
        defined = store.defineMixin(tag("red"))
        follows = [store.followMixins() for _ in range(3)]  # type: ignore[attr-defined]
        red = await defined
        await gatherResults(follows)
        assert store.registry.get(red.identifier) is not None
        await store.apply(creates(compute("c1", mixins=[red])))


class TestLostConnections(InPostgres):
    """The server restarted, or ended the store's connections: writes and reads fail only
    while they are lost, never until the node restarts."""

    def terminate(self, role: str, end: bool = True) -> Deferred[int]:
        """End the backends of the store's connections of ``role`` (all: ``%``); how many
        there were (``end`` false: only count them)."""
        def terminate() -> int:
            with psycopg.connect(self.url, autocommit=True) as admin:
                return len(admin.execute(
                    f"SELECT {'pg_terminate_backend(pid)' if end else 'pid'}"
                    " FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND application_name LIKE %s",
                    (f"occi-twisted {role}",)).fetchall())

        return deferToThread(terminate)

    @pytest_twisted.ensureDeferred
    async def test_the_writer_connects_again(self, store: IStore) -> None:
        await store.apply(creates(compute("c0")))
        for round in range(1, 4):
            assert await self.terminate("writer") == 1
            try:  # the first write may find the connection lost
                await store.apply(creates(compute(f"c{round}")))
            except StoreUnavailable:
                assert await store.get(f"c{round}") is None
                await store.apply(creates(compute(f"c{round}")))
            await store.apply(creates(compute(f"d{round}")))
        assert [e.id for e in (await store.page(Query(), None, 100)).entities] == [
            "c0", "c1", "d1", "c2", "d2", "c3", "d3"]

    @pytest_twisted.ensureDeferred
    async def test_every_connection_lost_at_once(self, store: IStore) -> None:
        """Writer, readers and listener: a node carries on (its listeners hear again)."""
        heard: list[int] = []
        store.addEventListener(lambda: heard.append(1))
        await store.apply(creates(compute("c0")))
        await store.get("c0")
        assert await self.terminate("%") >= 3
        with suppress(StoreUnavailable):  # the first write may find the writer's lost
            await store.apply(creates(compute("c1")))
        await store.apply(creates(compute("c2")))
        assert await store.get("c2") is not None
        await waitFor(lambda: self.terminate("listener", end=False).addCallback(bool))
        heard.clear()
        other = PostgresStore(self.url, Registry.standard(), reactor)
        self.opened.append(other)
        await other.start()
        await other.apply(creates(compute("c3")))  # only the listener tells of it
        await waitFor(lambda: succeed(bool(heard)))


class TestStartingUp:
    """What keeps a node from starting, in one line."""

    @pytest_twisted.ensureDeferred
    async def test_unreachable_server(self) -> None:
        await _refused(f"postgresql://occi@127.0.0.1:{freePort()}/occi", "Cannot use the store")

    @pytest_twisted.ensureDeferred
    async def test_unknown_user_and_bad_url(self, postgres: Cluster) -> None:
        await _refused(f"postgresql://nobody:secret@127.0.0.1:{postgres.port}/postgres",
                       'role "nobody" does not exist')
        await _refused("postgresql://127.0.0.1:notaport/x", "Cannot use the store")

    @pytest_twisted.ensureDeferred
    async def test_newer_schema_is_refused(self, postgres: Cluster) -> None:
        url = postgres.database()
        store = PostgresStore(url, Registry.standard(), reactor)
        await store.start()
        await store.stop()
        with psycopg.connect(url) as connection:
            connection.execute("UPDATE occi_schema SET version = 99")
        message = await _refused(url, "schema version 99")
        assert "run a newer occi-twisted" in message
        postgres.drop(url)


async def _refused(url: str, expected: str) -> str:
    store = PostgresStore(url, Registry.standard(), reactor)
    with pytest.raises(StoreUnavailable) as refused:
        await store.start()
    with pytest.raises(StoreUnavailable):
        store.preflight()
    message = refused.value.message
    assert expected in message and "\n" not in message
    assert "secret" not in message
    return message


def _waiting(url: str) -> Deferred[bool]:
    """Whether a connection to ``url``'s database waits for a lock."""
    def waiting() -> bool:
        with psycopg.connect(url) as connection:
            row = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()").fetchone()
            return row is not None and row[0] > 0

    return deferToThread(waiting)


async def waitFor(condition: Callable[[], Deferred[bool]]) -> None:
    """Until ``condition`` holds (the test's timeout is the limit)."""
    while not await condition():
        await deferLater(reactor, 0.01, lambda: None)
