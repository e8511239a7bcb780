"""Templates the walkthrough's way: ``GET /templates/small`` gives a ready-made resource (a
compute with the small template's attributes), which the client changes or not and POSTs
back to its collection to create it.

Each GET hands out a fresh id, so posting the same copy twice creates once (the second POST
finds the id taken: 409), and copies fetched separately make separate resources.
"""

from __future__ import annotations

from ..model import Description, Entity, Mixin, Registry, newEntity
from ..model.infrastructure import OS_TPL, RESOURCE_TPL


def templates(registry: Registry) -> list[Mixin]:
    """The resource and OS templates the server offers, resource templates first."""
    found = [m for m in registry.mixins() if m.applies and (RESOURCE_TPL in m.depends or
                                                            OS_TPL in m.depends)]
    return sorted(found, key=lambda m: (OS_TPL in m.depends, m.term))


def templateNamed(registry: Registry, term: str) -> Mixin | None:
    return next((m for m in templates(registry) if m.term == term), None)


def instantiate(template: Mixin, *, owner: str, now: float) -> Entity:
    """A new resource of the template's kind, with the template's attributes and a new id."""
    return newEntity(Description(kind=template.applies[0], mixins=(template,)), owner=owner,
                     now=now)
