"""What stands between the front door and Klein: paths Klein cannot read are answered here,
and so is every path that Klein could only route to the run-time route (collections,
entities and what lies below them), without Klein's routing; the common GET of an entity is
answered at once (see :meth:`.app.OCCIServer.atOnce`)."""

from __future__ import annotations

from typing import Any, Protocol

from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET

from ..model import locations as loc
from .answering import SERVER, plain

log = Logger()


class RunTime(Protocol):
    """The run-time route of the app (:class:`.app.OCCIServer`)."""

    def atOnce(self, request: IRequest) -> bytes | None: ...

    async def runTime(self, request: IRequest) -> bytes | None: ...


def routedAsIs(path: str) -> bool:
    """Whether Klein routes ``path`` to :meth:`.app.OCCIServer.runTimeLocation`, or to a
    fixed route that hands it there (``/log``, ``/-``): a path, with no escape to decode
    (``%2F`` makes ``//``) and no ``//`` to merge (a redirect), that is neither ``/`` nor in
    the fixed part of the URL space, which has routes of its own."""
    return path.startswith("/") and path != loc.ROOT and "%" not in path \
        and "//" not in path and not path.startswith(loc.RESERVED)


class UTF8Paths(Resource):
    """Klein reads the path, its escapes decoded, as UTF-8, and answers 400 with a logged
    traceback when it is not (``/%ED``): such a path is answered 400 here, in a sentence,
    before Klein sees it, and leaves nothing in the log.  What ``atOnce`` answers (the
    common GET of an entity, see :meth:`.app.OCCIServer.atOnce`) is written as Klein writes an
    answer, without Klein's routing."""

    isLeaf = True

    def __init__(self, inner: IResource, runTime: RunTime | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.inner = inner
        self.runTime = runTime

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
        if self.runTime is None or not routedAsIs(request.path.decode("utf-8", "replace")):
            return self.inner.render(request)
        answered = self.runTime.atOnce(request)
        if answered is not None:
            _written(answered, request, [])
            return NOT_DONE_YET
        return _later(Deferred.fromCoroutine(self.runTime.runTime(request)), request)


def _later(answer: Deferred[bytes | None], request: IRequest) -> object:
    """``answer`` written once it comes, as Klein writes a route's: cancelled if the client
    hangs up first; a failure (which the rooms leave to no route) answered 500."""
    gone: list[bool] = []
    finished = request.notifyFinish()  # type: ignore[attr-defined]
    finished.addBoth(lambda _: gone.append(True))
    finished.addErrback(lambda _: answer.cancel())
    answer.addCallbacks(_written, _failed, callbackArgs=(request, gone),
                        errbackArgs=(request, gone))
    return NOT_DONE_YET


def _written(answer: bytes | None, request: IRequest, gone: list[bool]) -> None:
    if answer is not None:
        request.write(answer)
    if not gone:
        request.finish()


def _failed(failure: Failure, request: IRequest, gone: list[bool]) -> None:
    if gone:
        if failure.check(CancelledError) is None:
            log.failure("Unhandled error answering a request", failure)
        return
    request.processingFailed(failure)  # type: ignore[attr-defined]
