"""The storage driver: each storage resource is a sparse file under ``--data``, and its actions
(resize, snapshot, backup, restore, secure erase) are the jobs of :mod:`.storage`.

Every blocking call runs in the driver's own small thread pool -- disk work must not starve the
reactor, nor the store's writer, of a thread -- and the long jobs run in slices that end in a
checkpoint of the request, so a crash resumes them where they were.  Jobs on one storage run
one at a time: a backup taken while an erase is half way would save neither.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from twisted.internet.defer import Deferred, DeferredLock, succeed
from twisted.internet.interfaces import IReactorFromThreads
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool
from zope.interface import implementer

from ..model import Action, Entity, Kind, Value
from ..model.errors import BadRequest
from ..model.ids import randomId
from ..model.infrastructure import (
    BACKUP,
    BACKUP_POLICY,
    RESIZE,
    RESTORE,
    SECURE_ERASE,
    SNAPSHOT,
    STORAGE,
)
from .interface import ActionContext, ActionOutcome, IHoldings, IImages, InvalidTransition
from .storage import (
    GIB,
    BackupJob,
    CopyState,
    DiskImages,
    EraseState,
    ImageExists,
    NoSuchImage,
    Progress,
    SlicedJob,
    StorageError,
    bytesOf,
    runJob,
)
from .storage.files import ensureDirectory

_log = Logger()

_T = TypeVar("_T")
_S = TypeVar("_S", EraseState, CopyState)

#: The actions this driver performs, by identifier.
ACTIONS = frozenset(a.identifier for a in (BACKUP, SNAPSHOT, RESIZE, SECURE_ERASE, RESTORE))
#: Largest image: ext4's largest file (16 TiB less one 4 KiB block), the common case.
MAX_BYTES = 16 * 1024 * GIB - 4096
MAX_GIB = MAX_BYTES / GIB
#: Backups kept of a storage without a backup policy.
DEFAULT_KEEP = 7
#: Actions that overwrite the storage's bytes: a disk in use must be taken offline first.
_DESTRUCTIVE = frozenset({SECURE_ERASE.identifier, RESTORE.identifier})


#: How a job's progress is shown in its request.
Shown = Callable[[Progress], Mapping[str, Value]]


def requestProgress(progress: Progress) -> dict[str, Value]:
    """A job's progress as a request shows it (see
    :class:`~occi_twisted.model.requests.RequestRecord`)."""
    return {
        "percent": round(progress.percent, 2),
        "phase": str(progress.phase),
        "pass": progress.passNumber,
        "passes": progress.passes,
        "bytes": progress.bytesDone,
        "totalBytes": progress.bytesTotal,
    }


@implementer(IHoldings, IImages)
class DiskDriver:
    """Storage images and their jobs, for :class:`~occi_twisted.plugins.simulated` and any
    driver that keeps storages as files.  ``threads`` sizes the I/O pool: two keeps a disk
    busy without making every job slower."""

    def __init__(self, images: DiskImages, reactor: IReactorFromThreads, *,
                 threads: int = 2, sliceSeconds: float = 0.25) -> None:
        self.images = images
        self._reactor = reactor
        self._pool = ThreadPool(minthreads=0, maxthreads=threads, name="occi-disks")
        self._sliceSeconds = sliceSeconds
        self._locks: dict[str, DeferredLock] = {}
        #: The revision of each storage whose image was last made or sized as it says.
        self._followed: dict[str, int] = {}
        #: Told apart from the uploads a killed server left, which start-up removes.
        self._boot = randomId()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._pool.start()
        # Uploads of a server that was killed: never images, never finished, nobody's.
        self._inThread(self.images.sweepUploads, self._boot).addErrback(
            lambda failure: _log.failure("Unfinished uploads could not be removed", failure))

    def stop(self) -> Deferred[None]:
        # Jobs saw the scheduler stop at their last checkpoint; the pool's threads are idle
        # or finishing one chunk, which joining waits for.
        self._pool.stop()
        return succeed(None)

    # -- the driver's parts for storages --------------------------------------------------------

    def provision(self, entity: Entity) -> Mapping[str, Value]:
        size = entity.attributes.get("occi.storage.size")
        if isinstance(size, (int, float)) and not isinstance(size, bool):
            self._refuseBeyondDisk(entity.id, float(size))
        return {}

    def _refuseBeyondDisk(self, storageId: str, sizeGiB: float) -> None:
        """Refuse an image the file system cannot hold, before anything is stored: larger
        than its largest file, or growing by more than it has free.  Images are sparse, so
        this is no reservation; but a size beyond the free space could never be written,
        and one beyond the largest file could not even be made."""
        wanted = bytesOf(sizeGiB)
        if wanted > MAX_BYTES:
            raise BadRequest(f"occi.storage.size {sizeGiB:g} GiB is more than this server's "
                             "largest disk image (16 TiB less 4 KiB, the largest file of "
                             "ext4).")
        try:
            current = self.images.sizeOf(storageId)
        except NoSuchImage:
            current = 0
        free = self.images.freeBytes()
        if wanted - current > free:
            had = f" (its image has {current / GIB:g} GiB)" if current else ""
            raise BadRequest(f"occi.storage.size {sizeGiB:g} GiB does not fit{had}: the "
                             f"file system of the data directory has {free / GIB:.1f} GiB "
                             "free.")

    def check(self, entity: Entity, action: Action, attributes: Mapping[str, Value]) -> None:
        state = entity.attributes.get("occi.storage.state")
        if action.identifier in _DESTRUCTIVE and state == "online":
            raise InvalidTransition(
                f"Cannot {action.term} storage {entity.id}: it is online; take it offline "
                "first (action offline), so that nothing uses it while it is overwritten.")
        if action is RESIZE:
            self.provision(_resized(entity, attributes))

    def realize(self, before: Entity | None, after: Entity | None) -> Deferred[None]:
        """Create, resize or delete the image to match the stored storage.

        The work goes on whatever becomes of the Deferred returned: cancelling it (a client
        hung up) neither stops the work nor lets another job on the storage start before
        this one ends."""
        work: Deferred[None] | None = None
        if after is not None and after.kind.isA(STORAGE):
            size = after.attributes.get("occi.storage.size")
            if isinstance(size, (int, float)):
                work = self._exclusive(after.id, lambda: self._follow(
                    after, float(size), new=before is None))
        elif before is not None and before.kind.isA(STORAGE):
            work = self._exclusive(before.id, lambda: self._forget(before.id))
        return succeed(None) if work is None else _shielded(work)

    def _follow(self, storage: Entity, sizeGiB: float, *, new: bool) -> Deferred[None]:
        """Make or size the image of ``storage``, unless this revision of it was followed
        already: the HTTP layer and the realizer both follow every change, and the second
        must not make again an image that went missing since (that is a 409 to whoever
        reads it, and made again at the next change or start, never behind its back)."""
        if not new and self._followed.get(storage.id) == storage.revision:
            return succeed(None)
        work = (self._inThread(self._create, storage.id, sizeGiB, storage.created) if new
                else self._inThread(self._ensure, storage.id, sizeGiB))

        def followed(_: None) -> None:
            self._followed[storage.id] = storage.revision

        return work.addCallback(followed)

    def _forget(self, storageId: str) -> Deferred[None]:
        """Remove the image of a deleted storage."""
        self._followed.pop(storageId, None)
        return self._inThread(self._remove, storageId)

    def held(self) -> Deferred[list[tuple[Kind, str]]]:
        """Every storage that has an image (see :class:`~.interface.IHoldings`)."""
        return self._inThread(lambda: [(STORAGE, storageId)
                                       for storageId in self.images.storageIds()])

    # -- image files (see IImages) ---------------------------------------------------------------

    def imagePath(self, storageId: str) -> Path:
        return self.images.imagePath(storageId)

    def uploadPath(self, storageId: str) -> Path:
        return self.images.uploadPath(storageId, f"{self._boot}-{randomId()}")

    def replaceImage(self, storageId: str, upload: Path, size: int) -> Deferred[None]:
        return _shielded(self._exclusive(storageId, lambda: self._inThread(
            self.images.replace, storageId, upload, size)))

    def discardUpload(self, upload: Path) -> Deferred[None]:
        return self._inThread(upload.unlink, True)

    def freeBytes(self) -> int:
        return self.images.freeBytes()

    def perform(self, entity: Entity, action: Action, attributes: Mapping[str, Value],
                context: ActionContext) -> Deferred[ActionOutcome]:
        return self._exclusive(entity.id, lambda: Deferred.fromCoroutine(
            self._perform(entity, action, attributes, context)))

    async def _perform(self, entity: Entity, action: Action, attributes: Mapping[str, Value],
                       context: ActionContext) -> ActionOutcome:
        storageId = entity.id
        size = entity.attributes.get("occi.storage.size")
        if isinstance(size, (int, float)):
            await self._inThread(self._ensure, storageId, float(size), False)
        saved = context.saved if isinstance(context.saved, dict) else {}
        if action is RESIZE:
            newSize = _size(attributes)
            await self._inThread(self.images.resize, storageId, newSize)
            return ActionOutcome({"occi.storage.size": newSize},
                                 f"Resized to {newSize:g} GiB.")
        if action is SECURE_ERASE:
            passes, pattern = int(str(attributes.get("passes", 3))), str(
                attributes.get("pattern", "dod3"))
            erase = self.images.eraseJob(
                storageId, passes, pattern, resumeFrom=_state(saved, EraseState.fromJSON))
            done = await self._run(erase, context, {})
            return ActionOutcome({}, f"Erased: {done.describe()}, last pass verified.",
                                 requestProgress(done))
        if action is SNAPSHOT:
            name = str(saved.get("name") or _stamp(context.clock.seconds()))
            snapshot = self.images.snapshotJob(
                storageId, name, resumeFrom=_state(saved, CopyState.fromJSON))
            done = await self._run(snapshot, context, {"name": name})
            return ActionOutcome({}, f"Snapshot {name} taken.", requestProgress(done))
        if action is BACKUP:
            created = saved.get("created")
            if not isinstance(created, (int, float)):
                created = context.clock.seconds()
            backup = await self._backUp(entity, float(created), context, {"created": created},
                                        resumeFrom=_state(saved, CopyState.fromJSON))
            result = backup.result
            digest = f" (SHA-256 {result.sha256})" if result is not None else ""
            return ActionOutcome({}, f"Backup {backup.name} made{digest}.",
                                 requestProgress(backup.progress))
        if action is RESTORE:
            chosen = attributes.get("backup") or saved.get("backup")
            name = chosen if isinstance(chosen, str) else ""
            if not name:
                backups = await self._inThread(self.images.backups, storageId)
                if not backups:
                    raise InvalidTransition(f"Storage {storageId} has no backup to restore.")
                name = backups[-1].name
            restore = self.images.restoreJob(
                storageId, name, resumeFrom=_state(saved, CopyState.fromJSON))
            done = await self._run(restore, context, {"backup": name})
            return ActionOutcome({}, f"Restored backup {name}.", requestProgress(done))
        raise InvalidTransition(f"The storage driver cannot perform {action.term}.")

    # -- backups for others (a compute's save) ---------------------------------------------------

    def backUp(self, storage: Entity, created: float, context: ActionContext,
               extra: Mapping[str, Value], *, name: str | None = None,
               prefilled: bool = False, resumeFrom: CopyState | None = None,
               shown: Shown = requestProgress) -> Deferred[BackupJob]:
        """A backup of ``storage`` (called ``name``, else after ``created``), as its backup
        action makes one and kept with its backups, while no other job runs on it.  The
        request's checkpoints hold ``extra`` and the copy's state, which ``resumeFrom`` takes
        back; ``shown`` says the copy's progress as the request shows it.  ``prefilled``: a
        hypervisor wrote the copy into the backup's side file; it is hashed and kept."""
        return self._exclusive(storage.id, lambda: Deferred.fromCoroutine(self._backUp(
            storage, created, context, extra, name=name, prefilled=prefilled,
            resumeFrom=resumeFrom, shown=shown)))

    def backupsNamed(self, storageIds: list[str], name: str) -> Deferred[list[str]]:
        """Those of the storages that have a complete backup called ``name``."""
        def named() -> list[str]:
            found = []
            for storageId in storageIds:
                with suppress(StorageError):
                    self.images.backup(storageId, name)
                    found.append(storageId)
            return found

        return self._inThread(named)

    def clearSides(self, storageIds: list[str], name: str) -> Deferred[dict[str, Path]]:
        """Where a hypervisor is to write the copies that :meth:`backUp` keeps with
        ``prefilled`` (backups called ``name``), by storage: their directories made, any
        copy an interrupted attempt left there removed."""
        def clear() -> dict[str, Path]:
            sides = {storageId: self.images.backupJob(storageId, 0.0, name=name).partial
                     for storageId in storageIds}
            for side in sides.values():
                ensureDirectory(side.parent)
                side.unlink(missing_ok=True)
            return sides

        return self._inThread(clear)

    async def _backUp(self, storage: Entity, created: float, context: ActionContext,
                      extra: Mapping[str, Value], *, name: str | None = None,
                      prefilled: bool = False, resumeFrom: CopyState | None = None,
                      shown: Shown = requestProgress) -> BackupJob:
        backup = self.images.backupJob(storage.id, created, keep=_keep(storage), name=name,
                                       prefilled=prefilled, resumeFrom=resumeFrom)
        await self._run(backup, context, extra, shown)
        return backup

    # -- helpers ---------------------------------------------------------------------------------

    def _run(self, job: SlicedJob[_S], context: ActionContext, extra: Mapping[str, Value],
             shown: Shown = requestProgress) -> Deferred[Progress]:
        """Run a sliced job, checkpointing its state (with ``extra``) after every slice."""

        def checkpoint(state: _S, progress: Progress) -> Deferred[None]:
            return context.checkpoint(shown(progress), {**extra, "job": state.toJSON()})

        return runJob(job, self._reactor, self._pool, checkpoint, self._sliceSeconds)

    def _ensure(self, storageId: str, sizeGiB: float, resize: bool = True) -> None:
        """The image exists with the size stored (creating it sparse, or resizing it).
        Another node sharing the data directory may be making it at the same moment: an
        image that appears meanwhile is the one to size."""
        try:
            current = self.images.sizeOf(storageId)
        except NoSuchImage:
            try:
                self.images.create(storageId, sizeGiB)
                return
            except ImageExists:
                current = self.images.sizeOf(storageId)
        if resize and current != bytesOf(sizeGiB):
            self.images.resize(storageId, sizeGiB)

    def _create(self, storageId: str, sizeGiB: float, created: float) -> None:
        """The image of a storage made at ``created``.  One found there already was made
        since by another node sharing the data directory (it follows the same change): it is
        this storage's.  One older belonged to a deleted storage of the same id whose removal
        did not happen: its bytes are not the new storage's.  (Nodes keep their clocks in
        step, as they do for the leases.)"""
        try:
            self.images.create(storageId, sizeGiB)
        except ImageExists:
            if self.images.changedAt(storageId) >= created:
                self._ensure(storageId, sizeGiB)
                return
            _log.warn("Storage {id} is new, yet an image was there (of a deleted storage "
                      "with its id): replaced by an empty one", id=storageId)
            self._remove(storageId)
            self.images.create(storageId, sizeGiB)

    def _remove(self, storageId: str) -> None:
        with suppress(NoSuchImage):
            self.images.delete(storageId)

    def _inThread(self, work: Callable[..., _T], *args: object) -> Deferred[_T]:
        return deferToThreadPool(self._reactor, self._pool, work, *args)

    def _exclusive(self, storageId: str, work: Callable[[], Deferred[_T]]) -> Deferred[_T]:
        lock = self._locks.get(storageId)
        if lock is None:
            lock = self._locks[storageId] = DeferredLock()

        def release(result: _T) -> _T:
            if not lock.locked and not lock.waiting:
                self._locks.pop(storageId, None)
            return result

        return lock.run(work).addBoth(release)


def _shielded(work: Deferred[_T]) -> Deferred[_T]:
    """A Deferred that fires as ``work`` does, but whose cancellation leaves ``work`` be:
    whoever waited stops waiting; a failure nobody waits for any more is logged."""
    waiter: Deferred[_T] = Deferred()

    def passOn(result: _T | Failure) -> None:
        if not waiter.called:
            if isinstance(result, Failure):
                waiter.errback(result)
            else:
                waiter.callback(result)
        elif isinstance(result, Failure):
            _log.failure("Disk work failed after its caller stopped waiting", result)

    work.addBoth(passOn)
    return waiter


def _size(attributes: Mapping[str, Value]) -> float:
    size = attributes.get("size")
    if not isinstance(size, (int, float)) or isinstance(size, bool):
        raise BadRequest("resize needs a size in GiB.")
    return float(size)


def _resized(entity: Entity, attributes: Mapping[str, Value]) -> Entity:
    return replace(entity, attributes={**entity.attributes, "occi.storage.size": _size(attributes)})


def _keep(entity: Entity) -> int:
    """How many backups to keep: the backup policy's count, else the server's default."""
    if any(m.identifier == BACKUP_POLICY.identifier for m in entity.mixins):
        keep = entity.attributes.get("occi-twisted.backup.keep")
        if isinstance(keep, int) and keep >= 1:
            return keep
    return DEFAULT_KEEP


def _state(saved: Mapping[str, Value], load: Callable[[str], _S]) -> _S | None:
    job = saved.get("job")
    return load(job) if isinstance(job, str) else None


def _stamp(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("snapshot-%Y%m%dT%H%M%SZ")

