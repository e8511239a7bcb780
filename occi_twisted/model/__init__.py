"""The OCCI model: categories, entities and the rules they keep.  Pure Python, no I/O."""

from .attributes import AttributeDefinition, AttributeType, Value
from .categories import (
    Action,
    Category,
    Kind,
    Mixin,
    attributeDefinitions,
    availableActions,
)
from .entity import (
    ANONYMOUS,
    Description,
    Entity,
    LinkDescription,
    newEntity,
    updatedEntity,
    withMixins,
    withState,
)
from .registry import Registry

__all__ = [
    "ANONYMOUS",
    "Action",
    "AttributeDefinition",
    "AttributeType",
    "Category",
    "Description",
    "Entity",
    "Kind",
    "LinkDescription",
    "Mixin",
    "Registry",
    "Value",
    "attributeDefinitions",
    "availableActions",
    "newEntity",
    "updatedEntity",
    "withMixins",
    "withState",
]
