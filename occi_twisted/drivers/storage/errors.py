"""What a storage operation refuses or fails with, and the checks of what callers give it.

Every error is a domain error (:mod:`occi_twisted.model.errors`) whose message is one
sentence a person can act on: it ends up as the request's message.
"""

from __future__ import annotations

import math
import re

from ...model.errors import BadRequest, Conflict, NotFound, OCCIError
from ...model.ids import ENTITY_ID_RULE, isEntityId

GIB = 1 << 30

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class StorageError(OCCIError):
    """A storage operation cannot be done; ``message`` says why, for the request's record."""


class InvalidStorageArgument(StorageError, BadRequest):
    """A size or a name that no image can have."""


class NoSuchImage(StorageError, NotFound):
    """The storage has no image file."""


class ImageExists(StorageError, Conflict):
    """The image, snapshot or backup to be made is already there."""


class NoSuchBackup(StorageError, NotFound):
    """No backup of that name (or its manifest is gone)."""


class CorruptBackup(StorageError, Conflict):
    """A backup whose bytes do not match its manifest; restoring it is refused."""


class VerificationFailed(StorageError):
    """After the last erase pass the file does not hold what was written: a failing disk, or
    something else writing to the file."""


def bytesOf(sizeGiB: float) -> int:
    """``occi.storage.size`` (GiB, a float) in bytes, rounded to the nearest byte."""
    if not math.isfinite(sizeGiB) or sizeGiB < 0:
        raise InvalidStorageArgument(f"A storage size must be a finite number >= 0, not {sizeGiB}.")
    return round(sizeGiB * GIB)


def checkStorageId(storageId: str) -> str:
    """A storage's id names its files: the model's rule for ids (:mod:`occi_twisted.model.ids`)
    is the one rule, so every storage the model accepts has an image."""
    if not isEntityId(storageId):
        raise InvalidStorageArgument(f"A storage id is {ENTITY_ID_RULE}, not {storageId!r}.")
    return storageId


def checkName(name: str, what: str) -> str:
    """Names (of snapshots and backups) become file names: refuse anything that could leave
    its directory."""
    if not _NAME.fullmatch(name):
        raise InvalidStorageArgument(
            f"{what} {name!r} must be 1-128 letters, digits, '.', '_' or '-', not starting "
            f"with '.', '_' or '-'.")
    return name
