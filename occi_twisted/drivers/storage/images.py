"""The files of every storage: its image, its snapshots and backups, and the jobs on them.

Every storage is a sparse file ``<dataDir>/storage/<id>.img`` (its SHA-256 remembered beside
it in ``<id>.img.sha256`` once computed, :mod:`occi_twisted.files.digests`); snapshots are
copies under ``snapshots/<id>/``, backups hashed copies under ``backups/<id>/`` (:mod:`.backups`).
"""

from __future__ import annotations

import os
from pathlib import Path

from .backups import BackupJob, BackupShelf, RestoreJob
from .copy import CopyJob, CopyState
from .erase import EraseJob, EraseState
from .errors import ImageExists, NoSuchImage, StorageError, bytesOf, checkName, checkStorageId
from .files import (
    CHUNK_SIZE,
    ensureDirectory,
    fsyncDirectory,
    imageNameOfLeftover,
    sidecarFiles,
)
from .patterns import Pattern

#: The start of the name of an upload not yet an image.
_UPLOAD = ".upload-"


class DiskImages(BackupShelf):
    """The files of every storage under ``dataDir``: images, snapshots and backups.

    Job factories (``...Job``) do no I/O, so they may be called on the reactor thread; the jobs
    do theirs in ``step``.  Every other method blocks (it syncs what it changes before it
    returns), so call it in a thread."""

    def __init__(self, dataDir: str | os.PathLike[str], *, chunkSize: int = CHUNK_SIZE) -> None:
        super().__init__(dataDir)
        self.chunkSize = chunkSize

    # -- where things live -------------------------------------------------------------------

    def imagePath(self, storageId: str) -> Path:
        return self.dataDir / "storage" / f"{checkStorageId(storageId)}.img"

    def uploadPath(self, storageId: str, tag: str) -> Path:
        """Where an upload to the storage is written before it becomes its image: a hidden
        name beside the image (no storage id starts with a dot), tagged with ``tag``."""
        return self.dataDir / "storage" / f"{_UPLOAD}{checkStorageId(storageId)}.{tag}"

    def snapshotPath(self, storageId: str, name: str) -> Path:
        return (self.dataDir / "snapshots" / checkStorageId(storageId)
                / f"{checkName(name, 'A snapshot name')}.img")

    # -- images (blocking) -------------------------------------------------------------------

    def create(self, storageId: str, sizeGiB: float) -> Path:
        """A new sparse image of ``sizeGiB`` GiB: it takes no disk space until written."""
        path, size = self.imagePath(storageId), bytesOf(sizeGiB)
        ensureDirectory(path.parent)
        try:
            _setSize(path, size, os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            raise ImageExists(f"Storage {storageId} already has an image.") from None
        fsyncDirectory(path.parent)
        return path

    def resize(self, storageId: str, sizeGiB: float) -> int:
        """Grow (sparsely: the new bytes read as zeros) or shrink (the tail is lost) the image;
        the new size in bytes."""
        path, size = self.imagePath(storageId), bytesOf(sizeGiB)
        try:
            _setSize(path, size)
        except FileNotFoundError:
            raise NoSuchImage(f"Storage {storageId} has no image to resize.") from None
        return size

    def delete(self, storageId: str) -> None:
        """Remove the image, and the digest remembered beside it (first: a crash between
        leaves an image without one, which costs a hash, rather than a digest without an
        image).  Snapshots and backups stay: a backup is there to survive this."""
        path = self.imagePath(storageId)
        for sidecar in sidecarFiles(path):
            sidecar.unlink(missing_ok=True)
        try:
            path.unlink()
        except FileNotFoundError:
            raise NoSuchImage(f"Storage {storageId} has no image to delete.") from None
        finally:
            fsyncDirectory(path.parent)

    def replace(self, storageId: str, upload: Path, size: int) -> None:
        """``upload`` becomes the image, extended sparsely to ``size`` bytes; the old image
        stays whole until the rename, which is synced with its directory."""
        image = self.imagePath(storageId)
        if not image.exists():
            upload.unlink(missing_ok=True)
            raise NoSuchImage(f"Storage {storageId} has no image to replace.")
        try:
            _setSize(upload, max(size, upload.stat().st_size))
            os.replace(upload, image)
        except BaseException:
            upload.unlink(missing_ok=True)
            raise
        fsyncDirectory(image.parent)

    def sweepUploads(self, boot: str) -> list[Path]:
        """Remove the uploads not tagged ``boot``'s: a server killed while receiving them
        left them; their storages keep the images they had.  The paths removed."""
        directory = self.dataDir / "storage"
        if not directory.is_dir():
            return []
        stale = [p for p in directory.glob(f"{_UPLOAD}*")
                 if not p.suffix[1:].startswith(f"{boot}-")]
        for path in stale:
            path.unlink(missing_ok=True)
        if stale:
            fsyncDirectory(directory)
        return stale

    def changedAt(self, storageId: str) -> float:
        """When the image was last made, written or replaced (its ctime)."""
        try:
            return self.imagePath(storageId).stat().st_ctime
        except FileNotFoundError:
            raise NoSuchImage(f"Storage {storageId} has no image.") from None

    def sizeOf(self, storageId: str) -> int:
        try:
            return self.imagePath(storageId).stat().st_size
        except FileNotFoundError:
            raise NoSuchImage(f"Storage {storageId} has no image.") from None

    def storageIds(self) -> list[str]:
        """The ids of the storages that have an image, or a remembered digest of one
        (:mod:`occi_twisted.files.digests`) left by a crash, sorted: what start-up compares
        with the store, so that what a deleted storage left goes with :meth:`delete`.  A
        file whose name no storage id can have is no image of ours."""
        directory = self.dataDir / "storage"
        if not directory.is_dir():
            return []
        ids = set()
        for name in os.listdir(directory):
            image = name if name.endswith(".img") else imageNameOfLeftover(name)
            if image is None or not image.endswith(".img"):
                continue
            try:
                ids.add(checkStorageId(image.removesuffix(".img")))
            except StorageError:
                continue
        return sorted(ids)

    def freeBytes(self) -> int:
        """The bytes the file system of the data directory has free for this process (the
        blocks ``statvfs`` says are available to an unprivileged user).  A metadata call,
        quick enough for the reactor thread."""
        place = self.dataDir
        while not place.exists() and place != place.parent:
            place = place.parent  # not made yet: its file system is its parent's
        stats = os.statvfs(place)
        return stats.f_bavail * stats.f_frsize

    def snapshots(self, storageId: str) -> list[str]:
        """Names of the storage's snapshots, sorted."""
        directory = self.dataDir / "snapshots" / checkStorageId(storageId)
        if not directory.is_dir():
            return []
        return sorted(p.stem for p in directory.glob("*.img"))

    # -- jobs (no I/O until stepped) ---------------------------------------------------------

    def eraseJob(self, storageId: str, passes: int = 3, pattern: Pattern | str = Pattern.DOD3,
                 *, resumeFrom: EraseState | None = None) -> EraseJob:
        return EraseJob(self.imagePath(storageId), passes, pattern, resumeFrom=resumeFrom,
                        chunkSize=self.chunkSize)

    def snapshotJob(self, storageId: str, name: str, *,
                    resumeFrom: CopyState | None = None) -> CopyJob:
        return CopyJob(self.imagePath(storageId), self.snapshotPath(storageId, name),
                       resumeFrom=resumeFrom, chunkSize=self.chunkSize)

    def backupJob(self, storageId: str, created: float, *, keep: int | None = None,
                  resumeFrom: CopyState | None = None, name: str | None = None,
                  prefilled: bool = False) -> BackupJob:
        """A backup named after ``created`` (or ``name``): give the same to resume it.
        ``prefilled``: its side file (the job's ``partial``) holds the copy already."""
        return BackupJob(self, self.imagePath(storageId), storageId, created, keep=keep,
                         resumeFrom=resumeFrom, chunkSize=self.chunkSize, name=name,
                         prefilled=prefilled)

    def restoreJob(self, storageId: str, backupName: str, *,
                   resumeFrom: CopyState | None = None) -> RestoreJob:
        return RestoreJob(self, self.imagePath(storageId), storageId,
                          checkName(backupName, "A backup name"), resumeFrom=resumeFrom,
                          chunkSize=self.chunkSize)


def _setSize(path: Path, size: int, flags: int = 0) -> None:
    """Open ``path`` (with ``flags`` added), cut or extend it sparsely to ``size`` bytes and
    sync it; the open's errors are the caller's to say in its words."""
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC | flags, 0o600)
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    finally:
        os.close(fd)
