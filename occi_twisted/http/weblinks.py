"""RFC 8288 Link header fields -- the landing page's collections, a page's neighbours, the
request that monitors an action -- written only where they cannot be read as OCCI links.

In the header rendering (``text/occi``) the entity is its header fields, and every ``Link``
field is one of its OCCI links: GFD.229 section 3.2 makes a Link's ``rel`` the type of its
target (a Kind identifier), so a text/occi client reads ``rel="next"`` as a link of the
entity to a resource of the type ``next``.  A ``text/occi`` answer therefore carries none of
them; what they tell is there in another form: a 202 names its request in ``Location``, a
client pages with ``?page=`` and ``?number=`` as GFD.223 section 6 says (an empty page is the
end), and the landing page lists its collections in ``X-OCCI-Location``.  Every other
rendering keeps them.
"""

from __future__ import annotations

from twisted.web.iweb import IRequest

from ..renderings.text import OCCI_TYPE

#: The media types whose answers are made of OCCI header fields, Link among them.
_OCCI_HEADERS = frozenset({OCCI_TYPE})


def webLink(request: IRequest, mediaType: str, target: str, rel: str, more: str = "") -> None:
    """A ``Link: <target>; rel="rel"`` field (``more`` its further parameters, each with its
    ``; ``) on an answer in ``mediaType``, unless that rendering's Link fields are OCCI's."""
    if mediaType not in _OCCI_HEADERS:
        request.responseHeaders.addRawHeader(b"Link", f'<{target}>; rel="{rel}"{more}'.encode())
