"""Stateful fuzzing: sequences of requests that build on each other -- create entities in
any rendering, link them, define mixins (wherever they claim to live), tag, act, write notes,
read everything back in every format, send it back modified, delete -- with random requests
in between.  The property is the one of :mod:`.test_routes`: no answer is a 5xx."""

from __future__ import annotations

import json
from urllib.parse import quote

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    multiple,
    rule,
)

from occi_twisted.model import locations

from .space import FORMATS, NASTY, REGISTRY, attributeValues, headers, requests
from .test_routes import TEMPLATE, checkAnswer
from .world import INFRA, Answer, Request, World

KINDS = ["compute", "storage", "network"]
#: How each rendering spells a new entity of a kind with some attributes.
SPELLINGS = ["text/plain", "application/occi+json", "application/x-www-form-urlencoded"]
ACTIONS = sorted({(a.scheme, a.term) for a in REGISTRY.actions()})


def _spelled(mediaType: str, kind: str, attributes: list[str]) -> bytes:
    pairs = [a.partition("=")[::2] for a in attributes]
    if mediaType == "application/occi+json":
        values = {name: _jsonValue(value) for name, value in pairs}
        return json.dumps({"kind": f"{INFRA}{kind}", "attributes": values}).encode(
            "utf-8", "surrogatepass")
    if mediaType == "application/x-www-form-urlencoded":
        fields = [f"kind={_quoted(INFRA + kind)}",
                  *(f"{_quoted(n)}={_quoted(v)}" for n, v in pairs)]
        return "&".join(fields).encode()
    lines = [f'Category: {kind}; scheme="{INFRA}"; class="kind"',
             *(f"X-OCCI-Attribute: {a}" for a in attributes)]
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def _quoted(text: str, safe: str = "") -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe=safe)


def _jsonValue(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


class Server(RuleBasedStateMachine):
    entities = Bundle("entities")
    mixins = Bundle("mixins")

    def __init__(self) -> None:
        super().__init__()
        self.world = World.seeded()

    def send(self, method: str, path: str, body: bytes = b"",
             *extra: tuple[bytes, bytes], contentType: str = "text/plain",
             accept: str = "*/*") -> Answer:
        sent = ((b"Content-Type", contentType.encode()), (b"Accept", accept.encode()), *extra)
        answer = self.world.send(Request(method.encode(), path.encode("utf-8", "surrogatepass"),
                                         sent, body))
        checkAnswer(answer)
        event(f"{method} {path.partition('/')[2].partition('/')[0][:20]} -> {answer.code}")
        return answer

    @initialize(target=entities)
    def seeds(self) -> object:
        return multiple("/compute/c1", "/storage/s1", "/network/n1", "/networkinterface/ni1",
                        "/storagelink/sl1")

    @rule(target=entities, kind=st.sampled_from(KINDS), mediaType=st.sampled_from(SPELLINGS),
          attributes=st.lists(attributeValues(), max_size=4),
          at=st.none() | st.sampled_from(["x1", "x2", "x3"]) | NASTY)
    def create(self, kind: str, mediaType: str, attributes: list[str],
               at: str | None) -> str:
        if kind == "storage":
            attributes = ["occi.storage.size=1", *attributes]
        body = _spelled(mediaType, kind, attributes)
        if at is None:
            answer = self.send("POST", f"/{kind}/", body, contentType=mediaType,
                               accept="text/uri-list")
        else:
            answer = self.send("PUT", f"/{kind}/{_quoted(at)}", body,
                               contentType=mediaType)
        location = dict(_headers(answer)).get(b"location", b"/compute/c1")
        return location.decode().removeprefix("http://occi.test")

    @rule(target=entities, source=entities, target_=entities,
          kind=st.sampled_from(["networkinterface", "storagelink", "link"]),
          attributes=st.lists(attributeValues(), max_size=2))
    def link(self, source: str, target_: str, kind: str, attributes: list[str]) -> str:
        body = _spelled("text/plain", kind, [f'occi.core.source="{source}"',
                                             f'occi.core.target="{target_}"',
                                             'occi.storagelink.deviceid="vdc"', *attributes])
        answer = self.send("POST", f"/{kind}/", body)
        location = dict(_headers(answer)).get(b"location", b"/networkinterface/ni1")
        return location.decode().removeprefix("http://occi.test")

    @rule(target=mixins, term=st.sampled_from(["t1", "t2"]) | NASTY,
          location=st.sampled_from(["/t1/", "/t2/", "/compute/victim/", "/log/", "/-/",
                                    "/templates/", "/", "/compute/"]) | NASTY,
          applies=st.sampled_from(KINDS))
    def defineMixin(self, term: str, location: str, applies: str) -> str:
        self.send("POST", locations.QUERY,
                  f'Category: {term}; scheme="http://fuzz.example/m#"; class="mixin"; '
                  f'location="{location}"; rel="{INFRA}{applies}"'.encode("utf-8",
                                                                          "surrogatepass"))
        return location

    @rule(mixin=mixins, entity=entities, method=st.sampled_from(["POST", "PUT", "DELETE"]))
    def tag(self, mixin: str, entity: str, method: str) -> None:
        self.send(method, _quoted(mixin, safe="/"),
                  f"X-OCCI-Location: http://occi.test{entity}".encode("utf-8", "surrogatepass"))

    @rule(entity=entities, action=st.sampled_from(ACTIONS),
          attributes=st.lists(attributeValues(), max_size=2), extra=headers(maxSize=2))
    def act(self, entity: str, action: tuple[str, str], attributes: list[str],
            extra: list[tuple[bytes, bytes]]) -> None:
        scheme, term = action
        body = "\n".join([f'Category: {term}; scheme="{scheme}"; class="action"',
                          *(f"X-OCCI-Attribute: {a}" for a in attributes)])
        self.send("POST", f"{entity}?action={term}", body.encode("utf-8", "surrogatepass"),
                  *extra)

    @rule(entity=entities, text=NASTY, asJSON=st.booleans(), extra=headers(maxSize=2))
    def note(self, entity: str, text: str, asJSON: bool,
             extra: list[tuple[bytes, bytes]]) -> None:
        body = json.dumps({"text": text}) if asJSON else text
        self.send("POST", locations.notesOf(entity), body.encode("utf-8", "surrogatepass"),
                  *extra, contentType="application/json" if asJSON else "text/plain")

    @rule(entity=entities, format=st.sampled_from(FORMATS), change=NASTY)
    def roundTrip(self, entity: str, format: str, change: str) -> None:
        """GET it, modify it, PUT it back -- in every representation."""
        got = self.send("GET", f"{entity}?format={format}")
        if got.code != 200:
            return
        mediaType = dict(_headers(got)).get(b"content-type", b"text/plain").decode()
        body = got.body.replace(b"2", change.encode("utf-8", "surrogatepass"), 1)
        self.send("PUT", entity, body, contentType=mediaType.split(";")[0])

    @rule(entity=entities, format=st.sampled_from(FORMATS),
          sub=st.sampled_from(["", "/log/", "/requests/", "/notes/"]))
    def read(self, entity: str, format: str, sub: str) -> None:
        self.send("GET", f"{entity}{sub}?format={format}")

    @rule(entity=consumes(entities))
    def delete(self, entity: str) -> None:
        self.send("DELETE", entity)

    @rule(request=requests(TEMPLATE))
    def anything(self, request: Request) -> None:
        checkAnswer(self.world.send(request))


def _headers(answer: Answer) -> list[tuple[bytes, bytes]]:
    head = answer.raw.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]
    return [(name.strip().lower(), value.strip())
            for name, _, value in (line.partition(b":") for line in head)]


Server.TestCase.settings = settings(max_examples=10, stateful_step_count=25, deadline=None,
                                    suppress_health_check=list(HealthCheck))
TestServer = Server.TestCase
