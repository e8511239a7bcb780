"""A compute as an OVF envelope (``application/ovf+xml``, DMTF DSP0243), the walkthrough's
"Open Virtualisation Format (OVF) file", and an envelope read back into a compute.

The HTTP room turns entities into an :class:`OvfSystem` and back; this package turns an
:class:`OvfSystem` into an envelope (:func:`renderOVF`) and an envelope into one
(:func:`parseOVF`), and knows nothing of entities.  What maps to what:

==================================  ===================================================
``OvfSystem.id``, ``.name``         ``VirtualSystem/@ovf:id``, ``VirtualSystem/Name`` (and
                                    ``vssd:VirtualSystemIdentifier``)
``.cores``                          the item of ``ResourceType`` 3 (processor): its
                                    ``VirtualQuantity``
``.memoryMiB``                      the item of ``ResourceType`` 4 (memory), in
                                    ``byte * 2^20``
``.disks``                          ``DiskSection/Disk`` (``ovf:capacity`` in bytes), each
                                    attached by an item of ``ResourceType`` 17 whose
                                    ``HostResource`` is ``ovf:/disk/<diskId>`` and whose
                                    ``ElementName`` is the storage's title, on a SCSI
                                    controller (``ResourceType`` 6); a disk whose image is
                                    packed beside the envelope (OVA) has a
                                    ``References/File`` and raw format
                                    (:data:`RAW_FORMAT`)
``.nics``                           items of ``ResourceType`` 10 (Ethernet adapter):
                                    ``ElementName`` the interface's name, ``Connection``
                                    its network, ``Address`` its MAC address
``.networks``                       ``NetworkSection/Network``
``.description``                    ``AnnotationSection/Annotation``
``.hostname``, ``.architecture``    ``ProductSection`` properties ``occi.compute.hostname``
                                    and ``occi.compute.architecture``; ``x64`` is also
                                    ``OperatingSystemSection/@ovf:id`` 102 ("Other 64-Bit")
==================================  ===================================================

Rendering writes OVF 1.x (the namespace OVF 1.x and 2.x tools read), valid against DMTF's
DSP8023 schema, the same bytes for the same system.  Reading takes OVF 1.x and 2.x as VMware,
VirtualBox and others write them: memory in any byte unit (``byte * 2^20``, ``MegaBytes``,
``GigaBytes``), capacities in ``ovf:capacityAllocationUnits``, 2.x's ``StorageItem`` and
``EthernetPortItem``, deployment options (the default one's items apply), and leaves out what a
compute does not hold.  Reading is safe and bounded, and every malformed envelope raises
:class:`~occi_twisted.model.errors.BadRequest` (see :mod:`.parse`).
"""

from __future__ import annotations

from .parse import MAX_ENVELOPE, parseOVF
from .render import renderOVF
from .system import RAW_FORMAT, OvfDisk, OvfNetwork, OvfNic, OvfSystem

__all__ = [
    "MAX_ENVELOPE",
    "MEDIA_TYPE",
    "RAW_FORMAT",
    "OvfDisk",
    "OvfNetwork",
    "OvfNic",
    "OvfSystem",
    "parseOVF",
    "renderOVF",
]

MEDIA_TYPE = "application/ovf+xml"
