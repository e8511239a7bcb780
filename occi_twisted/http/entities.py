"""One entity: ``GET``/``HEAD``/``PUT``/``POST``/``DELETE`` of ``{collection}{id}``, and the
creation of entities (one or many, with the links written inline on a resource).

Every change is one change set for the store; the driver is asked before (``provision``: it
picks the values it chooses and refuses what the infrastructure cannot be) and told after
(``realize``: it makes the infrastructure follow).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest

from ..drivers import IDriver
from ..model import Description, Entity, Kind, newEntity, updatedEntity, withState
from ..model.core import LINK
from ..model.errors import BadRequest, Conflict, NotFound
from ..model.infrastructure import STORAGELINK
from ..model.links import DEVICE_ID, devicesOf, linkKindFor, nextDevice
from ..renderings.document import Document, EntityView
from ..renderings.resolve import describeEntity, localPath
from ..store.interface import CREATE, Change, Delete, Put
from . import access, parts, preconditions
from .actions import Actions
from .answering import BY_REFERENCE, etag, notModified
from .preconditions import applyUnlessBeaten, lastWriterWins
from .room import Room, authored

log = Logger()

@dataclass(kw_only=True)
class Entities(Room):
    """The entities of the store, one at a time."""

    driver: IDriver
    #: Where a POST that asks for an action goes.
    actions: Actions
    #: Whether the store's newest event is known without waiting (see :meth:`atOnce`).
    _stampsAtOnce: bool = field(default=True, init=False)

    async def answer(
        self, request: IRequest, method: str, kind: Kind, entityId: str
    ) -> bytes | None:
        """The entity ``entityId`` in ``kind``'s collection, as ``method`` asks.

        A change is made on the entity as it is when the change is written, whoever wrote
        it last (:func:`.preconditions.lastWriterWins`), unless a precondition says which
        state it is meant for."""
        location = f"{kind.location}{entityId}"
        if method == "PUT":
            description = describeEntity(parts.document(request), self.registry)
            return await lastWriterWins(
                location, lambda: self._put(request, kind, entityId, description))
        if method in ("GET", "HEAD"):
            return await self._get(request, kind, entityId)
        if method == "DELETE":
            return await lastWriterWins(location,
                                        lambda: self._delete(request, kind, entityId))
        entity = await self.load(request, kind, entityId)
        # POST: an action, or a partial update.
        document = parts.document(request)
        actionTerm = parts.argument(request, "action")
        if actionTerm is not None or document.action is not None or _onlyActions(document):
            return await self.actions.act(request, entity, document, actionTerm)
        description = describeEntity(document, self.registry)
        return await lastWriterWins(
            location, lambda: self._update(request, kind, entityId, description))

    async def _delete(self, request: IRequest, kind: Kind, entityId: str) -> bytes:
        entity = await self.load(request, kind, entityId)
        preconditions.check(request, entity, entity.location)
        await applyUnlessBeaten(self.store, authored(request, [
            Delete(entity.id, expect=entity.revision)]))
        await self.realize(entity, None)
        return self.answering.ok(request, f"Deleted {entity.location}.")

    async def _update(self, request: IRequest, kind: Kind, entityId: str,
                      description: Description) -> bytes | None:
        entity = await self.load(request, kind, entityId)
        preconditions.check(request, entity, entity.location)
        updated = self._admitted(updatedEntity(entity, description, now=self.now()))
        await self._write(request, entity, updated, description)
        renderer = self.answering.negotiate(request, listing=False)
        return await self.show(request, renderer, updated)

    async def _get(self, request: IRequest, kind: Kind, entityId: str) -> bytes:
        """The entity as kept while the store's log stands still, else as the store has it
        (see :mod:`.renditions`); who may see it is asked either way."""
        stamp = await self.store.newestSeq()
        kept = self._kept(request, kind, entityId, stamp)
        if kept is not None:
            return kept
        return self._send(request, await self.viewOf(await self.load(request, kind, entityId)),
                          stamp)

    def atOnce(self, request: IRequest, kind: Kind, entityId: str) -> bytes | None:
        """:meth:`answer` to a GET or HEAD, if the store tells its log's newest event at once
        and the entity is kept as it is then (the common GET: no turn through Deferreds);
        else ``None``.  A failure is raised as :meth:`answer` would raise it."""
        if not self._stampsAtOnce:
            return None
        newest = self.store.newestSeq()
        # A store that asks a database (PostgreSQL) would be read twice by this way: it is
        # left to the way through Deferreds from then on.
        self._stampsAtOnce = newest.called
        stamp = _now(newest)
        return None if stamp is None else self._kept(request, kind, entityId, stamp)

    def _kept(self, request: IRequest, kind: Kind, entityId: str, stamp: int) -> bytes | None:
        """The answer from the entity as kept while the log's newest event is ``stamp``, if
        it is kept and the request may see it; else ``None`` (read the store)."""
        view = self.answering.standingView(entityId, stamp)
        if view is None or not access.sees(request, view.entity) \
                or view.entity.kind.location != kind.location:
            return None
        return self._send(request, view, stamp)

    def _send(self, request: IRequest, view: EntityView, stamp: int) -> bytes:
        renderer = self.answering.preferred(request)
        if renderer is None:
            return self.answering.multipleChoices(request, view.entity)
        if notModified(request, view.entity, renderer.mediaType):
            return b""
        return self.answering.sendEntity(request, renderer, view, stamp)

    async def _put(self, request: IRequest, kind: Kind, entityId: str,
                   description: Description) -> bytes | None:
        existing = await self.store.get(entityId)
        if existing is not None and not access.sees(request, existing):
            # Another's: the id cannot be had, and its holder is not told of.
            raise NotFound(f"There is no entity at {kind.location}{entityId} for you to "
                           "replace, and the id cannot be taken.")
        if existing is not None and existing.kind.location != kind.location:
            raise Conflict(f"The id {entityId} is taken by {existing.location}.")
        preconditions.check(request, existing, f"{kind.location}{entityId}")
        if existing is None:
            entity = self._provisioned(
                newEntity(description, owner=parts.ownerOf(request), entityId=entityId,
                          kind=kind, now=self.now())
            )
            await self._write(request, None, entity, description)
            request.setResponseCode(201)
            request.setHeader(b"Location",
                              self.answering.context(request).absolute(entity.location))
        else:
            entity = self._admitted(
                updatedEntity(existing, description, now=self.now(), replaceAll=True))
            await self._write(request, existing, entity, description)
        renderer = self.answering.negotiate(request, listing=False)
        return await self.show(request, renderer, entity)

    async def _write(self, request: IRequest, before: Entity | None, after: Entity,
                     description: Description) -> None:
        """``after`` (in place of ``before``, if there was one) with the links its
        description writes inline, in one change set; then the driver follows."""
        changes: list[Change] = [Put(after, expect=CREATE if before is None
                                     else before.revision)]
        changes.extend(await self._newLinks(request, after, description))
        await applyUnlessBeaten(self.store, self.withinQuota(request, changes),
                                creating=after.id if before is None else None)
        await self.realize(before, after)

    async def create(self, request: IRequest, kind: Kind, document: Document) -> bytes | None:
        """New entities in ``kind``'s collection: one, or each of a JSON collection's."""
        once = await self.once(request)
        if isinstance(once, bytes):
            return once
        documents = document.entities or (document,)
        created: list[Entity] = []
        changes: list[Change] = []
        for item in documents:
            description = describeEntity(item, self.registry)
            if kind.isA(LINK):
                description = await self._linkEnds(request, description)
            entity = self._provisioned(
                newEntity(description, owner=parts.ownerOf(request), kind=kind, now=self.now())
            )
            created.append(entity)
            changes.append(Put(entity, expect=CREATE))
            changes.extend(await self._newLinks(request, entity, description))
        context = self.answering.context(request)
        request.setResponseCode(201)
        request.setHeader(b"Location", context.absolute(created[0].location))
        renderer = self.answering.negotiate(request, listing=len(created) > 1)
        if len(created) > 1 or renderer.mediaType in BY_REFERENCE:
            # Text clients (pOCCI among them) look for the new location in the body.
            rendered = renderer.locations([e.location for e in created], context)
        else:
            # Rendered before the commit (a remembered answer commits with it), so its
            # links are the ones this change set makes.
            new = created[0]
            links = [c.entity for c in changes if isinstance(c, Put) and c.entity.isLink
                     and c.entity.source == new.location]
            request.setHeader(b"ETag", etag(new, renderer.mediaType).encode())
            rendered = renderer.entity(EntityView(new, links), context)
        return await self.commitAnswer(request, once, changes, rendered,
                                       after=lambda: self._realizeAll(created))

    async def _realizeAll(self, created: Sequence[Entity]) -> None:
        for entity in created:
            await self.realize(None, entity)

    async def realize(self, before: Entity | None, after: Entity | None) -> None:
        """Have the driver follow a stored change (create, resize, delete an image).

        The change stands either way: a failure is logged, and the driver is asked again
        for every entity when the server next starts."""
        changed = after or before
        try:
            await self.driver.realize(before, after)
        except CancelledError:
            pass  # the client hung up; the realizer follows the change for it
        except Exception:
            log.failure("The driver could not follow the change of {location}",
                        location=changed.location if changed is not None else "?")

    # -- links written inline ----------------------------------------------------------------

    async def _newLinks(self, request: IRequest, source: Entity,
                        description: Description) -> list[Change]:
        """Link entities for the inline links a resource's description carries."""
        if not description.links:
            return []
        if source.isLink:
            raise BadRequest("Links can only be attached to resources, not to links.")
        changes: list[Change] = []
        existing = (await self.store.linksFrom([source.location])).get(source.location, [])
        devices = devicesOf(existing)
        held = {e.location for e in existing} | {e.id for e in existing}
        for link in description.links:
            if "?action=" in link.target:
                continue  # an action link, rendered for the client, not a link to create
            named = link.attributes.get("occi.core.id")
            if link.location in held or (isinstance(named, str) and named in held):
                # A link the resource already has, echoed back by a full PUT (text names it
                # by self=, JSON by its id): GFD.223 says a replace leaves links intact.
                continue
            target = await self._targetOf(request, link.target)
            kind = link.kind or linkKindFor(target)
            attributes: dict[str, object] = dict(link.attributes)
            attributes["occi.core.source"] = source.location
            attributes["occi.core.target"] = link.target
            if target is not None:
                attributes["occi.core.target.kind"] = target.kind.identifier
            if kind.isA(STORAGELINK) and DEVICE_ID not in attributes:
                device = nextDevice(devices)
                devices.add(device)
                attributes[DEVICE_ID] = device
            entityId = None
            if link.location is not None:
                prefix, _, entityId = link.location.rpartition("/")
                if kind.location != prefix + "/":
                    raise BadRequest(f"A {kind.term} link cannot live at {link.location}.")
            entity = self._provisioned(newEntity(
                Description(kind=kind, mixins=link.mixins, attributes=attributes),
                owner=source.owner, entityId=entityId or None, kind=kind, now=self.now(),
            ))
            changes.append(Put(entity, expect=CREATE))
        return changes

    async def _linkEnds(self, request: IRequest, description: Description) -> Description:
        """A link's source and target as local paths, and its target's kind recorded.

        Clients name the ends with absolute URIs on whatever host name they used; the store
        checks that the source exists, this checks the target when it is one of ours.
        """
        attributes = dict(description.attributes)
        for name in ("occi.core.source", "occi.core.target"):
            value = attributes.get(name)
            if isinstance(value, str):
                attributes[name] = localPath(value, self.registry)
        source = attributes.get("occi.core.source")
        if isinstance(source, str) and source.startswith("/"):
            found = await self.store.get(source.rpartition("/")[2])
            if found is not None and not access.sees(request, found):
                # As the store says of a missing source: another's is not there for you.
                raise Conflict(f"The link's source {source} does not exist.")
        target = attributes.get("occi.core.target")
        if isinstance(target, str):
            entity = await self._targetOf(request, target)
            if entity is not None:
                attributes["occi.core.target.kind"] = entity.kind.identifier
        return replace(description, attributes=attributes)

    async def _targetOf(self, request: IRequest, location: str) -> Entity | None:
        if not location.startswith("/"):
            return None  # a resource elsewhere: nothing to check here
        prefix, _, entityId = location.rpartition("/")
        kind = self.registry.atLocation(prefix + "/")
        if not isinstance(kind, Kind):
            raise BadRequest(f"The link target {location} is not an entity location.")
        entity = await self.visible(request, entityId)
        if entity is None or entity.kind.location != kind.location:
            raise BadRequest(f"The link target {location} does not exist.")
        return entity

    def _provisioned(self, entity: Entity) -> Entity:
        return provisioned(self.driver, entity)

    def _admitted(self, entity: Entity) -> Entity:
        """A changed entity, once the driver agrees the infrastructure can be so."""
        self.driver.provision(entity)
        return entity


def provisioned(driver: IDriver, entity: Entity) -> Entity:
    """A new entity with the values ``driver`` chooses for it (still its first revision)."""
    changes = driver.provision(entity)
    if not changes:
        return entity
    return replace(withState(entity, changes, now=entity.created), revision=entity.revision)


def _now(answer: Deferred[int]) -> int | None:
    """What ``answer`` holds if it has fired with a value; ``None`` if it has not fired yet,
    or failed (the failure is consumed: the way through Deferreds asks again, and reports
    it)."""
    held: list[int | Failure] = []
    answer.addBoth(held.append)
    return held[0] if held and not isinstance(held[0], Failure) else None


def _onlyActions(document: Document) -> bool:
    """A body of action categories alone asks for an action even without ``?action=``: the
    question is how the request reads, not a rule of the model, so it stays here."""
    return bool(document.categories) and all(c.cls == "action" for c in document.categories)
