"""The bundled default driver: simulated compute and network lifecycles, real storage files.

Computes and networks have no hypervisor behind them, but keep the state machines of GFD.224
honest (a stopped machine cannot be suspended) and take the time a real one would (a graceful
stop waits for the guest), so that clients see the behaviour a real driver would give them.
Storages are real: sparse files under ``--data`` (see :mod:`occi_twisted.drivers.disks`).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorFromThreads, IReactorTime
from twisted.internet.task import deferLater
from twisted.plugin import IPlugin
from zope.interface import implementer

from occi_twisted.drivers import (
    ActionContext,
    ActionOutcome,
    IDriver,
    IDriverFactory,
    IHoldings,
    IImages,
    InvalidTransition,
)
from occi_twisted.drivers.disks import ACTIONS as DISK_ACTIONS
from occi_twisted.drivers.disks import DiskDriver
from occi_twisted.drivers.storage import DiskImages
from occi_twisted.model import Action, Entity, Kind, Value
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


#: Seconds an action takes, by (action term, method); a missing method means the default.
TIMINGS: Mapping[tuple[str, str], float] = {
    ("start", "default"): 0.5,
    ("stop", "graceful"): 2.0,
    ("stop", "default"): 2.0,
    ("stop", "acpioff"): 1.0,
    ("stop", "poweroff"): 0.0,
    ("restart", "graceful"): 2.0,
    ("restart", "default"): 2.0,
    ("restart", "warm"): 1.0,
    ("restart", "cold"): 0.5,
    ("suspend", "hibernate"): 1.0,
    ("suspend", "default"): 1.0,
    ("suspend", "suspend"): 0.5,
    ("save", "default"): 1.0,
}
#: Longest wait between two progress reports of a timed action.
_STEP = 0.5


@implementer(IDriver, IHoldings)
class SimulatedDriver:
    """Keeps each kind's state machine, taking the ``timings`` a real machine would (none
    given: every action is instant); storage work goes to ``disks`` when there is one."""

    def __init__(self, seed: int | None = None, *, timings: Mapping[tuple[str, str], float]
                 | None = None, disks: DiskDriver | None = None) -> None:
        self._random = random.Random(seed)
        self._timings = dict(timings or {})
        self._disks = disks

    def start(self) -> None:
        if self._disks is not None:
            self._disks.start()

    def stop(self) -> Deferred[None]:
        return self._disks.stop() if self._disks is not None else succeed(None)

    def provision(self, entity: Entity) -> Mapping[str, Value]:
        if entity.kind.isA(NETWORKINTERFACE):
            values: dict[str, Value] = {}
            if "occi.networkinterface.interface" not in entity.attributes:
                values["occi.networkinterface.interface"] = f"eth{self._random.randrange(16)}"
            if "occi.networkinterface.mac" not in entity.attributes:
                octets = [0x02] + [self._random.randrange(256) for _ in range(5)]
                values["occi.networkinterface.mac"] = ":".join(f"{o:02x}" for o in octets)
            if "occi.networkinterface.state" not in entity.attributes:
                values["occi.networkinterface.state"] = "active"
            return values
        if entity.kind.term == "storagelink":
            if "occi.storagelink.state" not in entity.attributes:
                return {"occi.storagelink.state": "active"}
            return {}
        if entity.kind.isA(STORAGE) and self._disks is not None:
            return self._disks.provision(entity)
        return {}

    def check(self, entity: Entity, action: Action, attributes: Mapping[str, Value]) -> None:
        if self._disks is not None and action.identifier in DISK_ACTIONS:
            self._disks.check(entity, action, attributes)
            return
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

    def perform(self, entity: Entity, action: Action, attributes: Mapping[str, Value],
                context: ActionContext) -> Deferred[ActionOutcome]:
        if self._disks is not None and action.identifier in DISK_ACTIONS:
            return self._disks.perform(entity, action, attributes, context)
        self.check(entity, action, attributes)
        return Deferred.fromCoroutine(self._perform(entity, action, attributes, context))

    async def _perform(self, entity: Entity, action: Action, attributes: Mapping[str, Value],
                       context: ActionContext) -> ActionOutcome:
        method = str(attributes.get("method", "default"))
        duration = self._timings.get((action.term, method),
                                     self._timings.get((action.term, "default"), 0.0))
        # Resumed after a crash: the time already spent counts.
        spent = float(context.saved) if isinstance(context.saved, (int, float)) else 0.0
        while spent < duration:
            step = min(_STEP, duration - spent)
            await deferLater(context.clock, step, lambda: None)
            spent += step
            await context.checkpoint({"percent": round(100 * spent / duration, 1)}, spent)
        _, target = _TRANSITIONS[(entity.kind.term, action.term)]
        stateName = _stateAttribute(entity)
        message = _MESSAGES[action.term].format(method=method)
        changes: dict[str, Value] = {f"{stateName}.message": message}
        if target is not None:
            changes[stateName] = target
        return ActionOutcome(changes, message + ".", {"percent": 100})

    def realize(self, before: Entity | None, after: Entity | None) -> Deferred[None]:
        if self._disks is not None:
            return self._disks.realize(before, after)
        return succeed(None)

    def held(self) -> Deferred[list[tuple[Kind, str]]]:
        return self._disks.held() if self._disks is not None else succeed([])

    def __conform__(self, interface: object) -> object:
        """Storage images are the disk driver's: ``IImages(driver)`` is it, when there is one."""
        if interface is IImages and self._disks is not None:
            return self._disks
        return None


@implementer(IPlugin, IDriverFactory)
class SimulatedDriverFactory:
    name = "simulated"
    description = ("Simulated compute and network state machines (no hypervisor); "
                   "storages as sparse files under --data")

    def makeDriver(self, dataDir: Path, clock: IReactorTime,
                   threads: IReactorFromThreads) -> IDriver:
        return SimulatedDriver(timings=TIMINGS, disks=DiskDriver(DiskImages(dataDir), threads))


simulated = SimulatedDriverFactory()
