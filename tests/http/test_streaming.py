"""Listings longer than a page stream in order, whole, in every streaming rendering."""

from __future__ import annotations

import json

import pytest_twisted as pt
from twisted.internet import reactor

from occi_twisted.http.room import STREAM_BATCH
from occi_twisted.model import Description, newEntity
from occi_twisted.model.infrastructure import COMPUTE, NETWORK, NETWORKINTERFACE
from occi_twisted.store.interface import CREATE, Put

from .support import BASE, Client


@pt.ensureDeferred
async def test_multi_page_listing_streams_everything_in_order() -> None:
    client = Client(clock=reactor)
    network = newEntity(Description(kind=NETWORK))
    computes = [newEntity(Description(kind=COMPUTE)) for _ in range(STREAM_BATCH * 2 + 7)]
    links = [newEntity(Description(kind=NETWORKINTERFACE, attributes={
        "occi.core.source": c.location, "occi.core.target": network.location}))
        for c in computes[:3]]
    await client.store.apply([Put(e, expect=CREATE) for e in [network, *computes, *links]])

    listing = await client.request("GET", "/compute/", Accept="text/uri-list")
    assert listing.code == 200
    assert listing.text.split() == [BASE + c.location for c in computes]

    resources = await client.request("GET", "/resource/", Accept="application/occi+json")
    assert len(json.loads(resources.body)["resources"]) == len(computes) + 1
    linked = await client.request("GET", "/link/", Accept="application/occi+json")
    assert [link["id"] for link in json.loads(linked.body)["links"]] == [link.id
                                                                       for link in links]
