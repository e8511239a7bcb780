"""What the infrastructure model says about new links: the kind of link a target implies,
and the device name a storage link gets in its compute.

A client that writes ``Link: </storage/1>`` on a compute means a storage link, and one to a
network means a network interface (GFD.224 §3.4); anything else is a plain OCCI Core link.
A storage link names the disk the compute sees; when the client leaves it out, the next
free virtio name is taken, as a hypervisor would number the disks it attaches.
"""

from __future__ import annotations

from collections.abc import Iterable

from .categories import Kind
from .core import LINK
from .entity import Entity
from .errors import Conflict
from .infrastructure import NETWORK, NETWORKINTERFACE, STORAGE, STORAGELINK

DEVICE_ID = "occi.storagelink.deviceid"
#: The virtio disk names, in the order they are handed out (``/dev/vda`` is the boot disk).
_DEVICES = tuple(f"/dev/vd{letter}" for letter in "bcdefghijklmnopqrstuvwxyz")


def linkKindFor(target: Entity | None) -> Kind:
    """The kind of link to ``target`` (``None``: a resource elsewhere or unknown)."""
    if target is not None and target.kind.isA(NETWORK):
        return NETWORKINTERFACE
    if target is not None and target.kind.isA(STORAGE):
        return STORAGELINK
    return LINK


def devicesOf(links: Iterable[Entity]) -> set[str]:
    """The device names a resource's links use already."""
    return {str(link.attributes.get(DEVICE_ID)) for link in links}


def nextDevice(taken: set[str]) -> str:
    """The first virtio disk name not in ``taken``."""
    for device in _DEVICES:
        if device not in taken:
            return device
    raise Conflict("This compute has no free device name left for another storage link.")
