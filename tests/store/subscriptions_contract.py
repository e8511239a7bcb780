"""The contract of pubsub subscriptions
(:class:`~occi_twisted.store.interface.ISubscriptionStore`), kept by every store."""

from __future__ import annotations

import pytest_twisted
from zope.interface.verify import verifyObject

from occi_twisted.model.events import Subscription
from occi_twisted.store.interface import IStore, ISubscriptionStore


class SubscriptionContract:
    """Tests of :class:`ISubscriptionStore`; needs a backend (:mod:`.backends`)."""

    def test_provides_i_subscription_store(self, store: IStore) -> None:
        assert verifyObject(ISubscriptionStore, store)

    @pytest_twisted.ensureDeferred
    async def test_subscriptions(self, store: IStore) -> None:
        first = await store.subscribe(Subscription("/compute/", "a@x/r", "s1", {}, 1.0))
        again = await store.subscribe(Subscription("/compute/", "a@x/r", "s2",
                                                   {"pubsub#deliver": "true"}, 2.0))
        assert first.subid == again.subid == "s1"
        assert again.options == {"pubsub#deliver": "true"}
        await store.subscribe(Subscription("/", "b@x", "s3", {}, 3.0))
        assert [s.jid for s in await store.subscriptions("/compute/")] == ["a@x/r"]
        assert [s.node for s in await store.subscriptions(jid="b@x")] == ["/"]
        assert len(await store.subscriptions()) == 2
        assert not await store.unsubscribe("/compute/", "a@x/r", "wrong")
        assert await store.unsubscribe("/compute/", "a@x/r")
        assert not await store.unsubscribe("/compute/", "a@x/r")
        assert [s.jid for s in await store.subscriptions()] == ["b@x"]

    @pytest_twisted.ensureDeferred
    async def test_the_published_position_only_moves_forward(self, store: IStore) -> None:
        assert await store.publishedUpTo() is None
        await store.savePublished(7)
        assert await store.publishedUpTo() == 7
        await store.savePublished(3)  # a node confirming late
        assert await store.publishedUpTo() == 7
        await store.savePublished(9)
        assert await store.publishedUpTo() == 9
