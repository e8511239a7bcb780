"""What a request says, read the same way by every room: its headers, query arguments and body
(within the size limit), the paging it asks for, the method an HTML form tunnels, the OCCI
version it speaks, and whom it acts for.

Headers come in two readings: list-valued headers (``Accept``, ``If-Match``) are all their
lines joined with commas, as RFC 9110 §5.3 allows; single-valued ones take the last line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import cast
from urllib.parse import parse_qs

from twisted.python.components import Componentized
from twisted.web.iweb import IRequest

from ..identity import SINGLE_USER, IPrincipal, Principal
from ..model.errors import (
    BadRequest,
    NotImplementedByServer,
    TooLarge,
    UnsupportedMediaType,
)
from ..model.numbers import INT64_MAX, wholeNumber
from ..renderings import standard
from ..renderings.document import Document
from .limits import DEFAULT_MAX_BODY

#: Largest page a client may ask for with ?number=.
MAX_PAGE = 1000
FORM = "application/x-www-form-urlencoded"
#: An OCCI version in a User-Agent; longer numbers are no version (the token is ignored).
_OCCI_VERSION = re.compile(rb"OCCI/([0-9]{1,9})\.([0-9]{1,9})(?![0-9])")


def pathOf(request: IRequest) -> str:
    """The path as the client sent it (percent escapes kept): the key of the URL space."""
    path: str = request.path.decode("utf-8", "replace")
    return path


def header(request: IRequest, name: bytes) -> str | None:
    """A list-valued header: every line of it, joined."""
    values = request.requestHeaders.getRawHeaders(name)
    if not values:
        return None
    return ", ".join(v.decode("latin-1") for v in values)


def lastHeader(request: IRequest, name: bytes) -> str | None:
    """A single-valued header: its last line, if it was sent several times."""
    values = request.requestHeaders.getRawHeaders(name)
    return values[-1].decode("latin-1") if values else None


def headerLines(request: IRequest, name: bytes) -> list[str]:
    """Each line of a header, for headers read element by element (``Prefer``)."""
    values = request.requestHeaders.getRawHeaders(name) or []
    return [value.decode("latin-1") for value in values]


def modifiedSince(request: IRequest) -> float | None:
    """``If-Modified-Since`` in epoch seconds; ``None`` without one, or for a date that is
    none (RFC 9110 §13.1.3: an invalid date is ignored), however far out of range."""
    return dateHeader(request, b"if-modified-since")


def dateHeader(request: IRequest, name: bytes) -> float | None:
    """A header holding an HTTP date, in epoch seconds; ``None`` without one or for anything
    that is no date (``If-Range`` may hold an ETag instead), however far out of range."""
    when = lastHeader(request, name)
    if when is None:
        return None
    try:
        return parsedate_to_datetime(when).timestamp()
    except (TypeError, ValueError, OverflowError):
        return None


def headers(request: IRequest) -> Mapping[str, Sequence[str]]:
    """Every header by its lower-case name: ``text/occi`` puts a document in them."""
    return {
        name.decode("latin-1").lower(): [v.decode("latin-1") for v in values]
        for name, values in request.requestHeaders.getAllRawHeaders()
    }


def argument(request: IRequest, name: str) -> str | None:
    """The first value of a query argument."""
    values = request.args.get(name.encode())
    return values[0].decode("utf-8", "replace") if values else None


def isImage(request: IRequest) -> bool:
    """Whether the body is raw bytes (``application/octet-stream``): an image, never read
    as a rendering (see :mod:`.files`)."""
    return (lastHeader(request, b"content-type") or "").lower().startswith(
        "application/octet-stream")


def bodyLimit(request: IRequest) -> int:
    """The largest body ``request`` may have: the one limit, ``--max-body``, which the
    listener's channel gave the request when its head was read (and refused larger bodies
    by); a request that came another way (the app alone, in tests) has the default."""
    limit = getattr(request, "bodyLimit", None)
    return limit if isinstance(limit, int) else DEFAULT_MAX_BODY


def body(request: IRequest) -> bytes:
    """The request body, refused (413) beyond :func:`bodyLimit` whatever Content-Length
    says.  Every room reads bodies through here, and the renderings take what it gives."""
    limit = bodyLimit(request)
    length = lastHeader(request, b"content-length")
    if length is not None:
        declared = wholeNumber(length.strip(), saturate=True)
        if declared is None:
            raise BadRequest("Content-Length is not a number.")
        if declared > limit:
            raise TooLarge(f"Request bodies may be at most {limit} bytes here.")
    content = request.content
    if content is None:
        return b""
    content.seek(0)
    read: bytes = content.read(limit + 1)
    if len(read) > limit:
        raise TooLarge(f"Request bodies may be at most {limit} bytes here.")
    return read


def document(request: IRequest) -> Document:
    """The body, parsed by the rendering its Content-Type names (text/plain when none)."""
    contentType = header(request, b"content-type")
    parser = standard.parser(contentType or "text/plain")
    if parser is None:
        raise UnsupportedMediaType(
            f"This server cannot read {contentType}; send one of "
            f"{', '.join(standard.inputTypes())}."
        )
    return parser(body(request), headers(request))


def filtering(request: IRequest) -> bool:
    """Whether a listing is narrowed: by Category or X-OCCI-Attribute headers (see
    :func:`filters`), or by ``?occi.…=`` arguments."""
    sent = request.requestHeaders
    return (_filteredByHeaders(request) and (
        sent.hasHeader(b"category") or sent.hasHeader(b"x-occi-attribute"))) or any(
        name.startswith(b"occi.") and values for name, values in request.args.items())


def filters(request: IRequest) -> Document:
    """Category and X-OCCI-Attribute filters, which GET requests (and a collection's DELETE)
    carry as headers."""
    sent = headers(request)
    if not _filteredByHeaders(request) or not any(
            name in sent for name in ("category", "x-occi-attribute")):
        return Document()
    parser = standard.parser("text/occi")
    assert parser is not None
    return parser(b"", sent)


def _filteredByHeaders(request: IRequest) -> bool:
    """Whether OCCI header fields in the request are filters: not in a POST or a PUT, where
    (in text/occi) they are the body -- the attributes of an action on a collection must not
    narrow the collection it acts on (GFD.223 section 5: filtering is GET's)."""
    return request.method not in (b"POST", b"PUT")


def paging(request: IRequest) -> tuple[int | None, int]:
    """``?page=&number=``: the page (``None`` when not asked) and its size (0 then)."""
    page, number = argument(request, "page"), argument(request, "number")
    if page is None and number is None:
        return None, 0
    pageNo = wholeNumber(page) if page is not None else 1
    size = wholeNumber(number, saturate=True) if number is not None else 100
    if pageNo is None or size is None:
        raise BadRequest("The query parameters page and number must be whole numbers "
                         f"(page at most {INT64_MAX}).")
    if pageNo < 1 or size < 1:
        raise BadRequest("The query parameters page and number start at 1.")
    if size > MAX_PAGE:
        raise TooLarge(f"A page holds at most {MAX_PAGE} entities; ask for more pages "
                       "instead.")
    return pageNo, size


def feedPaging(request: IRequest, size: int, largest: int) -> tuple[int | None, int]:
    """``?before=&number=`` of a feed: the event to page back from, and the page's size."""
    before, number = argument(request, "before"), argument(request, "number")
    cursor = wholeNumber(before) if before is not None else None
    wanted = wholeNumber(number, saturate=True) if number is not None else size
    if wanted is None or (before is not None and cursor is None):
        raise BadRequest("The query parameters before and number must be whole numbers "
                         f"(before at most {INT64_MAX}, the cursors this server gives out).")
    if wanted < 1 or (cursor is not None and cursor < 1):
        raise BadRequest("The query parameters before and number start at 1.")
    if wanted > largest:
        raise TooLarge(f"A feed page holds at most {largest} entries.")
    return cursor, wanted


def isForm(request: IRequest) -> bool:
    """Whether the body is an HTML form's."""
    return (header(request, b"content-type") or "").lower().startswith(FORM)


def formField(request: IRequest, name: str) -> str:
    """A field of a form body (its last value), or ``""``."""
    return parse_qs(body(request).decode("latin-1")).get(name, [""])[-1]


def methodOf(request: IRequest) -> str:
    """The method the client means: an HTML form's ``_method`` field says ``PUT`` or
    ``DELETE`` for a POST, because forms only GET and POST."""
    if request.method == b"POST" and isForm(request) and b"_method=" in body(request):
        named = formField(request, "_method").upper()
        if named in ("PUT", "DELETE"):
            return named
    method: str = request.method.decode("ascii", "replace").upper()
    return method


def checkVersion(request: IRequest) -> None:
    """Refuse a client that announces a later OCCI than 1.2 in its User-Agent (GFD.223 §3.6)."""
    agent = request.getHeader(b"user-agent")
    if agent is None:
        return
    match = _OCCI_VERSION.search(agent if isinstance(agent, bytes) else agent.encode())
    if match and (int(match.group(1)), int(match.group(2))) > (1, 2):
        raise NotImplementedByServer(
            f"This server speaks OCCI/1.2; the client asked for "
            f"OCCI/{match.group(1).decode()}.{match.group(2).decode()}."
        )


def setPrincipal(request: IRequest, principal: Principal) -> None:
    """Record who ``request`` acts for: the front door does, once, before routing."""
    cast(Componentized, request).setComponent(IPrincipal, principal)


def principalOf(request: IRequest) -> Principal:
    """Who ``request`` acts for: what the front door recorded, or single-user mode's
    administrator where no door stands in front of the app (the app alone, in tests)."""
    found = cast(Componentized, request).getComponent(IPrincipal)
    return found if isinstance(found, Principal) else SINGLE_USER


def ownerOf(request: IRequest) -> str:
    """The owner what the request makes is recorded under: its principal's name."""
    return principalOf(request).name
