"""Answering a GET or HEAD with a :class:`.body.Body`: its validators, the conditional
requests and ranges of RFC 9110 (§13, §14), and its bytes streamed from a thread pool.

``twisted.web.static.File`` answers ranges too, but it reads its file on the reactor thread
(one slow disk stalls every client) and serves one file, where a body is a row of parts; its
shape is kept (one range: 206 with ``Content-Range``; several: multipart/byteranges with the
length computed before sending; none satisfiable: 416), and the reading is
:class:`.producer.BodyProducer`'s.

A route hands the body over and awaits the answer::

    body = await deferToThreadPool(reactor, pool, openImage, path)  # opening blocks too
    return await sendBody(request, body, pool, reactor)

:func:`sendBody` owns the body from the call on: it closes it exactly once, however the
answer ends.  It finishes the request itself and returns ``None``; Klein, which finishes a
request after a route that returns ``None`` only if it is not finished yet, writes nothing
more.  The answer is meant for a signed URL (a credential that expires): it is
``Cache-Control: private`` (no shared cache keeps it beyond the URL's life) and
``no-transform`` (a proxy that recompressed an image would break ranges and digests).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Sequence
from email.utils import formatdate
from urllib.parse import quote

from twisted.internet.interfaces import IReactorFromThreads, IReactorTime
from twisted.python.threadpool import ThreadPool
from twisted.web.iweb import IRequest

from ..http import parts
from .body import Body
from .producer import BodyProducer, Step
from .ranges import Span, contentRange, multipart, parseRanges

#: Bytes read in one go, measured with bench/files_bench.py: 256 KiB reads cost half as much
#: CPU again (a thread hand-off each); 4 MiB ones save little more and hold 8-12 MiB per
#: download; and a hole of a whole 1 MiB slice is sent as the shared block of zeros.
CHUNK = 1 << 20

#: An entity-tag or ``*`` in an If-Match / If-None-Match list.
_TAG = re.compile(r'\*|(?:W/)?"[^"]*"')


async def sendBody(request: IRequest, body: Body, reader: ThreadPool,
                   reactor: IReactorFromThreads, *, chunkSize: int = CHUNK) -> None:
    """Answer ``request`` (GET or HEAD; other methods are told 405) with ``body``, reading
    it in ``reader`` (a started pool) in slices of ``chunkSize``; returns once the answer
    is complete or the client gone.  ``reactor`` also provides ``IReactorTime`` (the clock
    that says whether ``Last-Modified`` may validate ``If-Range``)."""
    producer: BodyProducer | None = None
    try:
        if getattr(request, "channel", True) is None:
            return  # the client left while the body was being opened
        steps = _prepare(request, body, IReactorTime(reactor).seconds(), chunkSize)
        if steps is None:
            request.finish()
            return
        producer = BodyProducer(request, body, steps, reader, reactor)
    finally:
        if producer is None:
            body.close()
    await producer.start()


def _prepare(request: IRequest, body: Body, now: float, chunkSize: int
             ) -> Iterator[Step] | None:
    """Set the status and headers of the answer; the steps that send its bytes, or
    ``None`` if the answer needs none of the body's (HEAD, 304, 412, 416, empty)."""
    length = body.length
    request.setHeader(b"Accept-Ranges", b"bytes")
    request.setHeader(b"ETag", body.etag.encode("latin-1"))
    request.setHeader(b"Last-Modified", formatdate(body.lastModified, usegmt=True).encode())
    request.setHeader(b"Cache-Control", b"private, no-transform")
    if request.method not in (b"GET", b"HEAD"):
        request.setHeader(b"Allow", b"GET, HEAD")
        _say(request, 405, "This URL is read with GET (or HEAD) only.")
        return None
    failed = _preconditionFailed(request, body)
    if failed is not None:
        _say(request, 412, failed)
        return None
    if _notModified(request, body):
        request.setResponseCode(304)
        return None
    spans = _spansWanted(request, body, length, now)
    if spans == []:
        request.setHeader(b"Content-Range", f"bytes */{length}".encode())
        _say(request, 416, f"No range asked for lies within the {length} bytes there are.")
        return None
    if body.filename:
        request.setHeader(b"Content-Disposition", disposition(body.filename))
    contentType = body.contentType
    pieces: Sequence[tuple[bytes, Span]] = [(b"", (0, length))]
    closing = b""
    size = length
    if spans is None:
        request.setResponseCode(200)
    elif len(spans) == 1:
        request.setResponseCode(206)
        request.setHeader(b"Content-Range", contentRange(spans[0], length).encode())
        pieces, size = [(b"", spans[0])], spans[0][1] - spans[0][0]
    else:
        request.setResponseCode(206)
        boundary = secrets.token_hex(16)
        pieces, closing, size = multipart(spans, length, contentType, boundary)
        contentType = f"multipart/byteranges; boundary={boundary}"
    request.setHeader(b"Content-Type", contentType.encode("latin-1"))
    request.setHeader(b"Content-Length", b"%d" % size)
    if request.method == b"HEAD" or size == 0:
        return None
    return _steps(pieces, closing, chunkSize)


def _steps(pieces: Sequence[tuple[bytes, Span]], closing: bytes,
           chunkSize: int) -> Iterator[Step]:
    """Each span in reads of at most ``chunkSize`` bytes, aligned on multiples of it (a
    hole of the file then reads as the shared block of zeros), its head before its first."""
    for head, (start, end) in pieces:
        first, offset = head, start
        while offset < end:
            stop = min(end, (offset // chunkSize + 1) * chunkSize)
            yield first, offset, stop - offset
            first, offset = b"", stop
    if closing:
        yield closing, 0, 0


def _preconditionFailed(request: IRequest, body: Body) -> str | None:
    """Why ``If-Match`` (strong comparison) or, without it, ``If-Unmodified-Since`` fails,
    if it does (RFC 9110 §13.2.2, steps 1-2)."""
    wanted = parts.header(request, b"if-match")
    if wanted is not None:
        tags = _TAG.findall(wanted)
        if "*" in tags or body.etag in tags:
            return None
        return f"The file is now at {body.etag}, which If-Match does not name."
    since = parts.dateHeader(request, b"if-unmodified-since")
    if since is not None and int(body.lastModified) > since:
        return "The file has changed since the date If-Unmodified-Since gives."
    return None


def _notModified(request: IRequest, body: Body) -> bool:
    """``If-None-Match`` (weak comparison) or, without it, ``If-Modified-Since`` says the
    client's copy is current (RFC 9110 §13.2.2, steps 3-4)."""
    unwanted = parts.header(request, b"if-none-match")
    if unwanted is not None:
        tags = {tag.removeprefix("W/") for tag in _TAG.findall(unwanted)}
        return "*" in tags or body.etag.removeprefix("W/") in tags
    since = parts.modifiedSince(request)
    return since is not None and int(body.lastModified) <= since


def _spansWanted(request: IRequest, body: Body, length: int, now: float
                 ) -> list[Span] | None:
    """What ``Range`` asks (see :func:`.ranges.parseRanges`), or ``None``: the whole body.
    Ranges are defined for GET only (RFC 9110 §14.2): a HEAD answers as the whole GET."""
    asked = parts.header(request, b"range")
    if asked is None or request.method != b"GET":
        return None
    condition = parts.lastHeader(request, b"if-range")
    if condition is not None and not _stillTheSame(request, condition, body, now):
        return None
    return parseRanges(asked, length)


def _stillTheSame(request: IRequest, condition: str, body: Body, now: float) -> bool:
    """``If-Range`` holds: an ETag that is the body's by strong comparison (a weak one
    never is), or the body's ``Last-Modified`` date exactly, when that date is a strong
    validator: at least a second in the past, so the file cannot have changed twice
    within the second it names (RFC 9110 §13.1.5, §8.8.2.2)."""
    condition = condition.strip()
    if condition.startswith(('"', "W/")):
        return condition == body.etag
    date = parts.dateHeader(request, b"if-range")
    modified = int(body.lastModified)
    return date is not None and date == modified and modified + 1 <= now


def disposition(filename: str) -> bytes:
    """``Content-Disposition: attachment`` offering ``filename`` (RFC 6266): quoted ASCII
    for every client, and the exact name in ``filename*`` when it is not plain ASCII."""
    plain = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    value = f'attachment; filename="{plain}"'
    if plain != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value.encode("ascii")


def _say(request: IRequest, code: int, message: str) -> None:
    """Answer ``code`` with a sentence (HEAD: its length only)."""
    text = f"{message}\n".encode()
    request.setResponseCode(code)
    request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
    request.setHeader(b"Content-Length", b"%d" % len(text))
    if request.method != b"HEAD":
        request.write(text)
