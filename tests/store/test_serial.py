"""The store reads documents its own way: a kind the server lost is StoreUnavailable."""

from __future__ import annotations

import pytest

from occi_twisted.model import Description, Registry, newEntity
from occi_twisted.model.documents import entityToDict
from occi_twisted.model.infrastructure import COMPUTE
from occi_twisted.store.interface import StoreUnavailable
from occi_twisted.store.serial import entityFromDict


def test_an_unknown_kind_is_store_unavailable() -> None:
    document = {**entityToDict(newEntity(Description(kind=COMPUTE))),
                "kind": "http://example.com/gone#thing"}
    with pytest.raises(StoreUnavailable, match="gone#thing"):
        entityFromDict(document, Registry.standard())


def test_an_unknown_mixin_is_dropped() -> None:
    document = {**entityToDict(newEntity(Description(kind=COMPUTE))),
                "mixins": ["http://example.com/gone#tag"]}
    assert entityFromDict(document, Registry.standard()).mixins == ()
