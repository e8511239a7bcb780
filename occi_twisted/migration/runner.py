"""The runner of the migrate actions: copy to the peer, check the copy, then forward.

Every step is idempotent, so a run cut short (the server killed, the peer unreachable) is
simply run again from the start: ``PUT`` with the same ids replaces what the last run left at
the peer, and an image is sent again whole.  Until the copy is confirmed nothing changes
here, and the entity stays the one that counts; once it is, the run ends with the changes
that delete what moved and remember where it went (:class:`~.model.forwards.Forward`) --
durable together with the request's end, so the entity is never live in both places from
this server's point of view, and never lost: either it is here, or here says where it is.
An entity changed here during the copy makes the store refuse that end (its revision moved
on), and the copy is made again.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from typing import Any

import treq
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThreadPool

from ..client.config import Connection
from ..client.errors import ClientError
from ..client.progress import ProgressView, Step
from ..client.session import Answer, Session, refusal
from ..client.transfers import OCTET, signedURL, upload
from ..drivers import IImages
from ..files.digests import sha256Of
from ..model import Entity, Mixin
from ..model import locations as loc
from ..model.errors import Conflict
from ..model.forwards import Forward, RememberForward
from ..model.infrastructure import STORAGE
from ..model.requests import RequestRecord, RequestState
from ..renderings.document import EntityView, RenderContext
from ..renderings.json import entityObject
from ..scheduler import EntityRunner, RunContext, RunResult, TransientError
from ..store.interface import Change, Delete, IStore
from .moving import Move, planMove
from .peers import Peer
from .target import checkTarget

JSON = "application/occi+json"
#: Seconds between the progress checkpoints of an image on its way.
PROGRESS_EVERY = 1.0
_MIB = 1 << 20


class MigrationRunner(EntityRunner):
    """Runs migrate requests of ``store``'s entities to ``peers``; images are read where
    ``images`` (the driver, if it keeps files) has them."""

    def __init__(self, store: IStore, images: IImages | None, reactor: Any,
                 peers: Sequence[Peer]) -> None:
        super().__init__(store)
        #: Everything the copy reads: entities, their notes, the registry.
        self.store = store
        self._images = images
        self._reactor = reactor
        self._peers = {peer.url: peer for peer in peers}

    async def _run(self, entity: Entity, record: RequestRecord, context: RunContext
                   ) -> RunResult:
        try:
            peer = self._peers[checkTarget(self._peers, record.attributes)]
            move = await planMove(self._store, entity)
        except Conflict as refused:
            return RunResult(RequestState.FAILED, refused.message)
        session = Session(self._reactor, Connection(peer.url + "/", peer.credentials,
                                                    peer.caFile))
        copy = _Copy(self, move, session, context)
        try:
            await copy.run()
        except ClientError as failed:
            if copy.refused:
                return RunResult(RequestState.FAILED, f"The peer refused the copy: {failed}")
            raise TransientError(f"The copy to {peer.url} did not finish: {failed}") from None
        finally:
            await session.close()
        now = self._reactor.seconds()
        changes: list[Change] = [Delete(each.id, expect=each.revision)
                                 for each in move.resources]
        changes += [RememberForward(Forward(each.location, each.id, each.owner,
                                            peer.url + each.location, now))
                    for each in move.entities]
        target = peer.url + entity.location
        return RunResult(RequestState.SUCCEEDED, f"Moved to {target}.",
                         {"percent": 100, "target": target}, changes)

    async def digestOf(self, storageId: str) -> str:
        """The SHA-256 of a storage's image here, hashed in a thread."""
        assert self._images is not None
        path = self._images.imagePath(storageId)
        digest: str = await deferToThreadPool(self._reactor, self._reactor.getThreadPool(),
                                              sha256Of, path)
        return digest


class _Copy:
    """One attempt at copying a move to the peer, step by step, with its progress."""

    def __init__(self, runner: MigrationRunner, move: Move, session: Session,
                 context: RunContext) -> None:
        self._runner, self._move, self._session, self._context = runner, move, session, context
        self._images = runner._images
        self._reactor = runner._reactor
        self._total = sum(1 + _imageSize(each) for each in move.entities)
        self._done = 0
        #: Whether the peer said no (4xx): the request fails rather than being tried again.
        self.refused = False
        #: The user mixins defined at the peer so far.
        self._tagged: set[str] = set()

    async def run(self) -> None:
        for location in self._move.needed:
            await self._call("GET", location, f"the peer has no {location}, which "
                             f"{self._move.resource.location} links to (it must be known "
                             "there under the same id)")
        for resource in self._move.resources:
            await self._put(resource)
            if resource.kind.isA(STORAGE) and self._images is not None:
                await self._image(resource)
        for entity in self._move.entities:
            await self._notes(entity)
        await self._verify()

    async def _put(self, resource: Entity) -> None:
        """The resource, with its links, made (or replaced) at the peer under its ids."""
        document = entityObject(EntityView(resource, self._move.linksOf(resource)),
                                RenderContext(""))
        document.pop("actions", None)
        for mixin in resource.mixins:
            for tag in reversed(list(mixin.closure())):  # what a tag depends on first
                if tag.owner is not None:
                    await self._tag(tag)
        for link in _dicts(document.get("links")):
            link.pop("actions", None)
        await self._call("PUT", resource.location, f"the peer would not take "
                         f"{resource.location}", body=json.dumps(document).encode(),
                         contentType=JSON)
        await self._progress(1 + len(self._move.linksOf(resource)), f"copied "
                             f"{resource.location}")

    async def _tag(self, tag: Mixin) -> None:
        """A user's mixin (a tag) the resource carries, defined at the peer as here (the
        peer takes the same definition again as a no-op), before the resource names it."""
        if tag.identifier in self._tagged:
            return
        definition: dict[str, Any] = {"term": tag.term, "scheme": tag.scheme,
                                      "location": tag.location,
                                      "applies": [kind.identifier for kind in tag.applies],
                                      "depends": [each.identifier for each in tag.depends]}
        if tag.title:
            definition["title"] = tag.title
        await self._call("POST", loc.QUERY, f"the peer would not define the mixin "
                         f"{tag.identifier}", body=json.dumps(definition).encode(),
                         contentType=JSON)
        self._tagged.add(tag.identifier)

    async def _image(self, storage: Entity) -> None:
        """The image sent (307 to the peer's signed upload URL), then read back from the
        peer and its SHA-256 compared with the one here."""
        assert self._images is not None
        path = self._images.imagePath(storage.id)
        digest = await self._runner.digestOf(storage.id)
        counted = _Counted()
        progress = LoopingCall(self._progress, 0, f"sending the image of {storage.location}",
                               counted)
        progress.clock = self._reactor
        progress.start(PROGRESS_EVERY, now=False)
        try:
            await upload(self._session, path, storage.location, lambda _: counted)
        finally:
            if progress.running:
                progress.stop()
        await self._progress(_imageSize(storage), f"sent the image of {storage.location}")
        theirs = await self._peerDigest(storage.location)
        if theirs != digest:
            self.refused = True
            raise ClientError(f"the image of {storage.location} arrived with SHA-256 "
                              f"{theirs}, not {digest}")

    async def _peerDigest(self, location: str) -> str:
        signed = await signedURL(self._session, "GET", location, {"Accept": OCTET}, 303)
        response = await self._session.open("GET", signed)
        if response.code != 200:
            raise refusal(Answer(response.code, response.headers,
                                 await treq.content(response), signed))
        hasher = hashlib.sha256()
        await treq.collect(response, hasher.update)
        return hasher.hexdigest()

    async def _notes(self, entity: Entity) -> None:
        after: str | None = None
        while True:
            page = await self._runner.store.listNotes(entity.id, after, 100)
            for note in page.notes:
                await self._call("PUT", loc.noteAt(entity.location, note.id),
                                 f"the peer would not take the note {note.id}",
                                 body=json.dumps({"title": note.title,
                                                  "text": note.text}).encode(),
                                 contentType="application/json")
            if page.cursor is None:
                return
            after = page.cursor

    async def _verify(self) -> None:
        """Each entity that moved is at the peer: same id, same kind, the same links."""
        for resource in self._move.resources:
            answer = await self._call("GET", resource.location,
                                      f"{resource.location} is not at the peer")
            found = json.loads(answer)
            ids = {link.get("id") for link in _dicts(found.get("links"))}
            wanted = {link.id for link in self._move.linksOf(resource)}
            if found.get("id") != resource.id or found.get("kind") != \
                    resource.kind.identifier or not wanted <= ids:
                self.refused = True
                raise ClientError(f"the peer's {resource.location} is not the copy sent")

    async def _call(self, method: str, where: str, why: str, *, body: bytes | None = None,
                    contentType: str | None = None) -> bytes:
        headers = {"Content-Type": contentType} if contentType else {}
        try:
            answer = await self._session.call(method, where, headers=headers, body=body,
                                              expect=(200, 201, 204))
        except ClientError as failed:
            if str(failed).startswith("4"):  # the peer's 4xx: trying again changes nothing
                self.refused = True
                raise ClientError(f"{why}: {failed}") from None
            raise
        return answer.body

    async def _progress(self, steps: int, phase: str, sending: _Counted | None = None
                        ) -> None:
        self._done += steps
        done = self._done + (sending.done // _MIB if sending is not None else 0)
        await self._context.checkpoint({"percent": round(99.0 * done / self._total, 1),
                                        "phase": phase})


class _Counted(ProgressView):
    """How many bytes of an image have gone, for the request's progress (shown nowhere)."""

    def __init__(self) -> None:
        super().__init__(io.StringIO(), "", terminal=False)
        self.done = 0

    def show(self, step: Step) -> None:
        self.done = step.bytesDone or 0

    def finish(self) -> None:
        pass


def _imageSize(entity: Entity) -> int:
    """An entity's weight in the progress: a storage's image by the MiB, else nothing."""
    size = entity.attributes.get("occi.storage.size")
    return int(float(size) * 1024) if isinstance(size, (int, float)) else 0


def _dicts(value: object) -> list[dict[str, Any]]:
    return [each for each in value if isinstance(each, dict)] if isinstance(value, list) else []

