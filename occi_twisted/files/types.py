"""Which resources have representations that are files, and of which media types.

A storage is its image (``application/octet-stream``); a compute is described by an OVF
envelope and packed, with its disks, as an OVA.  The types come after every rendering in
negotiation, so that ``*/*`` and ``application/*`` still mean an OCCI rendering: a client
gets a file only when it names the type (or its own URL, ``?format=``).
"""

from __future__ import annotations

from typing import Final

from ..model import Kind
from ..model.infrastructure import COMPUTE, STORAGE

OCTET: Final = "application/octet-stream"
OVF: Final = "application/ovf+xml"
OVA: Final = "application/x-ova"
#: Handed out by a signed URL (303), not in the answer itself.
SIGNED: Final = frozenset({OCTET, OVA})


def fileTypesOf(kind: Kind) -> tuple[str, ...]:
    """The file types an entity of ``kind`` has, preferred first."""
    if kind.isA(STORAGE):
        return (OCTET,)
    if kind.isA(COMPUTE):
        return (OVF, OVA)
    return ()
