"""The one runner of every action: the request's entity, through the driver, back to the store.

The scheduler hands it a claimed request; it reads the entity as it is now, asks the driver
whether the action may still run (the entity may have changed since the request was made),
lets the driver do the work (checkpointing through the run context), and returns the state the
entity is left in as changes that the store commits together with the request's end -- so an
action's effect is recorded exactly once, whatever crashes when.
"""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime

from ..drivers import IDriver
from ..model import Action, Entity, withState
from ..model.requests import RequestRecord, RequestState
from ..scheduler import EntityRunner, RunContext, RunResult
from ..store.interface import Change, IStore, Put


class ActionRunner(EntityRunner):
    """Runs requests' actions through ``driver`` on the entities of ``store``."""

    def __init__(self, store: IStore, driver: IDriver, clock: IReactorTime) -> None:
        super().__init__(store)
        self._driver = driver
        self._clock = clock

    async def _run(self, entity: Entity, record: RequestRecord, context: RunContext
                   ) -> RunResult:
        action = self._store.registry.get(record.action)
        if not isinstance(action, Action) or action.identifier not in entity.actions():
            return RunResult(RequestState.FAILED,
                             f"{entity.location} does not offer the action {record.action}.")
        self._driver.check(entity, action, record.attributes)
        outcome = await self._driver.perform(entity, action, record.attributes, context)
        # Read again: the entity may have been changed (its title, say) while the action
        # ran; a change after this read makes the store refuse the end, and the run is tried
        # again on what is there then.
        latest = await self._store.get(entity.id)
        if latest is None:
            # Deleted while it ran: whatever the action made for it (an image it found
            # missing and made again) goes too, now that the action is done with it.
            await self._driver.realize(entity, None)
        changes: list[Change] = []
        if outcome.changes:
            if latest is None:
                return RunResult(RequestState.FAILED,
                                 f"{entity.location} was deleted while the action ran.")
            changed = withState(latest, outcome.changes, now=self._clock.seconds())
            changes.append(Put(changed, expect=latest.revision))
        return RunResult(RequestState.SUCCEEDED, outcome.message or f"{action.term}: done.",
                         outcome.progress, changes)
