"""Quotas over HTTP: a create beyond the user's quota is 403 naming it, and stores nothing."""

from __future__ import annotations

import pytest_twisted as pt

from occi_twisted.identity import Quota

from .support import ACTING, INFRA, Client

TEXT = {"Content_Type": "text/plain", "Accept": "text/plain"}


def storageOf(size: int) -> str:
    return (f'Category: storage; scheme="{INFRA}"; class="kind"\n'
            f"X-OCCI-Attribute: occi.storage.size={size}\n")


@pt.ensureDeferred
async def test_a_create_beyond_the_quota_is_refused_and_stores_nothing() -> None:
    client = Client(quotas={"alice": Quota(storage=100, entities=5)})
    alice = {ACTING: "alice"}
    assert (await client.request("POST", "/storage/", storageOf(60), **TEXT, **alice)).code \
        == 201
    refused = await client.request("POST", "/storage/", storageOf(60), **TEXT, **alice)
    assert refused.code == 403
    assert "quota exceeded: storage 120 of 100 GiB" in refused.text
    listed = await client.request("GET", "/storage/", Accept="text/uri-list", **alice)
    assert len(listed.text.split()) == 1
    # Someone else's quota is theirs: bob has none.
    assert (await client.request("POST", "/storage/", storageOf(60), **TEXT,
                                 **{ACTING: "bob"})).code == 201
    # A PUT that would grow past it is refused the same way.
    path = listed.text.split()[0].partition("occi.test")[2]
    grown = await client.request("PUT", path, storageOf(200), **TEXT, **alice)
    assert grown.code == 403 and "storage 200 of 100 GiB" in grown.text
