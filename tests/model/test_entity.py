"""Creating and changing entities keeps the model's rules."""

from __future__ import annotations

import uuid

import pytest

from occi_twisted.model import Description, newEntity, updatedEntity, withMixins
from occi_twisted.model.core import ENTITY, LINK
from occi_twisted.model.errors import BadRequest, Conflict, InvalidAttribute
from occi_twisted.model.infrastructure import (
    COMPUTE,
    DEBIAN,
    IPNETWORK,
    LARGE,
    MEDIUM,
    NETWORK,
    SMALL,
    STORAGE,
)


def test_new_compute_gets_uuid_defaults_and_state() -> None:
    entity = newEntity(Description(kind=COMPUTE, attributes={"occi.compute.cores": "2"}))
    assert uuid.UUID(entity.id).version == 4
    assert entity.attributes["occi.compute.cores"] == 2
    assert entity.attributes["occi.compute.state"] == "inactive"
    assert entity.location == f"/compute/{entity.id}"


def test_client_supplied_id_is_kept() -> None:
    entity = newEntity(Description(kind=COMPUTE, attributes={"occi.core.id": "ami-ef48af86"}))
    assert entity.id == "ami-ef48af86"


def test_location_id_must_agree_with_body() -> None:
    with pytest.raises(Conflict):
        newEntity(Description(kind=COMPUTE, attributes={"occi.core.id": "a"}), entityId="b")


def test_templates_give_defaults_and_exclude_each_other() -> None:
    entity = newEntity(Description(kind=COMPUTE, mixins=(LARGE, DEBIAN)))
    assert entity.attributes["occi.compute.cores"] == 4
    assert entity.attributes["occi.compute.memory"] == 16.0
    assert entity.attributes["occi.compute.architecture"] == "x64"
    with pytest.raises(BadRequest, match="At most one resource_tpl"):
        newEntity(Description(kind=COMPUTE, mixins=(SMALL, MEDIUM)))


def test_required_attribute_missing() -> None:
    with pytest.raises(BadRequest, match=r"occi\.storage\.size"):
        newEntity(Description(kind=STORAGE))


def test_unknown_attribute_refused() -> None:
    with pytest.raises(InvalidAttribute, match="not defined"):
        newEntity(Description(kind=COMPUTE, attributes={"occi.storage.size": 1}))


def test_mixin_must_apply() -> None:
    with pytest.raises(BadRequest, match="does not apply"):
        newEntity(Description(kind=COMPUTE, mixins=(IPNETWORK,)))
    assert newEntity(Description(kind=NETWORK, mixins=(IPNETWORK,))).mixins == (IPNETWORK,)


def test_abstract_and_mismatched_kinds() -> None:
    with pytest.raises(BadRequest, match="abstract"):
        newEntity(Description(kind=ENTITY))
    with pytest.raises(BadRequest, match="holds compute"):
        newEntity(Description(kind=NETWORK), kind=COMPUTE)
    with pytest.raises(BadRequest, match="names no kind"):
        newEntity(Description())


def test_link_needs_source_and_target() -> None:
    with pytest.raises(BadRequest, match=r"occi\.core\.source"):
        newEntity(Description(kind=LINK, attributes={"occi.core.target": "/network/1"}))


def test_client_cannot_set_state() -> None:
    entity = newEntity(Description(kind=COMPUTE, attributes={"occi.compute.state": "active"}))
    assert entity.attributes["occi.compute.state"] == "inactive"
    echoed = updatedEntity(entity, Description(attributes={"occi.compute.state": "active"}))
    assert echoed.attributes["occi.compute.state"] == "inactive"


def test_partial_update_and_replace() -> None:
    entity = newEntity(Description(kind=COMPUTE, attributes={"occi.compute.cores": 2,
                                                             "occi.core.title": "web"}))
    partial = updatedEntity(entity, Description(attributes={"occi.compute.cores": 4}))
    assert partial.attributes["occi.core.title"] == "web"
    assert partial.revision == entity.revision + 1
    replaced = updatedEntity(entity, Description(attributes={"occi.compute.cores": 4}),
                             replaceAll=True)
    assert "occi.core.title" not in replaced.attributes
    assert replaced.id == entity.id
    with pytest.raises(InvalidAttribute, match="immutable"):
        updatedEntity(entity, Description(attributes={"occi.core.id": "other"}))
    with pytest.raises(BadRequest, match="cannot change"):
        updatedEntity(entity, Description(kind=NETWORK))


def test_mixins_replace_and_drop_their_attributes() -> None:
    network = newEntity(Description(kind=NETWORK, mixins=(IPNETWORK,),
                                    attributes={"occi.network.address": "10.0.0.0/24"}))
    plain = withMixins(network, [])
    assert "occi.network.address" not in plain.attributes
    assert plain.mixins == ()
