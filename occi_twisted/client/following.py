"""Following a request to its end by long poll: each ``GET`` carries the ``ETag`` last seen
and ``Prefer: wait=``, and the server answers the moment the request changes (or 304 when the
wait is over), so every step the request takes is shown as it is taken, and nothing is asked
in between.

With an XMPP account the steps come as notifications instead: the follower subscribes to the
node of the request's entity, reads the request once more over HTTP (a step taken before the
subscription is then not missed, and notifications older than that reading are dropped, by
their progress), and shows each step of this request that the notifications bring; at the
end, one ``GET`` reads the final state.  If XMPP fails, before or during, one line on standard
error says so and the long poll carries on from where the notifications left off.

Ctrl-C while following asks whether to cancel the request (a ``DELETE`` of it: a running one
stops at its next checkpoint); no, and the following goes on; a second Ctrl-C, or one without
a terminal to ask on, stops following and leaves the request running.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from types import FrameType
from typing import Any, TypeVar
from urllib.parse import urlsplit

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import IReadDescriptor
from twisted.python.failure import Failure
from zope.interface import implementer

from ..renderings.document import Document
from .errors import ClientError, XMPPUnavailable
from .notices import Notice, Notices, Subscription, nodeOf
from .progress import ProgressView, Step
from .session import Answer, Session

_T = TypeVar("_T")
_PREFIX = "occi-twisted.request."
FINAL = ("succeeded", "failed", "cancelled")
#: Seconds each long poll waits (below the server's idle timeout of a connection).
POLL_WAIT = 30


@dataclass(frozen=True)
class RequestState:
    """A request as one answer showed it."""

    answer: Answer
    document: Document

    def attribute(self, name: str) -> object:
        return self.document.attributes.get(_PREFIX + name)

    @property
    def state(self) -> str:
        return str(self.attribute("state") or "")

    @property
    def message(self) -> str:
        return str(self.attribute("message") or "")

    @property
    def action(self) -> str:
        return str(self.attribute("action") or "request").rpartition("#")[2]

    @property
    def step(self) -> Step:
        return Step.fromRequest(self.attribute("progress"), self.attribute("percent"))

    @property
    def final(self) -> bool:
        return self.state in FINAL

    def after(self, other: RequestState) -> bool:
        """Whether this state is later than ``other`` (of the same request): an end comes
        after any step, and a step after those of less progress."""
        return (self.final, self.step.percent) > (other.final, other.step.percent)


async def read(session: Session, url: str) -> RequestState:
    """The request at ``url`` as it is now."""
    return RequestState(answer := await session.call("GET", url), answer.document())


async def follow(session: Session, url: str, view: Callable[[RequestState], ProgressView]
                 | None = None, reactor: Any = None, notices: Notices | None = None
                 ) -> RequestState:
    """Follow the request at ``url`` to its end; each state it takes is shown on the view
    ``view`` makes (none: silently), by XMPP with ``notices``.  Returns the final state."""
    current = await read(session, url)
    if not current.state:
        raise ClientError(f"{current.answer.url} is not a request (its URL is "
                          "{entity}/requests/ID)")
    shown = view(current) if view is not None else None
    asking = _Interrupts(session, url, shown, reactor) if reactor is not None else None
    try:
        if notices is not None and not current.final:
            if shown is not None:
                shown.show(current.step)  # while connecting to the XMPP server
            current = await _notified(session, url, current, notices, shown=shown,
                                      asking=asking)
        while True:
            if shown is not None:
                shown.show(current.step)
            if current.final:
                break
            etag = current.answer.header("etag") or ""
            poll = session.call("GET", url, expect=(200, 304), headers={
                "Prefer": f"wait={POLL_WAIT}", "If-None-Match": etag})
            waited = await (asking.watch(poll) if asking is not None else poll)
            if waited.code == 200:
                current = RequestState(waited, waited.document())
    finally:
        if asking is not None:
            asking.stop()
        if shown is not None:
            shown.finish()
    return current


async def _notified(session: Session, url: str, current: RequestState, notices: Notices, *,
                    shown: ProgressView | None, asking: _Interrupts | None) -> RequestState:
    """Follow by XMPP until the request ends (then read over HTTP) or XMPP fails; the last
    state seen."""
    path = urlsplit(current.answer.url).path
    try:
        subscription = await notices.subscribe(nodeOf(path))
    except XMPPUnavailable as failed:
        return _fellBack(failed, current)
    try:
        current = await read(session, url)
        while not current.final:
            if shown is not None:
                shown.show(current.step)
            notice = await (asking.watch(_nextOf(subscription)) if asking is not None
                            else subscription.next())
            document = notice.document() if notice.aboutPath == path else None
            if document is not None:
                stepped = RequestState(current.answer, document)
                current = stepped if stepped.after(current) else current
        return await read(session, url)
    except XMPPUnavailable as failed:
        return _fellBack(failed, current)
    finally:
        await subscription.close()


async def _nextOf(subscription: Subscription) -> Notice:
    return await subscription.next()


def _fellBack(failed: XMPPUnavailable, current: RequestState) -> RequestState:
    unavailable(failed, "following by long poll")
    return current


def unavailable(failed: XMPPUnavailable, instead: str) -> None:
    """One line on standard error: XMPP failed, and what is done instead."""
    sys.stderr.write(f"occi: no events over XMPP ({failed}); {instead}\n")
    sys.stderr.flush()


class _Interrupts:
    """Ctrl-C while a request is followed."""

    def __init__(self, session: Session, url: str, view: ProgressView | None,
                 reactor: Any) -> None:
        self.session, self.url, self.view, self.reactor = session, url, view, reactor
        self.asking = False
        self.pending: Deferred[Any] | None = None
        self._reader: _LineReader | None = None
        self.previous = signal.signal(signal.SIGINT, self._signalled)

    def stop(self) -> None:
        signal.signal(signal.SIGINT, self.previous)
        if self._reader is not None:
            self.reactor.removeReader(self._reader)

    def watch(self, poll: Coroutine[Any, Any, _T]) -> Deferred[_T]:
        """``poll`` (a long poll, or waiting for a notification) as a Deferred that a
        second Ctrl-C cancels."""
        self.pending = Deferred.fromCoroutine(poll)
        self.pending.addErrback(self._stopped)
        return self.pending

    def _stopped(self, failure: Failure) -> None:
        failure.trap(CancelledError)
        raise ClientError(f"stopped following; the request goes on: {self.url}")

    def _signalled(self, number: int, frame: FrameType | None) -> None:
        self.reactor.callFromThread(self._interrupted)

    def _interrupted(self) -> None:
        if self.asking or not sys.stdin.isatty():
            if self.pending is not None:
                self.pending.cancel()
            return
        self.asking = True
        if self.view is not None:
            self.view.suspend()
        out = self.view.out if self.view is not None else sys.stdout
        out.write(f"Cancel the request {self.url}? [y/N] ")
        out.flush()
        self._reader = _LineReader(self._answered)
        self.reactor.addReader(self._reader)

    def _answered(self, line: str) -> None:
        self.reactor.removeReader(self._reader)
        self._reader = None
        self.asking = False
        if line.strip().lower() in ("y", "yes"):
            Deferred.fromCoroutine(self._cancel()).addErrback(self._cancelFailed)
        elif self.view is not None:
            self.view.resume()

    async def _cancel(self) -> None:
        await self.session.call("DELETE", self.url, expect=(200, 202, 204))
        sys.stderr.write("Cancelling; waiting for the request to stop.\n")
        if self.view is not None:
            self.view.resume()

    def _cancelFailed(self, failure: Failure) -> None:
        failure.trap(ClientError)
        sys.stderr.write(f"occi: {failure.value}\n")
        if self.view is not None:
            self.view.resume()


@implementer(IReadDescriptor)
class _LineReader:
    """One line of standard input, read by the reactor (no thread left blocked on it)."""

    def __init__(self, answered: Callable[[str], None]) -> None:
        self.answered = answered
        self.buffer = b""

    def fileno(self) -> int:
        return sys.stdin.fileno()

    def doRead(self) -> None:
        data = os.read(self.fileno(), 1024)
        self.buffer += data
        if b"\n" in self.buffer or not data:
            self.answered(self.buffer.decode("utf-8", "replace").partition("\n")[0])

    def connectionLost(self, reason: Failure) -> None:
        pass

    def logPrefix(self) -> str:
        return "stdin"
