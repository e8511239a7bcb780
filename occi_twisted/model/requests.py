"""The request kind: how a request (the walkthrough's asynchronous operation) looks to clients.

A request is a resource of its own, at ``{entity}/requests/{id}`` under the entity it acts on,
so it renders like any entity -- in every rendering, with no rendering knowing about requests.
It is not a kind collection: the server writes requests, clients only read and cancel them,
which is why the kind has no location of its own and stays out of the query interface.
"""

from __future__ import annotations

from dataclasses import dataclass

from .attributes import AttributeDefinition as Attr
from .attributes import AttributeType as T
from .categories import Kind
from .core import ENTITY
from .entity import Entity

REQUESTS = "http://schemas.occi-twisted.org/occi/request#"
PREFIX = "occi-twisted.request"

REQUEST = Kind(
    REQUESTS,
    "request",
    title="An action running, or waiting to run, on an entity",
    parent=ENTITY,
    attributes=(
        Attr(f"{PREFIX}.action", T.STRING, mutable=False, required=True,
             description="The action's category identifier"),
        Attr(f"{PREFIX}.target", T.URI, mutable=False, required=True,
             description="The location of the entity the action acts on"),
        Attr(f"{PREFIX}.parameters", T.HASH, mutable=False,
             description="The action's attributes"),
        Attr(f"{PREFIX}.state", T.ENUM, mutable=False, required=True,
             enum=("queued", "scheduled", "running", "succeeded", "failed", "cancelled"),
             description="Where the request is in its life"),
        Attr(f"{PREFIX}.message", T.STRING, mutable=False,
             description="What happened last, in one sentence"),
        Attr(f"{PREFIX}.progress", T.HASH, mutable=False,
             description="percent; pass and passes; bytes and totalBytes"),
        Attr(f"{PREFIX}.percent", T.FLOAT, mutable=False, minimum=0, maximum=100,
             description="How much is done"),
        Attr(f"{PREFIX}.not_before", T.STRING, mutable=False,
             description="When it may start (RFC 3339)"),
        Attr(f"{PREFIX}.created", T.STRING, mutable=False, description="RFC 3339"),
        Attr(f"{PREFIX}.started", T.STRING, mutable=False, description="RFC 3339"),
        Attr(f"{PREFIX}.finished", T.STRING, mutable=False, description="RFC 3339"),
        Attr(f"{PREFIX}.attempts", T.INTEGER, mutable=False, minimum=0,
             description="How many times a node started it"),
    ),
)


@dataclass(frozen=True)
class SubResource(Entity):
    """An entity that lives under another one's location (``{entity}/requests/{id}``) rather
    than in a kind collection."""

    path: str = ""

    @property
    def location(self) -> str:
        return self.path
