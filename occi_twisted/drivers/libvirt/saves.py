"""A compute's ``save`` (GFD.224): a named point-in-time copy of every storage attached to it,
kept as that storage's backup -- one of the disk driver's backups (``backups/ID/NAME.img``
beside its manifest), which the storage's ``restore`` puts back and its backups list.

- ``hot`` on a running (or paused) guest: libvirt's backup job (``backupBegin``, push mode) has
  QEMU write each disk, as it was when the job began, into the side file the disk driver's
  backup would have written, while the guest runs on; the disk driver then hashes that copy
  and keeps it, with its manifest, as it keeps its own.  A paused guest is copied the same
  way: it is live, and anyone may resume it meanwhile.
- ``hot`` on a stopped (or hibernated) guest: the disk driver's own backup of each image,
  under the compute's lock, so that no start comes between.
- ``deferred``: the request waits for the guest's next stop (at once if it is stopped),
  without the compute's lock -- the stop is another request -- then copies as for a stopped
  guest.  A guest started again before the copy began is waited for again.

The request's checkpoint holds the plan: the name and time, the storages, those done, and the
phase.  A server killed mid-way resumes it: a wait waits on, the disk driver's copies resume
from their own checkpoints, and a hypervisor job of ours (QEMU's state, not the request's) is
cancelled and begun again.  A backup counts only once its image and manifest are both in
place, so nothing half-written is ever listed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater
from twisted.logger import Logger

from ...model import Entity, Value
from ...model.errors import Conflict
from ..disks import DiskDriver, requestProgress
from ..interface import ActionContext, ActionOutcome
from ..storage import CopyState, Progress, backupName
from ..storage.errors import checkName
from .computes import Computes, Host, attachedStorages
from .connection import HypervisorError, libvirt
from .definitions import backupXML, diskFiles

_log = Logger()
#: Seconds between two looks at a deferred save's guest (a lifecycle event wakes it sooner).
WAIT_SECONDS = 5.0
#: Seconds between two looks at the hypervisor's backup job.
POLL_SECONDS = 0.5
#: The share of a hot save's progress that is the hypervisor's copy; the rest is the hashing.
_HOT_SHARE = 50.0

#: Runs work under a compute's lock (the driver's, shared with its other actions).
Exclusive = Callable[[str, Callable[[], Coroutine[Any, Any, ActionOutcome | None]]],
                     Deferred[ActionOutcome | None]]


@dataclass
class Plan:
    """A save as its request keeps it.  ``phase``: ``begun``; ``waiting`` for a deferred
    save's stop; ``hot`` while the hypervisor copies; ``sealing`` while its copies are hashed
    and kept; ``copying`` while a stopped guest's images are backed up."""

    name: str
    created: float
    method: str
    storages: list[str]
    done: list[str] = field(default_factory=list)
    phase: str = "begun"

    @property
    def remaining(self) -> list[str]:
        return [each for each in self.storages if each not in self.done]

    def saved(self, **more: Value) -> dict[str, Value]:
        """The request's checkpoint: the plan, and ``more`` (the copy under way)."""
        plan: dict[str, Value] = {
            "name": self.name, "created": self.created, "method": self.method,
            "storages": list(self.storages), "done": list(self.done), "phase": self.phase}
        return {"save": plan, **more}

    @classmethod
    def fromSaved(cls, saved: Value | None) -> Plan | None:
        plan = saved.get("save") if isinstance(saved, dict) else None
        if not isinstance(plan, dict):
            return None
        name, created, method, storages, done, phase = (plan.get(key) for key in (
            "name", "created", "method", "storages", "done", "phase"))
        if not (isinstance(name, str) and isinstance(created, (int, float))
                and isinstance(method, str) and isinstance(storages, list)
                and isinstance(done, list) and isinstance(phase, str)):
            _log.warn("A save's checkpoint could not be read: the save starts again")
            return None
        return cls(name, float(created), method, [str(each) for each in storages],
                   [str(each) for each in done], phase)


def jobProgress(stats: Mapping[str, Any]) -> float | None:
    """How far the hypervisor's running job is (0-1) by libvirt's ``jobStats``; ``None``
    once no job runs."""
    if stats.get("type", libvirt.VIR_DOMAIN_JOB_NONE) == libvirt.VIR_DOMAIN_JOB_NONE:
        return None
    total = stats.get("disk_total") or 0
    return min(1.0, (stats.get("disk_processed") or 0) / total) if total else 0.0


def jobFailure(stats: Mapping[str, Any]) -> str | None:
    """Why the backup job that libvirt's completed-job statistics describe failed; ``None``
    if it succeeded."""
    if (stats.get("operation") == libvirt.VIR_DOMAIN_JOB_OPERATION_BACKUP
            and stats.get("success") is True):
        return None
    reason = str(stats.get("errmsg") or "").strip().rstrip(".")
    if not reason:
        return "the hypervisor's copy of the disks ended without saying why"
    return f"the hypervisor's copy of the disks failed: {reason}"


class Saves:
    """The saves of the computes of one server."""

    def __init__(self, host: Host, computes: Computes, disks: DiskDriver,
                 exclusive: Exclusive) -> None:
        self.host = host
        self.computes = computes
        self.disks = disks
        self.exclusive = exclusive

    def check(self, compute: Entity, attributes: Mapping[str, Value]) -> None:
        """A name that no backup can have is a 400; a compute known to have no storage, a
        409 (its links are read again when the save runs)."""
        name = attributes.get("name")
        if name:
            checkName(str(name), "A save's name")
        if self.host.attached.get(compute.id) == frozenset():
            raise Conflict(_nothingToSave(compute))

    async def perform(self, compute: Entity, attributes: Mapping[str, Value],
                      context: ActionContext) -> ActionOutcome:
        resumed = context.saved
        plan = Plan.fromSaved(resumed) or await self._plan(compute, attributes, context)
        while True:
            if plan.phase == "waiting":
                await self._waitForStop(compute, plan, context)
            outcome = await self.exclusive(compute.id, lambda: self._copy(
                compute, plan, context, resumed))
            if outcome is not None:
                return outcome

    async def _plan(self, compute: Entity, attributes: Mapping[str, Value],
                    context: ActionContext) -> Plan:
        """A new save: its storages, as the store has them now, and its name, refused if a
        backup of one of them has it already."""
        links = (await self.host.store.linksFrom([compute.location])).get(compute.location, [])
        storages = attachedStorages(links)
        self.host.attached[compute.id] = frozenset(storages)
        if not storages:
            raise Conflict(_nothingToSave(compute))
        created = context.clock.seconds()
        name = checkName(str(attributes.get("name") or backupName(created)), "A save's name")
        taken = await self.disks.backupsNamed(storages, name)
        if taken:
            raise Conflict(f"Storage {taken[0]} has a backup called {name} already: give the "
                           "save another name.")
        method = str(attributes.get("method") or "hot")
        plan = Plan(name, created, method, storages,
                    phase="waiting" if method == "deferred" else "begun")
        await context.checkpoint({"percent": 0.0}, plan.saved())
        return plan

    async def _waitForStop(self, compute: Entity, plan: Plan, context: ActionContext) -> None:
        """Until the guest is not running: woken by its lifecycle events, looking again every
        few seconds (where a cancellation or a stopping server is seen)."""
        domain = await self.computes.domain(compute)
        said = False
        while True:
            with self.host.listening(compute.id, WAIT_SECONDS) as woken:
                if not await self._running(domain):
                    return
                if said:
                    await context.checkpoint()
                else:
                    await context.checkpoint({"percent": 0.0,
                                              "phase": "waiting for the guest to stop"},
                                             plan.saved())
                    said = True
                await woken

    def _running(self, domain: Any) -> Deferred[bool]:
        return self.host.call("Reading a domain's state", lambda _: bool(domain.isActive()))

    async def _copy(self, compute: Entity, plan: Plan, context: ActionContext,
                    resumed: Value | None) -> ActionOutcome | None:
        """Under the compute's lock: the copies, or ``None`` when a deferred save finds its
        guest running again (it waits for the next stop)."""
        if await self.host.store.get(compute.id) is None:  # its domain is going with it
            raise Conflict(f"{compute.location} was deleted before it was saved.")
        domain = await self.computes.domain(compute)
        running = await self._running(domain)
        if running and plan.method == "deferred":
            plan.phase = "waiting"
            return None
        # A copy that was kept before the checkpoint that would have said so.
        plan.done += await self.disks.backupsNamed(plan.remaining, plan.name)
        storages = [await self._storage(compute, each) for each in plan.remaining]
        if plan.phase == "sealing":  # the hypervisor's copies are whole: they need no guest
            await self._keepAll(storages, plan, context, resumed, prefilled=True)
            how = "copied by the hypervisor while the guest ran"
        elif running:
            await self._hot(compute, domain, storages, plan, context)
            await self._keepAll(storages, plan, context, resumed, prefilled=True)
            how = "copied by the hypervisor while the guest ran"
        else:
            await self._keepAll(storages, plan, context, resumed, prefilled=False)
            how = "copied while the guest was stopped"
        which = (f"storages {', '.join(plan.storages)}" if len(plan.storages) > 1
                 else f"storage {plan.storages[0]}")
        return ActionOutcome({}, f"Saved as {plan.name} ({plan.method}, {how}): {which} "
                                 "backed up.", {"percent": 100})

    async def _storage(self, compute: Entity, storageId: str) -> Entity:
        storage: Entity | None = await self.host.store.get(storageId)
        if storage is None:
            raise Conflict(f"Storage {storageId} was deleted while {compute.location} was "
                           "being saved; save it again.")
        return storage

    # -- the hypervisor's copy of a running guest -------------------------------------------------

    async def _hot(self, compute: Entity, domain: Any, storages: list[Entity], plan: Plan,
                   context: ActionContext) -> None:
        """The backup job: each storage's disk into its backup's side file, followed to its
        end; a failure or a stop of the request cancels it and removes what it wrote."""
        if plan.phase == "hot":  # begun before a restart: QEMU may copy on
            await self.host.call("Cancelling an earlier backup job",
                                 lambda _: _cancelBackup(domain))
            _log.info("The save {name} of {location} was copying when the server stopped: "
                      "its backup job is cancelled, and the copy begins again",
                      name=plan.name, location=compute.location)
        ids = [storage.id for storage in storages]
        sides = await self.disks.clearSides(ids, plan.name)
        plan.phase = "hot"
        await context.checkpoint({"percent": 0.0, "phase": "copying (hypervisor)"},
                                 plan.saved())
        begun = False
        try:
            await self.host.call(f"Beginning the backup job of {compute.location}",
                                 lambda _: self._begin(domain, sides))
            begun = True
            await self._follow(domain, context)
        except Exception:
            try:
                if begun:
                    await self.host.call("Cancelling the backup job",
                                         lambda _: _cancelBackup(domain))
                await self.disks.clearSides(ids, plan.name)
            except Exception:
                _log.failure("A failed backup job could not be cleared away")
            raise
        plan.phase = "sealing"
        await context.checkpoint(None, plan.saved())

    def _begin(self, domain: Any, sides: dict[str, Path]) -> None:
        """In the pool: the job, for the disks of the running guest that are the storages."""
        files = diskFiles(domain.XMLDesc(0))
        targets: dict[str, Path | None] = dict.fromkeys(files)
        for storageId, side in sides.items():
            image = self.host.imagePath(storageId)
            target = next((name for name, path in files.items() if path == image), None)
            if target is None:
                raise Conflict(f"Storage {storageId} is not a disk of the running guest yet "
                               "(its storagelink is being attached): save again in a moment.")
            targets[target] = side
        try:
            domain.backupBegin(backupXML(targets), None, 0)
        except libvirt.libvirtError as error:
            if error.get_error_code() in (libvirt.VIR_ERR_NO_SUPPORT,
                                          libvirt.VIR_ERR_OPERATION_UNSUPPORTED):
                raise Conflict("This hypervisor cannot copy the disks of a running guest "
                               "(libvirt's backup job is not supported here): stop the "
                               "compute first, or save it with method deferred.") from None
            raise

    async def _follow(self, domain: Any, context: ActionContext) -> None:
        """The job's progress into the request's, until it ends; its failure, as libvirt
        says it."""
        while True:
            stats = await self.host.call("Following the backup job",
                                         lambda _: domain.jobStats(0))
            done = jobProgress(stats)
            if done is None:
                break
            await context.checkpoint({
                "percent": round(_HOT_SHARE * done, 2), "phase": "copying (hypervisor)",
                "bytes": stats.get("disk_processed") or 0,
                "totalBytes": stats.get("disk_total") or 0})
            await deferLater(self.host.clock, POLL_SECONDS, lambda: None)
        ended = await self.host.call("Reading the end of the backup job", lambda _: (
            domain.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)))
        failure = jobFailure(ended)
        if failure is not None:
            raise HypervisorError(f"Saving: {failure}; no backup was kept.")

    # -- backups, by the disk driver --------------------------------------------------------------

    async def _keepAll(self, storages: list[Entity], plan: Plan, context: ActionContext,
                       resumed: Value | None, *, prefilled: bool) -> None:
        """Each storage's backup: its image copied (``prefilled``: the hypervisor's copy
        hashed), then kept with its manifest, one storage at a time."""
        phase = "sealing" if prefilled else "copying"
        start = _HOT_SHARE if prefilled else 0.0
        plan.phase = phase
        count = len(plan.storages)
        for storage in storages:
            index = len(plan.done)

            def shown(progress: Progress, index: int = index,
                      storageId: str = storage.id) -> dict[str, Value]:
                share = (index + progress.percent / 100) / count
                return {**requestProgress(progress), "storage": storageId,
                        "percent": round(start + (100 - start) * share, 2)}

            await self.disks.backUp(storage, plan.created, context,
                                    plan.saved(current=storage.id), name=plan.name,
                                    prefilled=prefilled, shown=shown,
                                    resumeFrom=_resumeFrom(resumed, storage.id, phase))
            plan.done.append(storage.id)
            await context.checkpoint(None, plan.saved())


def _resumeFrom(saved: Value | None, storageId: str, phase: str) -> CopyState | None:
    """The copy of ``storageId`` that the checkpoint says was under way in ``phase`` (a copy
    of another phase -- the image's, not the hypervisor's -- is not this one's to go on)."""
    plan = Plan.fromSaved(saved)
    if plan is None or plan.phase != phase or not isinstance(saved, dict) or saved.get(
            "current") != storageId:
        return None
    job = saved.get("job")
    return CopyState.fromJSON(job) if isinstance(job, str) else None


def _cancelBackup(domain: Any) -> None:
    """In the pool: cancel the domain's backup job, if one runs (and the guest does), and
    wait (a few seconds at most) for it to be gone."""
    if not domain.isActive():
        return
    stats = domain.jobStats(0)
    if (jobProgress(stats) is None
            or stats.get("operation") != libvirt.VIR_DOMAIN_JOB_OPERATION_BACKUP):
        return
    domain.abortJob()
    for _ in range(100):
        if jobProgress(domain.jobStats(0)) is None:
            return
        time.sleep(0.1)


def _nothingToSave(compute: Entity) -> str:
    return (f"Compute {compute.id} has no storage attached: a save copies the storages "
            "linked to it (storagelinks), and it has none.")


__all__ = ["Plan", "Saves", "jobFailure", "jobProgress"]
