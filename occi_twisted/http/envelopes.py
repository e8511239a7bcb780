"""A compute as an OVF envelope and as an OVA archive, both ways (walkthrough: "Open
Virtualisation Format (OVF) file", "Open Virtualisation Archive (OVA) file", and resources
created "from another supported format (e.g. OVF)").

Out: ``GET {compute}`` as ``application/ovf+xml`` is the envelope itself (a few kilobytes);
as ``application/x-ova`` it is a signed URL (:mod:`.files`) to the archive, laid out on the
fly from the images as they are (:mod:`occi_twisted.files.ova`).  In: ``POST /compute/``
with an envelope creates the compute, empty storages and the links the envelope names, in
one change set held to the creator's quota; with an archive, the body is sent to a signed
URL (its size bounded by the free space), unpacked there and verified against its manifest
(422 and nothing kept when it does not match), and the images become the new storages'.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from twisted.internet.threads import deferToThreadPool
from twisted.web.iweb import IRequest

from ..drivers import IDriver, IImages
from ..drivers.storage import GIB, bytesOf
from ..files.body import Body
from ..files.ova import OvaDisk, OvaRefused, Unpacked, ovaBody, unpackOVA
from ..files.serve import sendBody
from ..files.signing import MAX_BYTES, OWNER, Signed
from ..files.types import OVF
from ..identity.principal import Principal
from ..model import Description, Entity, Kind, newEntity
from ..model.errors import BadRequest, Conflict, Forbidden, TooLarge, Unprocessable
from ..model.ids import randomId
from ..model.infrastructure import COMPUTE, NETWORK, NETWORKINTERFACE, STORAGE, STORAGELINK
from ..model.links import DEVICE_ID, nextDevice
from ..renderings.ovf import OvfDisk, OvfNetwork, OvfNic, OvfSystem, parseOVF, renderOVF
from ..store.interface import CREATE, Change, Put, Query
from . import parts
from .entities import provisioned
from .files import Files
from .preconditions import applyUnlessBeaten
from .room import Room


@dataclass(frozen=True)
class _Described:
    """A compute as an envelope says it, and the storages its disks are, in order."""

    system: OvfSystem
    storages: tuple[Entity, ...]


@dataclass(kw_only=True)
class Envelopes(Room):
    """OVF and OVA of computes."""

    driver: IDriver
    files: Files
    #: Who a signed import acts for (its quota), by the owner it was signed for.
    principalOf: Callable[[str], Principal]

    # -- out -----------------------------------------------------------------------------------

    async def envelope(self, request: IRequest, compute: Entity) -> bytes:
        """``GET {compute}`` as ``application/ovf+xml``."""
        described = await self._describe(compute, packed=False)
        body = renderOVF(described.system)
        request.setHeader(b"Content-Type", f"{OVF}; charset=utf-8".encode())
        request.setHeader(b"Content-Length", str(len(body)).encode())
        request.setHeader(b"Vary", b"Accept")
        return b"" if request.method == b"HEAD" else body

    async def archive(self, request: IRequest, signed: Signed, computeId: str) -> None:
        """A signed URL's OVA of ``computeId``, streamed (``Range`` served)."""
        compute = await self.files.signedEntity(signed, COMPUTE, computeId)
        images = self._images()
        described = await self._describe(compute, packed=True)
        body = await deferToThreadPool(self.files.reactor, self.files.pool, _archiveBody,
                                       images, compute, described)
        await sendBody(request, body, self.files.pool, self.files.reactor)

    async def _describe(self, compute: Entity, *, packed: bool) -> _Described:
        """The envelope's view of ``compute``: its hardware, the storages linked to it
        (by device, as they are attached) and its network interfaces with their networks.
        ``packed``: the disks' images go beside the envelope (an OVA)."""
        links = (await self.store.linksFrom([compute.location])).get(compute.location, [])
        disks: list[OvfDisk] = []
        storages: list[Entity] = []
        nics: list[OvfNic] = []
        networks: dict[str, OvfNetwork] = {}
        for link in sorted(links, key=lambda e: (str(e.attributes.get(DEVICE_ID, "")), e.id)):
            target = await self.store.get((link.target or "").rpartition("/")[2])
            if target is None or target.owner != compute.owner:
                continue
            if link.kind.isA(STORAGELINK) and target.kind.isA(STORAGE):
                size = _bytes(target.attributes.get("occi.storage.size"))
                name = f"disk{len(disks) + 1}.img"
                disks.append(OvfDisk(target.id, size, name if packed else None,
                                     size if packed else None, _text(target, "occi.core.title")))
                storages.append(target)
            elif link.kind.isA(NETWORKINTERFACE) and target.kind.isA(NETWORK):
                network = _text(target, "occi.core.title") or target.id
                networks.setdefault(network, OvfNetwork(
                    network, _text(target, "occi.core.summary")))
                nics.append(OvfNic(_text(link, "occi.networkinterface.interface") or link.id,
                                   network, _text(link, "occi.networkinterface.mac")))
        cores = compute.attributes.get("occi.compute.cores")
        memory = compute.attributes.get("occi.compute.memory")
        system = OvfSystem(
            id=compute.id, name=_text(compute, "occi.core.title") or compute.id,
            cores=cores if isinstance(cores, int) and cores > 0 else 1,
            memoryMiB=max(1, round(float(memory) * 1024))
            if isinstance(memory, (int, float)) and memory > 0 else 1024,
            architecture=_text(compute, "occi.compute.architecture"),
            hostname=_text(compute, "occi.compute.hostname"),
            disks=tuple(disks), nics=tuple(nics), networks=tuple(networks.values()),
            description=_text(compute, "occi.core.summary"))
        return _Described(system, tuple(storages))

    def _images(self) -> IImages:
        if self.files.images is None:
            raise Forbidden("This server's driver keeps no image files: there is no archive.")
        return self.files.images

    # -- in ------------------------------------------------------------------------------------

    async def createFromEnvelope(self, request: IRequest, kind: Kind) -> bytes:
        """``POST /compute/`` with an envelope: the compute and empty storages."""
        if not kind.isA(COMPUTE):
            raise BadRequest(f"An OVF envelope describes a compute, not a {kind.term}.")
        system = parseOVF(parts.body(request))
        compute = await self._create(request, parts.principalOf(request), system, {})
        return self._created(request, compute)

    async def importRedirect(self, request: IRequest, kind: Kind) -> bytes:
        """``POST /compute/`` with an archive: 307 to the signed URL that takes it (the
        body was not read)."""
        if not kind.isA(COMPUTE):
            raise BadRequest(f"An OVA holds a compute, not a {kind.term}.")
        images = self._images()
        room = images.freeBytes()
        declared = parts.header(request, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > room:
            raise TooLarge(f"The archive has {declared} bytes; the server has room for {room}.")
        signed = self.files.keys.sign("POST", self.files.importPath(), {
            OWNER: parts.ownerOf(request), MAX_BYTES: str(room)})
        request.setHeader(b"Cache-Control", b"no-store")
        return self.files.redirect(request, 307, signed, "Send the archive to")

    async def importArchive(self, request: IRequest, signed: Signed) -> bytes:
        """A signed URL's archive, received into a file: unpacked, verified, and made the
        compute and storages it describes, for the owner it was signed for."""
        images = self._images()
        spool = await self.files.received(request)
        ids: dict[str, str] = {}

        def target(name: str, size: int) -> Path:
            ids[name] = randomId()
            return images.uploadPath(ids[name])

        try:
            unpacked = await deferToThreadPool(self.files.reactor, self.files.pool,
                                               _unpack, spool, target)
        except OvaRefused as refused:
            raise Unprocessable(f"The archive was not imported: {refused.message}") from None
        finally:
            await images.discardUpload(spool)
        uploads = {d.name: d for d in unpacked.disks}
        try:
            system = parseOVF(unpacked.ovf)
            owner = self.principalOf(signed.claims.get(OWNER, ""))
            parts.setPrincipal(request, owner)
            packed = {d.fileName: ids[d.fileName] for d in system.disks
                      if d.fileName in uploads}
            compute = await self._create(request, owner, system, packed)
            for disk in system.disks:
                if disk.fileName in uploads:
                    upload = uploads.pop(disk.fileName)
                    await images.replaceImage(packed[disk.fileName], upload.path,
                                              max(disk.capacity, upload.size))
        finally:
            for upload in uploads.values():
                await images.discardUpload(upload.path)
        return self._created(request, compute)

    async def _create(self, request: IRequest, owner: Principal, system: OvfSystem,
                      storageIds: dict[str, str]) -> Entity:
        """The entities ``system`` describes, in one change set within ``owner``'s quota:
        storages with the ids ``storageIds`` gives their packed files (new ones otherwise),
        networks found by name among the owner's (made when there is none)."""
        now = self.now()
        make = _Maker(owner.name, now, self.driver)
        attributes: dict[str, object] = {"occi.core.title": system.name,
                                          "occi.compute.cores": system.cores,
                                          "occi.compute.memory": system.memoryMiB / 1024}
        for name, value in (("occi.core.summary", system.description),
                            ("occi.compute.hostname", system.hostname),
                            ("occi.compute.architecture", system.architecture)):
            if value:
                attributes[name] = value
        compute = make.entity(COMPUTE, attributes)
        changes: list[Change] = [Put(compute, expect=CREATE)]
        devices: set[str] = set()
        for disk in system.disks:
            if disk.format is not None:
                raise BadRequest(f"Disk {disk.diskId} is in the format {disk.format}; this "
                                 "server takes raw images only.")
            storage = make.entity(STORAGE, {
                "occi.storage.size": _gib(disk.capacity),
                **({"occi.core.title": disk.title} if disk.title else {})},
                entityId=storageIds.get(disk.fileName or ""))
            device = nextDevice(devices)
            devices.add(device)
            changes += [Put(storage, expect=CREATE), Put(make.link(
                STORAGELINK, compute, storage, {DEVICE_ID: device}), expect=CREATE)]
        networks = await self._networks(owner.name, {n.network for n in system.nics
                                                    if n.network}, make, changes)
        for nic in system.nics:
            if nic.network in networks:
                values: dict[str, object] = {"occi.networkinterface.mac": nic.mac} \
                    if nic.mac else {}
                changes.append(Put(make.link(NETWORKINTERFACE, compute,
                                             networks[nic.network], values), expect=CREATE))
        await applyUnlessBeaten(self.store, self.withinQuota(request, changes),
                                creating=compute.id)
        for change in changes:
            if isinstance(change, Put):
                # What the new entities need (an empty image for each storage), before the
                # answer: an imported image is renamed over it next.
                await self.driver.realize(None, change.entity)
        return compute

    async def _networks(self, owner: str, names: set[str], make: _Maker,
                        changes: list[Change]) -> dict[str, Entity]:
        """The owner's networks by title (or id), for the names the envelope connects to;
        a new one, titled so, for each name the owner has none of."""
        found: dict[str, Entity] = {}
        async for network in self.entities(Query(kinds=frozenset({NETWORK.identifier}),
                                                 owner=owner)):
            for name in (network.id, _text(network, "occi.core.title")):
                if name in names and name not in found:
                    found[name] = network
        for name in sorted(names - set(found)):
            found[name] = make.entity(NETWORK, {"occi.core.title": name})
            changes.append(Put(found[name], expect=CREATE))
        return found

    def _created(self, request: IRequest, compute: Entity) -> bytes:
        request.setResponseCode(201)
        location = self.answering.context(request).absolute(compute.location)
        request.setHeader(b"Location", location.encode())
        return self.answering.ok(request, f"Created {compute.location}")


@dataclass
class _Maker:
    """New entities of one owner at one moment, with the values the driver chooses."""

    owner: str
    now: float
    driver: IDriver

    def entity(self, kind: Kind, attributes: dict[str, object], *,
               entityId: str | None = None) -> Entity:
        return provisioned(self.driver, newEntity(
            Description(kind=kind, attributes=attributes), owner=self.owner,
            entityId=entityId, kind=kind, now=self.now))

    def link(self, kind: Kind, source: Entity, target: Entity,
             attributes: dict[str, object]) -> Entity:
        return self.entity(kind, {**attributes, "occi.core.source": source.location,
                                  "occi.core.target": target.location,
                                  "occi.core.target.kind": target.kind.identifier})


def _archiveBody(images: IImages, compute: Entity, described: _Described) -> Body:
    """The OVA of ``compute`` (blocks): the envelope names each image's size as it is."""
    try:
        sizes = [os.stat(images.imagePath(s.id)).st_size for s in described.storages]
    except FileNotFoundError as missing:
        raise Conflict(f"A disk of {compute.location} has no image (yet): "
                       f"{Path(str(missing.filename)).name}; ask again later.") from None
    system = described.system
    disks = tuple(replace(disk, fileSize=size) for disk, size in zip(
        system.disks, sizes, strict=True))
    envelope = renderOVF(replace(system, disks=disks))
    return ovaBody(f"{compute.id}.ovf", envelope, [
        OvaDisk(disk.fileName or "", images.imagePath(storage.id))
        for disk, storage in zip(disks, described.storages, strict=True)],
        filename=f"{compute.id}.ova")


def _unpack(spool: Path, target: Callable[[str, int], Path]) -> Unpacked:
    with spool.open("rb") as source:
        return unpackOVA(source, target)


def _text(entity: Entity, name: str) -> str | None:
    value = entity.attributes.get(name)
    return value if isinstance(value, str) and value else None


def _bytes(sizeGiB: object) -> int:
    if isinstance(sizeGiB, (int, float)) and not isinstance(sizeGiB, bool):
        return bytesOf(float(sizeGiB))
    return 0


def _gib(capacity: int) -> float:
    return capacity / GIB

