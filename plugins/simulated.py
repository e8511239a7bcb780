"""The bundled simulated driver: compute and network lifecycles with no real hypervisor.

It keeps the state machines of GFD.224 honest (a stopped machine cannot be suspended) so that
clients see the behaviour a real driver would give them, and is the default driver.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.plugin import IPlugin
from zope.interface import implementer

from occi_twisted.drivers import ActionOutcome, IDriver, IDriverFactory, InvalidTransition
from occi_twisted.model import Action, Entity, Value
from occi_twisted.model.errors import NotImplementedByServer
from occi_twisted.model.infrastructure import (
    COMPUTE,
    NETWORK,
    NETWORKINTERFACE,
    STORAGE,
)

#: (kind term, action term) -> (states it may start from, state it leaves).
_TRANSITIONS: dict[tuple[str, str], tuple[frozenset[str], str | None]] = {
    ("compute", "start"): (frozenset({"inactive", "suspended", "error"}), "active"),
    ("compute", "stop"): (frozenset({"active", "suspended"}), "inactive"),
    ("compute", "restart"): (frozenset({"active", "error"}), "active"),
    ("compute", "suspend"): (frozenset({"active"}), "suspended"),
    ("compute", "save"): (frozenset({"active", "inactive", "suspended"}), None),
    ("network", "up"): (frozenset({"inactive", "active", "error"}), "active"),
    ("network", "down"): (frozenset({"active", "inactive", "error"}), "inactive"),
    ("storage", "online"): (frozenset({"offline", "online", "error"}), "online"),
    ("storage", "offline"): (frozenset({"online", "offline", "error"}), "offline"),
}

_MESSAGES = {
    "start": "Started",
    "stop": "Stopped ({method})",
    "restart": "Restarted ({method})",
    "suspend": "Suspended ({method})",
    "save": "Saved ({method})",
    "up": "Up",
    "down": "Down",
    "online": "Online",
    "offline": "Offline",
}


def _stateAttribute(entity: Entity) -> str:
    for kind in (COMPUTE, NETWORK, STORAGE):
        if entity.kind.isA(kind):
            return f"occi.{kind.term}.state"
    return ""


@implementer(IDriver)
class SimulatedDriver:
    """Answers every action at once, keeping each kind's state machine."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)

    def provision(self, entity: Entity) -> Mapping[str, Value]:
        if entity.kind.isA(NETWORKINTERFACE):
            values: dict[str, Value] = {}
            if "occi.networkinterface.interface" not in entity.attributes:
                values["occi.networkinterface.interface"] = f"eth{self._random.randrange(16)}"
            if "occi.networkinterface.mac" not in entity.attributes:
                octets = [0x02] + [self._random.randrange(256) for _ in range(5)]
                values["occi.networkinterface.mac"] = ":".join(f"{o:02x}" for o in octets)
            values["occi.networkinterface.state"] = "active"
            return values
        if entity.kind.term == "storagelink":
            return {"occi.storagelink.state": "active"}
        return {}

    def check(self, entity: Entity, action: Action, attributes: Mapping[str, Value]) -> None:
        rule = _TRANSITIONS.get((entity.kind.term, action.term))
        if rule is None:
            raise NotImplementedByServer(
                f"The simulated driver cannot perform {action.term} on a {entity.kind.term}."
            )
        allowed, _ = rule
        state = str(entity.attributes.get(_stateAttribute(entity), ""))
        if state not in allowed:
            raise InvalidTransition(
                f"Cannot {action.term} {entity.kind.term} {entity.id}: it is {state}, and "
                f"{action.term} needs it to be {' or '.join(sorted(allowed))}."
            )

    def perform(
        self, entity: Entity, action: Action, attributes: Mapping[str, Value]
    ) -> Deferred[ActionOutcome]:
        self.check(entity, action, attributes)
        _, target = _TRANSITIONS[(entity.kind.term, action.term)]
        stateName = _stateAttribute(entity)
        changes: dict[str, Value] = {
            f"{stateName}.message": _MESSAGES[action.term].format(
                method=attributes.get("method", "default")
            )
        }
        if target is not None:
            changes[stateName] = target
        return succeed(ActionOutcome(changes))


@implementer(IPlugin, IDriverFactory)
class SimulatedDriverFactory:
    name = "simulated"
    description = "Simulated compute, network and storage state machines (no real hypervisor)"

    def makeDriver(self, dataDir: Path, clock: IReactorTime) -> IDriver:
        return SimulatedDriver()


simulated = SimulatedDriverFactory()
