"""The action runner over a memory store and the simulated driver, on a Clock: an action's
effect on its entity is committed with the end of its request, once; a refusal or a failure
ends the request with a sentence a person can act on; a cancelled action leaves the entity
as it was; a resumed one counts the time already spent."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from occi_twisted.drivers import ActionContext, ActionOutcome
from occi_twisted.model import Action, Entity, Value, withState
from occi_twisted.model.infrastructure import START, SUSPEND, UP
from occi_twisted.model.requests import RequestState
from occi_twisted.operations import ActionRunner
from occi_twisted.plugins.simulated import SimulatedDriver
from occi_twisted.scheduler import Scheduler
from occi_twisted.store import Delete, Put

from ..scheduler.support import T0, Harness, result

#: Starting a compute takes two seconds here: four slices of 0.5 s, each checkpointed.
SLOW_START = {("start", "default"): 2.0}


class RecordingDriver(SimulatedDriver):
    """The simulated driver, noting the checkpoint each run of an action resumed from."""

    def __init__(self) -> None:
        super().__init__(timings=SLOW_START)
        self.resumedFrom: list[Value | None] = []
        self.realized: list[tuple[Entity | None, Entity | None]] = []

    def realize(self, before: Entity | None, after: Entity | None) -> Deferred[None]:
        self.realized.append((before, after))
        return super().realize(before, after)

    def perform(self, entity: Entity, action: Action, attributes: Mapping[str, Value],
                context: ActionContext) -> Deferred[ActionOutcome]:
        self.resumedFrom.append(context.saved)
        return super().perform(entity, action, attributes, context)


def tick(clock: Clock, seconds: float) -> None:
    """Let ``seconds`` go by in quarter seconds: each slice's timer starts when the one
    before fires, as in real time."""
    clock.pump([0.25] * round(seconds / 0.25))


@pytest.fixture
def harness() -> Iterator[Harness]:
    made = Harness().start()
    yield made
    made.stopAll()


def runActions(harness: Harness, driver: SimulatedDriver | None = None, *,
               node: str = "node-1", clock: Clock | None = None) -> Scheduler:
    """A started scheduler that runs every action of the registry through an ActionRunner,
    as :class:`~occi_twisted.operations.Operations` assembles them."""
    clock = clock or harness.clock
    runner = ActionRunner(harness.store, driver or RecordingDriver(), clock)
    scheduler = harness.scheduler(
        {action.identifier: runner for action in harness.store.registry.actions()},
        node=node, clock=clock, leaseSeconds=60.0)
    scheduler.startService()
    return scheduler


def compute(harness: Harness) -> Entity:
    entity = result(harness.store.get("c1"))
    assert entity is not None
    return entity


def test_a_succeeded_action_changes_its_entity_once(harness: Harness) -> None:
    harness.add("r", action=START.identifier)
    runActions(harness)
    tick(harness.clock, 1.5)
    running = harness.get("r")
    assert running.state is RequestState.RUNNING and running.progress == {"percent": 75.0}
    assert compute(harness).attributes["occi.compute.state"] == "inactive"
    tick(harness.clock, 0.5)
    done = harness.get("r")
    assert (done.state, done.message) == (RequestState.SUCCEEDED, "Started.")
    assert done.progress == {"percent": 100}
    started = compute(harness)
    assert started.attributes["occi.compute.state"] == "active"
    assert started.attributes["occi.compute.state.message"] == "Started"
    assert started.revision == 2 and started.updated == T0 + 2.0


def test_a_change_made_while_the_action_ran_is_kept(harness: Harness) -> None:
    """The effect is applied to the entity as it is at the end, not as it was at the start."""
    harness.add("r", action=START.identifier)
    runActions(harness)
    tick(harness.clock, 1.0)
    before = compute(harness)
    renamed = withState(before, {"occi.core.title": "renamed"}, now=harness.clock.seconds())
    result(harness.store.apply([Put(renamed, expect=before.revision)]))
    tick(harness.clock, 1.0)
    assert harness.get("r").state is RequestState.SUCCEEDED
    after = compute(harness)
    assert after.attributes["occi.core.title"] == "renamed"
    assert after.attributes["occi.compute.state"] == "active" and after.revision == 3


def test_an_action_on_a_deleted_entity_fails(harness: Harness) -> None:
    harness.add("r", action=START.identifier)
    result(harness.store.apply([Delete("c1")]))
    runActions(harness)
    failed = harness.get("r")
    assert (failed.state, failed.message) == (
        RequestState.FAILED, "The entity c1 was deleted before the action ran.")


def test_an_entity_deleted_while_the_action_ran_fails_it(harness: Harness) -> None:
    harness.add("r", action=START.identifier)
    runActions(harness)
    tick(harness.clock, 1.0)
    result(harness.store.apply([Delete("c1")]))
    tick(harness.clock, 1.0)
    failed = harness.get("r")
    assert (failed.state, failed.message) == (
        RequestState.FAILED, "/compute/c1 was deleted while the action ran.")


def test_what_an_action_made_for_an_entity_deleted_meanwhile_goes_too(
        harness: Harness) -> None:
    """A storage action makes the image it finds missing: for a storage deleted while the
    action ran (after the driver removed its image), that image would stay on disk."""
    driver = RecordingDriver()
    harness.add("r", action=START.identifier)
    runActions(harness, driver)
    tick(harness.clock, 1.0)
    entity = compute(harness)
    result(harness.store.apply([Delete("c1")]))
    tick(harness.clock, 1.0)
    assert harness.get("r").state is RequestState.FAILED
    assert driver.realized == [(entity, None)]


def test_an_action_the_entity_does_not_offer_fails(harness: Harness) -> None:
    harness.add("r", action=UP.identifier)  # a network's action, asked of a compute
    runActions(harness)
    failed = harness.get("r")
    assert (failed.state, failed.message) == (
        RequestState.FAILED, f"/compute/c1 does not offer the action {UP.identifier}.")


def test_an_action_the_state_no_longer_allows_fails_with_the_drivers_reason(
        harness: Harness) -> None:
    """The driver checks again when the request runs: the entity may have changed since."""
    harness.add("r", action=SUSPEND.identifier)
    runActions(harness)
    failed = harness.get("r")
    assert failed.state is RequestState.FAILED and failed.attempts == 1
    assert failed.message == ("Cannot suspend compute c1: it is inactive, and suspend needs "
                              "it to be active.")
    assert compute(harness).revision == 1  # untouched
    tick(harness.clock, 100.0)  # ten times the first retry's delay
    assert harness.get("r").attempts == 1  # never tried again


def test_a_cancelled_action_leaves_its_entity_as_it_was(harness: Harness) -> None:
    harness.add("r", action=START.identifier)
    scheduler = runActions(harness)
    tick(harness.clock, 1.0)
    asked = result(scheduler.cancel("r"))
    assert asked.state is RequestState.RUNNING and asked.cancelRequested
    tick(harness.clock, 0.5)  # the next checkpoint
    cancelled = harness.get("r")
    assert cancelled.state is RequestState.CANCELLED
    assert cancelled.progress == {"percent": 75.0}
    tick(harness.clock, 10.0)
    entity = compute(harness)
    assert entity.attributes["occi.compute.state"] == "inactive" and entity.revision == 1


def test_a_resumed_action_counts_the_time_already_spent(harness: Harness) -> None:
    """Node 1 dies a second into a two-second start (its clock stops); node 2 claims the
    request when the lease ends and needs only the second left."""
    deadClock = Clock()
    deadClock.advance(T0)
    first = RecordingDriver()
    harness.add("r", action=START.identifier)
    runActions(harness, first, node="node-1", clock=deadClock)
    tick(deadClock, 1.0)
    assert harness.get("r").checkpoint == 1.0
    tick(harness.clock, 1.0)
    resumed = RecordingDriver()
    runActions(harness, resumed, node="node-2")
    tick(harness.clock, 60.0)  # node 1's lease, renewed at its last checkpoint, runs out
    assert resumed.resumedFrom == [1.0] and first.resumedFrom == [None]
    claimed = harness.get("r")
    assert claimed.claimedBy == "node-2" and claimed.attempts == 2
    tick(harness.clock, 0.5)
    assert harness.get("r").state is RequestState.RUNNING
    tick(harness.clock, 0.5)
    done = harness.get("r")
    assert done.state is RequestState.SUCCEEDED and done.message == "Started."
    assert compute(harness).attributes["occi.compute.state"] == "active"
    assert compute(harness).revision == 2  # once, though it ran twice
