"""The OCCI Core model (GFD.221): the entity, resource and link kinds."""

from __future__ import annotations

from .attributes import AttributeDefinition as Attr
from .attributes import AttributeType as T
from .categories import Kind
from .ids import ENTITY_ID

CORE = "http://schemas.ogf.org/occi/core#"

#: No location: GFD.223 section 3 says that a kind whose type cannot be instantiated MUST NOT
#: be bound to a URL path, and names this one (GFD.221: an entity is a resource or a link).
#: Everything is listed at ``/resource/`` and ``/link/`` instead.
ENTITY = Kind(
    CORE,
    "entity",
    title="Entity",
    attributes=(
        Attr("occi.core.id", T.STRING, mutable=False, required=True,
             description="Immutable, unique identifier of the entity",
             pattern=ENTITY_ID),
        Attr("occi.core.title", T.STRING, description="The display name of the entity"),
    ),
)

RESOURCE = Kind(
    CORE,
    "resource",
    title="Resource",
    parent=ENTITY,
    location="/resource/",
    attributes=(Attr("occi.core.summary", T.STRING, description="A summary of the resource"),),
)

LINK = Kind(
    CORE,
    "link",
    title="Link",
    parent=ENTITY,
    location="/link/",
    attributes=(
        Attr("occi.core.source", T.URI, required=True,
             description="The location of the resource the link comes from"),
        Attr("occi.core.target", T.URI, required=True,
             description="The location of the resource the link goes to"),
        Attr("occi.core.target.kind", T.URI, mutable=False,
             description="The kind of the link's target"),
    ),
)

#: Kinds that are abstract: nothing is created with them, only with a kind derived from them.
ABSTRACT = frozenset({ENTITY.identifier})
