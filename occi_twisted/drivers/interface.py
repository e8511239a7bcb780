"""The driver interface, and how the launcher finds the driver it was told to use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.plugin import IPlugin, getPlugins
from zope.interface import Attribute, Interface

from ..model import Action, Entity, Value
from ..model.errors import BadRequest, Conflict


class InvalidTransition(Conflict):
    """The entity's current state does not allow the action (e.g. suspending a stopped VM)."""


@dataclass(frozen=True)
class ActionOutcome:
    """What a finished action changed: new values of server-managed attributes."""

    changes: Mapping[str, Value] = field(default_factory=dict)


class IDriver(Interface):
    """Performs actions on real (or simulated) infrastructure."""

    def provision(entity: Entity) -> Mapping[str, Value]:
        """Server-chosen attribute values for a new entity (e.g. a link's interface name).

        Called before the entity is stored; must not block."""

    def check(entity: Entity, action: Action, attributes: Mapping[str, Value]) -> None:
        """Raise :class:`InvalidTransition` if ``action`` cannot run on ``entity`` now.

        Called before anything is stored, so a refused action changes nothing."""

    def perform(
        entity: Entity, action: Action, attributes: Mapping[str, Value]
    ) -> Deferred[ActionOutcome]:
        """Carry out ``action``; fires with the state it leaves the entity in."""


class IDriverFactory(Interface):
    """A plugin that makes drivers; found with :func:`twisted.plugin.getPlugins`."""

    name = Attribute("The name operators give with --driver.")
    description = Attribute("One line saying what the driver drives.")

    def makeDriver(dataDir: Path, clock: IReactorTime) -> IDriver:
        """A driver keeping whatever files it needs under ``dataDir``."""


def driverFactories() -> dict[str, IDriverFactory]:
    """Every driver plugin installed, by name."""
    from .. import plugins

    return {
        factory.name: factory
        for factory in getPlugins(IDriverFactory, plugins)
        if IPlugin.providedBy(factory)
    }


def findDriver(name: str) -> IDriverFactory:
    """The driver plugin called ``name``, or a BadRequest that lists the available ones."""
    factories = driverFactories()
    try:
        return factories[name]
    except KeyError:
        raise BadRequest(
            f"No driver called {name!r}; available: {', '.join(sorted(factories)) or 'none'}."
        ) from None
