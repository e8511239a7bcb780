"""The contract of persistent requests (:class:`~occi_twisted.store.interface.IRequestStore`),
kept by every store.

Times are passed in, as the scheduler passes its clock's: no test here waits for anything.
"""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from zope.interface.verify import verifyObject

from occi_twisted.model import Description, Entity, newEntity, withState
from occi_twisted.model.errors import BadRequest, Conflict, NotFound, PreconditionFailed
from occi_twisted.model.infrastructure import COMPUTE
from occi_twisted.model.requests import AddRequest, RequestRecord, RequestState, newRequest
from occi_twisted.store.interface import (
    CREATE,
    Change,
    IRequestStore,
    IStore,
    Put,
    StoreUnavailable,
)

STOP = "http://schemas.ogf.org/occi/infrastructure/compute/action#stop"
START = "http://schemas.ogf.org/occi/infrastructure/compute/action#start"
LEASE = 30.0


def request(entityId: str = "c1", *, now: float = 1000.0, notBefore: float | None = None,
            requestId: str | None = None, **attributes: Any) -> RequestRecord:
    return newRequest(entityId, STOP, owner="alice", now=now, attributes=attributes,
                      notBefore=notBefore, requestId=requestId)


def compute(entityId: str) -> Entity:
    return newEntity(Description(kind=COMPUTE), entityId=entityId, owner="alice", now=100.0)


async def failure(deferred: Any, kind: type[BaseException]) -> BaseException:
    """Await ``deferred`` and return the exception it fails with, which must be a ``kind``."""
    with pytest.raises(kind) as caught:
        await deferred
    return caught.value


async def withEntity(store: IStore, *entityIds: str) -> None:
    await store.apply([Put(compute(entityId), expect=CREATE) for entityId in entityIds])


async def claimedIds(store: IStore, node: str, now: float, limit: int = 10) -> list[str]:
    return [record.id for record in await store.claimDue(node, now, limit, LEASE)]


class RequestContract:
    """Tests of :class:`IRequestStore`; needs a backend (:mod:`.backends`)."""

    async def restart(self, store: IStore) -> IStore:
        raise NotImplementedError

    def test_provides_i_request_store(self, store: IStore) -> None:
        assert verifyObject(IRequestStore, store)

    @pytest_twisted.ensureDeferred
    async def test_add_then_get(self, store: IStore) -> None:
        await withEntity(store, "c1")
        record = request(method="acpioff", nested={"a": [1, 2.5, True, None]})
        assert record.state is RequestState.QUEUED and len(record.id) == 36
        await store.addRequest(record)
        assert await store.getRequest(record.id) == record
        assert await store.getRequest("nothing") is None
        later = request(notBefore=5000.0)
        assert later.state is RequestState.SCHEDULED
        await store.addRequest(later)
        assert await store.getRequest(later.id) == later

    @pytest_twisted.ensureDeferred
    async def test_add_checks_entity_and_id(self, store: IStore) -> None:
        problem = await failure(store.addRequest(request("ghost")), NotFound)
        assert "ghost" in str(problem)
        await withEntity(store, "c1")
        first = request(requestId="r1")
        await store.addRequest(first)
        await failure(store.addRequest(request(requestId="r1")), Conflict)
        running = await store.claimDue("a", 1000.0, 1, LEASE)
        with pytest.raises(ValueError):  # only new, waiting requests are added
            await store.addRequest(running[0])
        await failure(store.addRequest(request(x=float("nan"))), ValueError)

    @pytest_twisted.ensureDeferred
    async def test_request_commits_with_its_change_set(self, store: IStore) -> None:
        """An entity and a request of it, in one set: both or neither."""
        together = request("new")
        await store.apply([Put(compute("new"), expect=CREATE), AddRequest(together)])
        assert await store.getRequest(together.id) == together
        doomed = request("c2")
        changes: list[Change] = [Put(compute("c2"), expect=CREATE), AddRequest(doomed),
                   Put(compute("new"), expect=CREATE)]  # conflicts: the set fails
        await failure(store.apply(changes), Conflict)
        assert await store.getRequest(doomed.id) is None
        assert await store.get("c2") is None
        twice = request("new", requestId="same")
        await failure(store.apply([AddRequest(twice), AddRequest(twice)]), Conflict)
        assert await store.getRequest("same") is None

    @pytest_twisted.ensureDeferred
    async def test_list_requests_in_creation_order(self, store: IStore) -> None:
        await withEntity(store, "c1", "c2")
        made = [request("c1" if n % 3 else "c2", requestId=f"r{n}") for n in range(7)]
        for record in made:
            await store.addRequest(record)
        first = await store.listRequests("c1", None, 3)
        assert [r.id for r in first.requests] == ["r1", "r2", "r4"]
        rest = await store.listRequests("c1", first.cursor, 3)
        assert [r.id for r in rest.requests] == ["r5"] and rest.cursor is None
        every = await store.listRequests(None, None, 100)
        assert [r.id for r in every.requests] == [f"r{n}" for n in range(7)]
        assert (await store.listRequests("c3", None, 5)).requests == []
        await failure(store.listRequests("c1", "bogus", 5), BadRequest)
        await failure(store.listRequests("c1", None, 0), BadRequest)

    @pytest_twisted.ensureDeferred
    async def test_claim_due_takes_what_is_due_longest_first(self, store: IStore) -> None:
        await withEntity(store, "c1")
        for requestId, notBefore in [("late", 1300.0), ("b", 1100.0), ("a", 1000.0),
                                     ("future", 9000.0), ("c", 1200.0)]:
            await store.addRequest(request(requestId=requestId, notBefore=notBefore))
        claimed = await store.claimDue("node-a", 1500.0, 3, LEASE)
        assert [r.id for r in claimed] == ["a", "b", "c"]
        for record in claimed:
            assert record.state is RequestState.RUNNING and record.claimedBy == "node-a"
            assert record.leaseUntil == 1500.0 + LEASE and record.attempts == 1
            assert record.started == 1500.0 and record.revision == 2
            assert await store.getRequest(record.id) == record
        # Claimed requests are not claimed again while their lease holds.
        assert await claimedIds(store, "node-b", 1500.0) == ["late"]
        assert await claimedIds(store, "node-b", 1500.0 + LEASE - 1) == []
        assert await store.claimDue("node-b", 1500.0, 0, LEASE) == []

    @pytest_twisted.ensureDeferred
    async def test_expired_lease_is_claimed_with_its_checkpoint(self, store: IStore) -> None:
        """A node that stops renewing is taken for dead: its work goes to another, with the
        progress and checkpoint it saved."""
        await withEntity(store, "c1")
        await store.addRequest(request(requestId="r"))
        await store.claimDue("dead", 1000.0, 1, LEASE)
        await store.checkpoint("r", "dead", now=1010.0, leaseSeconds=LEASE,
                               progress={"percent": 40}, checkpoint={"pass": 2, "offset": 7})
        assert await claimedIds(store, "alive", 1010.0 + LEASE - 0.5) == []
        [taken] = await store.claimDue("alive", 1010.0 + LEASE, 5, LEASE)
        assert taken.claimedBy == "alive" and taken.attempts == 2
        assert taken.checkpoint == {"pass": 2, "offset": 7}
        assert taken.progress == {"percent": 40}
        assert "alive" in taken.message and "dead" in taken.message
        # The dead node, back from a pause, may no longer touch it.
        problem = await failure(store.checkpoint("r", "dead", now=1050.0, leaseSeconds=LEASE,
                                                 progress={"percent": 50}), Conflict)
        assert "alive" in str(problem)
        await failure(store.finish("r", "dead", now=1050.0, state=RequestState.SUCCEEDED,
                                   message="done"), Conflict)

    @pytest_twisted.ensureDeferred
    async def test_checkpoint_saves_and_renews(self, store: IStore) -> None:
        await withEntity(store, "c1")
        await store.addRequest(request(requestId="r"))
        [claimed] = await store.claimDue("n", 1000.0, 1, LEASE)
        saved = await store.checkpoint("r", "n", now=1020.0, leaseSeconds=LEASE,
                                       progress={"percent": 10, "bytes": 1 << 40},
                                       checkpoint=[1, "two"])
        assert saved.progress == {"percent": 10, "bytes": 1 << 40}
        assert saved.checkpoint == [1, "two"] and saved.leaseUntil == 1020.0 + LEASE
        assert saved.revision == claimed.revision + 1 and saved.updated == 1020.0
        # A renewal alone moves the lease and nothing a client sees.
        renewed = await store.checkpoint("r", "n", now=1040.0, leaseSeconds=LEASE)
        assert renewed.leaseUntil == 1040.0 + LEASE
        assert (renewed.revision, renewed.progress, renewed.checkpoint) == (
            saved.revision, saved.progress, saved.checkpoint)
        assert await store.getRequest("r") == renewed
        await failure(store.checkpoint("r", "other", now=1040.0, leaseSeconds=LEASE), Conflict)
        await failure(store.checkpoint("none", "n", now=1040.0, leaseSeconds=LEASE), NotFound)
        await failure(store.checkpoint("r", "n", now=1040.0, leaseSeconds=LEASE,
                                       progress={"x": float("inf")}), ValueError)

    @pytest_twisted.ensureDeferred
    async def test_finish(self, store: IStore) -> None:
        await withEntity(store, "c1")
        await store.addRequest(request(requestId="r"))
        await store.claimDue("n", 1000.0, 1, LEASE)
        with pytest.raises(ValueError):
            await store.finish("r", "n", now=1001.0, state=RequestState.QUEUED, message="")
        done = await store.finish("r", "n", now=1005.0, state=RequestState.SUCCEEDED,
                                  message="Stopped.", progress={"percent": 100})
        assert done.state is RequestState.SUCCEEDED and done.finished == 1005.0
        assert done.claimedBy is None and done.leaseUntil is None
        assert done.progress == {"percent": 100} and done.message == "Stopped."
        assert await store.getRequest("r") == done
        assert await claimedIds(store, "n", 99999.0) == []
        await failure(store.finish("r", "n", now=1006.0, state=RequestState.FAILED,
                                   message="again"), Conflict)

    @pytest_twisted.ensureDeferred
    async def test_finish_commits_entity_changes_with_the_end(self, store: IStore) -> None:
        await withEntity(store, "c1")
        await store.addRequest(request(requestId="r"))
        await store.claimDue("n", 1000.0, 1, LEASE)
        before = await store.get("c1")
        assert before is not None
        stopped = withState(before, {"occi.compute.state": "inactive"}, now=1004.0)
        # A stale entity revision refuses both parts: the request still runs.
        stale = withState(before, {"occi.compute.state": "error"}, now=1004.0)
        await failure(store.finish("r", "n", now=1004.0, state=RequestState.SUCCEEDED,
                                   message="", changes=[Put(stale, expect=99)]),
                      PreconditionFailed)
        assert (await store.getRequest("r")).state is RequestState.RUNNING  # type: ignore[union-attr]
        # Another node's finish refuses both parts: the entity stays as it was.
        await failure(store.finish("r", "other", now=1004.0, state=RequestState.SUCCEEDED,
                                   message="", changes=[Put(stopped, expect=before.revision)]),
                      Conflict)
        assert (await store.get("c1")) == before
        done = await store.finish("r", "n", now=1005.0, state=RequestState.SUCCEEDED,
                                  message="Stopped.",
                                  changes=[Put(stopped, expect=before.revision)])
        assert done.state is RequestState.SUCCEEDED
        after = await store.get("c1")
        assert after is not None and after.attributes["occi.compute.state"] == "inactive"

    @pytest_twisted.ensureDeferred
    async def test_release_waits_again(self, store: IStore) -> None:
        await withEntity(store, "c1")
        await store.addRequest(request(requestId="r"))
        await store.claimDue("n", 1000.0, 1, LEASE)
        await store.checkpoint("r", "n", now=1001.0, leaseSeconds=LEASE, checkpoint={"at": 3})
        retry = await store.release("r", "n", now=1002.0, notBefore=1062.0,
                                    message="Busy; tried again later.")
        assert retry.state is RequestState.SCHEDULED and retry.notBefore == 1062.0
        assert retry.claimedBy is None and retry.attempts == 1 and retry.checkpoint == {"at": 3}
        assert await claimedIds(store, "n", 1061.0) == []
        assert await store.nextDue(1002.0) == 1062.0
        [again] = await store.claimDue("n", 1062.0, 1, LEASE)
        assert again.attempts == 2 and again.checkpoint == {"at": 3}
        # An orderly stop gives the attempt back, and the request is due at once.
        stopped = await store.release("r", "n", now=1070.0, notBefore=1070.0,
                                      message="Interrupted.", countAttempt=False)
        assert stopped.state is RequestState.QUEUED and stopped.attempts == 1
        await failure(store.release("r", "n", now=1071.0, notBefore=1071.0, message=""),
                      Conflict)

    @pytest_twisted.ensureDeferred
    async def test_cancel(self, store: IStore) -> None:
        await withEntity(store, "c1")
        for requestId in ["waiting", "running", "done"]:
            await store.addRequest(request(requestId=requestId))
        gone = await store.cancel("waiting", 1001.0)
        assert gone.state is RequestState.CANCELLED and gone.finished == 1001.0
        assert await store.cancel("waiting", 1002.0) == gone  # harmless again
        assert await claimedIds(store, "n", 1003.0, limit=1) == ["running"]
        asked = await store.cancel("running", 1004.0)
        assert asked.state is RequestState.RUNNING and asked.cancelRequested
        assert await store.cancel("running", 1005.0) == asked
        seen = await store.checkpoint("running", "n", now=1006.0, leaseSeconds=LEASE,
                                      progress={"percent": 5})
        assert seen.cancelRequested
        # A cancelled request that is given back is over, not waiting again.
        over = await store.release("running", "n", now=1007.0, notBefore=1007.0, message="")
        assert over.state is RequestState.CANCELLED
        [done] = await store.claimDue("n", 1008.0, 1, LEASE)
        await store.finish(done.id, "n", now=1009.0, state=RequestState.SUCCEEDED, message="")
        await failure(store.cancel("done", 1010.0), Conflict)
        await failure(store.cancel("none", 1010.0), NotFound)

    @pytest_twisted.ensureDeferred
    async def test_next_due(self, store: IStore) -> None:
        assert await store.nextDue(0.0) is None
        await withEntity(store, "c1")
        await store.addRequest(request(requestId="soon", notBefore=2000.0))
        await store.addRequest(request(requestId="later", notBefore=3000.0))
        await store.addRequest(request(requestId="now", notBefore=1000.0))
        assert await store.nextDue(1000.0) == 2000.0  # what is due already is not "next"
        assert await store.nextDue(2500.0) == 3000.0
        assert await store.nextDue(3000.0) is None
        await store.claimDue("n", 1000.0, 1, LEASE)  # "now": its lease ends at 1030
        assert await store.nextDue(1000.0) == 1000.0 + LEASE
        await store.cancel("soon", 1001.0)
        await store.finish("now", "n", now=1001.0, state=RequestState.FAILED, message="")
        assert await store.nextDue(1001.0) == 3000.0

    @pytest_twisted.ensureDeferred
    async def test_count_requests_by_action_and_state(self, store: IStore) -> None:
        assert await store.countRequests() == {}
        await withEntity(store, "c1")
        for requestId in ["a", "b", "c", "d"]:
            await store.addRequest(request(requestId=requestId))
        start = newRequest("c1", START, owner="bob", now=1000.0, requestId="e")
        await store.addRequest(start)
        await store.claimDue("n", 1000.0, 2, LEASE)  # a and b: running
        await store.finish("a", "n", now=1001.0, state=RequestState.FAILED, message="no")
        assert await store.countRequests() == {
            (STOP, "failed"): 1, (STOP, "running"): 1, (STOP, "queued"): 2,
            (START, "queued"): 1}

    @pytest_twisted.ensureDeferred
    async def test_release_node_frees_what_it_ran(self, store: IStore) -> None:
        await withEntity(store, "c1")
        for requestId in ["mine", "theirs", "asked"]:
            await store.addRequest(request(requestId=requestId))
        await store.claimDue("me", 1000.0, 1, LEASE)
        await store.claimDue("them", 1000.0, 1, LEASE)
        await store.claimDue("me", 1000.0, 1, LEASE)
        await store.cancel("asked", 1001.0)
        freed = {r.id: r for r in await store.releaseNode("me", 1002.0)}
        assert set(freed) == {"mine", "asked"}
        assert freed["mine"].state is RequestState.QUEUED and freed["mine"].attempts == 1
        assert freed["asked"].state is RequestState.CANCELLED
        assert await claimedIds(store, "me", 1002.0) == ["mine"]
        theirs = await store.getRequest("theirs")
        assert theirs is not None and theirs.claimedBy == "them"

    @pytest_twisted.ensureDeferred
    async def test_requests_survive_restart(self, store: IStore) -> None:
        await withEntity(store, "c1")
        await store.addRequest(request(requestId="r", notBefore=5000.0))
        await store.addRequest(request(requestId="s"))
        await store.claimDue("n", 1000.0, 1, LEASE)
        await store.checkpoint("s", "n", now=1001.0, leaseSeconds=LEASE, checkpoint={"k": 1})
        before = [await store.getRequest(i) for i in ("r", "s")]
        again = await self.restart(store)
        assert [await again.getRequest(i) for i in ("r", "s")] == before
        assert await again.nextDue(1001.0) == 1001.0 + LEASE

    @pytest_twisted.ensureDeferred
    async def test_stopped_store_refuses_requests(self, store: IStore) -> None:
        await store.stop()
        await failure(store.getRequest("r"), StoreUnavailable)
        await failure(store.claimDue("n", 0.0, 1, LEASE), StoreUnavailable)
        await failure(store.cancel("r", 0.0), StoreUnavailable)
