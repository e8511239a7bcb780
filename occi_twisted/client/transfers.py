"""Images and archives to and from files: a storage's image down (``GET`` as
``application/octet-stream``, 303 to a signed URL) and up (``PUT``, 307 to a signed upload
URL), a compute's OVA down (``GET`` as ``application/x-ova``).

A download that stopped short resumes: what is on disk is kept, and the rest asked for with
``Range: bytes=N-`` (a 206 appends; a 200 -- the server would not resume -- starts over).
Bodies stream through in chunks, never whole in memory, and the progress view is fed by the
bytes themselves as they go.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import treq
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IConsumer
from twisted.web.client import FileBodyProducer, ResponseFailed
from twisted.web.iweb import IBodyProducer
from zope.interface import implementer

from .errors import ClientError
from .progress import ProgressView, Step
from .session import Answer, Session, refusal

OCTET = "application/octet-stream"
OVA = "application/x-ova"
_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED = re.compile(r"bytes \*/(\d+)")


async def signedURL(session: Session, method: str, where: str, headers: dict[str, str],
                    code: int) -> str:
    """Where the server sends the bytes of ``where`` (its ``Location`` after ``code``)."""
    answer = await session.call(method, where, headers=headers, accept=headers.get(
        "Accept", "text/plain"), expect=(code,))
    location = answer.header("location")
    if not location:
        raise ClientError(f"{answer.url} answered {code} without a Location")
    return session.connection.url(location)


async def download(session: Session, where: str, target: Path, mediaType: str,
                   view: Callable[[str], ProgressView]) -> int:
    """Save the ``mediaType`` representation of ``where`` to ``target``, resuming what a
    previous download left there; the bytes written this time."""
    signed = await signedURL(session, "GET", where, {"Accept": mediaType}, 303)
    have = target.stat().st_size if target.is_file() else 0
    response = await session.open("GET", signed, headers={"Range": f"bytes={have}-"}
                                  if have else {})
    if response.code == 416 and have:
        await treq.content(response)
        whole = _UNSATISFIED.fullmatch(_header(response, "content-range") or "")
        if whole and int(whole.group(1)) == have:
            return 0  # complete already
        raise ClientError(f"{target} is longer than {where}'s {mediaType}: remove it first")
    if response.code == 206:
        ranged = _RANGE.fullmatch(_header(response, "content-range") or "")
        if ranged is None or int(ranged.group(1)) != have:
            raise ClientError(f"{signed} answered a range that does not continue {target}")
        total, mode = int(ranged.group(3)) if ranged.group(3) != "*" else None, "ab"
    elif response.code == 200:
        have, mode = 0, "wb"
        total = response.length if isinstance(response.length, int) else None
    else:
        body = await treq.content(response)
        raise refusal(Answer(response.code, response.headers, body, signed))
    shown = view(target.name)
    done = have
    with target.open(mode) as out:
        def write(chunk: bytes) -> None:
            nonlocal done
            out.write(chunk)
            done += len(chunk)
            shown.show(_transferStep(done, total))

        try:
            await treq.collect(response, write)
        except ResponseFailed as failed:
            shown.finish()
            raise ClientError(f"the download stopped after {done} bytes ({failed}); run "
                              "the same command again to resume") from None
    shown.show(_transferStep(done, total or done))
    shown.finish()
    return done - have


async def upload(session: Session, source: Path, where: str,
                 view: Callable[[str], ProgressView]) -> str:
    """Send ``source`` as the image of the storage at ``where``; the server's sentence.

    The first ``PUT`` only asks where to send the image: it has no body, and closes its
    connection (a server that does not read an image's body may not keep the connection
    for another request either)."""
    signed = await signedURL(session, "PUT", where,
                             {"Content-Type": OCTET, "Connection": "close"}, 307)
    total = source.stat().st_size
    shown = view(source.name)
    with source.open("rb") as body:
        counted = _Counting(body, lambda done: shown.show(_transferStep(done, total)))
        try:
            answer = await session.call("PUT", signed, headers={"Content-Type": OCTET},
                                        body=counted, accept="text/plain",
                                        expect=(200, 201, 204))
        finally:
            shown.finish()
    return " ".join(answer.body.decode("utf-8", "replace").split())


def _transferStep(done: int, total: int | None) -> Step:
    percent = 100.0 * done / total if total else 0.0
    return Step(percent, done, total)


def _header(response: Any, name: str) -> str | None:
    found = response.headers.getRawHeaders(name)
    return str(found[-1]) if found else None


@implementer(IBodyProducer)
class _Counting:
    """A file as a request body, telling ``progress`` how many bytes have gone."""

    def __init__(self, body: BinaryIO, progress: Callable[[int], None]) -> None:
        self._inner = FileBodyProducer(body)
        self.length = self._inner.length
        self._progress = progress

    def startProducing(self, consumer: IConsumer) -> Deferred[None]:
        started: Deferred[None] = self._inner.startProducing(
            _CountingConsumer(consumer, self._progress))
        return started

    def pauseProducing(self) -> None:
        self._inner.pauseProducing()

    def resumeProducing(self) -> None:
        self._inner.resumeProducing()

    def stopProducing(self) -> None:
        self._inner.stopProducing()


@implementer(IConsumer)
class _CountingConsumer:
    def __init__(self, consumer: IConsumer, progress: Callable[[int], None]) -> None:
        self._consumer, self._progress, self._done = consumer, progress, 0

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self._consumer.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        self._consumer.unregisterProducer()

    def write(self, data: bytes) -> None:
        self._consumer.write(data)
        self._done += len(data)
        self._progress(self._done)
