"""The client's side of events over XMPP, without a network: notices read from Atom entries,
the XMPP account from options and environment, and the follower fed by a fake subscription
(older notices dropped, other requests' ignored, a lost stream continued by long poll)."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.defer import Deferred
from twisted.web.http_headers import Headers
from twisted.words.xish import domish

from occi_twisted.client.config import XMPPAccount, xmppFrom
from occi_twisted.client.errors import UsageError, XMPPUnavailable
from occi_twisted.client.following import RequestState, follow
from occi_twisted.client.notices import Notice, nodeOf, noticeOf
from occi_twisted.client.progress import ProgressView, Step
from occi_twisted.client.session import Answer
from occi_twisted.renderings.atom import EVENT_SCHEME, NAMESPACE

STORAGE = "/storage/6a1c"
REQUEST = f"{STORAGE}/requests/r1"
URL = f"http://127.0.0.1:8080{REQUEST}"


def _entry(about: str, state: str, percent: float, eventId: str = "e1") -> str:
    """An entry as the server writes a request's step (CR LF line ends as ``&#13;``)."""
    progress = json.dumps({"percent": percent, "pass": 2, "passes": 3}, separators=(",", ":"))
    lines = ['Category: request; scheme="http://schemas.occi-twisted.org/occi#"; '
             'class="kind"',
             f'X-OCCI-Attribute: occi-twisted.request.state="{state}"',
             'X-OCCI-Attribute: occi-twisted.request.progress="{}"'.format(
                 progress.replace('"', '\\"')),
             f"X-OCCI-Attribute: occi-twisted.request.percent={percent}"]
    content = "".join(line + "&#13;\n" for line in lines).replace("<", "&lt;")
    return (f'<entry xmlns="{NAMESPACE}"><id>urn:uuid:{eventId}</id>'
            f"<title>secure_erase {STORAGE} {state}</title>"
            "<updated>2026-12-03T16:40:55.434Z</updated>"
            f'<link rel="related" href="http://h{STORAGE}"/>'
            f'<link rel="alternate" href="http://h{about}"/>'
            f'<category term="progress" scheme="{EVENT_SCHEME}"/>'
            f'<content type="text">{content}</content></entry>')


def _element(xml: str) -> domish.Element:
    """``xml`` parsed by Twisted's XML stream parser, as a notification's payload is."""
    found: list[domish.Element] = []
    stream = domish.elementStream()
    stream.DocumentStartEvent = lambda root: None
    stream.ElementEvent = found.append
    stream.DocumentEndEvent = lambda: None
    stream.parse(f"<item>{xml}</item>".encode())
    return found[0]


def _notice(about: str, state: str, percent: float, eventId: str = "e1") -> Notice:
    notice = noticeOf(_element(_entry(about, state, percent, eventId)))
    assert notice is not None
    return notice


def test_a_notice_is_read_from_its_atom_entry() -> None:
    notice = _notice(REQUEST, "running", 62.5)
    assert (notice.id, notice.type, notice.aboutPath) == ("e1", "progress", REQUEST)
    assert notice.line() == f"2026-12-03T16:40:55.434Z  progress  secure_erase {STORAGE} running"
    assert json.loads(notice.asJSON())["url"] == f"http://h{REQUEST}"
    document = notice.document()
    assert document is not None
    # The text rendering carries the progress as a string of JSON: read as the JSON one is.
    state = RequestState(_answer("queued", 0.0), document)
    assert (state.state, state.step) == ("running", Step(62.5, None, None, 2, 3, None))
    assert noticeOf(_element("<other/>")) is None
    gone = Notice("e2", "", "deleted", "", f"http://h{STORAGE}", f"{STORAGE} was deleted.\r\n")
    assert gone.document() is None or not gone.document().attributes  # type: ignore[union-attr]


def test_the_node_of_a_request_is_its_entitys() -> None:
    assert nodeOf(REQUEST) == STORAGE
    assert (nodeOf(STORAGE), nodeOf("/storage/"), nodeOf("/")) == (STORAGE, "/storage/", "/")


def test_the_xmpp_account_from_options_and_environment(tmp_path: Path) -> None:
    assert xmppFrom(None, None, None, None, {}) is None
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    account = xmppFrom("alice@example.com/laptop", str(secret), "pubsub.example.com", None, {})
    assert account == XMPPAccount("alice@example.com/laptop", "s3cret", "pubsub.example.com",
                                  "example.com", 5222)
    assert not account.loopback
    env = {"OCCI_XMPP_JID": "bob@localhost", "OCCI_XMPP_PASSWORD": "pw",
           "OCCI_XMPP_SERVICE": "pubsub.localhost", "OCCI_XMPP_SERVER": "[::1]:5333"}
    local = xmppFrom(None, None, None, None, env)
    assert local is not None and (local.host, local.port, local.loopback) == ("::1", 5333, True)
    for options, said in [
            (("alice", None, "s", None), "user@domain"),
            (("alice@h", None, "s", None), "no XMPP password"),
            (("alice@h", str(secret), None, None), "--xmpp-service"),
            (("alice@h", str(secret), "s", "h:port"), "HOST:PORT"),
            (("alice@h", str(tmp_path / "none"), "s", None), "cannot read")]:
        with pytest.raises(UsageError, match=said):
            xmppFrom(*options, {})


def _answer(state: str, percent: float) -> Answer:
    body = json.dumps({"kind": "http://schemas.occi-twisted.org/occi#request", "id": "r1",
                       "attributes": {"occi-twisted.request.state": state,
                                      "occi-twisted.request.action": "x#secure_erase",
                                      "occi-twisted.request.progress": {"percent": percent}}})
    return Answer(200, Headers({"etag": [f'"{state}{percent}"']}), body.encode(), URL)


class FakeSession:
    """Answers GETs of the request from a script; records what was asked."""

    def __init__(self, answers: Sequence[Answer]) -> None:
        self.answers = list(answers)
        self.asked: list[dict[str, str]] = []

    async def call(self, method: str, where: str, *, headers: dict[str, str] | None = None,
                   **ignored: Any) -> Answer:
        assert (method, where) == ("GET", URL)
        self.asked.append(headers or {})
        return self.answers.pop(0)


class FakeSubscription:
    def __init__(self, notices: list[Notice | XMPPUnavailable]) -> None:
        self.notices, self.closed = notices, False

    async def next(self) -> Notice:
        got = self.notices.pop(0)
        if isinstance(got, XMPPUnavailable):
            raise got
        return got

    async def close(self) -> None:
        self.closed = True


class FakeNotices:
    def __init__(self, subscription: FakeSubscription) -> None:
        self.subscription, self.nodes = subscription, list[str]()

    async def subscribe(self, node: str) -> FakeSubscription:
        self.nodes.append(node)
        return self.subscription


def _followed(session: FakeSession, notices: FakeNotices) -> tuple[RequestState, list[str]]:
    out = io.StringIO()
    done: Deferred[RequestState] = Deferred.fromCoroutine(follow(
        session, URL, lambda state: ProgressView(out, state.action, terminal=False),  # type: ignore[arg-type]
        notices=notices))
    results: list[RequestState] = []
    done.addCallback(results.append)
    assert results, "the follower waited for something the fakes never give"
    return results[0], [line.split("%")[0].split(":")[1].strip()
                        for line in out.getvalue().splitlines()]


def test_following_by_notices_skips_older_ones_and_other_requests() -> None:
    session = FakeSession([_answer("queued", 0.0), _answer("running", 25.0),
                           _answer("succeeded", 100.0)])
    subscription = FakeSubscription([
        _notice(REQUEST, "running", 12.5),  # sent before the second GET: older
        _notice(f"{STORAGE}/requests/other", "running", 50.0),
        _notice(REQUEST, "running", 50.0), _notice(REQUEST, "succeeded", 100.0)])
    notices = FakeNotices(subscription)
    final, shown = _followed(session, notices)
    assert final.state == "succeeded" and notices.nodes == [STORAGE]
    assert shown == ["0.0", "25.0", "50.0", "100.0"]
    # Read before and after subscribing, and at the end: no long poll.
    assert len(session.asked) == 3 and not any("Prefer" in asked for asked in session.asked)
    assert subscription.closed


def test_a_lost_stream_is_followed_on_by_long_poll(capsys: pytest.CaptureFixture[str]) -> None:
    session = FakeSession([_answer("running", 0.0), _answer("running", 10.0),
                           _answer("succeeded", 100.0)])
    subscription = FakeSubscription([_notice(REQUEST, "running", 50.0),
                                     XMPPUnavailable("the XMPP connection was lost")])
    final, shown = _followed(session, FakeNotices(subscription))
    assert final.state == "succeeded" and shown == ["0.0", "10.0", "50.0", "100.0"]
    assert session.asked[-1]["Prefer"].startswith("wait=")
    assert capsys.readouterr().err == ("occi: no events over XMPP (the XMPP connection was "
                                       "lost); following by long poll\n")
    assert subscription.closed
