"""The ``Idempotency-Key`` request header (IETF httpapi draft) for creating POSTs.

The answer to the first POST with a key is stored with what it created (see
:mod:`occi_twisted.model.answers`); a retry with the same key and the same request gets that
answer again (``Idempotent-Replayed: true``), with the same key and another request a 422.
"""

from __future__ import annotations

import hashlib
import re

from twisted.web.iweb import IRequest

from ..model.answers import Answer
from ..model.errors import BadRequest, Unprocessable

#: Visible ASCII, as a structured-field string holds; quotes around it are allowed.
_KEY = re.compile(r'"?([\x21\x23-\x7e]{1,255})"?')
#: How long an answer is remembered: a client retries within minutes, not days.
ANSWER_TTL = 24 * 3600.0
#: Headers of an answer that a replay repeats.
KEPT = frozenset({"location", "content-type", "etag", "link"})


def keyOf(request: IRequest) -> str | None:
    """The request's ``Idempotency-Key``, or ``None``; a malformed one is a BadRequest."""
    values = request.requestHeaders.getRawHeaders(b"idempotency-key")
    if not values:
        return None
    match = _KEY.fullmatch(values[-1].decode("latin-1").strip())
    if match is None:
        raise BadRequest("The Idempotency-Key must be 1 to 255 visible ASCII characters.")
    return match.group(1)


def fingerprint(request: IRequest, body: bytes) -> str:
    """What identifies the request a key was first used with."""
    digest = hashlib.sha256()
    contentType = request.requestHeaders.getRawHeaders(b"content-type") or [b""]
    for part in (request.method, request.uri, contentType[-1]):
        digest.update(part)
        digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


def replay(request: IRequest, answer: Answer, printed: str) -> bytes:
    """Send the remembered ``answer`` again, if it answered the same request."""
    if answer.fingerprint != printed:
        raise Unprocessable(
            f"The Idempotency-Key {answer.key[:60]!r} was first used with another request; "
            "use a new key for a new request.")
    request.setResponseCode(answer.status)
    # This request may have set its own (a loser of a race); the first answer's stand.
    for name in KEPT:
        request.responseHeaders.removeHeader(name.encode())
    for name, value in answer.headers:
        request.responseHeaders.addRawHeader(name.encode(), value.encode())
    request.setHeader(b"Idempotent-Replayed", b"true")
    request.setHeader(b"Content-Length", str(len(answer.body)).encode())
    return answer.body


def keptHeaders(request: IRequest) -> tuple[tuple[str, str], ...]:
    """The headers set so far that a replay must repeat."""
    kept: list[tuple[str, str]] = []
    for name, values in request.responseHeaders.getAllRawHeaders():
        lower = name.decode("latin-1").lower()
        if lower in KEPT:
            kept.extend((lower, value.decode("latin-1")) for value in values)
    return tuple(kept)
