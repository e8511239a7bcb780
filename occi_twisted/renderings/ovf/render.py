"""An :class:`~.system.OvfSystem` written as an OVF 1.x envelope, valid against DMTF's
DSP8023 schema, the same bytes for the same system.

Every virtual hardware item gets the ``rasd`` elements the schema requires (``ElementName``,
``InstanceID``) in the schema's order, and the ones VMware and VirtualBox need to import it: a
SCSI controller (LSI Logic, which both emulate) that is each disk's ``Parent``, fifteen disks
to a controller at SCSI unit numbers 0-15 but 7 (the controller's own).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import count
from urllib.parse import quote

from ..values import xmlAttribute, xmlChars, xmlText
from .system import (
    ARCHITECTURE,
    ENVELOPE,
    HOSTNAME,
    OS_OTHER,
    OS_OTHER_64_BIT,
    RASD,
    RAW_FORMAT,
    VSSD,
    OvfDisk,
    OvfNetwork,
    OvfNic,
    OvfSystem,
)

__all__ = ["renderOVF"]

_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
_ROOT = (f'<Envelope xmlns="{ENVELOPE}" xmlns:ovf="{ENVELOPE}" xmlns:rasd="{RASD}" '
         f'xmlns:vssd="{VSSD}">')
#: What a file's name keeps unencoded in its ``href`` (RFC 3986's ``pchar`` but ``:``, which
#: would read as a scheme, and ``%``): a name of letters, digits and ``-._~`` is its own href,
#: so readers that take an href for a file name (VirtualBox) find the same file.
_HREF_SAFE = "-._~!$&'()*+,;=@"
#: SCSI unit numbers a disk may take: 7 is the controller's own.
_UNITS = tuple(unit for unit in range(16) if unit != 7)


def _text(value: str) -> str:
    return xmlText(xmlChars(value))


def _element(indent: str, tag: str, text: str, attributes: str = "") -> str:
    return f"{indent}<{tag}{attributes}>{_text(text)}</{tag}>"


def _attributes(**values: str | int | None) -> str:
    """``ovf:``-qualified attributes, in the order given; ``None`` (or empty) is left out."""
    return "".join(f" ovf:{name}={xmlAttribute(str(value))}"
                   for name, value in values.items() if value is not None and value != "")


def _references(disks: tuple[OvfDisk, ...]) -> Iterator[str]:
    files = [disk for disk in disks if disk.fileName]
    if not files:
        yield "  <References/>"
        return
    yield "  <References>"
    for disk in files:
        attributes = _attributes(id=_fileId(disk), href=_href(disk.fileName),
                                 size=disk.fileSize)
        yield f"    <File{attributes}/>"
    yield "  </References>"


def _href(fileName: str | None) -> str:
    return quote(fileName or "", safe=_HREF_SAFE)


def _fileId(disk: OvfDisk) -> str:
    return f"file-{disk.diskId}"


def _section(indent: str, tag: str, info: str, body: Iterable[str],
             attributes: str = "") -> Iterator[str]:
    """A section: its ``Info`` (which every section must have), then ``body``."""
    yield f"{indent}<{tag}{attributes}>"
    yield f"{indent}  <Info>{info}</Info>"
    yield from body
    yield f"{indent}</{tag}>"


def _disks(disks: tuple[OvfDisk, ...]) -> Iterator[str]:
    for disk in disks:
        packed = bool(disk.fileName)
        attributes = _attributes(
            diskId=disk.diskId, capacity=disk.capacity, capacityAllocationUnits="byte",
            fileRef=_fileId(disk) if packed else None,
            format=(disk.format or RAW_FORMAT) if packed else None,
        )
        yield f"    <Disk{attributes}/>"


def _networks(networks: tuple[OvfNetwork, ...]) -> Iterator[str]:
    for network in networks:
        if network.description:
            yield f"    <Network{_attributes(name=network.name)}>"
            yield _element("      ", "Description", network.description)
            yield "    </Network>"
        else:
            yield f"    <Network{_attributes(name=network.name)}/>"


def _item(fields: list[tuple[str, str | None]]) -> Iterator[str]:
    """One ``Item``; ``fields`` in the schema's (alphabetical) order, ``None`` left out."""
    yield "      <Item>"
    for name, value in fields:
        if value is not None:
            yield _element("        ", f"rasd:{name}", value)
    yield "      </Item>"


def _hardware(system: OvfSystem) -> Iterator[str]:
    yield "      <System>"
    yield "        <vssd:ElementName>Virtual hardware family</vssd:ElementName>"
    yield "        <vssd:InstanceID>0</vssd:InstanceID>"
    yield _element("        ", "vssd:VirtualSystemIdentifier", system.name)
    yield "      </System>"
    ids = count(1)
    yield from _item([
        ("AllocationUnits", "hertz * 10^6"), ("Description", "Number of virtual CPUs"),
        ("ElementName", f"{system.cores} virtual CPU(s)"), ("InstanceID", str(next(ids))),
        ("ResourceType", "3"), ("VirtualQuantity", str(system.cores)),
    ])
    yield from _item([
        ("AllocationUnits", "byte * 2^20"), ("Description", "Memory size"),
        ("ElementName", f"{system.memoryMiB} MiB of memory"), ("InstanceID", str(next(ids))),
        ("ResourceType", "4"), ("VirtualQuantity", str(system.memoryMiB)),
    ])
    for controller in range(0, len(system.disks), len(_UNITS)):
        parent = str(next(ids))
        yield from _item([
            ("Address", str(controller // len(_UNITS))), ("Description", "SCSI controller"),
            ("ElementName", f"SCSI controller {controller // len(_UNITS)}"),
            ("InstanceID", parent), ("ResourceSubType", "lsilogic"), ("ResourceType", "6"),
        ])
        for unit, disk in zip(_UNITS, system.disks[controller:controller + len(_UNITS)],
                              strict=False):
            yield from _item([
                ("AddressOnParent", str(unit)), ("ElementName", disk.title or ""),
                ("HostResource", f"ovf:/disk/{disk.diskId}"), ("InstanceID", str(next(ids))),
                ("Parent", parent), ("ResourceType", "17"),
            ])
    for nic in system.nics:
        yield from _nic(nic, str(next(ids)))


def _nic(nic: OvfNic, instance: str) -> Iterator[str]:
    # E1000: the adapter VMware, VirtualBox and QEMU all emulate.
    return _item([
        ("Address", nic.mac or None), ("AutomaticAllocation", "true"),
        ("Connection", nic.network or None), ("ElementName", nic.name),
        ("InstanceID", instance), ("ResourceSubType", "E1000"), ("ResourceType", "10"),
    ])


def _virtualSystem(system: OvfSystem) -> Iterator[str]:
    yield f"  <VirtualSystem{_attributes(id=system.id)}>"
    yield "    <Info>A virtual machine</Info>"
    yield _element("    ", "Name", system.name)
    if system.description:
        yield from _section("    ", "AnnotationSection", "A description of the virtual machine",
                            [_element("      ", "Annotation", system.description)])
    properties = [(key, value) for key, value in ((HOSTNAME, system.hostname),
                                                  (ARCHITECTURE, system.architecture)) if value]
    if properties:
        yield from _section("    ", "ProductSection", "Attributes of the compute", [
            f"      <Property{_attributes(key=key, type='string', value=value)}/>"
            for key, value in properties])
    osType = OS_OTHER_64_BIT if system.architecture == "x64" else OS_OTHER
    yield from _section("    ", "OperatingSystemSection", "The kind of guest operating system",
                        [], _attributes(id=osType))
    yield from _section("    ", "VirtualHardwareSection", "Virtual hardware requirements",
                        _hardware(system))
    yield "  </VirtualSystem>"


def renderOVF(system: OvfSystem) -> bytes:
    """``system`` as an OVF envelope (see the package's docstring for what maps to what)."""
    lines = [_DECLARATION, _ROOT, *_references(system.disks)]
    if system.disks:
        lines += _section("  ", "DiskSection", "Virtual disks", _disks(system.disks))
    if system.networks:
        lines += _section("  ", "NetworkSection", "Logical networks", _networks(system.networks))
    lines += [*_virtualSystem(system), "</Envelope>", ""]
    return "\n".join(lines).encode("utf-8")
