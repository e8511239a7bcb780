"""Persistent requests over HTTP: actions answered 200 or 202, requests to read, list, poll
and cancel -- all on a :class:`~twisted.internet.task.Clock`, so every step is deterministic.

The clock stands still unless a test moves it: a request that waits for a timed action (the
simulated driver's ``TIMINGS``: a graceful stop takes 2 s, checkpointing every 0.5 s) is
answered only once the test has moved the clock far enough.
"""

from __future__ import annotations

import json
import math
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
import pytest_twisted as pt
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorFromThreads
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from occi_twisted.drivers.disks import DiskDriver
from occi_twisted.drivers.storage import DiskImages
from occi_twisted.model import Description, newEntity, withState
from occi_twisted.model.infrastructure import STORAGE
from occi_twisted.plugins.simulated import TIMINGS
from occi_twisted.store.interface import CREATE, Put

from .support import BASE, Answer, Client

ACTIONS = "http://schemas.ogf.org/occi/infrastructure/compute/action#"
STORAGE_ACTIONS = "http://schemas.ogf.org/occi/infrastructure/storage/action#"
REQUEST_KIND = "http://schemas.occi-twisted.org/occi/request#request"
R = "occi-twisted.request"
FORM = "application/x-www-form-urlencoded"
TEXT = {"Content_Type": "text/plain", "Accept": "text/plain"}
THREADS = cast(IReactorFromThreads, reactor)
#: The Clock's start: 2023-11-14T22:13:20Z.
NOW = 1_700_000_000
STOP_GRACEFUL = (f'Category: stop; scheme="{ACTIONS}"; class="action"\n'
                 'X-OCCI-Attribute: method="graceful"\n')


# -- helpers ---------------------------------------------------------------------------------


class Pending:
    """A request sent while the clock stands still; its answer comes once the clock moved."""

    def __init__(self, coroutine: Coroutine[Any, Any, Answer]) -> None:
        self._results: list[Answer | Failure] = []
        Deferred.fromCoroutine(coroutine).addBoth(self._results.append)

    @property
    def answered(self) -> bool:
        return bool(self._results)

    def answer(self) -> Answer:
        assert self._results, "no answer yet"
        result = self._results[0]
        if isinstance(result, Failure):
            result.raiseException()
        assert isinstance(result, Answer)
        return result


def send(client: Client, method: str, path: str, body: str = "", **headers: str) -> Pending:
    return Pending(client.request(method, path, body, **headers))


async def ask(client: Client, method: str, path: str, body: str = "", **headers: str) -> Answer:
    """A request answered without the clock moving (else a failure, rather than a test
    waiting forever for a clock nobody moves)."""
    pending = send(client, method, path, body, **headers)
    assert pending.answered, f"{method} {path} waits for the clock to move"
    return pending.answer()


def advance(client: Client, seconds: float, step: float = 0.5) -> None:
    """Move the clock by ``seconds``, ``step`` at a time (as time passes: every timer runs at
    its own time), delivering the answers written meanwhile."""
    clock = client.clock
    assert isinstance(clock, Clock)
    for _ in range(round(seconds / step)):
        clock.advance(step)
        client.treq.flush()


def local(url: str | None) -> str:
    assert url is not None and url.startswith(BASE), url
    return url[len(BASE):]


def attributes(answer: Answer) -> dict[str, Any]:
    document = answer.json()
    assert isinstance(document, dict)
    values = document["attributes"]
    assert isinstance(values, dict)
    return values


async def requestOf(client: Client, location: str) -> dict[str, Any]:
    """The request's attributes, as its JSON rendering shows them."""
    got = await ask(client, "GET", location, Accept="application/json")
    assert got.code == 200, got.text
    return attributes(got)


async def computeState(client: Client, path: str) -> str:
    got = await ask(client, "GET", path, Accept="application/json")
    assert got.code == 200, got.text
    return str(attributes(got)["occi.compute.state"])


async def requestList(client: Client, path: str) -> list[str]:
    """The locations of ``path``'s requests, in creation order."""
    listing = await ask(client, "GET", path + "/requests/", Accept="text/uri-list")
    assert listing.code == 200, listing.text
    return [local(line) for line in listing.text.split()]


async def activeCompute(client: Client) -> str:
    """A new compute, started (the start takes 0.5 s with ``TIMINGS``, none without)."""
    path = await client.create()
    started = send(client, "POST", path + "?action=start", "", **TEXT)
    if not started.answered:
        advance(client, TIMINGS[("start", "default")])
    assert started.answer().code == 200, started.answer().text
    assert await computeState(client, path) == "active"
    return path


def rfc3339(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def oneSentence(text: str) -> bool:
    message = text.strip()
    return bool(message) and "\n" not in message and message.endswith(".") \
        and "Traceback" not in message


def storageIn(client: Client, state: str = "offline") -> str:
    """A storage put straight into the store: no image is made, so no thread is needed (a
    backup that waits for its window never touches the disk)."""
    entity = newEntity(Description(kind=STORAGE, attributes={"occi.storage.size": 1.0}),
                       now=NOW)
    if entity.attributes["occi.storage.state"] != state:
        entity = withState(entity, {"occi.storage.state": state}, now=NOW)
    applied: list[object] = []
    client.store.apply([Put(entity, expect=CREATE)]).addBoth(applied.append)
    assert applied == [None], applied
    return entity.location


def diskClient(tmp_path: Path, **options: Any) -> Client:
    """A client on the Clock whose storage actions go to real (never started) disk images."""
    return Client(disks=DiskDriver(DiskImages(tmp_path), THREADS), **options)


# -- 1. the walkthrough's request: POST {compute}/requests, then follow it -----------------


@pt.ensureDeferred
async def test_walkthrough_request_runs_to_its_end_in_every_rendering() -> None:
    client = Client(timings=TIMINGS)
    path = await activeCompute(client)

    made = await ask(client, "POST", path + "/requests", "state=shutdown&type=acpioff",
                     Content_Type=FORM, Accept="text/plain")
    assert made.code == 202, made.text
    location = local(made.header("location"))
    assert location.startswith(path + "/requests/")
    assert location.rpartition("/")[2]
    assert f'{R}.state="queued"' in made.text
    assert f'{R}.action="{ACTIONS}stop"' in made.text
    assert made.header("etag") == '"req-1"'

    # Claimed at once (the clock need not move for that): running, nothing done yet.
    plain = await ask(client, "GET", location, Accept="text/plain")
    assert plain.code == 200
    assert f'Category: request; scheme="{REQUEST_KIND.partition("#")[0]}#"' in plain.text
    assert f'{R}.state="running"' in plain.text
    assert f"{R}.percent=0.0" in plain.text
    assert f'{R}.target="{path}"' in plain.text
    occi = await ask(client, "GET", location, Accept="text/occi")
    assert occi.code == 200
    assert f'{R}.state="running"' in (occi.header("x-occi-attribute") or "")
    assert "request#" in (occi.header("category") or "")
    rendered = await ask(client, "GET", location, Accept="application/json")
    assert rendered.json()["kind"] == REQUEST_KIND
    assert rendered.json()["id"] == location.rpartition("/")[2]
    running = attributes(rendered)
    assert running[f"{R}.state"] == "running"
    assert running[f"{R}.parameters"] == {"method": "acpioff"}
    assert running[f"{R}.attempts"] == 1
    assert running[f"{R}.created"] == running[f"{R}.started"] == rfc3339(NOW + 0.5)
    etags = {plain.header("etag"), occi.header("etag"), rendered.header("etag")}
    assert len(etags) == 1
    first = etags.pop()
    assert first is not None

    # Half way: the ETag follows the progress; the client's copy is current until it does.
    advance(client, 0.5)
    half = await ask(client, "GET", location, Accept="application/json")
    assert attributes(half)[f"{R}.state"] == "running"
    assert attributes(half)[f"{R}.percent"] == 50.0
    assert attributes(half)[f"{R}.progress"] == {"percent": 50.0}
    assert half.header("etag") not in (None, first)
    current = half.header("etag")
    assert current is not None
    fresh = await ask(client, "GET", location, Accept="application/json",
                      If_None_Match=current)
    assert fresh.code == 304
    assert fresh.body == b""
    assert fresh.header("etag") == current
    stale = await ask(client, "GET", location, Accept="application/json",
                      If_None_Match=first)
    assert stale.code == 200

    advance(client, 0.5)
    done = await ask(client, "GET", location, Accept="application/json")
    ended = attributes(done)
    assert ended[f"{R}.state"] == "succeeded"
    assert ended[f"{R}.percent"] == 100.0
    assert ended[f"{R}.message"] == "Stopped (acpioff)."
    assert ended[f"{R}.finished"] == rfc3339(NOW + 1.5)
    assert done.header("etag") not in (first, current)
    assert await computeState(client, path) == "inactive"
    head = await ask(client, "HEAD", location, Accept="application/json")
    assert head.code == 200 and head.body == b""
    assert head.header("etag") == done.header("etag")


# -- 2. the same request as a text/plain action and as a GFD.225 JSON invocation -----------


@pt.ensureDeferred
async def test_text_plain_action_category_with_method() -> None:
    client = Client(timings=TIMINGS)
    path = await activeCompute(client)
    made = await ask(client, "POST", path + "/requests", STOP_GRACEFUL, **TEXT)
    assert made.code == 202, made.text
    location = local(made.header("location"))
    assert location.startswith(path + "/requests/")
    assert (await requestOf(client, location))[f"{R}.parameters"] == {"method": "graceful"}
    advance(client, 1.5)
    assert (await requestOf(client, location))[f"{R}.percent"] == 75.0
    assert await computeState(client, path) == "active"
    advance(client, 0.5)
    ended = await requestOf(client, location)
    assert ended[f"{R}.state"] == "succeeded"
    assert ended[f"{R}.message"] == "Stopped (graceful)."
    assert await computeState(client, path) == "inactive"


@pt.ensureDeferred
async def test_json_action_invocation() -> None:
    client = Client(timings=TIMINGS)
    path = await activeCompute(client)
    body = json.dumps({"action": f"{ACTIONS}stop", "attributes": {"method": "poweroff"}})
    made = await ask(client, "POST", path + "/requests", body,
                     Content_Type="application/json", Accept="application/json")
    assert made.code == 202, made.text
    assert made.json()["kind"] == REQUEST_KIND
    assert attributes(made)[f"{R}.parameters"] == {"method": "poweroff"}
    location = local(made.header("location"))
    assert location == f"{path}/requests/{made.json()['id']}"
    # A power-off takes no time: over before anyone asks.
    ended = await requestOf(client, location)
    assert ended[f"{R}.state"] == "succeeded"
    assert ended[f"{R}.message"] == "Stopped (poweroff)."
    assert await computeState(client, path) == "inactive"


@pt.ensureDeferred
async def test_prefer_wait_on_a_new_request_answers_201_when_it_ended() -> None:
    client = Client(timings=TIMINGS)
    path = await activeCompute(client)
    waiting = send(client, "POST", path + "/requests", "state=stop&type=acpioff",
                   Content_Type=FORM, Accept="application/json", Prefer="wait=5")
    advance(client, 0.5)
    assert not waiting.answered
    advance(client, 0.5)
    made = waiting.answer()
    assert made.code == 201, made.text
    assert local(made.header("location")).startswith(path + "/requests/")
    assert attributes(made)[f"{R}.state"] == "succeeded"
    assert await computeState(client, path) == "inactive"


# -- 3. ?action=: 200 within the wait budget, 202 beyond it ---------------------------------


@pt.ensureDeferred
async def test_action_answers_202_when_the_budget_runs_out_first() -> None:
    client = Client(timings=TIMINGS, waitBudget=3.0)
    path = await activeCompute(client)
    pending = send(client, "POST", path + "?action=stop", 'X-OCCI-Attribute: method="graceful"\n',
                   **TEXT)
    # The clock stands still, so does the guest: the server waits for the one or the other.
    assert not pending.answered
    # One jump of 3 s: the budget's timer is due together with the guest's first step.
    advance(client, 3.0, step=3.0)
    answer = pending.answer()
    assert answer.code == 202, answer.text
    location = local(answer.header("location"))
    assert location.startswith(path + "/requests/")
    assert answer.header("link") == f'<{BASE}{location}>; rel="monitor"'
    assert f'{R}.state="running"' in answer.text
    assert await computeState(client, path) == "active"
    advance(client, 1.5)
    assert (await requestOf(client, location))[f"{R}.state"] == "succeeded"
    assert await computeState(client, path) == "inactive"


@pt.ensureDeferred
async def test_action_longer_than_the_budget_answers_202_at_the_budget() -> None:
    client = Client(timings=TIMINGS, waitBudget=1.0)
    path = await activeCompute(client)
    pending = send(client, "POST", path + "?action=stop", 'X-OCCI-Attribute: method="graceful"\n',
                   **TEXT)
    advance(client, 0.5)
    assert not pending.answered
    advance(client, 0.5)
    answer = pending.answer()
    assert answer.code == 202, answer.text
    assert answer.header("etag") is not None
    location = local(answer.header("location"))
    # As the request was when the budget ran out: under way, not done.
    assert f'{R}.state="running"' in answer.text
    assert (await requestOf(client, location))[f"{R}.percent"] == 50.0
    advance(client, 1.0)
    assert (await requestOf(client, location))[f"{R}.state"] == "succeeded"


@pt.ensureDeferred
async def test_respond_async_answers_202_at_once() -> None:
    client = Client(timings=TIMINGS)
    path = await activeCompute(client)
    answer = await ask(client, "POST", path + "?action=stop",
                       'X-OCCI-Attribute: method="graceful"\n',
                       Prefer="respond-async", **TEXT)
    assert answer.code == 202, answer.text
    assert answer.header("preference-applied") == "respond-async"
    location = local(answer.header("location"))
    assert answer.header("link") == f'<{BASE}{location}>; rel="monitor"'
    assert (await requestOf(client, location))[f"{R}.state"] == "running"
    advance(client, 2.0)
    assert (await requestOf(client, location))[f"{R}.state"] == "succeeded"


@pt.ensureDeferred
async def test_instant_action_answers_200_with_the_new_state() -> None:
    client = Client()
    path = await activeCompute(client)
    answer = await ask(client, "POST", path + "?action=stop", "",
                       Content_Type="text/plain", Accept="application/json")
    assert answer.code == 200, answer.text
    assert answer.header("location") is None
    assert attributes(answer)["occi.compute.state"] == "inactive"
    assert attributes(answer)["occi.compute.state.message"] == "Stopped (graceful)"
    monitor = answer.header("link")
    assert monitor is not None and monitor.endswith('>; rel="monitor"')
    location = local(monitor[1:monitor.index(">")])
    ended = await requestOf(client, location)
    assert ended[f"{R}.state"] == "succeeded"
    assert (await requestList(client, path))[-1] == location


@pt.ensureDeferred
async def test_prefer_wait_beyond_the_budget_answers_200() -> None:
    client = Client(timings=TIMINGS, waitBudget=1.0)
    path = await activeCompute(client)
    pending = send(client, "POST", path + "?action=stop", 'X-OCCI-Attribute: method="graceful"\n',
                   Prefer="wait=5", **TEXT)
    advance(client, 1.5)
    assert not pending.answered  # past the server's budget, within the client's
    advance(client, 0.5)
    answer = pending.answer()
    assert answer.code == 200, answer.text
    assert answer.header("preference-applied") == "wait=5"
    assert 'occi.compute.state="inactive"' in answer.text
    assert 'rel="monitor"' in (answer.header("link") or "")


# -- 4. invalid transitions: refused before anything is stored ------------------------------


@pt.ensureDeferred
async def test_stop_of_an_inactive_compute_is_refused_and_not_stored() -> None:
    client = Client(timings=TIMINGS)
    path = await client.create()
    for target, body, contentType in [(path + "?action=stop", "", "text/plain"),
                                      (path + "/requests", "state=shutdown", FORM),
                                      (path + "/requests?action=stop", "", "text/plain")]:
        refused = await ask(client, "POST", target, body, Content_Type=contentType,
                            Accept="text/plain")
        assert refused.code == 409, (target, refused.text)
        assert oneSentence(refused.text), refused.text
        assert "inactive" in refused.text
        assert refused.header("location") is None
    assert await requestList(client, path) == []
    assert await computeState(client, path) == "inactive"


@pt.ensureDeferred
async def test_suspend_of_a_stopped_compute_is_refused() -> None:
    client = Client()
    path = await activeCompute(client)
    stopped = await ask(client, "POST", path + "?action=stop", "", **TEXT)
    assert stopped.code == 200
    before = await requestList(client, path)
    assert len(before) == 2  # start, stop
    refused = await ask(client, "POST", path + "?action=suspend", "", **TEXT)
    assert refused.code == 409
    assert oneSentence(refused.text), refused.text
    assert "suspend" in refused.text and "active" in refused.text
    assert await requestList(client, path) == before


@pt.ensureDeferred
async def test_secure_erase_of_an_online_storage_is_refused(tmp_path: Path) -> None:
    client = diskClient(tmp_path)
    path = storageIn(client, state="online")
    refused = await ask(client, "POST", path + "?action=secure_erase", "", **TEXT)
    assert refused.code == 409, refused.text
    assert oneSentence(refused.text) and "offline" in refused.text
    assert await requestList(client, path) == []


# -- 5. listing and cancelling ------------------------------------------------------------


@pt.ensureDeferred
async def test_listing_in_uri_list_and_json() -> None:
    client = Client(timings=TIMINGS)
    path = await client.create()
    assert await requestList(client, path) == []
    empty = await ask(client, "GET", path + "/requests/", Accept="application/json")
    assert empty.code == 200 and empty.json().get("resources", []) == []
    started = send(client, "POST", path + "?action=start", "", **TEXT)
    advance(client, 0.5)
    assert started.answer().code == 200
    made = await ask(client, "POST", path + "/requests", "state=stop&type=graceful",
                     Content_Type=FORM, Accept="text/plain")
    assert made.code == 202
    locations = await requestList(client, path)
    assert len(locations) == 2
    assert locations[1] == local(made.header("location"))
    assert all(location.startswith(path + "/requests/") for location in locations)

    listing = await ask(client, "GET", path + "/requests/", Accept="application/json")
    assert listing.code == 200
    resources = listing.json()["resources"]
    assert [r["kind"] for r in resources] == [REQUEST_KIND] * 2
    assert [r["id"] for r in resources] == [loc.rpartition("/")[2] for loc in locations]
    assert [r["attributes"][f"{R}.action"] for r in resources] == [
        f"{ACTIONS}start", f"{ACTIONS}stop"]
    assert [r["attributes"][f"{R}.state"] for r in resources] == ["succeeded", "running"]
    # Without the trailing slash too; another compute's list stays its own.
    bare = await ask(client, "GET", path + "/requests", Accept="text/uri-list")
    assert [local(line) for line in bare.text.split()] == locations
    other = await client.create()
    assert await requestList(client, other) == []
    # A request is found under its own entity only.
    wrong = await ask(client, "GET", other + "/requests/" + locations[0].rpartition("/")[2],
                      Accept="text/plain")
    assert wrong.code == 404


@pt.ensureDeferred
async def test_cancel_a_scheduled_request_then_again_then_after_success() -> None:
    client = Client()
    path = await activeCompute(client)
    made = await ask(client, "POST", path + "/requests",
                     f"state=shutdown&not_before={NOW + 60}",
                     Content_Type=FORM, Accept="application/json")
    assert made.code == 202, made.text
    location = local(made.header("location"))
    assert (await requestOf(client, location))[f"{R}.state"] == "scheduled"

    cancelled = await ask(client, "DELETE", location, Accept="application/json")
    assert cancelled.code == 200, cancelled.text
    assert attributes(cancelled)[f"{R}.state"] == "cancelled"
    assert attributes(cancelled)[f"{R}.attempts"] == 0
    again = await ask(client, "DELETE", location, Accept="application/json")
    assert again.code == 200
    assert attributes(again)[f"{R}.state"] == "cancelled"
    assert again.header("etag") == cancelled.header("etag")
    advance(client, 61, step=1.0)
    assert (await requestOf(client, location))[f"{R}.state"] == "cancelled"
    assert await computeState(client, path) == "active"

    succeeded = (await requestList(client, path))[0]  # the start
    assert (await requestOf(client, succeeded))[f"{R}.state"] == "succeeded"
    refused = await ask(client, "DELETE", succeeded, Accept="text/plain")
    assert refused.code == 409
    assert oneSentence(refused.text) and "succeeded" in refused.text
    assert (await requestOf(client, succeeded))[f"{R}.state"] == "succeeded"


@pt.ensureDeferred
async def test_cancel_a_backup_waiting_for_its_window(tmp_path: Path) -> None:
    client = diskClient(tmp_path)
    path = storageIn(client)
    made = await ask(client, "POST", path + "?action=backup", "", Prefer="respond-async",
                     **TEXT)
    assert made.code == 202, made.text
    location = local(made.header("location"))
    cancelled = await ask(client, "DELETE", location, Accept="application/json")
    assert cancelled.code == 200
    assert attributes(cancelled)[f"{R}.state"] == "cancelled"
    assert f"{R}.started" not in attributes(cancelled)
    # Midnight passes; the backup does not run.
    advance(client, 2 * 3600, step=60.0)
    after = await requestOf(client, location)
    assert after[f"{R}.state"] == "cancelled" and after[f"{R}.attempts"] == 0
    assert list(tmp_path.rglob("*")) == []


@pt.ensureDeferred
async def test_cancel_a_running_graceful_stop_at_its_next_checkpoint() -> None:
    client = Client(timings=TIMINGS)
    path = await activeCompute(client)
    made = await ask(client, "POST", path + "/requests", "state=shutdown&type=graceful",
                     Content_Type=FORM, Accept="text/plain")
    location = local(made.header("location"))
    advance(client, 0.5)
    assert (await requestOf(client, location))[f"{R}.percent"] == 25.0

    asked = await ask(client, "DELETE", location, Accept="application/json")
    assert asked.code == 200, asked.text
    # A running request is asked to stop: it stops at its next checkpoint, not before.
    assert attributes(asked)[f"{R}.state"] == "running"
    assert (await requestOf(client, location))[f"{R}.state"] == "running"
    advance(client, 0.5)
    ended = await requestOf(client, location)
    assert ended[f"{R}.state"] == "cancelled"
    assert ended[f"{R}.percent"] == 50.0
    assert ended[f"{R}.finished"] == rfc3339(NOW + 1.5)
    advance(client, 3.0)
    assert (await requestOf(client, location))[f"{R}.state"] == "cancelled"
    assert await computeState(client, path) == "active"


# -- 6. backups wait for the daily window, or for the time the client names -----------------


@pt.ensureDeferred
async def test_backup_waits_for_the_next_midnight(tmp_path: Path) -> None:
    client = diskClient(tmp_path)
    path = storageIn(client)
    sent = send(client, "POST", path + "?action=backup", "", Content_Type="text/plain",
                Accept="application/json")
    # Scheduled for midnight, the request cannot end within the wait budget (3 s): the
    # server answers 202 at once rather than wait for nothing.
    made = sent.answer()
    assert made.code == 202, made.text
    assert made.header("location") is not None
    scheduled = attributes(made)
    assert scheduled[f"{R}.state"] == "scheduled"
    assert scheduled[f"{R}.action"] == f"{STORAGE_ACTIONS}backup"
    assert scheduled[f"{R}.not_before"] == "2023-11-15T00:00:00.000Z"
    midnight = datetime(2023, 11, 15, tzinfo=UTC).timestamp()
    assert await client.store.nextDue(client.clock.seconds()) == midnight
    # Nothing wakes it before then: a second before midnight, it still waits.
    untilThen = midnight - 1 - client.clock.seconds()
    advance(client, untilThen, step=untilThen)
    location = local(made.header("location"))
    waiting = await requestOf(client, location)
    assert waiting[f"{R}.state"] == "scheduled" and waiting[f"{R}.attempts"] == 0


@pt.ensureDeferred
async def test_backup_with_not_before_is_due_then(tmp_path: Path) -> None:
    client = diskClient(tmp_path)
    path = storageIn(client)
    made = await ask(client, "POST", path + "?action=backup", f"not_before={NOW + 90}",
                     Content_Type=FORM, Accept="application/json",
                     Prefer="respond-async")
    assert made.code == 202, made.text
    assert attributes(made)[f"{R}.state"] == "scheduled"
    assert attributes(made)[f"{R}.not_before"] == rfc3339(NOW + 90)
    assert f"{R}.parameters" not in attributes(made)  # not_before is no action parameter
    assert await client.store.nextDue(client.clock.seconds()) == NOW + 90
    rfc = await ask(client, "POST", path + "?action=backup",
                    f'X-OCCI-Attribute: {R}.not_before="2023-11-14T23:00:00Z"\n',
                    Prefer="respond-async", **TEXT)
    assert rfc.code == 202, rfc.text
    assert f'{R}.not_before="2023-11-14T23:00:00.000Z"' in rfc.text


@pt.ensureDeferred
async def test_an_action_with_not_before_runs_exactly_then() -> None:
    client = Client()
    path = await activeCompute(client)
    made = await ask(client, "POST", path + "?action=stop", f"not_before={NOW + 60}",
                     Content_Type=FORM, Accept="application/json",
                     Prefer="respond-async")
    assert made.code == 202, made.text
    location = local(made.header("location"))
    advance(client, 59.5)
    assert (await requestOf(client, location))[f"{R}.state"] == "scheduled"
    assert await computeState(client, path) == "active"
    advance(client, 0.5)
    ended = await requestOf(client, location)
    assert ended[f"{R}.state"] == "succeeded"
    assert ended[f"{R}.started"] == rfc3339(NOW + 60)
    assert await computeState(client, path) == "inactive"


@pt.ensureDeferred
async def test_backup_runs_on_real_disks_when_due(tmp_path: Path) -> None:
    # The real reactor and real threads: the one test here that waits for wall-clock time.
    client = Client(clock=reactor, disks=DiskDriver(DiskImages(tmp_path), THREADS))
    client.driver.start()
    try:
        path = await client.create("storage", "X-OCCI-Attribute: occi.storage.size=0.001\n")
        due = math.ceil(reactor.seconds()) + 1
        made = await client.request("POST", path + "?action=backup", f"not_before={due}",
                                    Content_Type=FORM, Accept="application/json",
                                    Prefer="respond-async")
        assert made.code == 202, made.text
        assert attributes(made)[f"{R}.state"] == "scheduled"
        location = local(made.header("location"))
        etag = made.header("etag") or ""
        seen: dict[str, Any] = attributes(made)
        for _ in range(20):
            if seen[f"{R}.state"] in ("succeeded", "failed", "cancelled"):
                break
            polled = await client.request("GET", location, Accept="application/json",
                                          Prefer="wait=5", If_None_Match=etag)
            assert polled.code == 200, polled.text
            seen, etag = attributes(polled), polled.header("etag") or ""
        assert seen[f"{R}.state"] == "succeeded", seen
        assert datetime.fromisoformat(seen[f"{R}.started"]).timestamp() >= due
        assert seen[f"{R}.message"].startswith("Backup ")
    finally:
        await client.operations.scheduler.stopService()
        await client.driver.stop()


# -- 7. long poll ----------------------------------------------------------------------------


@pt.ensureDeferred
async def test_long_poll_answers_with_the_next_revision() -> None:
    client = Client(timings=TIMINGS)
    path = await activeCompute(client)
    made = await ask(client, "POST", path + "/requests", "state=shutdown&type=graceful",
                     Content_Type=FORM, Accept="text/plain")
    location = local(made.header("location"))
    current = await ask(client, "GET", location, Accept="application/json")
    etag = current.header("etag")
    assert etag is not None
    polling = send(client, "GET", location, Accept="application/json", Prefer="wait=10",
                   If_None_Match=etag)
    advance(client, 0.25, step=0.25)
    assert not polling.answered  # no change yet: the server holds the answer
    advance(client, 0.25, step=0.25)
    answer = polling.answer()
    assert answer.code == 200, answer.text
    assert answer.header("preference-applied") == "wait=10"
    assert answer.header("etag") not in (None, etag)
    assert attributes(answer)[f"{R}.percent"] == 25.0
    # The client is up to date now: a conditional GET without waiting is a 304.
    fresh = await ask(client, "GET", location, Accept="application/json",
                      If_None_Match=answer.header("etag") or "")
    assert fresh.code == 304


@pt.ensureDeferred
async def test_long_poll_without_change_answers_when_the_wait_is_over() -> None:
    client = Client()
    path = await activeCompute(client)
    made = await ask(client, "POST", path + "/requests", f"state=stop&not_before={NOW + 600}",
                     Content_Type=FORM, Accept="text/plain")
    location = local(made.header("location"))
    etag = made.header("etag") or ""
    polling = send(client, "GET", location, Accept="application/json", Prefer="wait=10",
                   If_None_Match=etag)
    advance(client, 9.5)
    assert not polling.answered
    advance(client, 0.5)
    answer = polling.answer()
    assert answer.code == 304
    assert answer.header("etag") == etag
    # A stale ETag is answered at once, with the current request.
    stale = await ask(client, "GET", location, Accept="application/json", Prefer="wait=10",
                      If_None_Match='"req-0"')
    assert stale.code == 200
    assert attributes(stale)[f"{R}.state"] == "scheduled"


# -- 8. bad input: a clear 4xx, nothing stored ---------------------------------------------

BAD = [
    ("POST", "/requests", "action=fly", FORM, 400),
    ("POST", "/requests?action=fly", "", "text/plain", 400),
    ("POST", "?action=fly", "", "text/plain", 400),
    ("POST", "/requests", "", "text/plain", 400),
    ("POST", "/requests", "state=explode", FORM, 400),
    ("POST", "/requests", "state=shutdown&type=yank", FORM, 400),
    ("POST", "/requests", "state=shutdown&colour=red", FORM, 400),
    ("POST", "/requests", "state=shutdown&not_before=soon", FORM, 400),
    ("POST", "/requests", "state=shutdown&not_before=2023-11-14T23:00:00", FORM, 400),
    ("POST", "/requests", "state=shutdown&not_before=nan", FORM, 400),
    ("POST", "?action=stop", "not_before=1e999", FORM, 400),
    ("POST", "/requests", "\x00\xff garbage", "text/plain", 400),
    ("POST", "/requests", "{not json", "application/json", 400),
    ("POST", "/requests", '{"action": 7}', "application/json", 400),
    ("POST", "/requests", "state=shutdown", "image/png", 415),
    ("POST", "/requests", "action=start&action=stop", FORM, 400),
    ("POST", "/requests?action=start", STOP_GRACEFUL, "text/plain", 400),
    ("GET", "/requests/nope", "", "text/plain", 404),
    ("DELETE", "/requests/nope", "", "text/plain", 404),
    ("PUT", "/requests", "", "text/plain", 405),
    ("PUT", "/requests/", "", "text/plain", 405),
    ("DELETE", "/requests/", "", "text/plain", 405),
]


@pytest.mark.parametrize(("method", "suffix", "body", "contentType", "status"), BAD)
@pt.ensureDeferred
async def test_bad_input_is_a_clear_4xx_and_stores_nothing(
    method: str, suffix: str, body: str, contentType: str, status: int
) -> None:
    client = Client()
    path = await activeCompute(client)
    before = await requestList(client, path)
    answer = await ask(client, method, path + suffix, body, Content_Type=contentType,
                       Accept="text/plain")
    assert answer.code == status, answer.text
    assert oneSentence(answer.text), answer.text
    if status == 405:
        assert answer.header("allow") in ("GET, HEAD, POST", "GET, HEAD, DELETE")
    assert await requestList(client, path) == before
    assert await computeState(client, path) == "active"


@pytest.mark.parametrize("target", ["/compute/missing/requests/", "/compute/missing/requests",
                                    "/compute/missing/requests/r1", "/nothing/x/requests/",
                                    "/compute/missing/requests/r1/deeper"])
@pt.ensureDeferred
async def test_requests_of_a_missing_entity_are_404(target: str) -> None:
    client = Client()
    for method in ("GET", "POST", "DELETE"):
        answer = await ask(client, method, target, "state=start", Content_Type=FORM,
                           Accept="text/plain")
        assert answer.code == 404, (method, answer.code, answer.text)
        assert oneSentence(answer.text), answer.text


@pt.ensureDeferred
async def test_put_and_post_on_a_request_are_405() -> None:
    client = Client()
    path = await activeCompute(client)
    location = (await requestList(client, path))[0]
    for method in ("PUT", "POST"):
        answer = await ask(client, method, location, "state=stop", Content_Type=FORM,
                           Accept="text/plain")
        assert answer.code == 405, answer.text
        assert answer.header("allow") == "GET, HEAD, DELETE"
    assert await requestList(client, path) == [location]


# -- collections: one request per entity ---------------------------------------------------


@pt.ensureDeferred
async def test_collection_action_makes_one_request_per_entity() -> None:
    client = Client()
    active = [await activeCompute(client) for _ in range(2)]
    idle = await client.create()
    answer = await ask(client, "POST", "/compute/?action=stop", "", **TEXT)
    assert answer.code == 200, answer.text
    # The collection as the action left it (GFD.223: an entity collection rendering).
    listed = await client.request("GET", "/compute/", Accept="text/plain")
    assert answer.body == listed.body and len(answer.text.splitlines()) == 3
    for path in active:
        locations = await requestList(client, path)
        assert len(locations) == 2
        assert (await requestOf(client, locations[1]))[f"{R}.action"] == f"{ACTIONS}stop"
        assert await computeState(client, path) == "inactive"
    assert await requestList(client, idle) == []


@pt.ensureDeferred
async def test_collection_action_beyond_the_budget_answers_202_with_its_requests() -> None:
    """As one action's 202 is its request: the requests still running, as a collection."""
    client = Client(timings=TIMINGS)
    active = [await activeCompute(client) for _ in range(2)]
    answer = await ask(client, "POST", "/compute/?action=stop", "", Prefer="respond-async",
                       Content_Type="text/plain", Accept="application/occi+json")
    assert answer.code == 202, answer.text
    requests = answer.json()["resources"]
    assert sorted(r["attributes"][f"{R}.target"] for r in requests) == sorted(active)
    assert all(r["kind"].endswith("request#request") for r in requests)
    assert len(answer.headers["link"]) == 2  # each a monitor


@pt.ensureDeferred
async def test_a_collection_actions_attributes_in_headers_do_not_filter_it() -> None:
    """In text/occi the action's attributes are headers, which on a GET would filter: on a
    POST they are the body, and the action reaches every member."""
    client = Client()
    active = [await activeCompute(client) for _ in range(2)]
    answer = await ask(client, "POST", "/compute/?action=stop", "", Content_Type="text/occi",
                       Accept="text/occi", X_OCCI_Attribute='method="graceful"')
    assert answer.code == 200, answer.text
    assert len(answer.headers["x-occi-location"][0].split(",")) == 2
    for path in active:
        assert await computeState(client, path) == "inactive"
        [_, stop] = await requestList(client, path)
        assert (await requestOf(client, stop))[f"{R}.parameters"] == {"method": "graceful"}


# -- times out of range, and two actions in one body -------------------------------------

OUT_OF_RANGE = ["1e300", "-1e300", "253402300800", "9999-12-31T23:59:59-01:00", "1e18"]


@pytest.mark.parametrize("notBefore", OUT_OF_RANGE)
@pt.ensureDeferred
async def test_out_of_range_not_before_on_an_action_is_refused(notBefore: str) -> None:
    client = Client()
    path = await activeCompute(client)
    before = await requestList(client, path)
    answer = await ask(client, "POST", path + "?action=stop", f"not_before={notBefore}",
                       Content_Type=FORM, Accept="text/plain",
                       Prefer="respond-async")
    assert answer.code == 400, answer.text
    assert await requestList(client, path) == before


@pytest.mark.parametrize("notBefore", OUT_OF_RANGE)
@pt.ensureDeferred
async def test_out_of_range_not_before_on_a_new_request_is_refused(notBefore: str) -> None:
    client = Client()
    path = await activeCompute(client)
    answer = await ask(client, "POST", path + "/requests",
                       f"state=stop&not_before={notBefore}",
                       Content_Type=FORM, Accept="text/plain")
    assert answer.code == 400, answer.text


@pt.ensureDeferred
async def test_two_different_action_categories_are_refused() -> None:
    client = Client()
    path = await activeCompute(client)
    before = await requestList(client, path)
    body = (f'Category: start; scheme="{ACTIONS}"; class="action"\n'
            f'Category: stop; scheme="{ACTIONS}"; class="action"\n')
    for target in (path + "/requests", path):
        answer = await ask(client, "POST", target, body, **TEXT)
        assert answer.code == 400, answer.text
    assert await requestList(client, path) == before
    assert await computeState(client, path) == "active"
