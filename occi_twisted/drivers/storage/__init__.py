"""The file-backed storage engine: disk images, snapshots, backups and secure erase.

Every storage is a sparse file ``<dataDir>/storage/<id>.img``.  Snapshots, backups, restores
and secure erase move or overwrite gigabytes, so they are *jobs*: objects that do their blocking
I/O in ``step(maxBytes)`` calls, each bounded, which :func:`runJob` makes in a thread pool (never
on the reactor thread) and follows with a checkpoint.

The engine is pure: it knows nothing of HTTP or the store.  Its states serialise to JSON for the
scheduler to keep, and its errors are domain errors (:mod:`occi_twisted.model.errors`) whose
message is one sentence a person can act on.

Its modules, each using only those above it:

- ``errors``: the errors, and the checks of sizes and names;
- ``files``: durable small files, whole reads and writes, the ``O_DIRECT`` chunk writer, the
  names of an image's sidecars;
- ``progress``: how far a job is, and the reading of checkpoints;
- ``patterns``: what an erase writes (constant fills, the AES-CTR keystream);
- ``erase``, ``copy``: the jobs; ``backups``: backup and restore, manifests and retention;
- ``images``: where every storage's files live, and the factories of its jobs;
- ``runner``: the slices, checkpoints and cancellation of any job.

Limits, said once: overwriting a file erases the bytes the file system shows; copy-on-write
file systems (btrfs, ZFS) and SSD wear levelling may keep older physical copies that only a
device-level erase reaches.  A job's file must not be written by anything else while it runs.
"""

from .backups import Backup, BackupJob, BackupShelf, RestoreJob, backupName
from .copy import CopyJob, CopyState
from .erase import EraseJob, EraseState
from .errors import (
    GIB,
    CorruptBackup,
    ImageExists,
    InvalidStorageArgument,
    NoSuchBackup,
    NoSuchImage,
    StorageError,
    VerificationFailed,
    bytesOf,
)
from .files import CHUNK_SIZE
from .images import DiskImages
from .patterns import Pattern, StreamKey, passFills
from .progress import Phase, Progress
from .runner import JobCancelled, SlicedJob, runErase, runJob

__all__ = [
    "CHUNK_SIZE", "GIB", "Backup", "BackupJob", "BackupShelf", "CopyJob", "CopyState",
    "CorruptBackup", "DiskImages", "EraseJob", "EraseState", "ImageExists",
    "InvalidStorageArgument", "JobCancelled", "NoSuchBackup", "NoSuchImage", "Pattern", "Phase",
    "Progress", "RestoreJob", "SlicedJob", "StorageError", "StreamKey", "VerificationFailed",
    "backupName", "bytesOf", "passFills", "runErase", "runJob",
]
