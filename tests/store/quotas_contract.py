"""The contract of quotas: a change set carrying a
:class:`~occi_twisted.model.quotas.WithinQuota` is refused whole when its owner's things, with
the set's other changes, go beyond the limits -- checked in the set's transaction, so two
concurrent creates cannot both slip under."""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet.defer import DeferredList

from occi_twisted.identity import Quota
from occi_twisted.model.errors import QuotaExceeded
from occi_twisted.model.quotas import WithinQuota
from occi_twisted.store.interface import CREATE, IStore, Put, Query

from .contract import compute, storage
from .requests_contract import request

ALICE = Query(owner="alice")


class QuotaContract:
    """Tests of quotas in change sets; needs a backend (:mod:`.backends`)."""

    @pytest_twisted.ensureDeferred
    async def test_a_set_beyond_a_quota_stores_nothing(self, store: IStore) -> None:
        limits = WithinQuota("alice", Quota(cores=4, entities=3))
        await store.apply([Put(compute("c1", occi_compute_cores=2), expect=CREATE), limits])
        with pytest.raises(QuotaExceeded, match="quota exceeded: cores 5 of 4"):
            await store.apply([Put(compute("c2", occi_compute_cores=3), expect=CREATE),
                               limits])
        assert await store.count(ALICE) == 1
        # Another owner's things count for them only.
        await store.apply([Put(compute("b1", owner="bob", occi_compute_cores=8),
                               expect=CREATE), limits])
        await store.apply([Put(compute("c2", occi_compute_cores=2), expect=CREATE), limits])
        with pytest.raises(QuotaExceeded, match="storage 20 of 15 GiB"):
            await store.apply([Put(storage("s1"), expect=CREATE), Put(storage("s2"),
                               expect=CREATE), WithinQuota("alice", Quota(storage=15))])
        with pytest.raises(QuotaExceeded, match="entities 4 of 3"):
            await store.apply([Put(storage("s1"), expect=CREATE), Put(storage("s2"),
                               expect=CREATE), limits])
        assert await store.count(ALICE) == 2

    @pytest_twisted.ensureDeferred
    async def test_concurrent_creates_cannot_both_slip_under(self, store: IStore) -> None:
        limits = WithinQuota("alice", Quota(entities=1))
        results = await DeferredList([
            store.apply([Put(compute(f"c{i}"), expect=CREATE), limits]) for i in range(2)
        ], consumeErrors=True)
        assert sorted(ok for ok, _ in results) == [False, True]
        assert await store.count(ALICE) == 1

    @pytest_twisted.ensureDeferred
    async def test_requests_running_at_once(self, store: IStore) -> None:
        await store.apply([Put(compute("c1"), expect=CREATE)])
        limits = WithinQuota("alice", Quota(requests=1))
        await store.addRequest(request(requestId="r1"), alongside=[limits])
        with pytest.raises(QuotaExceeded, match="requests 2 of 1 running"):
            await store.addRequest(request(requestId="r2"), alongside=[limits])
        assert await store.getRequest("r2") is None
