"""How ``--driver libvirt`` is made: its options, this server's name on the hypervisor, and
the parts the driver is made of."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from twisted.internet.interfaces import IReactorFromThreads, IReactorTime
from twisted.plugin import IPlugin
from zope.interface import implementer

from ..disks import DiskDriver
from ..interface import IDriver, IDriverFactory, IDriverOptions
from ..storage import DiskImages
from .computes import Host
from .connection import Hypervisor, available
from .driver import LibvirtDriver
from .images import DEFAULT_IMAGES, readImages

DOMAIN_TYPES = ("qemu", "kvm", "auto")
STOP_AFTER = ("destroy", "fail")


def domainType(given: str) -> str:
    """``auto`` is ``kvm`` where ``/dev/kvm`` can be opened, else ``qemu`` (TCG).  Nested
    KVM that crashes guests passes that test: say ``qemu`` there (the default)."""
    if given != "auto":
        return given
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError:
        return "qemu"
    return "kvm"


def instanceName(dataDir: Path) -> str:
    """This server's name on the hypervisor, kept in the data directory: what it defines
    carries it, and it touches nothing that carries another."""
    path = dataDir / "libvirt" / "instance"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        name = secrets.token_hex(8)
        path.write_text(name + "\n")
        return name


def _oneOf(options: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    """The option ``name``, one of ``allowed`` (the first when it is not given)."""
    given = options.get(name, allowed[0])
    if given not in allowed:
        raise ValueError(f"--{name} must be one of {', '.join(allowed)}, not {given[:20]!r}")
    return given


@implementer(IPlugin, IDriverFactory, IDriverOptions)
class LibvirtDriverFactory:
    name = "libvirt"
    description = ("Computes as libvirt domains, networks as libvirt networks; storages as "
                   "image files under --data, attached as the domains' disks")

    def __init__(self, uri: str = "qemu:///system", domainType: str = "qemu",
                 images: Path = DEFAULT_IMAGES, stopDeadline: float = 60.0,
                 stopAfter: str = "destroy") -> None:
        self.uri = uri
        self.domainType = domainType
        self.images = images
        self.stopDeadline = stopDeadline
        self.stopAfter = stopAfter

    def configured(self, options: Mapping[str, str]) -> LibvirtDriverFactory:
        uri = options.get("libvirt-uri", "qemu:///system")
        if "://" not in uri and uri not in ("qemu:///system", "qemu:///session"):
            raise ValueError(f"--libvirt-uri must be a libvirt URI (qemu:///system), not "
                             f"{uri[:60]!r}")
        kind = _oneOf(options, "libvirt-domain-type", DOMAIN_TYPES)
        images = Path(options.get("libvirt-images") or DEFAULT_IMAGES).expanduser()
        deadline = options.get("libvirt-stop-deadline", "60")
        if not deadline.isdigit() or not 1 <= int(deadline) <= 3600:
            raise ValueError(f"--libvirt-stop-deadline must be a number of seconds from 1 "
                             f"to 3600, not {deadline[:20]!r}")
        after = _oneOf(options, "libvirt-stop-after", STOP_AFTER)
        return LibvirtDriverFactory(uri, kind, images, float(deadline), after)

    def makeDriver(self, dataDir: Path, clock: IReactorTime,
                   threads: IReactorFromThreads) -> IDriver:
        if not available():
            raise ValueError("the libvirt driver needs the libvirt Python binding "
                             "(pip install 'occi-twisted[libvirt]')")
        reactor: Any = clock
        diskImages = DiskImages(dataDir)
        host = Host(hypervisor=Hypervisor(self.uri, reactor), clock=clock,
                    owner=instanceName(dataDir), domainType=domainType(self.domainType),
                    images=readImages(self.images),
                    consoles=dataDir / "libvirt" / "consoles",
                    imagePath=diskImages.imagePath, stopDeadline=self.stopDeadline,
                    destroyAfterDeadline=self.stopAfter == "destroy")
        return LibvirtDriver(host, DiskDriver(diskImages, threads))


__all__ = ["LibvirtDriverFactory", "domainType", "instanceName"]
