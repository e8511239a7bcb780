"""What an OVF envelope says about one compute, as plain values, and the OVF and CIM words
both directions spell alike.

The HTTP room fills these in from entities (a compute, the storages linked to it, its network
interfaces and their networks) and makes entities from them; the rendering knows nothing of
entities.  An optional string that is empty is written as if absent, and read back as
``None``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ARCHITECTURE",
    "ENVELOPE",
    "ENVELOPE_NAMESPACES",
    "HOSTNAME",
    "OS_64_BIT",
    "OS_OTHER",
    "OS_OTHER_64_BIT",
    "RASD",
    "RAW_FORMAT",
    "VSSD",
    "OvfDisk",
    "OvfNetwork",
    "OvfNic",
    "OvfSystem",
]

#: The envelope namespace we write: OVF 1.x's, which OVF 1.x and 2.x readers both take
#: (DSP0243 2.0 keeps 1.x readers working with it).
ENVELOPE = "http://schemas.dmtf.org/ovf/envelope/1"
#: The envelope namespaces we read: OVF 1.x and OVF 2.x.
ENVELOPE_NAMESPACES = frozenset({ENVELOPE, "http://schemas.dmtf.org/ovf/envelope/2"})
_CIM = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
RASD = _CIM + "CIM_ResourceAllocationSettingData"
VSSD = _CIM + "CIM_VirtualSystemSettingData"

#: The format of a raw image packed beside the envelope.  DSP0243 names no URI for a raw
#: image, and no registry does; virt-v2v and oVirt, the tools that write OVF for KVM guests,
#: spell a disk of plain bytes with this one (virt-v2v's ``create_ovf.ml``), so it is the raw
#: format URI OVF readers of KVM guests already meet -- and it says what the file is.
RAW_FORMAT = "http://en.wikipedia.org/wiki/Byte"

#: CIM_OperatingSystem.OSType values of 64-bit x86 systems (their names end in "64-Bit";
#: Tru64, an Alpha system, is not among them), read as the architecture ``x64`` when the
#: envelope does not say it otherwise.  We write 102, "Other 64-Bit", for ``x64``, and 1,
#: "Other", for anything else: the compute does not say which operating system it runs.
OS_64_BIT = frozenset({70, 71, 74, 77, 78, 80, 81, 83, 85, 90, 92, 94, 96, 98, 100, 101, 102})
OS_OTHER, OS_OTHER_64_BIT = 1, 102
#: ``ProductSection`` property keys: the compute's attributes OVF has no element for.
HOSTNAME, ARCHITECTURE = "occi.compute.hostname", "occi.compute.architecture"


@dataclass(frozen=True)
class OvfDisk:
    """A storage attached to the compute.

    ``capacity`` is in bytes.  ``fileName`` names the disk's image when it is packed beside the
    envelope (an OVA), ``fileSize`` that file's size in bytes when known; a disk without a file
    is a blank disk of its capacity.  ``format`` is the format URI of a packed image that is
    not raw (``None``: raw, the only format we write); an importer refuses what it cannot
    read.  ``title`` is the storage's title.
    """

    diskId: str
    capacity: int
    fileName: str | None = None
    fileSize: int | None = None
    title: str | None = None
    format: str | None = None


@dataclass(frozen=True)
class OvfNic:
    """A network interface: its ``name``, the ``network`` it is connected to (a
    :class:`OvfNetwork`'s name; empty: not connected) and its MAC address."""

    name: str
    network: str
    mac: str | None = None


@dataclass(frozen=True)
class OvfNetwork:
    """A logical network the compute's interfaces are connected to."""

    name: str
    description: str | None = None


@dataclass(frozen=True)
class OvfSystem:
    """A compute: ``cores`` and ``memoryMiB`` of virtual hardware, its disks in the order they
    are attached, its network interfaces and the networks they name."""

    id: str
    name: str
    cores: int
    memoryMiB: int
    architecture: str | None = None
    hostname: str | None = None
    disks: tuple[OvfDisk, ...] = ()
    nics: tuple[OvfNic, ...] = ()
    networks: tuple[OvfNetwork, ...] = ()
    description: str | None = None
