"""Entity and user mixin documents: what is written reads back, and what names a category the
server no longer knows is said so in the model's own terms."""

from __future__ import annotations

import json

import pytest

from occi_twisted.model import Description, Mixin, Registry, newEntity, withMixins
from occi_twisted.model.documents import (
    UnreadableDocument,
    canonical,
    entityFromDict,
    entityToDict,
    mixinFromDict,
    mixinToDict,
    unknownMixins,
)
from occi_twisted.model.infrastructure import COMPUTE, SMALL

REGISTRY = Registry.standard()
TAG = Mixin("http://example.com/tags#", "red", title="Red", location="/tags/red/", owner="ann")


def storedCompute() -> dict[str, object]:
    entity = newEntity(Description(kind=COMPUTE, attributes={"occi.core.title": "web"}))
    document: dict[str, object] = json.loads(canonical(entityToDict(withMixins(entity, [SMALL]))))
    return document


def test_an_entity_reads_back_from_its_canonical_document() -> None:
    entity = withMixins(newEntity(Description(kind=COMPUTE)), [SMALL])
    again = entityFromDict(json.loads(canonical(entityToDict(entity))), REGISTRY)
    assert again == entity


def test_canonical_text_sorts_keys_and_refuses_what_json_cannot_hold() -> None:
    assert canonical({"b": 1, "a": "\u00e9"}) == '{"a":"\\u00e9","b":1}'
    with pytest.raises(ValueError):
        canonical(float("nan"))


def test_an_unknown_kind_makes_the_document_unreadable() -> None:
    document = {**storedCompute(), "kind": "http://example.com/gone#thing"}
    with pytest.raises(UnreadableDocument, match="gone#thing"):
        entityFromDict(document, REGISTRY)


def test_an_unknown_mixin_is_left_out_and_named() -> None:
    document = storedCompute()
    document["mixins"] = [SMALL.identifier, "http://example.com/gone#tag"]
    entity = entityFromDict(document, REGISTRY)
    assert entity.mixins == (SMALL,)
    assert unknownMixins(document, REGISTRY) == ["http://example.com/gone#tag"]


def test_a_user_mixin_reads_back_from_its_document() -> None:
    assert mixinFromDict(mixinToDict(TAG), REGISTRY) == TAG


def test_a_user_mixin_depending_on_an_unknown_mixin_is_unreadable() -> None:
    document = {**mixinToDict(TAG), "depends": ["http://example.com/gone#base"]}
    with pytest.raises(UnreadableDocument, match="gone#base"):
        mixinFromDict(document, REGISTRY)
