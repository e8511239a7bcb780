"""The kind of link a target implies, and the device names of storage links."""

from __future__ import annotations

import pytest

from occi_twisted.model import Description, newEntity
from occi_twisted.model.core import LINK
from occi_twisted.model.errors import Conflict
from occi_twisted.model.infrastructure import (
    COMPUTE,
    NETWORK,
    NETWORKINTERFACE,
    STORAGE,
    STORAGELINK,
)
from occi_twisted.model.links import DEVICE_ID, devicesOf, linkKindFor, nextDevice

_DISK = Description(kind=STORAGE, attributes={"occi.storage.size": 1.0})


def test_the_target_decides_the_kind_of_link() -> None:
    assert linkKindFor(newEntity(Description(kind=NETWORK))) is NETWORKINTERFACE
    assert linkKindFor(newEntity(_DISK)) is STORAGELINK
    assert linkKindFor(newEntity(Description(kind=COMPUTE))) is LINK
    assert linkKindFor(None) is LINK


def test_devices_are_handed_out_in_order_and_run_out() -> None:
    taken: set[str] = set()
    names = []
    for _ in range(24):
        names.append(nextDevice(taken))
        taken.add(names[-1])
    assert names[:3] == ["/dev/vdb", "/dev/vdc", "/dev/vdd"] and names[-1] == "/dev/vdy"
    assert nextDevice({"/dev/vdb", "/dev/vdd"}) == "/dev/vdc"
    taken.add("/dev/vdz")
    with pytest.raises(Conflict):
        nextDevice(taken)


def test_devices_of_existing_links() -> None:
    compute = newEntity(Description(kind=COMPUTE))
    disk = newEntity(_DISK)
    link = newEntity(Description(kind=STORAGELINK, attributes={
        "occi.core.source": compute.location, "occi.core.target": disk.location,
        DEVICE_ID: "/dev/vdb"}))
    assert "/dev/vdb" in devicesOf([link])
    assert devicesOf([]) == set()
