"""Networks as libvirt networks: an isolated bridge, with the ``ipnetwork`` mixin's address on
it and DHCP; ``up`` and ``down`` start and stop it.  A networkinterface with the
``ipnetworkinterface`` mixin's address gets it from the network's DHCP, by its MAC.

A network's definition changes on its next ``up`` when it is active (libvirt applies a
network's new XML when it starts).
"""

from __future__ import annotations

from typing import Any

from ...model import Action, Entity
from ..interface import ActionOutcome, InvalidTransition
from .computes import Host, idOf, theirs
from .connection import libvirt
from .definitions import dhcpHostXML, networkName, networkXML
from .states import ALLOWED

STATE = "occi.network.state"


class Networks:
    """The libvirt networks of the OCCI networks of one server."""

    def __init__(self, host: Host) -> None:
        self.host = host

    async def define(self, network: Entity) -> None:
        xml = networkXML(network, owner=self.host.owner)
        state = await self.host.call(f"Defining {network.location}",
                                     lambda connection: self._define(connection, network, xml))
        if state != network.attributes.get(STATE) and self.host.report is not None:
            await self.host.report(network.id, {STATE: state,
                                                f"{STATE}.message": f"libvirt has it {state}."})

    def _define(self, connection: Any, network: Entity, xml: str) -> str:
        name = networkName(network.id)
        try:
            existing = connection.networkLookupByName(name)
        except libvirt.libvirtError:
            existing = None
        if existing is not None and theirs(self.host, existing.XMLDesc(0)):
            raise InvalidTransition(f"A network named {name} exists that this server did not "
                                    "make; it is left alone.")
        defined = connection.networkDefineXML(xml)
        return "active" if defined.isActive() else "inactive"

    async def remove(self, networkId: str) -> None:
        def remove(connection: Any) -> None:
            try:
                network = connection.networkLookupByName(networkName(networkId))
            except libvirt.libvirtError:
                return
            if theirs(self.host, network.XMLDesc(0)):
                return
            if network.isActive():
                network.destroy()
            network.undefine()

        await self.host.call(f"Removing the network {networkId}", remove)

    def check(self, entity: Entity, action: Action) -> None:
        allowed = ALLOWED[("network", action.term)]
        state = str(entity.attributes.get(STATE, ""))
        if state not in allowed:
            raise InvalidTransition(f"Cannot {action.term} network {entity.id}: it is {state}.")

    async def perform(self, entity: Entity, action: Action) -> ActionOutcome:
        await self.define(entity)
        up = action.term == "up"
        name = networkName(entity.id)

        def switch(connection: Any) -> None:
            network = connection.networkLookupByName(name)
            if up and not network.isActive():
                network.create()
            elif not up and network.isActive():
                network.destroy()

        await self.host.call(f"Bringing {entity.location} {action.term}", switch)
        state, message = ("active", "Up.") if up else ("inactive", "Down.")
        return ActionOutcome({STATE: state, f"{STATE}.message": message}, message,
                             {"percent": 100})

    async def fixAddress(self, link: Entity, present: bool) -> None:
        """Give (or take back) the networkinterface's fixed address in its network's DHCP."""
        address = link.attributes.get("occi.networkinterface.address")
        mac = link.attributes.get("occi.networkinterface.mac")
        networkId = idOf(link.target, "network")
        if not address or not mac or networkId is None:
            return
        xml = dhcpHostXML(str(mac), str(address))

        def update(connection: Any) -> None:
            try:
                network = connection.networkLookupByName(networkName(networkId))
            except libvirt.libvirtError:
                return
            flags = libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG
            if network.isActive():
                flags |= libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE
            command = (libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST if present
                       else libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE)
            try:
                network.update(command, libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST, -1, xml,
                               flags)
            except libvirt.libvirtError as error:
                # There already (followed twice), or gone already, or no DHCP to hold it.
                if error.get_error_code() not in (libvirt.VIR_ERR_OPERATION_INVALID,
                                                  libvirt.VIR_ERR_OPERATION_UNSUPPORTED,
                                                  libvirt.VIR_ERR_INTERNAL_ERROR):
                    raise

        await self.host.call(f"Setting the address of {link.location}", update)
