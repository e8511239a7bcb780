"""Helpers for the tests that boot real guests: libvirtd, the tiny guest, a server on them,
and a guest's serial console (read from its log, typed into through libvirt)."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from occi_twisted.drivers.libvirt.guest import READY
from occi_twisted.drivers.libvirt.images import DEFAULT_IMAGES, TINY
from tests.conftest import ROOT, RunningServer, call

libvirt: Any = pytest.importorskip("libvirt")

URI = "qemu:///system"
JSON = "application/occi+json"
INFRA = "http://schemas.ogf.org/occi/infrastructure#"


#: The second octets :func:`freeSubnet` gave in this process.
_given: set[int] = set()


def freeSubnet(connection: Any) -> str:
    """The first three octets of a 10.X.0.0/24 that nothing on this machine uses, and that
    was not given before in this run: a test's isolated network must not meet one that
    another run holds, one a killed run left up or defined (libvirtd may start it again),
    or the one a test before just removed (its bridge goes a moment after the server has
    answered the deletion).  Used means an address of an interface, a route (what libvirt
    itself checks before it brings a network up) or the addresses of any network libvirt
    (``connection``) has defined, running or not."""
    held = [*_heldByInterfaces(), *_heldByLibvirt(connection)]
    for second in range(77, 250):
        subnet = ipaddress.ip_network(f"10.{second}.0.0/24")
        if second not in _given and not any(subnet.overlaps(network) for network in held):
            _given.add(second)
            return f"10.{second}.0"
    raise RuntimeError("no free 10.X.0.0/24 on this machine")


def _heldByInterfaces() -> Iterator[ipaddress.IPv4Network]:
    shown = subprocess.run(["ip", "-o", "-4", "addr", "show"], check=True,
                           capture_output=True, text=True).stdout
    for address in re.findall(r"inet (\S+)", shown):
        yield ipaddress.IPv4Interface(address).network
    routes = subprocess.run(["ip", "-4", "route", "show", "table", "all"], check=True,
                            capture_output=True, text=True).stdout
    for line in routes.splitlines():
        words = line.split()
        # "10.77.0.0/24 dev occi… ", "local 10.77.0.1 dev …", "broadcast …", "default via …"
        if words and words[0] in ("local", "broadcast", "unicast"):
            words = words[1:]
        if words and words[0] != "default":
            with suppress(ValueError):
                yield ipaddress.IPv4Network(words[0], strict=False)


def _heldByLibvirt(connection: Any) -> Iterator[ipaddress.IPv4Network]:
    for network in connection.listAllNetworks(0):
        with suppress(libvirt.libvirtError):  # removed meanwhile by another run
            root = ElementTree.fromstring(network.XMLDesc(0))
            for ip in root.findall("ip"):
                if ip.get("family", "ipv4") == "ipv4" and ip.get("address"):
                    mask = ip.get("prefix") or ip.get("netmask") or "24"
                    yield ipaddress.IPv4Network(f"{ip.get('address')}/{mask}", strict=False)


def hypervisor() -> Iterator[Any]:
    """libvirtd on this machine (started, and stopped at the end, if none ran) with the tiny
    guest built; skips where there is no QEMU or no root."""
    if os.geteuid() != 0 or shutil.which("libvirtd") is None or shutil.which(
            "qemu-system-x86_64") is None:
        pytest.skip("needs root, libvirtd and QEMU (.ci/run installs them)")
    pidFile = "/run/occi-test-libvirtd.pid"
    started = subprocess.run([str(ROOT / ".ci" / "libvirtd"), pidFile], check=True,
                             capture_output=True, text=True).stdout.strip()
    if not (DEFAULT_IMAGES / TINY / "kernel").is_file():
        subprocess.run([str(Path(sys.executable).parent / "occi-guest")], check=True)
    connection = libvirt.open(URI)
    try:
        yield connection
    finally:
        connection.close()
        if started:
            pid = int(Path(started).read_text())
            os.kill(pid, 15)


class Server:
    """A ``twistd occi --driver libvirt`` and what tests do with it."""

    def __init__(self, dataDir: Path, connection: Any, *extra: str, listen: str | None = None,
                 user: tuple[str, str] | None = None) -> None:
        self.dataDir = dataDir
        self.connection = connection
        self.user = user
        self.process = RunningServer(dataDir, "--driver", "libvirt", "--libvirt-uri", URI,
                                     *extra, listen=listen)
        self.consoles: dict[tuple[str, int], Any] = {}

    def start(self) -> Server:
        self.process.start(timeout=60)
        return self

    def remove(self, locations: list[str]) -> None:
        """Delete the entities (their domains and networks go with them), stop the server,
        and remove what a failure left on the hypervisor."""
        try:
            for location in locations:
                self.request("DELETE", location)
        finally:
            self.process.stop()
        names = {location.rstrip("/").rsplit("/", 1)[-1] for location in locations}
        for domain in self.connection.listAllDomains(0):
            if domain.name() in names:
                if domain.isActive():
                    domain.destroy()
                domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
        for network in self.connection.listAllNetworks(0):
            if network.name().removeprefix("occi-") in names:
                if network.isActive():
                    network.destroy()
                network.undefine()

    def request(self, method: str, path: str, document: Any = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        sent = {"Accept": JSON, **(headers or {})}
        body = b""
        if document is not None:
            body = json.dumps(document).encode()
            sent["Content-Type"] = JSON
        return call(self.process.port, method, path, body, sent, timeout=120, user=self.user)

    def create(self, collection: str, kind: str, attributes: dict[str, Any],
               mixins: list[str] | None = None, **extra: Any) -> dict[str, Any]:
        document = {"kind": kind, "attributes": attributes, **extra}
        if mixins:
            document["mixins"] = mixins
        status, headers, body = self.request("POST", f"/{collection}/", document)
        assert status == 201, (status, body)
        return self.get(headers["location"].split("://", 1)[-1].split("/", 1)[-1])

    def get(self, path: str) -> dict[str, Any]:
        path = path if path.startswith("/") else f"/{path}"
        status, _, body = self.request("GET", path)
        assert status == 200, (status, body)
        loaded: dict[str, Any] = json.loads(body)
        return loaded

    def act(self, location: str, term: str, method: str | None = None,
            wait: int = 90, scheme: str = INFRA[:-1],
            **attributes: Any) -> tuple[int, bytes]:
        """The action ``term`` of the entity's kind, waited for (``Prefer: wait``)."""
        status, _, body = self.ask(location, term, method, {"Prefer": f"wait={wait}"},
                                   scheme, **attributes)
        return status, body

    def ask(self, location: str, term: str, method: str | None, headers: dict[str, str],
            scheme: str = INFRA[:-1], **attributes: Any) -> tuple[int, dict[str, str], bytes]:
        """The action ``term`` with ``attributes`` (and ``method``), answered as
        ``headers`` prefer."""
        document: dict[str, Any] = {"action": f"{scheme}/{_kindOf(location)}/action#{term}"}
        if method:
            attributes["method"] = method
        if attributes:
            document["attributes"] = attributes
        return self.request("POST", f"{location}?action={term}", document, headers)

    def state(self, location: str) -> str:
        attributes = self.get(location)["attributes"]
        kind = _kindOf(location)
        value: str = attributes[f"occi.{kind}.state"]
        return value

    def waitState(self, location: str, state: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.state(location) == state:
                return
            time.sleep(0.2)
        raise AssertionError(f"{location} is {self.state(location)}, not {state}")

    def console(self, computeId: str) -> str:
        path = self.dataDir / "libvirt" / "consoles" / f"{computeId}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def waitConsole(self, computeId: str, text: str, seconds: float = 90,
                    since: int = 0) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            seen = self.console(computeId)[since:]
            if text in seen:
                return seen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not on the console of {computeId}: "
                             f"{self.console(computeId)[-1500:]}")

    def waitReady(self, computeId: str, since: int = 0) -> None:
        self.waitConsole(computeId, READY, since=since)

    def type(self, computeId: str, line: str) -> None:
        """Type ``line`` on the guest's serial console (opened once per boot of the guest:
        what libvirt holds of a stream closed at once may not reach it)."""
        domain = self.connection.lookupByName(computeId)
        key = (computeId, domain.ID())
        stream = self.consoles.get(key)
        if stream is None:
            stream = self.consoles[key] = self.connection.newStream(0)
            domain.openConsole(None, stream, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
        stream.send((line + "\n").encode())

    def run(self, computeId: str, command: str, seconds: float = 30) -> str:
        """Run ``command`` on the guest's console; what it printed (between markers)."""
        marker = f"m{time.monotonic_ns()}"
        since = len(self.console(computeId))
        self.type(computeId, f"echo {marker}-begin; {command}; echo {marker}-end")
        seen = self.waitConsole(computeId, f"\n{marker}-end", seconds, since)
        return seen.split(f"\n{marker}-begin", 1)[-1].split(f"\n{marker}-end", 1)[0]


def _kindOf(location: str) -> str:
    return location.strip("/").split("/")[0]


def flat(document: dict[str, Any]) -> dict[str, Any]:
    """A rendered entity's attributes, by dotted name."""
    attributes: dict[str, Any] = document["attributes"]
    return attributes
