"""Every node's registry in step with the user mixins in the database.

A user mixin defined or removed through one node is written to ``user_mixins``; the
transaction tells every node (``NOTIFY occi_mixins``, see :mod:`.events`), and each node
re-reads the table and defines what is new, in the order it was defined, and removes what is
gone (:func:`follow`).  Until it has, a request naming the new mixin on another node would be
refused as unknown: the HTTP face then asks for one more re-read before it refuses
(:meth:`Follower.follow` answers whether the registry changed).

Re-reads run one at a time, in order (an older snapshot applied after a newer one would undo
it), and requests for one that arrive while one runs share the next.  A node's own define or
remove changes its registry before its write commits: the identifiers in flight are left
alone, and a re-read that began before one of this node's writes finished is read again.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from contextlib import suppress

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from ...model import Registry
from ...model.errors import OCCIError
from ..serial import canonical, defineUserMixins, mixinToDict

_log = Logger()


def follow(registry: Registry, stored: list[str], inFlight: Counter[str]) -> bool:
    """Bring ``registry``'s user mixins in step with ``stored`` (their documents in the order
    they were defined), leaving those ``inFlight`` alone; whether anything changed."""
    wanted = {_identifier(text): text for text in stored}
    held = {mixin.identifier: mixin for mixin in registry.mixins() if mixin.owner is not None}
    changed = False
    for identifier, mixin in held.items():
        if inFlight[identifier]:
            continue
        text = wanted.get(identifier)
        if text is None or text != canonical(mixinToDict(mixin)):
            with suppress(OCCIError):
                registry.removeUserMixin(identifier)
            changed = True
    for identifier, text in wanted.items():
        if not inFlight[identifier] and registry.get(identifier) is None:
            defineUserMixins(registry, [json.loads(text)])
            changed = True
    return changed


def _identifier(text: str) -> str:
    document = json.loads(text)
    return f"{document['scheme']}{document['term']}"


class Follower:
    """Re-reads the user mixins (``read``) into ``registry`` on request, one re-read at a
    time; ``changed`` is called after one that changed the registry (the decoded entities'
    cache depends on it)."""

    def __init__(self, registry: Registry, read: Callable[[], Deferred[list[str]]],
                 changed: Callable[[], None]) -> None:
        self._registry = registry
        self._read = read
        self._changed = changed
        #: This node's own defines and removes not yet finished, by identifier.
        self.inFlight: Counter[str] = Counter()
        #: Bumped when one of them finishes: a re-read that began before is read again.
        self._epoch = 0
        self._waiting: list[Deferred[bool]] = []
        self._running = False

    def begin(self, identifier: str) -> None:
        """This node starts defining or removing ``identifier``."""
        self.inFlight[identifier] += 1

    def end(self, identifier: str) -> None:
        """... and has finished (written, or given up)."""
        self.inFlight[identifier] -= 1
        if not self.inFlight[identifier]:
            del self.inFlight[identifier]
        self._epoch += 1

    def follow(self) -> Deferred[bool]:
        """Re-read once a re-read starts after this call; whether the registry changed."""
        done: Deferred[bool] = Deferred()
        self._waiting.append(done)
        if not self._running:
            self._running = True
            Deferred.fromCoroutine(self._followAll())
        return done

    def heard(self) -> None:
        """Another node (or this one) defined or removed a user mixin."""
        self.follow().addErrback(
            lambda failure: _log.warn("Could not re-read the user mixins: {problem}",
                                      problem=failure.getErrorMessage()))

    async def _followAll(self) -> None:
        try:
            while self._waiting:
                waiting, self._waiting = self._waiting, []
                try:
                    changed = await self._followOnce()
                except Exception as problem:
                    for each in waiting:
                        each.errback(problem)
                else:
                    for each in waiting:
                        each.callback(changed)
        finally:
            self._running = False

    async def _followOnce(self) -> bool:
        while True:
            epoch = self._epoch
            stored = await self._read()
            if epoch == self._epoch:
                break
        changed = follow(self._registry, stored, self.inFlight)
        if changed:
            self._changed()
        return changed

