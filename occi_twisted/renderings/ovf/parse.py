"""An OVF envelope read into an :class:`~.system.OvfSystem`: ours, and those VMware,
VirtualBox and other tools write, in OVF 1.x or 2.x.

Reading is safe as the XML rendering's is (:func:`~occi_twisted.renderings.xml.safeRoot`: no
document type or entity declaration, bounded nesting and element count), bounded in size
(:data:`MAX_ENVELOPE`: an OVA's descriptor does not pass the HTTP layer's body limit) and in
the number of items, files, disks and networks; whatever is malformed raises
:class:`~occi_twisted.model.errors.BadRequest` with one sentence.  What the compute cannot hold
is left out rather than refused (sound cards, CD drives, vendor sections), but what would be
read wrongly is refused: a compressed or chunked file, a file outside the package.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import NoReturn
from urllib.parse import unquote

from ...model.errors import BadRequest
from ..limits import MAX_NAME, MAX_VALUES
from ..values import show
from ..xml import safeRoot
from .system import (
    ARCHITECTURE,
    ENVELOPE_NAMESPACES,
    HOSTNAME,
    OS_64_BIT,
    RAW_FORMAT,
    OvfDisk,
    OvfNetwork,
    OvfNic,
    OvfSystem,
)

__all__ = ["MAX_ENVELOPE", "parseOVF"]

#: The largest envelope read (VirtualBox's, with its whole machine inside, is some 20 KiB).
MAX_ENVELOPE = 4 * 1024 * 1024
#: Deepest nesting read: vendor sections (VirtualBox's machine) nest deeper than OVF does.
MAX_NESTING = 32
#: The largest number read: capacities and sizes are signed 64-bit integers where they go.
MAX_NUMBER = (1 << 63) - 1

_DIGITS = re.compile(r"[0-9]{1,20}")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_UNITS = re.compile(r"byte(?:\s*\*\s*(2|10)\s*\^\s*([0-9]{1,2}))?", re.IGNORECASE)
#: Units some tools spell by name (VirtualBox: ``MegaBytes``), binary as they mean them.
_NAMED_UNITS = {
    prefix + suffix: 1 << shift
    for prefix, shift in (("", 0), ("kilo", 10), ("mega", 20), ("giga", 30), ("tera", 40))
    for suffix in ("byte", "bytes")
} | {"kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40}
_MIB = 1 << 20
#: A disk as an item's ``HostResource`` names it (VirtualBox leaves out the ``ovf:``).
_DISK_REFERENCES = ("ovf:/disk/", "ovf://disk/", "/disk/")
#: Floppy, CD and DVD drives: a disk in one of them is a medium, not a storage.
_REMOVABLE = frozenset({14, 15, 16})
_ITEMS = frozenset({"Item", "StorageItem", "EthernetPortItem"})


def _fail(problem: str) -> NoReturn:
    raise BadRequest(f"The OVF envelope {problem}.")


def _local(tag: object) -> tuple[str, str]:
    """An element's namespace and local name (a comment or processing instruction has
    neither)."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _text(element: ET.Element | None) -> str:
    return "" if element is None else element.text or ""


def _optional(text: str) -> str | None:
    return text or None


def _number(text: str, what: str) -> int:
    text = text.strip()
    if _DIGITS.fullmatch(text) is None or int(text) > MAX_NUMBER:
        _fail(f"gives {what} as {show(text)}, which is not a whole number this server holds")
    return int(text)


def _unit(text: str, what: str) -> int:
    """How many bytes one unit of ``text`` (DSP0004's ``byte * 2^20``, or a name) is."""
    spelled = text.strip()
    named = _NAMED_UNITS.get(spelled.lower())
    if named is not None:
        return named
    match = _UNITS.fullmatch(spelled)
    if match is None:
        _fail(f"gives {what} in {show(spelled)}, a unit this server does not know")
    return 1 if match.group(1) is None else int(match.group(1)) ** int(match.group(2))


def _bytes(quantity: str, units: str, what: str) -> int:
    total = _number(quantity, what) * _unit(units, what)
    if total > MAX_NUMBER:
        _fail(f"gives {what} larger than this server holds")
    return total


def _name(text: str, what: str) -> str:
    if not text or len(text) > MAX_NAME:
        _fail(f"gives {what} as {show(text)}: it must be 1 to {MAX_NAME} characters")
    return text


def _fileName(href: str) -> str:
    """A file packed beside the envelope: its href is a relative URI (percent-encoded; a
    literal name reads as itself), the name of a file, never a path or a URL."""
    _name(href, "a file's href")
    try:
        name = unquote(href, errors="strict")
    except UnicodeDecodeError:
        _fail(f"refers to the file {show(href)}, whose escapes are not UTF-8")
    if (_SCHEME.match(href) or "/" in name or "\\" in name or name in (".", "..")
            or "\x00" in name):
        _fail(f"refers to the file {show(href)}, which is not a name beside the envelope")
    return name


class _Reader:
    """Reads one envelope, whose elements (and attributes) are in ``namespace``."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def children(self, element: ET.Element, local: str) -> list[ET.Element]:
        found = [child for child in element if _local(child.tag) == (self.namespace, local)]
        if len(found) > MAX_VALUES:
            _fail(f"has more than {MAX_VALUES} {local} elements in one place")
        return found

    def child(self, element: ET.Element, local: str) -> ET.Element | None:
        found = self.children(element, local)
        return found[0] if found else None

    def attribute(self, element: ET.Element, name: str) -> str | None:
        """An ``ovf:`` attribute (some tools leave out the prefix)."""
        value = element.get(f"{{{self.namespace}}}{name}")
        return element.get(name) if value is None else value

    def files(self, envelope: ET.Element) -> dict[str, tuple[str, int | None]]:
        references = self.child(envelope, "References")
        files: dict[str, tuple[str, int | None]] = {}
        for file in [] if references is None else self.children(references, "File"):
            fileId = _name(self.attribute(file, "id") or "", "a file's id")
            name = _fileName(self.attribute(file, "href") or "")
            if self.attribute(file, "compression") or self.attribute(file, "chunkSize"):
                _fail(f"packs the file {show(name)} compressed or in chunks, which this "
                      "server does not read")
            size = self.attribute(file, "size")
            files[fileId] = (name, None if size is None else _number(size, "a file's size"))
        return files

    def disks(self, envelope: ET.Element) -> dict[str, OvfDisk]:
        files = self.files(envelope)
        disks: dict[str, OvfDisk] = {}
        for section in self.children(envelope, "DiskSection"):
            for disk in self.children(section, "Disk"):
                diskId = _name(self.attribute(disk, "diskId") or "", "a disk's id")
                what = f"the capacity of the disk {show(diskId)}"
                capacity = _bytes(self.attribute(disk, "capacity") or "",
                                  self.attribute(disk, "capacityAllocationUnits") or "byte",
                                  what)
                fileRef = self.attribute(disk, "fileRef")
                name = size = diskFormat = None
                if fileRef:
                    if fileRef not in files:
                        _fail(f"refers to the file {show(fileRef)}, which its References "
                              "do not list")
                    name, size = files[fileRef]
                    diskFormat = self.attribute(disk, "format") or None
                    diskFormat = None if diskFormat == RAW_FORMAT else diskFormat
                if diskId in disks:
                    _fail(f"lists the disk {show(diskId)} twice")
                disks[diskId] = OvfDisk(diskId, capacity, name, size, None, diskFormat)
        return disks

    def networks(self, envelope: ET.Element) -> tuple[OvfNetwork, ...]:
        networks: dict[str, OvfNetwork] = {}
        for section in self.children(envelope, "NetworkSection"):
            for network in self.children(section, "Network"):
                name = _name(self.attribute(network, "name") or "", "a network's name")
                if name in networks:
                    _fail(f"lists the network {show(name)} twice")
                description = _optional(_text(self.child(network, "Description")))
                networks[name] = OvfNetwork(name, description)
        return tuple(networks.values())

    def configuration(self, envelope: ET.Element) -> str | None:
        """The deployment option whose items apply: the default one, or else the first."""
        options = [option for section in self.children(envelope, "DeploymentOptionSection")
                   for option in self.children(section, "Configuration")]
        for option in options:
            if (self.attribute(option, "default") or "").strip() in ("true", "1"):
                return self.attribute(option, "id")
        return self.attribute(options[0], "id") if options else None

    def virtualSystem(self, envelope: ET.Element) -> ET.Element:
        if self.children(envelope, "VirtualSystemCollection"):
            _fail("describes a collection of virtual systems; this server imports one")
        systems = self.children(envelope, "VirtualSystem")
        if len(systems) != 1:
            _fail("must describe exactly one virtual system")
        return systems[0]

    def properties(self, system: ET.Element) -> dict[str, str]:
        found: dict[str, str] = {}
        for section in self.children(system, "ProductSection"):
            prefix = self.attribute(section, "class") or ""
            for product in self.children(section, "Property"):
                key = self.attribute(product, "key") or ""
                found[f"{prefix}.{key}" if prefix else key] = self.attribute(product,
                                                                             "value") or ""
        return found

    def architecture(self, system: ET.Element, properties: dict[str, str]) -> str | None:
        if properties.get(ARCHITECTURE):
            return properties[ARCHITECTURE]
        for section in self.children(system, "OperatingSystemSection"):
            osType = (self.attribute(section, "id") or "").strip()
            if _DIGITS.fullmatch(osType) and int(osType) in OS_64_BIT:
                return "x64"
        return None

    def system(self, envelope: ET.Element) -> OvfSystem:
        disks = self.disks(envelope)
        networks = self.networks(envelope)
        system = self.virtualSystem(envelope)
        systemId = _name(self.attribute(system, "id") or "", "the virtual system's id")
        hardware = self.child(system, "VirtualHardwareSection")
        if hardware is None:
            _fail("has no virtual hardware section")
        hardwareRead = _Hardware(self, disks, self.configuration(envelope))
        hardwareRead.read(hardware)
        nameElement = self.child(system, "Name")
        if nameElement is not None:
            name = _text(nameElement)
        else:
            identifiers = hardwareRead.systemFields.get("VirtualSystemIdentifier", [systemId])
            name = identifiers[0]
        annotations = [self.child(section, "Annotation")
                       for section in self.children(system, "AnnotationSection")]
        properties = self.properties(system)
        return OvfSystem(
            id=systemId, name=name, cores=hardwareRead.cores(), memoryMiB=hardwareRead.memory(),
            architecture=self.architecture(system, properties),
            hostname=_optional(properties.get(HOSTNAME, "")),
            disks=tuple(hardwareRead.attached), nics=tuple(hardwareRead.nics),
            networks=networks,
            description=_optional(_text(annotations[0])) if annotations else None,
        )


def _fields(element: ET.Element) -> dict[str, list[str]]:
    """An item's fields by local name, whatever their namespace (VirtualBox misspells the
    2.x ones)."""
    fields: dict[str, list[str]] = {}
    for child in element:
        fields.setdefault(_local(child.tag)[1], []).append(_text(child))
    return fields


class _Hardware:
    """What a virtual hardware section's items say, for one deployment option."""

    def __init__(self, reader: _Reader, disks: dict[str, OvfDisk],
                 configuration: str | None) -> None:
        self.reader = reader
        self.disks = disks
        self.configuration = configuration
        self.systemFields: dict[str, list[str]] = {}
        #: Processor and memory items: (value, whether only this deployment option's).
        self.found: dict[int, tuple[int, bool]] = {}
        self.attached: list[OvfDisk] = []
        self.attachedIds: set[str] = set()
        self.nics: list[OvfNic] = []

    def read(self, hardware: ET.Element) -> None:
        system = self.reader.child(hardware, "System")
        if system is not None:
            self.systemFields = _fields(system)
        items = [child for child in hardware if _local(child.tag)[0] == self.reader.namespace
                 and _local(child.tag)[1] in _ITEMS]
        if len(items) > MAX_VALUES:
            _fail(f"has more than {MAX_VALUES} virtual hardware items")
        for item in items:
            options = self.reader.attribute(item, "configuration")
            if options is not None and self.configuration not in options.split():
                continue
            self.item(_fields(item), options is not None)

    def item(self, fields: dict[str, list[str]], specific: bool) -> None:
        kinds = fields.get("ResourceType")
        if not kinds:
            return
        kind = _number(kinds[0], "an item's resource type")
        quantity = (fields.get("VirtualQuantity") or [""])[0]
        if kind == 3:
            self.once(kind, _number(quantity, "the number of processors"), specific)
        elif kind == 4:
            units = (fields.get("AllocationUnits") or ["byte * 2^20"])[0]
            memory = _bytes(quantity, units, "the memory size")
            self.once(kind, -(-memory // _MIB), specific)
        elif kind in (10, 11):
            name = (fields.get("ElementName") or fields.get("Caption") or [""])[0]
            network = (fields.get("Connection") or [""])[0]
            self.nics.append(OvfNic(name, network, _optional((fields.get("Address") or [""])[0])))
        elif kind not in _REMOVABLE:
            self.disk(fields)

    def once(self, kind: int, value: int, specific: bool) -> None:
        what = "processor" if kind == 3 else "memory"
        before = self.found.get(kind)
        if before is not None and before[1] == specific:
            _fail(f"has more than one {what} item")
        if before is None or specific:
            self.found[kind] = (value, specific)

    def disk(self, fields: dict[str, list[str]]) -> None:
        for resource in fields.get("HostResource", []):
            for prefix in _DISK_REFERENCES:
                if resource.startswith(prefix):
                    diskId = resource[len(prefix):]
                    break
            else:
                continue
            if diskId not in self.disks:
                _fail(f"attaches the disk {show(diskId)}, which its DiskSection does not list")
            if diskId in self.attachedIds:
                _fail(f"attaches the disk {show(diskId)} twice")
            self.attachedIds.add(diskId)
            title = _optional((fields.get("ElementName") or fields.get("Caption") or [""])[0])
            disk = self.disks[diskId]
            self.attached.append(OvfDisk(diskId, disk.capacity, disk.fileName, disk.fileSize,
                                         title, disk.format))
            return

    def cores(self) -> int:
        return self.needed(3, "processor")

    def memory(self) -> int:
        return self.needed(4, "memory")

    def needed(self, kind: int, what: str) -> int:
        if kind not in self.found:
            _fail(f"has no {what} item in its virtual hardware")
        value = self.found[kind][0]
        if value < 1:
            _fail(f"gives its virtual system no {what}")
        return value


def parseOVF(data: bytes) -> OvfSystem:
    """The compute an OVF envelope describes (see the package's docstring for what maps to
    what); :class:`BadRequest` when it is malformed or not one this server can import."""
    if len(data) > MAX_ENVELOPE:
        raise BadRequest(f"The OVF envelope is larger than {MAX_ENVELOPE} bytes.")
    root = safeRoot(data, MAX_NESTING)
    if root is None:
        raise BadRequest("The OVF envelope is empty.")
    namespace, local = _local(root.tag)
    if local != "Envelope" or namespace not in ENVELOPE_NAMESPACES:
        raise BadRequest(f"The body is not an OVF 1.x or 2.x envelope: its root element is "
                         f"{show(local)} in the namespace {show(namespace)}.")
    return _Reader(namespace).system(root)
