"""The client's HTTP: treq over one connection pool, TLS verified, Basic credentials sent to
the endpoint's origin only, and every refusal turned into one line for standard error.

Redirects are followed by the commands, not here: a download resumes with a ``Range`` on the
signed URL it was sent to, and an upload sends its body only once it knows where (a ``PUT``
of an image is answered 307 before its body is read).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import treq
from treq.client import HTTPClient
from twisted.internet.defer import CancelledError
from twisted.internet.error import ConnectError, DNSLookupError
from twisted.internet.ssl import Certificate, trustRootFromCertificates
from twisted.python.failure import Failure
from twisted.web.client import (
    Agent,
    BrowserLikePolicyForHTTPS,
    HTTPConnectionPool,
    ResponseFailed,
    ResponseNeverReceived,
)
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer, IResponse

from ..renderings import json as occijson
from ..renderings.document import Document
from .config import Connection
from .errors import ClientError

JSON = "application/occi+json"


@dataclass(frozen=True)
class Answer:
    """A response read whole: for renderings and short answers, never for images."""

    code: int
    headers: Headers
    body: bytes
    url: str

    def header(self, name: str) -> str | None:
        found = self.headers.getRawHeaders(name)
        return found[-1] if found else None

    def links(self, rel: str) -> list[str]:
        """The targets of the ``Link`` headers (RFC 8288) with relation ``rel``."""
        return linksOf(self.headers, rel)

    def document(self) -> Document:
        """The body read by the server's own JSON rendering (GFD.225)."""
        try:
            return occijson.parse(self.body)
        except ValueError as problem:  # BadRequest: the server answered something unreadable
            raise ClientError(f"{self.url} answered JSON this client cannot read: "
                              f"{problem}") from None


_LINK = re.compile(r'<([^>]*)>\s*((?:;\s*[^;,]+)*)')
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def linksOf(headers: Headers, rel: str) -> list[str]:
    found = []
    for line in headers.getRawHeaders("link", []):
        for target, params in _LINK.findall(line):
            rels = re.search(r';\s*rel="?([^";]+)"?', params)
            if rels and rel in rels.group(1).split():
                found.append(target)
    return found


def trustedPolicy(caFile: Path | None) -> BrowserLikePolicyForHTTPS:
    """Verify servers against the system's CAs, or only against the certificates of
    ``caFile`` (a PEM bundle, or a directory of them) for a private CA."""
    if caFile is None:
        return BrowserLikePolicyForHTTPS()
    files = sorted(each for each in caFile.iterdir() if each.is_file()) \
        if caFile.is_dir() else [caFile]
    pems = [pem for each in files for pem in _PEM.findall(each.read_bytes())]
    if not pems:
        raise ClientError(f"{caFile} holds no PEM certificate")
    certificates = [Certificate.loadPEM(pem) for pem in pems]
    return BrowserLikePolicyForHTTPS(trustRoot=trustRootFromCertificates(certificates))


class Session:
    """Requests to one endpoint."""

    def __init__(self, reactor: Any, connection: Connection) -> None:
        self.connection = connection
        self._pool = HTTPConnectionPool(reactor, persistent=True)
        agent = Agent(reactor, contextFactory=trustedPolicy(connection.caFile), pool=self._pool)
        self._http = HTTPClient(agent)

    async def close(self) -> None:
        await self._pool.closeCachedConnections()

    async def open(self, method: str, where: str, *, headers: dict[str, str] | None = None,
                   body: bytes | IBodyProducer | None = None) -> IResponse:
        """Send a request and answer the response unread (its body is the caller's)."""
        url = self.connection.url(where)
        auth = self.connection.credentials if self.connection.sameOrigin(url) else None
        try:
            response: IResponse = await self._http.request(
                method, url, headers=Headers({name: [value] for name, value in
                                              (headers or {}).items()}), data=body, auth=auth,
                allow_redirects=False)
        except (ConnectError, DNSLookupError, ResponseNeverReceived, ResponseFailed) as failed:
            _cancelled(failed)
            raise ClientError(f"cannot reach {url}: {_reason(failed)}") from None
        return response

    async def call(self, method: str, where: str, *, headers: dict[str, str] | None = None,
                   body: bytes | IBodyProducer | None = None, accept: str = JSON,
                   expect: Sequence[int] = (200, 201, 202, 204)) -> Answer:
        """A request whose answer is read whole; any status but those expected is a
        :class:`ClientError` with the server's sentence."""
        sent = {"Accept": accept, **(headers or {})}
        response = await self.open(method, where, headers=sent, body=body)
        try:
            content = await treq.content(response)
        except ResponseFailed as failed:
            _cancelled(failed)
            raise ClientError(f"the answer from {self.connection.url(where)} was cut short: "
                              f"{_reason(failed)}") from None
        answer = Answer(response.code, response.headers, content, self.connection.url(where))
        if answer.code not in expect:
            raise refusal(answer)
        return answer

    async def json(self, where: str) -> Document:
        """``GET`` of a rendering, read by the JSON rendering's parser."""
        return (await self.call("GET", where)).document()


def refusal(answer: Answer) -> ClientError:
    """The server's own sentence (every 4xx body is one), on one line, with the status."""
    text = answer.body.decode("utf-8", "replace")
    kind = (answer.header("content-type") or "").lower()
    sentence = " ".join(text.split()) if kind.startswith("text/plain") else ""
    if not sentence and kind.startswith("application/") and "json" in kind:
        sentence = " ".join(text.split())[:300]
    return ClientError(f"{answer.code} {sentence or _phrase(answer.code)} ({answer.url})")


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "unexpected answer"


def _cancelled(failed: Exception) -> None:
    """A request given up by this client (Ctrl-C) is a cancellation, not a failure."""
    for reason in getattr(failed, "reasons", ()):
        if isinstance(reason, Failure) and reason.check(CancelledError):
            raise CancelledError() from None


def _reason(failed: Exception) -> str:
    """The underlying reason of a connection failure, as one line."""
    reasons = getattr(failed, "reasons", None)
    if reasons:
        first = reasons[0]
        value = first.value if isinstance(first, Failure) else first
        text = str(value) or type(value).__name__
        if "certificate verify failed" in text or "CERTIFICATE_VERIFY_FAILED" in text:
            return "the server's certificate is not trusted (give --ca-file for a private CA)"
        return " ".join(text.split())
    return " ".join(str(failed).split()) or type(failed).__name__
