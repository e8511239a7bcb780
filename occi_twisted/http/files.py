"""Files as representations over HTTP: the image of a storage, and the OVF and OVA of a
compute (walkthrough: "a large binary representation ... a signed URL should be provided").

An authenticated ``GET`` that asks for a file type is answered ``303 See Other`` with a
signed URL (:mod:`occi_twisted.files.signing`) under :data:`~.locations.FILES`: that URL needs
no credentials (the front door lets it through; the signature is checked here), so a
download manager, ``curl -C -`` or another server can fetch it; it serves ``Range`` and is
refused (403) once it expires, is changed, or the storage is no longer its signer's.  An
upload (``PUT`` of ``application/octet-stream``) is sent the same way, ``307`` to a signed
``PUT`` on the node that holds the image, whose body the channel writes straight to a file
beside the image (:meth:`Files.planBody`): the image is replaced by a rename once every byte
is synced, and the change is an event like any other.  A browser cannot ``PUT``: the page
of a storage offers a form that posts the file (``multipart/form-data``) to a signed ``POST``
URL of the image, whose file field the channel writes the same way
(:class:`~occi_twisted.files.form.FormSink`); the browser is then sent back to the page.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from twisted.internet.interfaces import IPushProducer
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool
from twisted.web.http_headers import Headers
from twisted.web.iweb import IRequest

from ..drivers import IImages
from ..drivers.storage import bytesOf
from ..files.body import Body, FilePart, versionTag
from ..files.form import FORM_DATA, FORM_SLACK, FormSink, boundaryOf
from ..files.serve import sendBody
from ..files.signing import MAX_BYTES, OWNER, BadSignature, KeyRing, Signed
from ..files.sink import UploadSink
from ..files.types import OCTET, OVA, SIGNED, fileTypesOf
from ..identity.principal import Principal
from ..model import Entity, Kind, withState
from ..model import locations as loc
from ..model.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InsufficientStorage,
    NotAcceptable,
    NotFound,
    TooLarge,
    UnsupportedMediaType,
)
from ..model.infrastructure import COMPUTE, STORAGE
from ..renderings import negotiation, standard
from ..renderings.html import IMAGE_FIELD, Transfers
from ..store.interface import Put
from . import parts
from .channel import BodyPlan, LimitedRequest, Refuse, Spool, Unread
from .methods import Shape, allow
from .preconditions import applyUnlessBeaten
from .representations import FORMATS, representations
from .room import Room, authored

if TYPE_CHECKING:
    from .envelopes import Envelopes

_OFFLINE = "offline"
#: What one read of an upload's connection takes at most.
UPLOAD_READS = 1 << 20


@dataclass(kw_only=True)
class Files(Room):
    """Signed URLs and what they lead to."""

    keys: KeyRing
    #: The driver's image files, if it keeps storages as files.
    images: IImages | None
    #: Threads that read and write files for transfers (never the reactor's).
    pool: ThreadPool
    reactor: Any
    #: Who acts when a signed URL is used: the owner it was signed for, as the users say.
    principalOf: Callable[[str], Principal]
    _chosen: dict[tuple[str | None, str | None, str], str | None] = field(
        default_factory=dict, init=False)

    # -- negotiation ---------------------------------------------------------------------------

    def fileType(self, request: IRequest, kind: Kind) -> str | None:
        """The file type the client asks of an entity of ``kind`` (``?format=`` or Accept),
        or None when it asks for a rendering."""
        named = parts.argument(request, "format")
        accept = parts.header(request, b"accept")
        if named is None and (accept is None or "application/" not in accept):
            return None  # the common request: no file type can be meant (asked first)
        types = fileTypesOf(kind)
        if not types:
            return None
        key = (accept, named, kind.term)
        if key not in self._chosen:
            if named is not None:
                chosen = FORMATS.get(named)
            else:
                chosen = negotiation.choose(
                    accept, (*standard.outputTypes(listing=False), *types))
            if len(self._chosen) > 1024:
                self._chosen.clear()
            self._chosen[key] = chosen if chosen in types else None
        return self._chosen[key]

    async def answerEntity(self, request: IRequest, entity: Entity, mediaType: str) -> bytes:
        """``GET``/``HEAD`` of a file type of ``entity``: 303 to a signed URL."""
        if mediaType not in SIGNED:
            raise NotAcceptable(f"{entity.location} is not available as {mediaType}.")
        self._requireImages(mediaType)
        path = loc.fileOf(entity.location, ".ova" if entity.kind.isA(COMPUTE) else "")
        signed = self.keys.sign("GET", path, {OWNER: entity.owner})
        request.setHeader(b"Cache-Control", b"no-store")  # a new signature each time
        request.setHeader(b"Vary", b"Accept")
        return self.redirect(request, 303, signed, f"{entity.location} as {mediaType}")

    def _requireImages(self, mediaType: str) -> IImages:
        if self.images is None:
            raise NotAcceptable(f"This server's driver keeps no image files: nothing is "
                                f"available as {mediaType}.")
        return self.images

    def importPath(self) -> str:
        """Where a signed URL takes an archive to import."""
        return _COMPUTES

    def redirect(self, request: IRequest, code: int, path: str, what: str) -> bytes:
        """``code`` (a 303 or 307) to ``path``, saying ``what`` it is in a sentence."""
        request.setResponseCode(code)
        location = self.answering.context(request).absolute(path)
        request.setHeader(b"Location", location.encode())
        return self.answering.ok(request, f"{what}: {location}")

    # -- uploads through the API: sent to a signed URL -----------------------------------------

    async def uploadTo(self, request: IRequest, kind: Kind, entityId: str) -> bytes:
        """``PUT`` of an image to a storage: 307 to the signed URL that takes it (the body
        was not read: the channel planned it :class:`~.channel.Unread`)."""
        entity = await self.load(request, kind, entityId)
        if not kind.isA(STORAGE):
            raise UnsupportedMediaType(f"{entity.location} takes no {OCTET}: only a storage "
                                       "has an image.")
        self._requireImages(OCTET)
        size = _sizeOf(entity)
        _checkOffline(entity)
        declared = parts.header(request, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > size:
            raise TooLarge(f"{entity.location} holds {size} bytes "
                           f"(occi.storage.size); the upload has {declared}.")
        path = loc.fileOf(entity.location)
        signed = self.keys.sign("PUT", path, {OWNER: entity.owner, MAX_BYTES: str(size)})
        request.setHeader(b"Cache-Control", b"no-store")
        return self.redirect(request, 307, signed, f"Send the image of {entity.location} to")

    # -- what the channel does with bodies ---------------------------------------------------------

    def planBody(self, method: bytes, target: bytes, headers: Headers) -> BodyPlan | None:
        """An image's body is not the app's to read: to a signed URL it is written to a
        file as it comes (of a form, only its file field); to the API it is not read at all
        (the answer says where to send it).  Everything else is the app's, within
        ``--max-body``."""
        rawType = (headers.getRawHeaders(b"content-type") or [b""])[-1]
        contentType = rawType.lower()
        path, _, query = target.partition(b"?")
        signedPath = path.startswith(loc.FILES.encode())
        form = method == b"POST" and signedPath and contentType.startswith(FORM_DATA.encode())
        if not ((method == b"PUT" and contentType.startswith(OCTET.encode()))
                or (method == b"POST" and contentType.startswith(OVA.encode())) or form):
            return None
        if not signedPath:
            return Unread()
        try:
            signed = self.keys.verify(method.decode(), path.decode("utf-8"), _query(query))
            where = signedTarget(signed.path)
            limit = int(signed.claims[MAX_BYTES])
        except (BadSignature, KeyError, ValueError, UnicodeDecodeError) as error:
            message = str(error) if isinstance(error, BadSignature) else \
                "This is not a signed URL that takes a body."
            return Refuse(403, message)
        images = self.images
        if images is None or where is None:
            return Refuse(404, "This server keeps no image files.")
        upload = images.uploadPath(where[1] or IMPORT)
        boundary = boundaryOf(rawType.decode("latin-1")) if form else None
        if form and (boundary is None or where[0] != IMAGE):
            return Refuse(400, "Only a storage's image takes a form, and a form's body needs "
                               "a valid boundary.")
        return Spool(lambda request: _sink(request, upload, self.pool, self.reactor, boundary),
                     limit)

    # -- pages ---------------------------------------------------------------------------------

    def transfers(self, entity: Entity) -> Transfers | None:
        """What the page of ``entity`` offers to move, if it is a storage with an image: a
        download (its own URL, which a browser follows through the 303), and while it is
        offline, the signed URL its upload form posts to (a new signature each time the page
        is shown, good for ``--url-validity``)."""
        if self.images is None or not entity.kind.isA(STORAGE):
            return None
        download = representations(entity.location, (OCTET,))[0][0]
        try:
            size = _sizeOf(entity)
        except Conflict:
            return Transfers(download, None, None, self.keys.validity)
        upload = None
        if entity.attributes.get("occi.storage.state") == _OFFLINE:
            upload = self.keys.sign("POST", loc.fileOf(entity.location), {
                OWNER: entity.owner, MAX_BYTES: str(size + FORM_SLACK)})
        return Transfers(download, upload, size, self.keys.validity)

    # -- the signed URLs ---------------------------------------------------------------------------

    async def signedURL(self, request: IRequest, method: str,
                        envelopes: Envelopes | None) -> bytes | None:
        """``/-/files/...``: what a signed URL leads to, if its signature holds."""
        path = parts.pathOf(request)
        target = signedTarget(path)
        what = target[0] if target is not None else ARCHIVE
        allow(request, method, _SHAPES[what], path)
        try:
            signed = self.keys.verify(method, path, _query(urlsplit(
                request.uri.decode("latin-1")).query.encode("latin-1")))
        except BadSignature as error:
            raise Forbidden(str(error)) from None
        if target is None or (target[0] != IMAGE and envelopes is None):
            raise NotFound(f"There is nothing at {path}.")
        entityId = target[1]
        if what == ARCHIVE and envelopes is not None:
            await envelopes.archive(request, signed, entityId)
            return None
        if what == IMPORT and envelopes is not None:
            return await envelopes.importArchive(request, signed)
        entity = await self.signedEntity(signed, STORAGE, entityId)
        images = self._requireImages(OCTET)
        if method == "POST" and not (parts.lastHeader(request, b"content-type") or "").lower(
                ).startswith(FORM_DATA):
            raise UnsupportedMediaType(f"{path} takes {OCTET} by PUT, or an HTML form's "
                                       f"{FORM_DATA} by POST.")
        if method in ("PUT", "POST"):
            return await self._receive(request, images, entity)
        body = await deferToThreadPool(self.reactor, self.pool, _imageBody,
                                       images, entity)
        await sendBody(request, body, self.pool, self.reactor)
        return None

    async def signedEntity(self, signed: Signed, kind: Kind, entityId: str) -> Entity:
        """The ``kind`` entity ``entityId`` a signed URL leads to, still its signer's: 403
        when it was deleted or given to another since."""
        entity = await self.store.get(entityId)
        if entity is None or not entity.kind.isA(kind) \
                or entity.owner != signed.claims.get(OWNER):
            raise Forbidden(f"This signed URL was for a {kind.term} {entityId} that no longer "
                            "exists as it was; ask for the resource again.")
        return entity

    async def received(self, request: IRequest) -> Path:
        """The file a signed URL's body was written to, synced."""
        sink = request.sink if isinstance(request, LimitedRequest) else None
        if sink is None:
            raise Conflict("This body was not received as a file; send it again.")
        try:
            await sink.finished()
        except OSError as error:
            raise InsufficientStorage(f"What was sent could not be written: "
                                      f"{error.strerror or error}.") from None
        complaint = sink.complaint() if isinstance(sink, FormSink) else None
        if complaint is not None:
            await sink.abort()
            raise BadRequest(complaint)
        return sink.path

    async def _receive(self, request: IRequest, images: IImages, entity: Entity) -> bytes:
        """The upload, written to its file as it came, becomes the image."""
        upload = await self.received(request)
        try:
            _checkOffline(entity)
            size = _sizeOf(entity)
            received = upload.stat().st_size
            if received > size:
                raise TooLarge(f"{entity.location} holds {size} bytes; the upload had "
                               f"{received}.")
            await images.replaceImage(entity.id, upload, size)
        except BaseException:
            await images.discardUpload(upload)
            raise
        # The change, as every change, is an event: the storage says what happened to it.
        updated = withState(entity, {"occi.storage.state.message":
                                     f"Image replaced by an upload of {received} bytes."},
                            now=self.now())
        parts.setPrincipal(request, self.principalOf(entity.owner))
        await applyUnlessBeaten(self.store, authored(request, [
            Put(updated, expect=entity.revision)]))
        said = f"Stored {received} bytes as the image of {entity.location}"
        if isinstance(request, LimitedRequest) and isinstance(request.sink, FormSink):
            # A browser's form: back to the storage's page (Post/Redirect/Get).
            return self.redirect(request, 303, entity.location, said)
        return self.answering.ok(request, f"{said}.")


#: What a signed URL leads to: a storage's image, a compute's archive, an archive to import.
IMAGE, ARCHIVE, IMPORT = "image", "archive", "import"
_SHAPES = {IMAGE: Shape.IMAGE, ARCHIVE: Shape.FILE, IMPORT: Shape.IMPORT}
_IMAGES = loc.fileOf("/storage/")
_COMPUTES = loc.fileOf("/compute/")


def signedTarget(path: str) -> tuple[str, str] | None:
    """(what, entity id) of a signed URL's path, or None if it leads nowhere."""
    if path == _COMPUTES:
        return IMPORT, ""
    for prefix, what, suffix in ((_IMAGES, IMAGE, ""), (_COMPUTES, ARCHIVE, ".ova")):
        if path.startswith(prefix) and path.endswith(suffix):
            entityId = path[len(prefix):len(path) - len(suffix)]
            if entityId and "/" not in entityId:
                return what, entityId
    return None


def _sink(request: LimitedRequest, upload: Any, pool: ThreadPool, reactor: Any,
          boundary: bytes | None = None) -> UploadSink:
    """Where the body goes: the upload file, or with ``boundary`` the file field of a form's
    body."""
    transport = IPushProducer(request.channel.transport)
    if hasattr(transport, "bufferSize"):
        # Twisted reads 64 KiB a turn; a body of gigabytes is read in fewer, larger turns.
        transport.bufferSize = UPLOAD_READS
    if boundary is not None:
        return FormSink(upload, pool, reactor, boundary=boundary, field=IMAGE_FIELD,
                        pause=transport.pauseProducing, resume=transport.resumeProducing)
    return UploadSink(upload, pool, reactor, pause=transport.pauseProducing,
                      resume=transport.resumeProducing)


def _imageBody(images: IImages, entity: Entity) -> Body:
    """The storage's image as it is now (blocks): opened once, so that the ETag names the
    version read even if an upload replaces it meanwhile."""
    try:
        part = FilePart.open(images.imagePath(entity.id))
    except FileNotFoundError:
        raise Conflict(f"{entity.location} has no image (yet): its driver did not make "
                       "it; ask again later.") from None
    info = os.fstat(part.fd)
    return Body([part], OCTET, versionTag(info), info.st_mtime, filename=f"{entity.id}.img")


def _query(query: bytes) -> dict[str, str]:
    """A signed URL's query: each name once (a repeated name is no signed URL of ours)."""
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    found = dict(pairs)
    if len(found) != len(pairs):
        raise BadSignature("This signed URL is damaged.")
    return found


def _sizeOf(entity: Entity) -> int:
    size = entity.attributes.get("occi.storage.size")
    if not isinstance(size, (int, float)) or isinstance(size, bool):
        raise Conflict(f"{entity.location} has no occi.storage.size.")
    return bytesOf(float(size))


def _checkOffline(entity: Entity) -> None:
    state = entity.attributes.get("occi.storage.state")
    if state != _OFFLINE:
        raise Conflict(f"{entity.location} is {state}: take it offline (action offline) "
                       "before its image is replaced.")
