"""The libvirt driver: computes, networks and their links on a hypervisor; storages as the
image files of the bundled disk driver, which the domains' disks are.

Work on one compute (its definition, its actions, its links' devices) runs one piece at a
time, in the order asked; different computes go on in parallel in the connection's pool.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from twisted.internet.defer import Deferred, DeferredLock, gatherResults, succeed
from twisted.logger import Logger
from zope.interface import implementer

from ...model import Action, Category, Entity, Kind, Value
from ...model.errors import Conflict
from ...model.infrastructure import (
    BACKUP,
    COMPUTE,
    NETWORK,
    NETWORKINTERFACE,
    RESIZE,
    RESTORE,
    SAVE,
    SECURE_ERASE,
    STORAGE,
    STORAGELINK,
)
from ..disks import ACTIONS as DISK_ACTIONS
from ..disks import DiskDriver
from ..interface import (
    ActionContext,
    ActionOutcome,
    IConsoles,
    IDriver,
    IHoldings,
    IImages,
    IInfrastructure,
    Report,
)
from .computes import Computes, Host, attachedStorages, bootOf, idOf, theirs
from .connection import libvirt
from .definitions import alias, diskFiles, ownerOf
from .devices import Devices
from .networks import Networks
from .saves import Saves
from .screens import screenshot

_log = Logger()
_T = TypeVar("_T")
#: Storage actions refused while the storage is a disk of a running guest.
_NOT_WHILE_RUNNING = frozenset(action.identifier
                               for action in (BACKUP, RESTORE, SECURE_ERASE, RESIZE))


@implementer(IDriver, IHoldings, IInfrastructure, IConsoles)
class LibvirtDriver:
    """See the module's docstring."""

    kinds = (STORAGE, COMPUTE, NETWORK, STORAGELINK, NETWORKINTERFACE)

    def __init__(self, host: Host, disks: DiskDriver) -> None:
        self.host = host
        self.disks = disks
        self.computes = Computes(host)
        self.devices = Devices(host, self.computes)
        self.saves = Saves(host, self.computes, disks, self._exclusive)
        self.networks = Networks(host)
        self._locks: dict[str, DeferredLock] = {}
        self._random = random.Random()
        #: The storages that are disks of running guests, by domain (kept from events).
        self.inUse: dict[str, frozenset[str]] = {}
        #: Reads of a domain's disks asked for so far, by domain name: only the latest is kept.
        self._useAsked: Counter[str] = Counter()
        host.hypervisor.listen(self._lifecycle)

    # -- IInfrastructure ------------------------------------------------------------------------

    def categories(self) -> Sequence[Category]:
        return [image.mixin() for image in self.host.images.values()]

    def observe(self, store: Any, report: Report) -> None:
        self.host.store = store
        self.host.report = report

    # -- IDriver ----------------------------------------------------------------------------------

    def start(self) -> None:
        self.disks.start()
        self.host.hypervisor.start()
        self.host.consoles.mkdir(parents=True, exist_ok=True)
        watching = Deferred.fromCoroutine(self._watchRunning())
        watching.addErrback(lambda failure: _log.failure(
            "libvirt at {uri} cannot be reached", failure, uri=self.host.hypervisor.uri))

    def stop(self) -> Deferred[None]:
        return gatherResults([self.host.hypervisor.stop(), self.disks.stop()]).addCallback(
            lambda _: None)

    def provision(self, entity: Entity) -> Mapping[str, Value]:
        kind = entity.kind
        values: dict[str, Value] = {}
        if kind.isA(STORAGE):
            return self.disks.provision(entity)
        if kind.isA(COMPUTE) and bootOf(self.host, entity) is None:
            raise Conflict("This server has no boot image for the compute's os_tpl; it has "
                           f"{', '.join(sorted(self.host.images)) or 'none'} (occi-guest "
                           "builds the tiny guest).")
        if kind.isA(NETWORKINTERFACE):
            if "occi.networkinterface.mac" not in entity.attributes:
                octets = [0x52, 0x54, 0x00] + [self._random.randrange(256) for _ in range(3)]
                values["occi.networkinterface.mac"] = ":".join(f"{o:02x}" for o in octets)
            if "occi.networkinterface.interface" not in entity.attributes:
                values["occi.networkinterface.interface"] = alias(entity.id)
            if "occi.networkinterface.state" not in entity.attributes:
                values["occi.networkinterface.state"] = "active"
        elif kind.term == "storagelink" and "occi.storagelink.state" not in entity.attributes:
            values["occi.storagelink.state"] = "active"
        return values

    def check(self, entity: Entity, action: Action, attributes: Mapping[str, Value]) -> None:
        if action.identifier in DISK_ACTIONS:
            if action.identifier in _NOT_WHILE_RUNNING:
                users = sorted(name for name, ids in self.inUse.items() if entity.id in ids)
                if users:
                    raise Conflict(f"Cannot {action.term} storage {entity.id}: it is a disk "
                                   f"of the running compute {users[0]}; stop it, or detach "
                                   "the storage, first.")
            self.disks.check(entity, action, attributes)
        elif entity.kind.isA(COMPUTE):
            self.computes.check(entity, action)
            if action.identifier == SAVE.identifier:
                self.saves.check(entity, attributes)
        elif entity.kind.isA(NETWORK):
            self.networks.check(entity, action)
        else:
            self.disks.check(entity, action, attributes)

    def perform(self, entity: Entity, action: Action, attributes: Mapping[str, Value],
                context: ActionContext) -> Deferred[ActionOutcome]:
        self.check(entity, action, attributes)
        if action.identifier in DISK_ACTIONS or entity.kind.isA(STORAGE):
            return self.disks.perform(entity, action, attributes, context)
        if entity.kind.isA(COMPUTE) and action.identifier == SAVE.identifier:
            # Its own locking: a deferred save waits for a stop without the compute's lock.
            return Deferred.fromCoroutine(self.saves.perform(entity, attributes, context))
        if entity.kind.isA(COMPUTE):
            return self._exclusive(entity.id, lambda: self._performOnCompute(
                entity, action, attributes, context))
        return self._exclusive(entity.id, lambda: self.networks.perform(entity, action))

    async def _performOnCompute(self, entity: Entity, action: Action,
                                attributes: Mapping[str, Value],
                                context: ActionContext) -> ActionOutcome:
        """The action, then which disks the guest holds now: what the answer says (stopped)
        is what a storage action asked next is checked against, not what the lifecycle
        event, heard a moment later, will say."""
        try:
            return await self.computes.perform(entity, action, attributes, context)
        finally:
            await self._refreshUse(entity.id).addErrback(lambda failure: None)

    def realize(self, before: Entity | None, after: Entity | None) -> Deferred[None]:
        entity = after if after is not None else before
        if entity is None:
            return succeed(None)
        kind = entity.kind
        if kind.isA(STORAGE):
            return self.disks.realize(before, after)
        if kind.isA(COMPUTE):
            if after is None:
                return self._exclusive(entity.id, lambda: self.computes.remove(entity.id))
            return self._exclusive(entity.id, lambda: self.computes.define(after))
        if kind.isA(NETWORK):
            if after is None:
                return self._exclusive(entity.id, lambda: self.networks.remove(entity.id))
            return self._exclusive(entity.id, lambda: self.networks.define(after))
        key = idOf(entity.source, "compute") or entity.id
        return self._exclusive(key, lambda: self._realizeLink(entity, after is not None))

    async def _realizeLink(self, link: Entity, present: bool) -> None:
        self._noteDisk(link, present)
        if present:
            await self.devices.attach(link)
            state = f"occi.{link.kind.term}.state"
            if self.host.report is not None and link.attributes.get(state) != "active":
                await self.host.report(link.id, {state: "active",
                                                 f"{state}.message": "Attached."})
        else:
            await self.devices.detach(link)
        if link.kind.isA(NETWORKINTERFACE):
            await self.networks.fixAddress(link, present)
        computeId = idOf(link.source, "compute")
        if computeId is not None:
            await self._refreshUse(computeId)

    def _noteDisk(self, link: Entity, present: bool) -> None:
        """Keep the storages attached to the link's compute as links come and go (a
        compute not yet read gets its first one: never wrongly none)."""
        computeId = idOf(link.source, "compute")
        storages = attachedStorages([link])
        if computeId is None or not storages:
            return
        known = self.host.attached.get(computeId)
        if present:
            self.host.attached[computeId] = (known or frozenset()) | set(storages)
        elif known is not None:
            self.host.attached[computeId] = known - set(storages)

    # -- IHoldings ----------------------------------------------------------------------------

    def held(self) -> Deferred[list[tuple[Kind, str]]]:
        return Deferred.fromCoroutine(self._held())

    async def _held(self) -> list[tuple[Kind, str]]:
        held = await self.disks.held()
        ours: list[tuple[Kind, str]] = await self.host.call("Listing domains and networks",
                                                            self._ours)
        return held + ours

    def _ours(self, connection: Any) -> list[tuple[Kind, str]]:
        ours: list[tuple[Kind, str]] = []
        listed: list[tuple[Kind, Any]] = [(COMPUTE, each)
                                          for each in connection.listAllDomains(0)]
        listed += [(NETWORK, each) for each in connection.listAllNetworks(0)]
        for kind, each in listed:
            xml = each.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE if kind is COMPUTE else 0)
            if theirs(self.host, xml):
                if ownerOf(xml) is None:
                    _log.info("libvirt's {what} {name} is not this server's: left alone",
                              what="domain" if kind is COMPUTE else "network",
                              name=each.name())
                continue
            name = each.name()
            ours.append((kind, name.removeprefix("occi-") if kind is NETWORK else name))
        return ours

    # -- IConsoles ---------------------------------------------------------------------------------

    def consoleLog(self, computeId: str) -> Path:
        return self.host.consoles / f"{computeId}.log"

    def screenshot(self, computeId: str) -> Deferred[bytes]:
        return self.host.call(f"Taking a screenshot of {computeId}",
                              lambda connection: screenshot(connection, computeId))

    # -- IImages ----------------------------------------------------------------------------------

    def __conform__(self, interface: object) -> object:
        """Storage images are the disk driver's: ``IImages(driver)`` is it."""
        if interface is IImages:
            return self.disks
        return None

    # -- events and the disks of running guests ---------------------------------------------------

    def _lifecycle(self, name: str, event: int, detail: int) -> None:
        self.computes.lifecycle(name, event, detail)
        if event in (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STOPPED,
                     libvirt.VIR_DOMAIN_EVENT_RESUMED):
            self._refreshUse(name).addErrback(lambda failure: None)

    async def _watchRunning(self) -> None:
        names = await self.host.call("Listing running domains", lambda connection: [
            each.name() for each in connection.listAllDomains(
                libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)])
        for name in names:
            await self._refreshUse(name)

    def _refreshUse(self, name: str) -> Deferred[None]:
        storage = self.disks.images.dataDir / "storage"

        def disks(connection: Any) -> frozenset[str]:
            try:
                domain = connection.lookupByName(name)
            except libvirt.libvirtError:
                return frozenset()
            if not domain.isActive():
                return frozenset()
            return frozenset(path.stem for path in diskFiles(domain.XMLDesc(0)).values()
                             if path.parent == storage)

        self._useAsked[name] += 1
        asked = self._useAsked[name]

        def keep(ids: frozenset[str]) -> None:
            if asked != self._useAsked[name]:
                return  # a later read is under way (they end in any order): it is newer
            if ids:
                self.inUse[name] = ids
            else:
                self.inUse.pop(name, None)

        return self.host.call(f"Reading the disks of {name}", disks).addCallback(keep)

    def _exclusive(self, key: str,
                   work: Callable[[], Coroutine[Any, Any, _T]]) -> Deferred[_T]:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = DeferredLock()

        def run(_: object) -> Deferred[_T]:
            return Deferred.fromCoroutine(work())

        def release(result: object) -> object:
            lock.release()
            if not lock.locked and not lock.waiting:
                self._locks.pop(key, None)
            return result

        return lock.acquire().addCallback(run).addBoth(release)
