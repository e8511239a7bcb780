"""The contract of entities and user mixins (:class:`~occi_twisted.store.interface.IEntityStore`)
that every store backend keeps, and what the other contracts share to make entities.

Each small interface of the store has its contract (this one, ``requests_contract``,
``events_contract``, ``subscriptions_contract``, ``notes_contract``, ``answers_contract``),
and each backend's test module runs every contract against it (see :mod:`.backends`): the
memory store and the SQLite store must be indistinguishable through each interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import pytest_twisted
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import reactor
from twisted.internet.threads import blockingCallFromThread, deferToThread
from zope.interface.verify import verifyObject

from occi_twisted.model import (
    AttributeDefinition,
    AttributeType,
    Description,
    Entity,
    Mixin,
    Value,
    newEntity,
)
from occi_twisted.model.errors import BadRequest, Conflict, NotFound, PreconditionFailed
from occi_twisted.model.infrastructure import (
    COMPUTE,
    DEBIAN,
    NETWORK,
    NETWORKINTERFACE,
    SMALL,
    STORAGE,
    STORAGELINK,
    UBUNTU,
)
from occi_twisted.store.interface import (
    CREATE,
    Delete,
    IEntityStore,
    IStore,
    Put,
    Query,
    StoreUnavailable,
)

TAGS = "http://example.com/tags#"

#: Any string, lone surrogates included: a JSON body may escape them (``"\\ud800"``).
TEXT = st.text(st.characters(exclude_categories=()), max_size=20)
#: Every attribute value the model's ``Value`` type allows.
VALUES: st.SearchStrategy[Value] = st.recursive(
    st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def typed(value: object) -> object:
    """``value`` with every type made explicit: ``1``, ``1.0`` and ``True`` all differ."""
    if isinstance(value, list):
        return ["list", [typed(item) for item in value]]
    if isinstance(value, dict):
        return ["dict", {key: typed(item) for key, item in value.items()}]
    return [type(value).__name__, repr(value)]


def compute(entityId: str, *, owner: str = "alice", mixins: Sequence[Mixin] = (),
            **attributes: object) -> Entity:
    values = {name.replace("_", "."): value for name, value in attributes.items()}
    return newEntity(Description(kind=COMPUTE, mixins=tuple(mixins), attributes=values),
                     entityId=entityId, owner=owner, now=100.0)


def network(entityId: str) -> Entity:
    return newEntity(Description(kind=NETWORK), entityId=entityId, owner="alice", now=100.0)


def storage(entityId: str) -> Entity:
    return newEntity(Description(kind=STORAGE, attributes={"occi.storage.size": 10}),
                     entityId=entityId, owner="alice", now=100.0)


def nic(entityId: str, source: str, target: str) -> Entity:
    return newEntity(
        Description(kind=NETWORKINTERFACE,
                    attributes={"occi.core.source": source, "occi.core.target": target}),
        entityId=entityId, owner="alice", now=100.0,
    )


def storagelink(entityId: str, source: str, target: str) -> Entity:
    return newEntity(
        Description(kind=STORAGELINK,
                    attributes={"occi.core.source": source, "occi.core.target": target,
                                "occi.storagelink.deviceid": "vda"}),
        entityId=entityId, owner="alice", now=100.0,
    )


def raw(entityId: str, **attributes: Any) -> Entity:
    """An entity with attributes the model would not check: stores take values as given."""
    return Entity(kind=COMPUTE, mixins=(),
                  attributes={"occi.core.id": entityId, **attributes})


def tag(term: str, *, depends: tuple[Mixin, ...] = (),
        attributes: tuple[AttributeDefinition, ...] = ()) -> Mixin:
    return Mixin(TAGS, term, title=f"Tag {term}", location=f"/tags/{term}/", owner="alice",
                 depends=depends, attributes=attributes)


def creates(*entities: Entity) -> list[Put]:
    return [Put(entity, expect=CREATE) for entity in entities]


async def failure(deferred: Any, kind: type[BaseException]) -> BaseException:
    """Await ``deferred`` and return the exception it fails with, which must be a ``kind``."""
    with pytest.raises(kind) as caught:
        await deferred
    return caught.value


EVERYTHING = Query()


async def ids(store: IStore, query: Query = EVERYTHING, limit: int = 1000) -> list[str]:
    """The ids of everything ``query`` lists, which must fit in one page."""
    page = await store.page(query, None, limit)
    assert page.cursor is None
    return [entity.id for entity in page.entities]


class EntityContract:
    """Tests of :class:`IEntityStore`; needs a backend (:mod:`.backends`)."""

    async def restart(self, store: IStore) -> IStore:
        raise NotImplementedError

    # -- basics --------------------------------------------------------------------------

    def test_provides_i_entity_store(self, store: IStore) -> None:
        assert verifyObject(IEntityStore, store)

    @pytest_twisted.ensureDeferred
    async def test_create_then_get(self, store: IStore) -> None:
        entity = compute("c1", mixins=[SMALL, DEBIAN], occi_core_title="web")
        await store.apply(creates(entity))
        assert await store.get("c1") == entity
        assert await store.get("nothing") is None

    @pytest_twisted.ensureDeferred
    async def test_create_conflicts_with_existing_id(self, store: IStore) -> None:
        await store.apply(creates(compute("c1", occi_core_title="first")))
        problem = await failure(
            store.apply(creates(compute("c1", occi_core_title="second"))), Conflict)
        assert "c1" in str(problem)
        stored = await store.get("c1")
        assert stored is not None and stored.attributes["occi.core.title"] == "first"

    @pytest_twisted.ensureDeferred
    async def test_replace_checks_the_revision(self, store: IStore) -> None:
        first = compute("c1", occi_compute_cores=1)
        await store.apply(creates(first))
        second = Entity(first.kind, first.mixins, {**first.attributes, "occi.compute.cores": 2},
                        first.owner, revision=2, created=100.0, updated=150.0)
        await store.apply([Put(second, expect=1)])
        assert await store.get("c1") == second
        stale = Entity(first.kind, first.mixins, {**first.attributes, "occi.compute.cores": 3},
                       first.owner, revision=2)
        problem = await failure(store.apply([Put(stale, expect=1)]), PreconditionFailed)
        assert "revision 2" in str(problem)
        assert await store.get("c1") == second
        await failure(store.apply([Put(compute("ghost"), expect=1)]), NotFound)
        assert await store.get("ghost") is None

    @pytest_twisted.ensureDeferred
    async def test_unconditional_put_creates_or_replaces(self, store: IStore) -> None:
        await store.apply([Put(compute("c1", occi_compute_cores=1))])
        await store.apply([Put(compute("c1", occi_compute_cores=4))])
        stored = await store.get("c1")
        assert stored is not None and stored.attributes["occi.compute.cores"] == 4
        assert await store.count(Query()) == 1

    @pytest_twisted.ensureDeferred
    async def test_kind_cannot_change(self, store: IStore) -> None:
        await store.apply(creates(compute("x")))
        problem = await failure(store.apply([Put(network("x"))]), Conflict)
        assert "compute" in str(problem) and "network" in str(problem)

    @pytest_twisted.ensureDeferred
    async def test_delete(self, store: IStore) -> None:
        await store.apply(creates(compute("c1"), compute("c2")))
        await failure(store.apply([Delete("c1", expect=7)]), PreconditionFailed)
        assert await store.get("c1") is not None
        await store.apply([Delete("c1", expect=1)])
        assert await store.get("c1") is None
        await failure(store.apply([Delete("c1")]), NotFound)
        assert await ids(store) == ["c2"]

    # -- atomicity -----------------------------------------------------------------------

    @pytest_twisted.ensureDeferred
    async def test_failing_change_set_changes_nothing(self, store: IStore) -> None:
        await store.apply(creates(compute("old", occi_compute_cores=1), network("n")))
        replaced = compute("old", occi_compute_cores=8)
        changes = [
            *creates(compute("new1"), compute("new2")),
            Put(replaced),
            Delete("n"),
            Put(compute("new1"), expect=CREATE),  # conflicts with the first change
        ]
        await failure(store.apply(changes), Conflict)
        assert await ids(store) == ["old", "n"]
        stored = await store.get("old")
        assert stored is not None and stored.attributes["occi.compute.cores"] == 1
        # The store is still usable, and the same set without its bad change goes through.
        await store.apply(changes[:-1])
        assert sorted(await ids(store)) == ["new1", "new2", "old"]

    @pytest_twisted.ensureDeferred
    async def test_later_changes_see_earlier_ones(self, store: IStore) -> None:
        await store.apply([
            *creates(compute("c"), network("n"), nic("l", "/compute/c", "/network/n")),
            Delete("l"),
            Put(nic("l", "/compute/c", "/network/n"), expect=CREATE),
        ])
        assert await ids(store) == ["c", "n", "l"]

    # -- links ---------------------------------------------------------------------------

    @pytest_twisted.ensureDeferred
    async def test_link_source_must_be_an_existing_resource(self, store: IStore) -> None:
        await store.apply(creates(compute("c"), network("n")))
        problem = await failure(
            store.apply(creates(nic("l1", "/compute/missing", "/network/n"))), Conflict)
        assert "source /compute/missing does not exist" in str(problem)
        # The location must be the entity's own, not another kind's collection.
        await failure(store.apply(creates(nic("l1", "/storage/c", "/network/n"))), Conflict)
        await store.apply(creates(nic("l1", "/compute/c", "/network/n")))
        problem = await failure(
            store.apply(creates(nic("l2", "/networkinterface/l1", "/network/n"))), Conflict)
        assert "is not a resource" in str(problem)
        assert await ids(store) == ["c", "n", "l1"]

    @pytest_twisted.ensureDeferred
    async def test_local_link_target_must_exist(self, store: IStore) -> None:
        await store.apply(creates(compute("c")))
        problem = await failure(
            store.apply(creates(nic("l1", "/compute/c", "/network/none"))), Conflict)
        assert "target /network/none does not exist" in str(problem)
        # A target elsewhere is the client's business.
        await store.apply(creates(nic("l1", "/compute/c", "http://elsewhere.example/net/1")))
        assert await store.get("l1") is not None

    @pytest_twisted.ensureDeferred
    async def test_delete_cascades_to_links(self, store: IStore) -> None:
        await store.apply(creates(
            compute("c1"), compute("c2"), network("n"), storage("s"),
            nic("l1", "/compute/c1", "/network/n"),
            nic("l2", "/compute/c2", "/network/n"),
            storagelink("l3", "/compute/c1", "/storage/s"),
            storagelink("l4", "/compute/c2", "/storage/s"),
        ))
        await store.apply([Delete("n")])  # a target: links to it go
        assert await ids(store) == ["c1", "c2", "s", "l3", "l4"]
        await store.apply([Delete("c1")])  # a source: links from it go
        assert await ids(store) == ["c2", "s", "l4"]
        links = await store.linksFrom(["/compute/c1", "/compute/c2"])
        assert [link.id for link in links["/compute/c2"]] == ["l4"]
        assert links["/compute/c1"] == []

    @pytest_twisted.ensureDeferred
    async def test_links_from(self, store: IStore) -> None:
        await store.apply(creates(
            compute("c1"), compute("c2"), compute("c3"), network("n1"), network("n2"),
            nic("b", "/compute/c1", "/network/n2"),
            nic("a", "/compute/c1", "/network/n1"),
            nic("c", "/compute/c2", "/network/n1"),
        ))
        links = await store.linksFrom(["/compute/c1", "/compute/c2", "/compute/c3"])
        assert {source: [link.id for link in found] for source, found in links.items()} == {
            "/compute/c1": ["b", "a"],
            "/compute/c2": ["c"],
            "/compute/c3": [],
        }
        assert all(link.source == "/compute/c1" for link in links["/compute/c1"])
        assert await store.linksFrom([]) == {}

    # -- listings ------------------------------------------------------------------------

    @pytest_twisted.ensureDeferred
    async def test_pages_in_creation_order_without_duplicates(self, store: IStore) -> None:
        created = [f"e{n:02}" for n in range(23)]
        for start in range(0, 23, 5):
            await store.apply(creates(*(compute(i) for i in created[start:start + 5])))
        # Replacing an entity keeps its place.
        await store.apply([Put(compute("e00", occi_compute_cores=2))])
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            page = await store.page(Query(), cursor, 5)
            assert len(page.entities) <= 5
            seen.extend(entity.id for entity in page.entities)
            pages += 1
            if page.cursor is None:
                break
            cursor = page.cursor
        assert seen == created
        assert pages == 5

    @pytest_twisted.ensureDeferred
    async def test_cursor_survives_changes(self, store: IStore) -> None:
        await store.apply(creates(*(compute(f"e{n}") for n in range(6))))
        first = await store.page(Query(), None, 3)
        await store.apply([Delete("e3"), *creates(compute("late"))])
        rest = await store.page(Query(), first.cursor, 10)
        assert [e.id for e in rest.entities] == ["e4", "e5", "late"]
        assert rest.cursor is None

    @pytest_twisted.ensureDeferred
    async def test_exactly_full_page_ends_the_listing(self, store: IStore) -> None:
        await store.apply(creates(compute("a"), compute("b")))
        page = await store.page(Query(), None, 2)
        assert [e.id for e in page.entities] == ["a", "b"] and page.cursor is None
        empty = await store.page(Query(kinds=frozenset({STORAGE.identifier})), None, 2)
        assert empty.entities == [] and empty.cursor is None

    @pytest_twisted.ensureDeferred
    async def test_bad_cursors_and_limits(self, store: IStore) -> None:
        for cursor in ["abc", "-1", "1.5", "", "\uff11", "9" * 19, "9" * 4000]:
            await failure(store.page(Query(), cursor, 10), BadRequest)
        await failure(store.page(Query(), None, 0), BadRequest)

    @pytest_twisted.ensureDeferred
    async def test_kind_filter(self, store: IStore) -> None:
        await store.apply(creates(compute("c1"), network("n1"), storage("s1"), compute("c2")))
        computes = Query(kinds=frozenset({COMPUTE.identifier}))
        assert await ids(store, computes) == ["c1", "c2"]
        assert await store.count(computes) == 2
        either = Query(kinds=frozenset({COMPUTE.identifier, STORAGE.identifier}))
        assert await ids(store, either) == ["c1", "s1", "c2"]
        page = await store.page(either, None, 2)
        assert [e.id for e in page.entities] == ["c1", "s1"]
        rest = await store.page(either, page.cursor, 2)
        assert [e.id for e in rest.entities] == ["c2"] and rest.cursor is None

    @pytest_twisted.ensureDeferred
    async def test_owner_filter(self, store: IStore) -> None:
        await store.apply(creates(compute("a1"), compute("b1", owner="bob"), compute("a2")))
        assert await ids(store, Query(owner="alice")) == ["a1", "a2"]
        assert await ids(store, Query(owner="bob")) == ["b1"]
        assert await store.count(Query(owner="carol")) == 0

    @pytest_twisted.ensureDeferred
    async def test_mixin_filter(self, store: IStore) -> None:
        await store.apply(creates(
            compute("deb", mixins=[DEBIAN, SMALL]),
            compute("ubu", mixins=[UBUNTU]),
            compute("bare"),
            compute("deb2", mixins=[DEBIAN], owner="bob"),
        ))
        debian = frozenset({DEBIAN.identifier})
        assert await ids(store, Query(mixins=debian)) == ["deb", "deb2"]
        assert await ids(store, Query(mixins=debian, owner="bob")) == ["deb2"]
        both = Query(mixins=frozenset({DEBIAN.identifier, UBUNTU.identifier}))
        assert await ids(store, both) == ["deb", "ubu", "deb2"]
        assert await store.count(both) == 3
        page = await store.page(Query(mixins=debian), None, 1)
        rest = await store.page(Query(mixins=debian), page.cursor, 1)
        assert [e.id for e in [*page.entities, *rest.entities]] == ["deb", "deb2"]
        # Replacing an entity replaces its associations.
        await store.apply([Put(compute("deb", mixins=[UBUNTU]))])
        assert await ids(store, Query(mixins=debian)) == ["deb2"]

    @pytest_twisted.ensureDeferred
    async def test_attribute_filters_compare_typed_values(self, store: IStore) -> None:
        await store.apply(creates(
            raw("int", **{"x.n": 2, "x.s": "2", "x.b": True, "x.l": [1, "a"],
                          "x.h": {"b": 1, "a": [2.5]}}),
            raw("float", **{"x.n": 2.0, "x.s": "two", "x.b": False, "x.l": ["a", 1]}),
            raw("other", **{"x.n": 3, "x.s": "true", "x.b": 1, "x.h": {"a": [2.5]}}),
        ))

        async def matching(**wanted: Any) -> list[str]:
            query = Query(attributes={k.replace("_", "."): v for k, v in wanted.items()})
            found = await ids(store, query)
            assert await store.count(query) == len(found)
            return found

        assert await matching(x_n=2) == ["int", "float"]
        assert await matching(x_n=2.0) == ["int", "float"]
        assert await matching(x_n=3.0) == ["other"]
        assert await matching(x_s="2") == ["int"]  # a string is not a number
        assert await matching(x_s=2) == []
        assert await matching(x_b=True) == ["int"]  # a boolean is not a number
        assert await matching(x_b=1) == ["other"]
        assert await matching(x_s="true") == ["other"]
        assert await matching(x_l=[1, "a"]) == ["int"]  # lists are ordered
        assert await matching(x_h={"a": [2.5], "b": 1}) == ["int"]  # hashes are not
        assert await matching(x_n=2, x_b=False) == ["float"]
        assert await matching(x_missing=2) == []
        assert await matching(**{'x_"odd': 2}) == []

    @pytest_twisted.ensureDeferred
    async def test_model_attribute_filters(self, store: IStore) -> None:
        await store.apply(creates(
            compute("small", occi_compute_cores=1, occi_compute_memory=2),
            compute("big", occi_compute_cores=8, occi_compute_memory=2.5,
                    occi_compute_hostname="big.example"),
        ))
        query = Query(kinds=frozenset({COMPUTE.identifier}),
                      attributes={"occi.compute.memory": 2})
        assert await ids(store, query) == ["small"]
        hostname = Query(attributes={"occi.compute.hostname": "big.example"})
        assert await ids(store, hostname) == ["big"]
        inactive = Query(attributes={"occi.compute.state": "inactive"})
        assert await store.count(inactive) == 2

    @pytest_twisted.ensureDeferred
    async def test_any_value_round_trips_and_filters(self, store: IStore) -> None:
        """Whatever JSON-like value an attribute holds comes back with its exact types, and
        a filter on that very value finds it.

        Hypothesis drives the examples from a thread, each store call made on the reactor
        (``blockingCallFromThread``), because the writes need the reactor running."""

        def call(method: Any, *args: object) -> Any:
            return blockingCallFromThread(reactor, method, *args)

        @settings(max_examples=75, deadline=None)
        @given(value=VALUES)
        def roundTrip(value: Value) -> None:
            call(store.apply, [Put(raw("v", **{"x.value": value, "x.other": [value]}))])
            stored = call(store.get, "v")
            assert stored is not None
            assert typed(stored.attributes["x.value"]) == typed(value)
            assert typed(stored.attributes["x.other"]) == typed([value])
            assert call(store.count, Query(attributes={"x.value": value})) == 1
            assert call(store.count, Query(attributes={"x.other": [value]})) == 1

        await deferToThread(roundTrip)

    # -- user mixins ---------------------------------------------------------------------

    @pytest_twisted.ensureDeferred
    async def test_define_and_remove_user_mixin(self, store: IStore) -> None:
        red = await store.defineMixin(tag("red"))
        assert store.registry.get(TAGS + "red") == red
        assert await store.defineMixin(tag("red")) == red  # again: harmless
        await store.apply(creates(compute("c1", mixins=[red, DEBIAN]), compute("c2")))
        redQuery = Query(mixins=frozenset({red.identifier}))
        assert await ids(store, redQuery) == ["c1"]

        await store.removeMixin(red.identifier)
        assert store.registry.get(red.identifier) is None
        assert await ids(store, redQuery) == []
        stored = await store.get("c1")
        assert stored is not None
        assert [m.identifier for m in stored.mixins] == [DEBIAN.identifier]
        assert stored.revision == 2  # its document changed, so does its ETag
        assert await ids(store, Query(mixins=frozenset({DEBIAN.identifier}))) == ["c1"]
        # A change set made with the mixin before it went cannot bring it back.
        problem = await failure(store.apply([Put(compute("c2", mixins=[red]))]), Conflict)
        assert "no longer exists" in str(problem)

    @pytest_twisted.ensureDeferred
    async def test_remove_mixin_refusals(self, store: IStore) -> None:
        await failure(store.removeMixin(TAGS + "never"), NotFound)
        await failure(store.removeMixin(DEBIAN.identifier), Conflict)
        base = await store.defineMixin(tag("base"))
        await store.defineMixin(tag("derived", depends=(base,)))
        problem = await failure(store.removeMixin(base.identifier), Conflict)
        assert "derived" in str(problem)
        await store.removeMixin(TAGS + "derived")
        await store.removeMixin(base.identifier)
        await failure(store.removeMixin(base.identifier), NotFound)

    @pytest_twisted.ensureDeferred
    async def test_define_mixin_clashes(self, store: IStore) -> None:
        await store.defineMixin(tag("red"))
        clash = Mixin(TAGS, "red", location="/elsewhere/", owner="alice")
        await failure(store.defineMixin(clash), Conflict)
        taken = Mixin(TAGS, "blue", location="/tags/red/", owner="alice")
        await failure(store.defineMixin(taken), Conflict)
        await failure(store.defineMixin(Mixin(DEBIAN.scheme, DEBIAN.term, location="/x/",
                                              owner="alice")), Conflict)

    # -- lifecycle -----------------------------------------------------------------------

    @pytest_twisted.ensureDeferred
    async def test_survives_restart(self, store: IStore) -> None:
        red = await store.defineMixin(tag("red"))
        shade = AttributeDefinition("com.example.shade", AttributeType.ENUM, mutable=False,
                                    default="crimson", enum=("crimson", "ruby"),
                                    description="Which red")
        await store.defineMixin(tag("dark-red", depends=(red,), attributes=(shade,)))
        entities = [
            compute("c1", mixins=[red, SMALL], occi_compute_memory=1.5),
            network("n"),
            nic("l", "/compute/c1", "/network/n"),
        ]
        await store.apply(creates(*entities))
        again = await self.restart(store)
        darkRed = again.registry.get(TAGS + "dark-red")
        assert isinstance(darkRed, Mixin) and darkRed.owner == "alice"
        assert [dep.identifier for dep in darkRed.depends] == [red.identifier]
        assert darkRed.attributes == (shade,)  # its attributes kept (GFD.225 3.5.1)
        for entity in entities:
            assert await again.get(entity.id) == entity
        assert await ids(again) == ["c1", "n", "l"]
        await again.apply(creates(compute("c2")))
        assert await ids(again) == ["c1", "n", "l", "c2"]

    @pytest_twisted.ensureDeferred
    async def test_stopped_store_refuses(self, store: IStore) -> None:
        await store.apply(creates(compute("c1")))
        await store.stop()
        problem = await failure(store.apply(creates(compute("c2"))), StoreUnavailable)
        assert "not running" in str(problem) or "stopped" in str(problem)
        await failure(store.get("c1"), StoreUnavailable)
        await failure(store.defineMixin(tag("red")), StoreUnavailable)
        await store.stop()  # stopping twice is harmless
