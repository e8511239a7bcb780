"""An upload's body written to its file as it arrives, off the reactor thread.

Twisted hands a request's body to ``request.content`` chunk by chunk, on the reactor thread;
Twisted's own content is a temporary file written there.  An image upload is gigabytes: its
chunks are queued here and written by a thread, and the connection is paused while more than
:data:`HIGH_WATER` bytes wait, so memory stays bounded whatever the client's speed and the
disk's.  :meth:`UploadSink.finished` syncs the file; :meth:`UploadSink.abort` removes it (a
client that hung up, a body refused): the image it was meant to replace is never touched
here -- replacing it is the caller's, after ``finished``.  The rest of a body may also come
straight from the socket (:meth:`UploadSink.receiveFrom`): past the page cache
(:mod:`.direct`) where the file system allows it, else spliced (:mod:`.splice`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorFromThreads
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from ..drivers.storage.files import ensureDirectory
from .direct import DirectUnavailable, openDirect, receiveDirect
from .splice import BodyCut, BodyStalled, inOwnThread, spliceInto
from .writeback import WriteBehind

log = Logger()

#: Buffers one ``writev`` takes at most (POSIX guarantees 16; Linux takes 1024).
_IOV_MAX = os.sysconf("SC_IOV_MAX") if "SC_IOV_MAX" in os.sysconf_names else 16

#: Bytes queued for the writer before the connection is paused (it resumes once they are
#: written): enough to keep the disk busy while the socket is read, little enough to hold.
HIGH_WATER = 4 << 20


class UploadSink:
    """The file ``path`` (created, empty) receiving a body: a file-like object for
    ``request.content`` whose ``write`` never blocks."""

    #: Whether the rest of a body may skip :meth:`write` (:meth:`receiveFrom`): not for a
    #: sink that must see every byte to know what to keep.
    takesSplice: ClassVar[bool] = True

    def __init__(self, path: Path, pool: ThreadPool, reactor: IReactorFromThreads, *,
                 pause: Callable[[], None], resume: Callable[[], None]) -> None:
        self.path = path
        self.received = 0
        self._pool = pool
        self._reactor = reactor
        self._pause, self._resume = pause, resume
        self._queued: list[bytes] = []
        self._queuedBytes = 0
        self._paused = False
        self._writing: Deferred[None] | None = None
        self._splicing: Deferred[None] | None = None
        self._failure: Failure | None = None
        self._fd: int | None = None
        self._behind: WriteBehind | None = None
        self._writtenTo = 0  # by write, in the writer's thread
        self._done = False

    # -- what Twisted's request calls --------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self._done or self._failure is not None:
            return
        self.received += len(data)
        self._queued.append(data)
        self._queuedBytes += len(data)
        if self._queuedBytes > HIGH_WATER and not self._paused:
            self._paused = True
            self._pause()
        if self._writing is None:
            self._writeQueued()

    def tell(self) -> int:
        return self.received

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0  # Twisted rewinds content before the app reads it; the app reads the file

    def read(self, size: int = -1) -> bytes:
        return b""  # the body went to the file, not to whoever reads the request

    def close(self) -> None:
        if not self._done:
            self.abort()

    # -- the writer ----------------------------------------------------------------------------

    def _writeQueued(self) -> None:
        chunks, self._queued, self._queuedBytes = self._queued, [], 0
        if self._paused:
            self._paused = False
            self._resume()
        writing = self._writing = deferToThreadPool(self._reactor, self._pool,
                                                    self._writeAll, chunks)

        def written(result: object) -> None:
            if isinstance(result, Failure):
                self._failure = result
                log.failure("An upload to {path} could not be written", result,
                            path=str(self.path))
                if self._paused:
                    self._paused = False
                    self._resume()
            self._writing = None
            if self._queued and self._failure is None:
                self._writeQueued()

        writing.addBoth(written)

    def _opened(self) -> int:
        if self._fd is None:
            ensureDirectory(self.path.parent)  # a server's first image, say
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                               0o600)
            self._behind = WriteBehind(self._fd)
        return self._fd

    def _writeAll(self, chunks: list[bytes]) -> None:
        fd = self._opened()
        # One system call for the lot, and no copy of them into one buffer first.
        pending = [memoryview(chunk) for chunk in chunks]
        end = self._writtenTo + sum(len(chunk) for chunk in pending)
        while pending:
            written = os.writev(fd, pending[:_IOV_MAX])
            while written and pending:
                if written >= len(pending[0]):
                    written -= len(pending.pop(0))
                else:
                    pending[0] = pending[0][written:]
                    written = 0
        self._writtenTo = end
        assert self._behind is not None
        self._behind.wrote(end)

    # -- the rest of a body from the socket ------------------------------------------------------

    def receiveFrom(self, socket: int, count: int, *, stall: float,
                    stopped: threading.Event) -> Deferred[None]:
        """The next ``count`` bytes of the body spliced from ``socket`` (a descriptor of
        its own, which this closes) after what was written; fires once they are in the file.

        Fails with :class:`~.splice.BodyCut` or :class:`~.splice.BodyStalled` (the caller
        aborts the sink); a file that could not be written fails :meth:`finished`, as it
        would through :meth:`write`.  Set ``stopped`` to end it early."""
        # The connection is the caller's to resume now: the sink no longer paces it.
        self._pause = self._resume = _unpaced
        self._paused = False
        start, self.received = self.received, self.received + count
        outcome: Deferred[None] = Deferred()

        def splice(_: object) -> Deferred[None]:
            return inOwnThread(self._reactor, self._receive, socket, start, count, stall,
                               stopped)

        def spliced(result: object) -> None:
            self._splicing = None
            if isinstance(result, Failure) and not result.check(BodyCut, BodyStalled):
                self._failure = result  # the disk's: answered when the body is finished
                log.failure("An upload to {path} could not be written", result,
                            path=str(self.path))
                result = None
            if isinstance(result, Failure):
                outcome.errback(result)
            else:
                outcome.callback(None)

        # (Writing never fails this: a write's failure is kept, not passed on.)
        self._splicing = self._written().addCallback(splice).addBoth(spliced)
        return outcome

    def _receive(self, socket: int, start: int, count: int, stall: float,
                 stopped: threading.Event) -> None:
        """Past the page cache where the file system allows it, else spliced."""
        try:
            target = self._opened()
            try:
                direct = openDirect(self.path)
            except DirectUnavailable:
                spliceInto(socket, target, start, count, stall=stall, stopped=stopped)
                return
            try:
                receiveDirect(socket, target, direct, start, count, stall=stall,
                              stopped=stopped)
            finally:
                os.close(direct)
        finally:
            os.close(socket)

    def _drained(self) -> Deferred[None]:
        """Fires when everything queued is written, and what is spliced is in the file."""
        if self._splicing is None:
            return self._written()
        splicing: Deferred[None] = Deferred()
        self._splicing.addBoth(lambda _: self._drained().chainDeferred(splicing))
        return splicing

    def _written(self) -> Deferred[None]:
        """Fires when everything queued is written."""
        if self._writing is None and not self._queued:
            return succeed(None)
        if self._writing is None:
            self._writeQueued()
        assert self._writing is not None
        waiting: Deferred[None] = Deferred()
        self._writing.addBoth(lambda _: self._written().chainDeferred(waiting))
        return waiting

    # -- ending ----------------------------------------------------------------------------------

    async def finished(self) -> int:
        """Every byte written and synced to disk; how many.  Raises what writing raised."""
        await self._drained()
        if self._failure is not None:
            await self.abort()
            self._failure.raiseException()
        self._done = True
        await deferToThreadPool(self._reactor, self._pool, self._sync)
        return self.received

    def _sync(self) -> None:
        if self._fd is None:  # nothing was sent: an empty file all the same
            ensureDirectory(self.path.parent)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.fsync(self._fd)
        finally:
            os.close(self._fd)
            self._fd = None

    def abort(self) -> Deferred[None]:
        """Stop and remove the file (once what is being written is written)."""
        self._done = True
        self._queued, self._queuedBytes = [], 0

        def remove(_: object) -> Deferred[None]:
            return deferToThreadPool(self._reactor, self._pool, self._remove)

        return self._drained().addBoth(remove)

    def _remove(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.path.unlink(missing_ok=True)


def _unpaced() -> None:
    pass
