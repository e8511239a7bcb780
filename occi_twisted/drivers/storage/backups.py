"""Backups: a hashed copy of an image with its manifest, the restore that checks it, and the
retention that keeps the newest few."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from twisted.logger import Logger

from .copy import CopyJob, CopyState
from .errors import (
    CorruptBackup,
    InvalidStorageArgument,
    NoSuchBackup,
    StorageError,
    checkName,
    checkStorageId,
)
from .files import CHUNK_SIZE, fsyncDirectory, writeDurably

_log = Logger()
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Backup:
    """One backup of a storage, as its manifest records it."""

    storageId: str
    name: str
    created: float
    size: int
    sha256: str
    path: Path

    def manifest(self) -> bytes:
        return json.dumps({
            "format": 1,
            "storage": self.storageId,
            "name": self.name,
            "created": datetime.fromtimestamp(self.created, UTC).isoformat().replace(
                "+00:00", "Z"),
            "size": self.size,
            "sha256": self.sha256,
        }, indent=1).encode() + b"\n"


def backupName(created: float) -> str:
    """A backup's name is its UTC creation time: sortable, and the same on a resume."""
    return datetime.fromtimestamp(created, UTC).strftime("%Y%m%dT%H%M%S.%fZ")


class BackupShelf:
    """The backups of every storage under ``dataDir``: ``backups/<id>/<name>.img``, each with
    its manifest ``<name>.json`` beside it.  Every method blocks (a prune syncs what it
    removes), so call it in a thread."""

    def __init__(self, dataDir: str | os.PathLike[str]) -> None:
        self.dataDir = Path(dataDir)

    def backupPath(self, storageId: str, name: str) -> Path:
        return (self.dataDir / "backups" / checkStorageId(storageId)
                / f"{checkName(name, 'A backup name')}.img")

    def manifestPath(self, storageId: str, name: str) -> Path:
        return self.backupPath(storageId, name).with_suffix(".json")

    def backup(self, storageId: str, name: str) -> Backup:
        """The backup called ``name``, read from its manifest."""
        manifest = self.manifestPath(storageId, name)
        image = self.backupPath(storageId, name)
        try:
            text = manifest.read_bytes()
        except FileNotFoundError:
            raise NoSuchBackup(f"Storage {storageId} has no backup {name}.") from None
        if not image.exists():
            raise NoSuchBackup(f"Storage {storageId} has no backup {name} (its image is gone).")
        try:
            value = json.loads(text)
            created = datetime.fromisoformat(value["created"]).timestamp()
            size, sha256 = value["size"], value["sha256"]
            if not (isinstance(size, int) and isinstance(sha256, str)
                    and _SHA256_HEX.fullmatch(sha256)):
                raise ValueError("size or sha256 malformed")
        except (ValueError, KeyError, TypeError) as problem:
            raise CorruptBackup(
                f"The manifest of backup {name} of storage {storageId} is damaged ({problem})."
            ) from None
        return Backup(storageId, name, created, size, sha256, image)

    def backups(self, storageId: str) -> list[Backup]:
        """Complete backups of the storage, oldest first (by the time each records: a save
        of a compute names its backups as it is told); damaged ones are logged and left out
        (restoring one would be refused anyway)."""
        directory = self.dataDir / "backups" / checkStorageId(storageId)
        if not directory.is_dir():
            return []
        found = []
        for manifest in sorted(directory.glob("*.json")):
            try:
                found.append(self.backup(storageId, manifest.stem))
            except StorageError as problem:
                _log.warn("Skipping backup {name}: {problem}", name=manifest.stem,
                          problem=problem.message)
        return sorted(found, key=lambda backup: (backup.created, backup.name))

    def pruneBackups(self, storageId: str, keep: int) -> list[Backup]:
        """Remove all but the newest ``keep`` backups; the ones removed.  The manifest goes
        first, so an interrupted prune never leaves a manifest without its image."""
        if keep < 1:
            raise InvalidStorageArgument(f"A backup policy must keep at least 1, not {keep}.")
        old = self.backups(storageId)[:-keep]
        for backup in old:
            self.manifestPath(storageId, backup.name).unlink(missing_ok=True)
            backup.path.unlink(missing_ok=True)
        if old:
            fsyncDirectory(old[0].path.parent)
            _log.info("Removed {count} old backups of storage {storageId}", count=len(old),
                      storageId=storageId)
        return old


class BackupJob(CopyJob):
    """Copies the storage's ``image`` to ``backups/<id>/<name>.img`` hashing it, records the
    SHA-256 in ``<name>.json`` beside it, then keeps only the newest ``keep`` backups.  Its
    name is its creation time unless given (a compute's save names its backups).

    The manifest is written before the image is renamed into place, and a backup counts only
    when both are there, so a crash never leaves a backup without its hash.  Old backups are
    removed only after the new one is durable."""

    def __init__(self, shelf: BackupShelf, image: Path, storageId: str, created: float, *,
                 keep: int | None = None, resumeFrom: CopyState | None = None,
                 chunkSize: int = CHUNK_SIZE, name: str | None = None,
                 prefilled: bool = False) -> None:
        if keep is not None and keep < 1:
            raise InvalidStorageArgument(f"A backup policy must keep at least 1, not {keep}.")
        self.shelf, self.storageId, self.created, self.keep = shelf, storageId, created, keep
        self.name = name or backupName(created)
        super().__init__(image, shelf.backupPath(storageId, self.name), hashing=True,
                         resumeFrom=resumeFrom, chunkSize=chunkSize, prefilled=prefilled)
        self.result: Backup | None = None

    def _alreadyCommitted(self) -> bool:
        if not self.target.exists():
            return False
        try:
            self.result = self.shelf.backup(self.storageId, self.name)
        except StorageError:
            return False
        return True

    def _beforeCommit(self, digest: str | None) -> None:
        assert digest is not None and self._size is not None
        self.result = Backup(self.storageId, self.name, self.created, self._size, digest,
                             self.target)
        writeDurably(self.shelf.manifestPath(self.storageId, self.name),
                     self.result.manifest())

    def _afterCommit(self, digest: str | None) -> None:
        _log.info("Backup {name} of storage {storageId} done (SHA-256 {digest})",
                  name=self.name, storageId=self.storageId, digest=digest)
        if self.keep is not None:
            self.shelf.pruneBackups(self.storageId, self.keep)


class RestoreJob(CopyJob):
    """Puts a backup's bytes back as the storage's ``image``, refusing a corrupt backup.

    The backup is hashed as it is copied into a side file, and the side file replaces the image
    only if the SHA-256 matches the manifest: so a corrupt backup never touches the image, and
    the bytes verified are exactly the bytes restored (no window between checking and
    copying)."""

    overwrite = True

    def __init__(self, shelf: BackupShelf, image: Path, storageId: str, backupName: str, *,
                 resumeFrom: CopyState | None = None, chunkSize: int = CHUNK_SIZE) -> None:
        self.shelf, self.storageId, self.backupName = shelf, storageId, backupName
        super().__init__(shelf.backupPath(storageId, backupName), image,
                         hashing=True, resumeFrom=resumeFrom, chunkSize=chunkSize)
        self.backup: Backup | None = None

    def _missingSource(self) -> StorageError:
        return NoSuchBackup(f"Storage {self.storageId} has no backup {self.backupName}.")

    def _checkSource(self, size: int) -> None:
        self.backup = self.shelf.backup(self.storageId, self.backupName)
        if size != self.backup.size:
            raise CorruptBackup(
                f"Backup {self.backupName} of storage {self.storageId} is corrupt: it is {size} "
                f"bytes, its manifest says {self.backup.size}; the image was not changed.")

    def _beforeCommit(self, digest: str | None) -> None:
        assert self.backup is not None
        if digest != self.backup.sha256:
            self.partial.unlink()
            fsyncDirectory(self.partial.parent)
            raise CorruptBackup(
                f"Backup {self.backupName} of storage {self.storageId} is corrupt: its SHA-256 "
                f"is {digest}, its manifest says {self.backup.sha256}; the image was not "
                f"changed.")
