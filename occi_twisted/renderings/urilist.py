"""``text/uri-list`` (RFC 2483; GFD.229 section 7): listings as one absolute URI per line.

GFD.229 gives this type to listings only -- "a list of resources [...] in collections or the
name-space of the OCCI implementation".  Asked for anything else, the server answers 400 Bad
Request, so :meth:`URIListRenderer.entity` and :meth:`URIListRenderer.categories` raise
:class:`~occi_twisted.model.errors.BadRequest`; the media type is registered as listing-only so
that negotiation never picks it for those in the first place.

Lines end in CRLF, as RFC 2483 says.  A message (the rare success without content) becomes a
comment line, which RFC 2483 allows and every reader skips.

URIs are written as URIs: anything outside RFC 3986's characters (non-ASCII, spaces, quotes,
angle brackets) is percent-encoded by :func:`uriText` (the renderings' own, named here for the
pages), so that every line is one clean URI that can also sit inside ``<...>`` or an HTTP
header.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..model import Category
from ..model.errors import BadRequest
from .document import EntityView, RenderContext, Rendered
from .values import uriText

__all__ = ["MEDIA_TYPE", "URI_LIST", "URIListRenderer", "uriText"]

MEDIA_TYPE = "text/uri-list"
EOL = "\r\n"


class URIListRenderer:
    """Writes listings as ``text/uri-list``; refuses everything that is not a listing."""

    mediaType = MEDIA_TYPE
    streams = True

    def entity(self, view: EntityView, context: RenderContext) -> Rendered:
        raise BadRequest(
            "The text/uri-list rendering lists collections only; ask for text/plain, "
            "text/occi or application/occi+json to read one entity."
        )

    def categories(self, categories: Sequence[Category], context: RenderContext) -> Rendered:
        raise BadRequest(
            "The text/uri-list rendering cannot render the query interface; ask for "
            "text/plain, text/occi or application/occi+json."
        )

    def locations(self, locations: Sequence[str], context: RenderContext) -> Rendered:
        body = "".join(uriText(context.absolute(location)) + EOL for location in locations)
        return Rendered(MEDIA_TYPE, body.encode("ascii"))

    def message(self, text: str, context: RenderContext) -> Rendered:
        # A comment line: readers of URI lists skip it, people see it.
        line = " ".join(text.split())
        return Rendered(MEDIA_TYPE, f"# {line}{EOL}".encode())

    def collectionStart(self, context: RenderContext) -> bytes:
        return b""

    def collectionItem(self, view: EntityView, first: bool, context: RenderContext) -> bytes:
        return (uriText(context.absolute(view.entity.location)) + EOL).encode("ascii")

    def collectionEnd(self, context: RenderContext) -> bytes:
        return b""


URI_LIST = URIListRenderer()
