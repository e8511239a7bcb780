"""What libvirt is told: the XML of a compute's domain, its disks and NICs, and a network's.

Pure functions of entities and paths (no libvirt, no I/O), so unit tests read them whole.
Every domain and network the driver defines carries :data:`NAMESPACE` metadata naming the
server instance that made it: start-up touches only what this instance made, and reports
every other domain it sees.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import quoteattr

from ...model import Entity

#: The namespace of the driver's metadata in domain and network XML.
NAMESPACE = "http://schemas.occi-twisted.org/libvirt#"
#: Memory of a compute that does not say (occi.compute.memory is in GiB).
DEFAULT_MEMORY_MIB = 128
#: Architectures as OCCI clients name them, as QEMU does.
ARCHITECTURES = {"x64": "x86_64", "x86_64": "x86_64", "amd64": "x86_64", "x86": "i686",
                 "i686": "i686", "i386": "i686", "aarch64": "aarch64", "arm64": "aarch64"}
_DEVICE = re.compile(r"(?:/dev/)?(vd[a-z]{1,2})")


@dataclass(frozen=True)
class Disk:
    """A storagelink as a disk: the link's id, the image file, the guest's device name.

    The name is the disk's target and its serial number: Linux names virtio disks in the
    order it finds them, so the guest reads the name in ``/sys/block/*/serial``."""

    linkId: str
    path: Path
    target: str


@dataclass(frozen=True)
class Nic:
    """A networkinterface as a NIC on the libvirt network ``network``."""

    linkId: str
    network: str
    mac: str


@dataclass(frozen=True)
class Boot:
    """What a domain boots: a kernel, maybe an initrd, and the kernel's command line."""

    kernel: Path
    initrd: Path | None
    cmdline: str


def networkName(networkId: str) -> str:
    """The libvirt network of the OCCI network ``networkId``."""
    return f"occi-{networkId}"


def stableUUID(entityId: str) -> uuid.UUID:
    """The UUID of an entity's domain or network, the same at every definition (libvirt
    refuses a definition that names a known name with another UUID)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, NAMESPACE + entityId)


def bridgeName(networkId: str) -> str:
    """A Linux bridge name (15 characters at most) for the network ``networkId``."""
    return "occi" + hashlib.sha1(networkId.encode()).hexdigest()[:11]


def targetOf(deviceId: object) -> str | None:
    """The virtio disk name (``vdb``) a storagelink's ``deviceid`` names, if it names one."""
    match = _DEVICE.fullmatch(str(deviceId or ""))
    return match.group(1) if match else None


def alias(linkId: str) -> str:
    """The device alias of a link's disk or NIC (libvirt's user aliases start ``ua-``)."""
    return f"ua-{linkId}"


def memoryMiB(entity: Entity) -> int:
    memory = entity.attributes.get("occi.compute.memory")
    if isinstance(memory, (int, float)) and memory > 0:
        return max(32, round(float(memory) * 1024))
    return DEFAULT_MEMORY_MIB


def cores(entity: Entity) -> int:
    value = entity.attributes.get("occi.compute.cores")
    return value if isinstance(value, int) and value > 0 else 1


def architecture(entity: Entity) -> str:
    given = str(entity.attributes.get("occi.compute.architecture") or "x86_64").lower()
    return ARCHITECTURES.get(given, given)


def _metadata(owner: str, location: str) -> str:
    return (f"<metadata><occi:entity xmlns:occi={quoteattr(NAMESPACE)} "
            f"owner={quoteattr(owner)} location={quoteattr(location)}/></metadata>")


def domainXML(entity: Entity, *, domainType: str, owner: str, boot: Boot | None,
              console: Path, disks: list[Disk], nics: list[Nic]) -> str:
    """The persistent definition of the compute ``entity``'s domain."""
    hostname = str(entity.attributes.get("occi.compute.hostname") or f"c-{entity.id[:8]}")
    title = str(entity.attributes.get("occi.core.title") or "")
    parts = [f"<domain type={quoteattr(domainType)}>",
             f"<name>{entity.id}</name>",
             f"<uuid>{stableUUID(entity.id)}</uuid>",
             f"<title>{_text(title[:200])}</title>" if title else "",
             _metadata(owner, entity.location),
             f"<memory unit='MiB'>{memoryMiB(entity)}</memory>",
             f"<vcpu>{cores(entity)}</vcpu>",
             f"<os><type arch={quoteattr(architecture(entity))}>hvm</type>"]
    if boot is not None:
        parts.append(f"<kernel>{_text(str(boot.kernel))}</kernel>")
        if boot.initrd is not None:
            parts.append(f"<initrd>{_text(str(boot.initrd))}</initrd>")
        parts.append(f"<cmdline>{_text(boot.cmdline)} occi.hostname={_text(hostname)}"
                     "</cmdline>")
    parts += ["</os>", "<features><acpi/></features>",
              "<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot>"
              "<on_crash>destroy</on_crash>",
              "<devices>",
              f"<serial type='pty'><log file={quoteattr(str(console))} append='on'/>"
              "<target port='0'/></serial>",
              "<console type='pty'><target type='serial' port='0'/></console>",
              "<video><model type='vga'/></video>",
              "<memballoon model='none'/>"]
    parts += [diskXML(disk) for disk in disks]
    parts += [nicXML(nic) for nic in nics]
    parts.append("</devices></domain>")
    return "".join(parts)


def diskXML(disk: Disk) -> str:
    return (f"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
            f"<source file={quoteattr(str(disk.path))}/>"
            f"<target dev={quoteattr(disk.target)} bus='virtio'/>"
            f"<serial>{disk.target}</serial>"
            f"<alias name={quoteattr(alias(disk.linkId))}/></disk>")


def nicXML(nic: Nic) -> str:
    return (f"<interface type='network'><source network={quoteattr(nic.network)}/>"
            f"<mac address={quoteattr(nic.mac)}/><model type='virtio'/>"
            f"<alias name={quoteattr(alias(nic.linkId))}/></interface>")


def networkXML(entity: Entity, *, owner: str) -> str:
    """An isolated network (a bridge, no forwarding); with the ``ipnetwork`` mixin's address,
    the gateway's address on the bridge and, unless allocation is static, DHCP."""
    parts = [f"<network><name>{networkName(entity.id)}</name>",
             f"<uuid>{stableUUID(entity.id)}</uuid>",
             _metadata(owner, entity.location),
             f"<bridge name={quoteattr(bridgeName(entity.id))} stp='off'/>"]
    address = entity.attributes.get("occi.network.address")
    if address:
        network = ipaddress.ip_network(str(address), strict=False)
        hosts = list(_hosts(network, 3))
        gateway = entity.attributes.get("occi.network.gateway") or (hosts[0] if hosts else None)
        if gateway is not None:
            family = "ipv6" if network.version == 6 else "ipv4"
            parts.append(f"<ip family='{family}' address={quoteattr(str(gateway))} "
                         f"prefix='{network.prefixlen}'>")
            if (entity.attributes.get("occi.network.allocation") != "static"
                    and network.version == 4 and network.num_addresses >= 8):
                first = network.network_address + network.num_addresses // 2
                last = network.broadcast_address - 1
                parts.append(f"<dhcp><range start='{first}' end='{last}'/></dhcp>")
            parts.append("</ip>")
    parts.append("</network>")
    return "".join(parts)


def _hosts(network: ipaddress.IPv4Network | ipaddress.IPv6Network, count: int) -> list[str]:
    found = []
    for host in network.hosts():
        found.append(str(host))
        if len(found) == count:
            break
    return found


def dhcpHostXML(mac: str, address: str) -> str:
    """A network's DHCP entry that gives ``mac`` the fixed ``address``."""
    return f"<host mac={quoteattr(mac)} ip={quoteattr(address)}/>"


def ownerOf(xml: str) -> tuple[str, str] | None:
    """The instance that defined a domain or network, and the entity's location; ``None``
    for one the driver did not make."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return None
    found = root.find(f"metadata/{{{NAMESPACE}}}entity")
    if found is None:
        return None
    return found.get("owner", ""), found.get("location", "")


def devicesOf(xml: str) -> tuple[set[str], set[str]]:
    """The aliases of a domain's disks and NICs that links made (``ua-`` + link id)."""
    root = ElementTree.fromstring(xml)
    disks = {each.get("name", "") for each in root.findall("devices/disk/alias")}
    nics = {each.get("name", "") for each in root.findall("devices/interface/alias")}
    return disks, nics


def diskFiles(xml: str) -> dict[str, Path]:
    """The image file of each file disk of a domain's XML, by target (``vdb``)."""
    root = ElementTree.fromstring(xml)
    files = {}
    for disk in root.findall("devices/disk"):
        target, source = disk.find("target"), disk.find("source")
        if target is not None and source is not None and source.get("file"):
            files[target.get("dev", "")] = Path(source.get("file", ""))
    return files


def backupXML(targets: dict[str, Path | None]) -> str:
    """A push-mode backup job of a domain: each disk (by target) copied, as it is when the
    job begins, into a new raw file -- or, given ``None``, left out."""
    disks = "".join(
        f"<disk name={quoteattr(name)} backup='no'/>" if path is None else
        f"<disk name={quoteattr(name)} backup='yes' type='file'>"
        f"<target file={quoteattr(str(path))}/><driver type='raw'/></disk>"
        for name, path in sorted(targets.items()))
    return f"<domainbackup mode='push'><disks>{disks}</disks></domainbackup>"


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
