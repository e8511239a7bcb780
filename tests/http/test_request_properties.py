"""Property: whatever a client POSTs to ``{compute}/requests``, the answer is never a 500; a
refused one (4xx) stores no request and leaves the compute as it was; an accepted one (202)
stores exactly the request its Location names."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from .support import BASE, INFRA, Client, synchronously

ACTIONS = "http://schemas.ogf.org/occi/infrastructure/compute/action#"
NOW = 1_700_000_000
SEED = "/compute/seed"

#: not_before values a client might send; all within the range a request can be shown in
#: (out-of-range times are a known bug, see test_requests.test_out_of_range_not_before_*).
NOT_BEFORE = st.sampled_from([
    str(NOW - 10), str(NOW), str(NOW + 60), f"{NOW + 0.5}", "2023-11-14T23:00:00Z",
    "2023-11-14T23:00:00+01:00", "2023-11-14T23:00:00", "soon", "", "nan", "inf", "-inf",
    "1e999", "0x10", "2023-13-45T99:99:99Z",
])
STATES = st.sampled_from(["shutdown", "stop", "stopped", "start", "started", "restart",
                          "suspend", "suspended", "explode", "", "SHUTDOWN", " stop "])
METHODS = st.sampled_from(["acpioff", "graceful", "poweroff", "warm", "cold", "hibernate",
                           "suspend", "yank", ""])
TERMS = st.sampled_from(["start", "stop", "restart", "suspend", "save", "fly", "backup",
                         f"{ACTIONS}stop", f"{ACTIONS}fly", f"{INFRA}compute", "#", "a b"])

FORM_FIELD = st.one_of(
    st.builds("state={}".format, STATES),
    st.builds("type={}".format, METHODS),
    st.builds("method={}".format, METHODS),
    st.builds("action={}".format, TERMS),
    st.builds("not_before={}".format, NOT_BEFORE),
    st.builds("occi-twisted.request.not_before={}".format, NOT_BEFORE),
    st.sampled_from(["name=x", "_method=DELETE", "_method=PUT", "title=t", "=v", "%ff=1",
                     "kind=compute", "mixin=small", "location=/compute/seed", "state",
                     "compute.cores=2"]),
    st.builds("{}={}".format, st.text(max_size=12), st.text(max_size=12)),
)
FORM = st.lists(FORM_FIELD, max_size=5).map(lambda fields: "&".join(fields).encode())

TEXT_LINE = st.one_of(
    st.builds('Category: {}; scheme="{}"; class="action"'.format,
              st.sampled_from(["start", "stop", "restart", "suspend", "save", "fly"]),
              st.sampled_from([ACTIONS, INFRA, "http://x.example/a#"])),
    st.builds('X-OCCI-Attribute: method="{}"'.format, METHODS),
    st.builds('X-OCCI-Attribute: not_before="{}"'.format, NOT_BEFORE),
    st.builds('X-OCCI-Attribute: occi-twisted.request.not_before="{}"'.format, NOT_BEFORE),
    st.sampled_from([
        f'Category: compute; scheme="{INFRA}"; class="kind"',
        "X-OCCI-Attribute: method=graceful",
        'X-OCCI-Attribute: state="shutdown"',
        "X-OCCI-Attribute: occi.compute.cores=2",
        'X-OCCI-Attribute: occi-twisted.request.state="succeeded"',
        "X-OCCI-Location: /compute/seed",
        'Link: </compute/seed/requests/x>; rel="monitor"',
        "Category: stop",
        "Category:",
        "X-OCCI-Attribute:",
    ]),
    st.text(max_size=40),
)
TEXT = st.lists(TEXT_LINE, max_size=5).map(lambda lines: "\n".join(lines).encode())

JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=3),
    max_leaves=6,
)
JSON = st.one_of(
    st.builds(lambda action, attrs: json.dumps({"action": action, "attributes": attrs}).encode(),
              st.one_of(TERMS, JSON_VALUE),
              st.one_of(st.dictionaries(st.sampled_from(["method", "not_before", "x"]),
                                        st.one_of(METHODS, NOT_BEFORE, JSON_VALUE),
                                        max_size=2), JSON_VALUE)),
    JSON_VALUE.map(lambda value: json.dumps(value).encode()),
)

#: Bodies a well-behaved client sends: mostly accepted (or refused as a transition).
VALID_NOT_BEFORE = st.sampled_from([str(NOW - 10), str(NOW + 60), "2023-11-14T23:00:00Z"])
#: (action, method) pairs the compute's actions take (no method: the default).
INVOCATIONS = st.sampled_from([
    ("start", ""), ("stop", ""), ("stop", "acpioff"), ("stop", "graceful"), ("stop", "poweroff"),
    ("restart", "warm"), ("restart", "cold"), ("suspend", "hibernate"), ("suspend", ""),
    ("save", ""),
])
VALID_FORM = st.builds(
    lambda invocation, notBefore: "&".join(
        field for field in (f"state={invocation[0]}", invocation[1] and f"type={invocation[1]}",
                            notBefore and f"not_before={notBefore}") if field).encode(),
    INVOCATIONS.filter(lambda invocation: invocation[0] != "save"),
    st.one_of(st.just(""), VALID_NOT_BEFORE))
VALID_TEXT = st.builds(
    lambda invocation, notBefore: "".join((
        f'Category: {invocation[0]}; scheme="{ACTIONS}"; class="action"\n',
        f'X-OCCI-Attribute: method="{invocation[1]}"\n' if invocation[1] else "",
        f'X-OCCI-Attribute: not_before="{notBefore}"\n' if notBefore else "")).encode(),
    INVOCATIONS, st.one_of(st.just(""), VALID_NOT_BEFORE))

WELL_FORMED = st.one_of(
    st.tuples(st.just("application/x-www-form-urlencoded"), VALID_FORM),
    st.tuples(st.just("text/plain"), VALID_TEXT),
)
ANY = st.one_of(
    st.tuples(st.just("application/x-www-form-urlencoded"), FORM),
    st.tuples(st.sampled_from(["text/plain", "text/occi"]), TEXT),
    st.tuples(st.sampled_from(["application/json", "application/occi+json"]), JSON),
    st.tuples(st.sampled_from(["text/plain", "application/x-www-form-urlencoded",
                               "application/json", "image/png", ""]),
              st.binary(max_size=200)),
)
#: Half well formed, half anything.
BODIES = st.booleans().flatmap(lambda wellFormed: WELL_FORMED if wellFormed else ANY)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=BODIES, query=st.one_of(st.none(), st.none(), TERMS), active=st.booleans(),
       accept=st.sampled_from(["text/plain", "application/json", "text/occi", "*/*"]),
       prefer=st.sampled_from([None, "respond-async", "wait=abc", "handling=lenient"]))
def test_posted_requests_never_500_and_refusals_store_nothing(
    body: tuple[str, bytes], query: str | None, active: bool, accept: str, prefer: str | None
) -> None:
    contentType, content = body
    synchronously(_post(contentType, content, query, active, accept, prefer))


async def _post(contentType: str, content: bytes, query: str | None, active: bool,
                accept: str, prefer: str | None) -> None:
    client = Client()
    created = await client.request("PUT", SEED, f'Category: compute; scheme="{INFRA}"; '
                                   'class="kind"\n', Content_Type="text/plain")
    assert created.code == 201, created.text
    if active:
        started = await client.request("POST", SEED + "?action=start", "",
                                       Content_Type="text/plain")
        assert started.code == 200, started.text
    before = await _requests(client)
    entity = await client.request("GET", SEED, Accept="application/json")
    headers = {"Accept": accept}
    if contentType:
        headers["Content_Type"] = contentType
    if prefer is not None:
        headers["Prefer"] = prefer
    target = SEED + "/requests" + (f"?action={query}" if query is not None else "")
    answer = await client.request("POST", target, content, **headers)

    event(f"status {answer.code}")
    assert answer.code < 500, (answer.code, answer.text)
    assert "Traceback" not in answer.text
    after = await _requests(client)
    if answer.code >= 400:
        assert after == before, answer.text
        unchanged = await client.request("GET", SEED, Accept="application/json")
        assert unchanged.body == entity.body
        return
    assert answer.code == 202, (answer.code, answer.text)
    location = answer.header("location")
    assert location is not None and location.startswith(f"{BASE}{SEED}/requests/")
    assert [item["id"] for item in after] == [item["id"] for item in before] + [
        location.rpartition("/")[2]]
    made = after[-1]["attributes"]
    assert made["occi-twisted.request.target"] == SEED
    # Instant actions: over at once unless they wait for a time still to come.
    assert made["occi-twisted.request.state"] in ("succeeded", "scheduled"), made


async def _requests(client: Client) -> list[dict[str, Any]]:
    listing = await client.request("GET", SEED + "/requests/", Accept="application/json")
    assert listing.code == 200, listing.text
    resources = json.loads(listing.body).get("resources", [])
    assert isinstance(resources, list)
    return resources
