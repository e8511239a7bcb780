"""What a compute shows, where its driver has it (:class:`~occi_twisted.drivers.IConsoles`):
``{compute}/console``, its serial console as text (empty where the driver keeps none), with
``Range`` so that a client follows a boot by asking for the bytes after those it has
(``Range: bytes=N-``); and ``image/png`` (``?format=png``), a screenshot of a running
compute.  Both are among the alternates of the
compute's 300 Multiple Choices."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool
from twisted.web.iweb import IRequest

from ..drivers import IConsoles
from ..files.body import Body, FilePart, versionTag
from ..files.serve import sendBody
from ..model import Entity, Kind
from ..model import locations as loc
from ..model.errors import NotFound
from ..model.infrastructure import COMPUTE
from ..renderings import negotiation, standard
from . import parts
from .methods import Shape, allow
from .room import Room

PNG = "image/png"
TEXT = "text/plain; charset=utf-8"


@dataclass(kw_only=True)
class Consoles(Room):
    """The consoles and screens of the computes of ``driver`` (``None``: a driver that
    keeps neither)."""

    driver: IConsoles | None
    #: The file transfers' pool (started by the server), where the log is opened and read.
    pool: ThreadPool
    reactor: Any

    def alternates(self, entity: Entity) -> list[tuple[str, str]]:
        """(path, media type) of what a compute shows, for its 300's alternates."""
        if self.driver is None or not entity.kind.isA(COMPUTE):
            return []
        return [(f"{entity.location}?format=png", PNG), (loc.consoleOf(entity.location),
                                                          "text/plain")]

    def wantsScreen(self, request: IRequest, kind: Kind) -> bool:
        """Whether a ``GET`` of a compute asks for its screen (``?format=png``, or an
        ``Accept`` that prefers ``image/png`` to every rendering)."""
        if self.driver is None or not kind.isA(COMPUTE) or request.method not in (b"GET",
                                                                                 b"HEAD"):
            return False
        named = parts.argument(request, "format")
        if named is not None:
            return named == "png"
        accept = parts.header(request, b"accept")
        if accept is None or "image/" not in accept:
            return False
        return negotiation.choose(accept, (*standard.outputTypes(listing=False), PNG)) == PNG

    async def screen(self, request: IRequest, kind: Kind, entityId: str) -> bytes:
        assert self.driver is not None  # wantsScreen said so
        entity = await self.load(request, kind, entityId)
        image = await self.driver.screenshot(entity.id)
        request.setHeader(b"Content-Type", PNG.encode())
        request.setHeader(b"Cache-Control", b"no-store")
        request.setHeader(b"Content-Length", str(len(image)).encode())
        request.setHeader(b"Vary", b"Accept")
        return b"" if request.method == b"HEAD" else image

    async def console(self, request: IRequest, method: str, place: loc.Console) -> bytes | None:
        """``GET``/``HEAD`` of ``{compute}/console``: what the guest wrote on its serial
        console, from its first boot on."""
        kind = self.registry.atLocation(place.collection)
        if not isinstance(kind, Kind) or not kind.isA(COMPUTE):
            raise NotFound(f"There is nothing at {parts.pathOf(request)}.")
        allow(request, method, Shape.FILE, parts.pathOf(request))
        entity = await self.load(request, kind, place.entityId)
        if self.driver is None:  # nothing to read: no thread needed
            body = _logBody(None, self.now())
        else:
            body = await deferToThreadPool(self.reactor, self.pool, _logBody,
                                           self.driver.consoleLog(entity.id), self.now())
        await sendBody(request, body, self.pool, self.reactor)
        return None


def _logBody(path: Path | None, now: float) -> Body:
    """The console log as it is now (blocks); empty before the compute first started, and
    where the driver keeps none."""
    if path is None:
        return Body([], TEXT, '"none"', now)
    try:
        part = FilePart.open(path)
    except FileNotFoundError:
        return Body([], TEXT, '"none"', now)
    info = os.fstat(part.fd)
    return Body([part], TEXT, versionTag(info), info.st_mtime)
