"""Links as devices: a storagelink is a disk of its compute's domain, a networkinterface a NIC
-- in the definition always, and hot-plugged while the guest runs.

A link whose compute has no domain yet (both made in one request, followed in any order)
defines the domain from the store, which has the link already.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from ...model import Entity
from .computes import Computes, Host, idOf, theirs
from .connection import libvirt
from .definitions import Disk, Nic, alias, diskXML, networkName, nicXML, targetOf


class Devices:
    """Attaches and detaches the devices of links."""

    def __init__(self, host: Host, computes: Computes) -> None:
        self.host = host
        self.computes = computes

    def xmlOf(self, link: Entity) -> str | None:
        """The device XML of ``link`` (``None``: it names nothing this driver attaches)."""
        if link.kind.term == "storagelink":
            storageId = idOf(link.target, "storage")
            target = targetOf(link.attributes.get("occi.storagelink.deviceid"))
            if storageId is None or target is None:
                return None
            return diskXML(Disk(link.id, self.host.imagePath(storageId), target))
        networkId = idOf(link.target, "network")
        if networkId is None:
            return None
        return nicXML(Nic(link.id, networkName(networkId),
                          str(link.attributes.get("occi.networkinterface.mac", ""))))

    async def attach(self, link: Entity) -> None:
        computeId = idOf(link.source, "compute")
        xml = self.xmlOf(link)
        if computeId is None or xml is None:
            return
        compute = await self.host.store.get(computeId)
        if compute is None:
            return
        domain = await self.computes.domain(compute)
        await self.host.call(f"Attaching {link.location} to {compute.location}",
                             lambda _: self._attach(domain, xml, alias(link.id)))

    def _attach(self, domain: Any, xml: str, name: str) -> None:
        if theirs(self.host, domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)):
            return
        flags = 0
        if not _named(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), name):
            flags |= libvirt.VIR_DOMAIN_AFFECT_CONFIG
        if domain.isActive() and not _named(domain.XMLDesc(0), name):
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        if flags:
            domain.attachDeviceFlags(xml, flags)

    async def detach(self, link: Entity) -> None:
        """Take the link's device away (``link`` as it was stored, or its kind and id)."""
        computeId = idOf(link.source, "compute")
        name = alias(link.id)
        await self.host.call(f"Detaching {link.location}",
                             lambda connection: self._detach(connection, computeId, name))

    def _detach(self, connection: Any, computeId: str | None, name: str) -> None:
        domains = []
        if computeId is not None:
            try:
                domains = [connection.lookupByName(computeId)]
            except libvirt.libvirtError:
                return
        else:  # only its id is known (deleted before a crash): look in every domain of ours
            domains = connection.listAllDomains(0)
        for domain in domains:
            try:
                self._detachFrom(domain, name)
            except libvirt.libvirtError as error:
                # Removed meanwhile (its compute deleted with its links): nothing to take.
                if error.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                    raise

    def _detachFrom(self, domain: Any, name: str) -> None:
        if theirs(self.host, domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)):
            return
        for flags, live in ((libvirt.VIR_DOMAIN_AFFECT_LIVE, 0),
                            (libvirt.VIR_DOMAIN_AFFECT_CONFIG, libvirt.VIR_DOMAIN_XML_INACTIVE)):
            if flags == libvirt.VIR_DOMAIN_AFFECT_LIVE and not domain.isActive():
                continue
            device = _device(domain.XMLDesc(live), name)
            if device is None:
                continue
            try:
                domain.detachDeviceFlags(device, flags)
            except libvirt.libvirtError as error:
                # Stopped between the look and the detach (the guest has no devices), or
                # the device taken meanwhile (the change is followed by the answer to its
                # request and by the realizer, and either may come first).
                if error.get_error_code() not in (libvirt.VIR_ERR_OPERATION_INVALID,
                                                  libvirt.VIR_ERR_DEVICE_MISSING):
                    raise


def _named(xml: str, name: str) -> bool:
    return f"<alias name='{name}'/>" in xml


def _device(xml: str, name: str) -> str | None:
    """The XML of the device aliased ``name`` in a domain's XML."""
    root = ElementTree.fromstring(xml)
    for kind in ("disk", "interface"):
        for device in root.findall(f"devices/{kind}"):
            found = device.find("alias")
            if found is not None and found.get("name") == name:
                return ElementTree.tostring(device, encoding="unicode")
    return None
