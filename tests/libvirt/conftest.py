"""The libvirt tests' daemon: started once per session (and stopped after, if they started
it); and the driver on libvirt's in-process ``test:///default`` hypervisor, which needs none."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, succeed

from occi_twisted.drivers.disks import DiskDriver
from occi_twisted.drivers.libvirt.computes import Host
from occi_twisted.drivers.libvirt.connection import Hypervisor
from occi_twisted.drivers.libvirt.driver import LibvirtDriver
from occi_twisted.drivers.libvirt.images import readImages
from occi_twisted.drivers.storage import DiskImages
from occi_twisted.model import Entity, Value

from .support import hypervisor


@pytest.fixture(scope="session")
def connection() -> Iterator[Any]:
    yield from hypervisor()


class Links:
    """What the driver reads of the store: entities, and links by source."""

    def __init__(self) -> None:
        self.entities: dict[str, Entity] = {}

    def get(self, entityId: str) -> Deferred[Entity | None]:
        return succeed(self.entities.get(entityId))

    def linksFrom(self, sources: list[str]) -> Deferred[dict[str, list[Entity]]]:
        return succeed({source: [entity for entity in self.entities.values()
                                 if entity.source == source] for source in sources})


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[tuple[LibvirtDriver, list[tuple[str, Mapping[str, Value]]]]]:
    (tmp_path / "images" / "tiny").mkdir(parents=True)
    (tmp_path / "images" / "tiny" / "kernel").write_bytes(b"k")
    images = DiskImages(tmp_path / "data")
    host = Host(hypervisor=Hypervisor("test:///default", reactor), clock=reactor,
                owner="unit", domainType="test", images=readImages(tmp_path / "images"),
                consoles=tmp_path / "consoles", imagePath=images.imagePath)
    made = LibvirtDriver(host, DiskDriver(images, reactor))
    reports: list[tuple[str, Mapping[str, Value]]] = []

    def report(entityId: str, changes: Mapping[str, Value]) -> Deferred[None]:
        reports.append((entityId, changes))
        return succeed(None)

    made.observe(Links(), report)
    made.start()
    yield made, reports
    pytest_twisted.blockon(made.stop())
