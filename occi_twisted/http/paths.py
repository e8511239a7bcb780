"""What stands between the front door and Klein: paths Klein cannot read are answered here,
and the common GET of an entity is answered without Klein's routing (see
:meth:`.app.OCCIServer.atOnce`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET

from ..model import locations as loc
from .answering import SERVER, plain


def routedAsIs(path: str) -> bool:
    """Whether Klein routes ``path`` to :meth:`.app.OCCIServer.runTimeLocation` as it is: no
    escape to decode (``%2F`` makes ``//``), no ``//`` to merge (a redirect), nothing in the
    fixed part of the URL space, which has routes of its own."""
    return "%" not in path and "//" not in path and not path.startswith(loc.RESERVED)


class UTF8Paths(Resource):
    """Klein reads the path, its escapes decoded, as UTF-8, and answers 400 with a logged
    traceback when it is not (``/%ED``): such a path is answered 400 here, in a sentence,
    before Klein sees it, and leaves nothing in the log.  What ``atOnce`` answers (the
    common GET of an entity, see :meth:`.app.OCCIServer.atOnce`) is written as Klein writes an
    answer, without Klein's routing."""

    isLeaf = True

    def __init__(self, inner: IResource,
                 atOnce: Callable[[IRequest], bytes | None] | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.inner = inner
        self.atOnce = atOnce

    def render(self, request: IRequest) -> Any:
        try:
            for segment in request.postpath:
                segment.decode("utf-8")
            request.getRequestHostname().decode("utf-8")
        except UnicodeDecodeError:
            request.setResponseCode(400)
            request.setHeader(b"Server", SERVER.encode())
            return plain(request, "The path or host name is not UTF-8 once its percent "
                                  "escapes are decoded.")
        answered = self.atOnce(request) if self.atOnce is not None else None
        if answered is None:
            return self.inner.render(request)
        request.write(answered)
        request.finish()
        return NOT_DONE_YET
