"""Computes as persistent libvirt domains named by the entity's id: their definition, their
actions, and the state libvirt's lifecycle events report.

A domain's definition is made again from the store whenever the compute or one of its links
changes (cores, memory, boot image, disks, NICs): libvirt keeps it for the next start and
leaves a running guest alone, so what cannot change live is said in the state message.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from ...model import Action, Entity, Value
from ...model.errors import Conflict
from ...model.infrastructure import OS_TEMPLATES
from ..interface import ActionContext, ActionOutcome, InvalidTransition, Report
from .connection import Hypervisor, HypervisorError, libvirt
from .definitions import (
    Boot,
    Disk,
    Nic,
    cores,
    domainXML,
    memoryMiB,
    networkName,
    ownerOf,
    targetOf,
)
from .images import TINY, BootImage
from .states import ALLOWED, eventChange, liveState, stillSo

_log = Logger()
STATE = "occi.compute.state"
MESSAGE = "occi.compute.state.message"


@dataclass
class Host:
    """What every part of the driver shares: the connection, this server's name on the
    hypervisor, where consoles and images are, and (once observed) the store."""

    hypervisor: Hypervisor
    clock: IReactorTime
    owner: str
    domainType: str
    images: dict[str, BootImage]
    consoles: Path
    imagePath: Callable[[str], Path]
    store: Any = None
    report: Report | None = None
    #: Seconds an ACPI stop waits for the guest; then it powers it off, or fails.
    stopDeadline: float = 60.0
    destroyAfterDeadline: bool = True
    #: Domains waiting for their next lifecycle event, by name.
    waiters: dict[str, list[Deferred[None]]] = field(default_factory=dict)
    #: The storages that are disks of each compute, as last read or followed (what a save
    #: is refused without, before its request is stored).
    attached: dict[str, frozenset[str]] = field(default_factory=dict)

    def call(self, what: str, work: Callable[[Any], Any]) -> Deferred[Any]:
        return self.hypervisor.call(what, work)

    @contextmanager
    def listening(self, name: str, seconds: float) -> Iterator[Deferred[None]]:
        """:meth:`nextEvent`, asked on entering -- before the domain is looked at, so that
        an event that comes while its state is read is not missed -- and no longer waited
        for on leaving."""
        woken = self.nextEvent(name, seconds)
        try:
            yield woken
        finally:
            woken.cancel()  # harmless once it has fired

    def nextEvent(self, name: str, seconds: float) -> Deferred[None]:
        """Fires at the domain's next lifecycle event, or after ``seconds``.  Cancelling it
        stops the waiting."""

        def forget(waiter: Deferred[None]) -> None:
            with suppress(ValueError):
                self.waiters.get(name, []).remove(waiter)

        waiter: Deferred[None] = Deferred(forget)
        self.waiters.setdefault(name, []).append(waiter)

        def late() -> None:
            if not waiter.called:
                self.waiters.get(name, []).remove(waiter)
                waiter.callback(None)

        timer = self.clock.callLater(seconds, late)
        waiter.addBoth(lambda result: timer.cancel() if timer.active() else None)
        return waiter

    def heard(self, name: str) -> None:
        for waiter in self.waiters.pop(name, []):
            waiter.callback(None)


def idOf(target: str | None, collection: str) -> str | None:
    """The id in a link's target location (``/storage/ID``), if it is of ``collection``."""
    if not target or f"/{collection}/" not in target:
        return None
    return target.rstrip("/").rsplit("/", 1)[-1]


def bootOf(host: Host, compute: Entity) -> Boot | None:
    """The image the compute's ``os_tpl`` mixin names; the tiny guest when it names none."""
    terms = [mixin.term for mixin in compute.mixins if mixin.scheme == OS_TEMPLATES]
    image = next((host.images[term] for term in terms if term in host.images), None)
    if image is None and not terms:
        image = host.images.get(TINY)
    if image is None:
        return None
    return Boot(image.kernel, image.initrd, image.cmdline)


def attachedStorages(links: list[Entity]) -> list[str]:
    """The storages that are disks of a compute: the targets of its storagelinks that name a
    virtio disk, in link order."""
    found = (idOf(link.target, "storage") for link in links
             if link.kind.term == "storagelink"
             and targetOf(link.attributes.get("occi.storagelink.deviceid")))
    return list(dict.fromkeys(each for each in found if each))


def _linkedDevices(host: Host, links: list[Entity]) -> tuple[list[Disk], list[Nic]]:
    disks, nics = [], []
    for link in links:
        if link.kind.term == "storagelink":
            storageId = idOf(link.target, "storage")
            target = targetOf(link.attributes.get("occi.storagelink.deviceid"))
            if storageId and target:
                disks.append(Disk(link.id, host.imagePath(storageId), target))
        elif link.kind.term == "networkinterface":
            networkId = idOf(link.target, "network")
            if networkId:
                nics.append(Nic(link.id, networkName(networkId),
                                str(link.attributes.get("occi.networkinterface.mac", ""))))
    return disks, nics


def theirs(host: Host, xml: str) -> bool:
    """Whether a domain or network of this XML was made by another server (or by hand)."""
    owner = ownerOf(xml)
    return owner is None or owner[0] != host.owner


class Computes:
    """The domains of the computes of one server."""

    def __init__(self, host: Host) -> None:
        self.host = host
        #: Domains an action is under way on, and how many: the action's outcome says their
        #: state, not the events its own calls cause.
        self._acting: Counter[str] = Counter()
        #: Actions begun or ended on each domain so far: an event whose state was read
        #: across one of them is not stored (it may be older than the action's outcome).
        self._turns: Counter[str] = Counter()
        #: The revision of each compute the last action on its domain began from: until the
        #: action's outcome is stored, the store's copy is that one, or older.
        self._actedOn: dict[str, int] = {}
        #: The turn each domain's last action ended on, and the state its outcome says.
        self._ended: dict[str, tuple[int, str]] = {}

    # -- definitions --------------------------------------------------------------------------

    async def define(self, compute: Entity) -> None:
        """Define (or define again) the compute's domain from the store; say what waits for
        the next start, and report the state libvirt has if the store says otherwise --
        unless an action on the domain ran meanwhile or runs now, or ``compute`` is not
        newer than the revision the last action began from (its outcome, perhaps not stored
        yet, says the state): a start has the domain running before the store says so, and
        a report then would have the start's outcome refused as written on an older
        revision."""
        host = self.host
        turn = self._turns[compute.id]
        links = (await host.store.linksFrom([compute.location])).get(compute.location, [])
        host.attached[compute.id] = frozenset(attachedStorages(links))
        disks, nics = _linkedDevices(host, links)
        xml = domainXML(compute, domainType=host.domainType, owner=host.owner,
                        boot=bootOf(host, compute), disks=disks, nics=nics,
                        console=host.consoles / f"{compute.id}.log")
        state, live = await host.call(f"Defining the domain of {compute.location}",
                                      lambda connection: self._define(connection, compute.id,
                                                                      xml))
        changes: dict[str, Value] = {}
        if compute.attributes.get(STATE) != state and compute.attributes.get(STATE) != "error":
            changes = {STATE: state, MESSAGE: f"The hypervisor has it {state}."}
        if live is not None and live != (cores(compute), memoryMiB(compute)):
            changes[MESSAGE] = ("Running with the cores and memory it started with; the new "
                                "ones apply at the next start.")
        if (changes and host.report is not None and compute.id not in self._acting
                and self._turns[compute.id] == turn
                and compute.revision > self._actedOn.get(compute.id, 0)):
            await host.report(compute.id, changes)

    def _define(self, connection: Any, name: str, xml: str) -> tuple[str, tuple[int, int] | None]:
        try:
            existing = connection.lookupByName(name)
        except libvirt.libvirtError:
            existing = None
        if existing is not None and theirs(self.host,
                                           existing.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)):
            raise Conflict(f"A domain named {name} exists that this server did not make; it "
                           "is left alone.")
        domain = connection.defineXML(xml)
        live = None
        if domain.isActive():
            info = domain.info()
            live = (info[3], info[1] // 1024)
        return liveState(domain), live

    async def remove(self, computeId: str) -> None:
        await self.host.call(f"Removing the domain {computeId}",
                             lambda connection: self._remove(connection, computeId))
        (self.host.consoles / f"{computeId}.log").unlink(missing_ok=True)
        self.host.attached.pop(computeId, None)

    def _remove(self, connection: Any, name: str) -> None:
        try:
            domain = connection.lookupByName(name)
        except libvirt.libvirtError:
            return
        if theirs(self.host, domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)):
            return
        if domain.isActive():
            domain.destroy()
        domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                             | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)

    # -- actions ------------------------------------------------------------------------------

    def check(self, entity: Entity, action: Action) -> None:
        allowed = ALLOWED[("compute", action.term)]
        state = str(entity.attributes.get(STATE, ""))
        if state not in allowed:
            raise InvalidTransition(
                f"Cannot {action.term} compute {entity.id}: it is {state}, and {action.term} "
                f"needs it to be {' or '.join(sorted(allowed))}.")

    async def perform(self, entity: Entity, action: Action, attributes: Mapping[str, Value],
                      context: ActionContext) -> ActionOutcome:
        method = str(attributes.get("method") or "")
        self._acting[entity.id] += 1
        self._turns[entity.id] += 1
        self._actedOn[entity.id] = max(entity.revision, self._actedOn.get(entity.id, 0))
        try:
            domain = await self.domain(entity)
            state = await self._state(domain)
            work = {"start": self._start, "stop": self._stop, "restart": self._restart,
                    "suspend": self._suspend}[action.term]
            state, message = await work(domain, state, method or _DEFAULTS[action.term],
                                        context)
        finally:
            self._turns[entity.id] += 1
            self._acting[entity.id] -= 1
            if not self._acting[entity.id]:
                del self._acting[entity.id]
        self._ended[entity.id] = (self._turns[entity.id], state)
        return ActionOutcome({STATE: state, MESSAGE: message}, message, {"percent": 100})

    async def domain(self, compute: Entity) -> Any:
        """The compute's domain, defined first if libvirt has none (a crash between the
        store's commit and the definition, or a domain removed behind the server's back)."""
        def lookup(connection: Any) -> Any:
            try:
                return connection.lookupByName(compute.id)
            except libvirt.libvirtError as error:
                if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    return None
                raise

        what = f"Looking up the domain of {compute.location}"
        domain = await self.host.call(what, lookup)
        if domain is None:
            await self.define(compute)
            domain = await self.host.call(what, lambda connection: connection.lookupByName(
                compute.id))
        return domain

    def _state(self, domain: Any) -> Deferred[str]:
        return self.host.call("Reading a domain's state", lambda _: liveState(domain))

    def _do(self, what: str, work: Callable[[], object]) -> Deferred[Any]:
        return self.host.call(what, lambda _: work())

    async def _start(self, domain: Any, state: str, method: str,
                     context: ActionContext) -> tuple[str, str]:
        if state == "active":
            return "active", "Running."
        live, _ = await self._do("Reading a domain's state", domain.state)
        if live in (libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PMSUSPENDED):
            await self._do("Resuming", domain.resume)
        else:
            await self._do("Starting", domain.create)
        return "active", "Started."

    async def _stop(self, domain: Any, state: str, method: str,
                    context: ActionContext) -> tuple[str, str]:
        if state == "inactive" or (state == "suspended" and not await self._do(
                "Reading a domain's state", domain.isActive)):
            if await self._do("Reading a domain's state", domain.hasManagedSaveImage):
                await self._do("Forgetting the hibernated memory", domain.managedSaveRemove)
            return "inactive", "Stopped."
        if method == "poweroff":
            await self._destroy(domain)
            return "inactive", "Powered off."
        if state == "suspended":
            await self._do("Resuming", domain.resume)
        deadline = self.host.clock.seconds() + self.host.stopDeadline
        begun = self.host.clock.seconds()
        while True:
            with self.host.listening(domain.name(), 1.0) as woken:
                if not await self._do("Reading a domain's state", domain.isActive):
                    return "inactive", f"Stopped ({method})."
                if self.host.clock.seconds() >= deadline:
                    late = (f"The guest did not stop within {self.host.stopDeadline:g} s of "
                            "an ACPI shutdown")
                    if not self.host.destroyAfterDeadline:
                        raise Conflict(f"{late}; it runs on (stop it with method poweroff).")
                    await self._destroy(domain)
                    return "inactive", f"{late}: powered off."
                # Pressed again each second: a press before the guest listens is lost.
                await self._do("Shutting down (ACPI)", lambda: _pressPower(domain))
                await woken
            spent = self.host.clock.seconds() - begun
            await context.checkpoint({"percent": round(min(99.0, 100 * spent
                                                           / self.host.stopDeadline), 1)})

    def _destroy(self, domain: Any) -> Deferred[None]:
        def destroy() -> None:
            if domain.isActive():
                domain.destroy()

        return self._do("Powering off", destroy)

    async def _restart(self, domain: Any, state: str, method: str,
                       context: ActionContext) -> tuple[str, str]:
        active = await self._do("Reading a domain's state", domain.isActive)
        if method == "cold" or not active:
            await self._destroy(domain)
            await self._do("Starting", domain.create)
        elif method == "warm":
            await self._do("Resetting", lambda: domain.reset(0))
        else:
            await self._do("Rebooting (ACPI)",
                           lambda: domain.reboot(libvirt.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN))
        return "active", f"Restarted ({method})."

    async def _suspend(self, domain: Any, state: str, method: str,
                       context: ActionContext) -> tuple[str, str]:
        if method == "hibernate":
            await self._do("Hibernating", domain.managedSave)
            return "suspended", "Hibernated: its memory is on disk until it starts again."
        await self._do("Pausing", domain.suspend)
        return "suspended", "Paused."

    # -- what libvirt says --------------------------------------------------------------------

    def lifecycle(self, name: str, event: int, detail: int) -> Deferred[None]:
        """A domain's lifecycle event, on the reactor: wake who waits; report the state it
        means if the domain is still in it (fires once reported, or not).  An event can
        arrive after the next action has changed the domain again (the "stopped" of a
        power-off, heard once the following start has run): stored then, it would undo what
        that action stored."""
        self.host.heard(name)
        change = eventChange(event, detail)
        if (change is None or self.host.report is None or name in self._acting
                or self._ended.get(name) == (self._turns[name], change[STATE])):
            # (The last action's own doing, heard after it ended: its outcome, perhaps not
            # stored yet, says so.  Reported first, it would have that outcome refused as
            # written on an older revision, and a suspend run again, and refused.)
            return succeed(None)
        reported = Deferred.fromCoroutine(self._reportIfSo(name, change, self._turns[name]))
        reported.addErrback(lambda failure: _log.failure(
            "The state of domain {name} could not be stored", failure, name=name))
        return reported

    async def _reportIfSo(self, name: str, change: dict[str, str], turn: int) -> None:
        def now(connection: Any) -> str | None:
            try:
                return liveState(connection.lookupByName(name))
            except libvirt.libvirtError:
                return None  # gone: its deletion says so

        state = await self.host.call(f"Reading the state of the domain {name}", now)
        if (state is not None and stillSo(change[STATE], state)
                and self._turns[name] == turn and self.host.report is not None):
            await self.host.report(name, change)


_DEFAULTS = {"start": "", "stop": "graceful", "restart": "graceful", "suspend": "suspend"}


def _pressPower(domain: Any) -> None:
    try:
        domain.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)
    except libvirt.libvirtError as error:
        # Gone off between the look and the press: what the press was for.
        if error.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
            raise


__all__ = ["Computes", "Host", "HypervisorError", "attachedStorages", "bootOf", "idOf",
           "theirs"]
