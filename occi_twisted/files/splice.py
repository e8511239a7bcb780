"""An upload's body moved from its socket to its file by the kernel (``splice(2)``, Linux).

Through the reactor, every byte of an upload is copied from the kernel into a Python
``bytes``, handed to a thread and copied back into the page cache: on a machine where
``dd conv=fsync`` writes at 1.2 GB/s, a bare Twisted protocol that only receives and drops the
bytes reaches half of that, and the upload a quarter.  On a plain TCP connection whose body
has a ``Content-Length``, the channel stops reading once the head is parsed and the signature
checked, and the rest of the body goes socket -> pipe -> file here, in a thread of its own,
a megabyte or more per system call, without the bytes ever reaching Python; the channel then
resumes, the application answers, and the connection stays open for the next request.  TLS
(the bytes must be decrypted by Python) and chunked bodies (framed) keep the reactor's path.
Where the file system takes ``O_DIRECT``, :mod:`.direct` receives the body instead, past the
page cache; this is its way on the others.

A client must not hold the thread forever: the socket is polled in short slices, and a body
that sends nothing for ``stall`` seconds is :class:`BodyStalled`; one that ends early is
:class:`BodyCut`.  Either way the caller removes the file: the image it was to replace is
never touched.  A file that cannot be written (a full disk) does not stop the reading: the
rest of the body is moved to ``/dev/null``, so that the connection can still carry the
answer (507), and the error is raised at the end.
"""

from __future__ import annotations

import fcntl
import os
import select
import threading
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorFromThreads
from twisted.python.failure import Failure

from .writeback import WriteBehind

#: Bytes asked of one ``splice`` from the socket (the pipe's size bounds what it moves).
CHUNK = 4 << 20
#: The pipe's size asked for, then the sizes tried after it: an unprivileged process may
#: not pass ``/proc/sys/fs/pipe-max-size`` (1 MiB by default).
PIPE_SIZES = (4 << 20, 1 << 20)
#: Seconds between checks of ``stopped`` while the socket is silent.
SLICE = 0.5


def available() -> bool:
    """Whether this system splices (Linux, Python 3.10+)."""
    return hasattr(os, "splice") and hasattr(fcntl, "F_SETPIPE_SZ")


class BodyCut(ConnectionError):
    """The client hung up (or the connection was closed here) before its body was whole."""


class BodyStalled(TimeoutError):
    """The client sent nothing of its body for too long."""


def spliceInto(source: int, target: int, offset: int, count: int, *, stall: float,
               stopped: threading.Event) -> None:
    """Move ``count`` bytes from the socket ``source`` (non-blocking) to the file ``target``
    from ``offset``; blocks.  Raises :class:`BodyCut` or :class:`BodyStalled` for the
    client's faults, the file's :class:`OSError` (once the body is read) for the disk's."""
    readEnd, writeEnd = os.pipe2(os.O_CLOEXEC)
    sink: int | None = None  # /dev/null, once the file failed
    failure: OSError | None = None
    try:
        for size in PIPE_SIZES:
            try:
                fcntl.fcntl(writeEnd, fcntl.F_SETPIPE_SZ, size)
                break
            except OSError:
                continue
        poller = select.poll()
        poller.register(source, select.POLLIN)
        behind = WriteBehind(target, offset)
        while count:
            moved = _fromSocket(source, writeEnd, count, poller, stall=stall, stopped=stopped)
            count -= moved
            while moved:
                try:
                    if sink is None:
                        written = os.splice(readEnd, target, moved, offset_dst=offset,
                                            flags=os.SPLICE_F_MOVE)
                        offset += written
                        behind.wrote(offset)
                    else:
                        written = os.splice(readEnd, sink, moved)
                except OSError as error:
                    if sink is not None:
                        raise
                    failure = error
                    sink = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
                    continue
                moved -= written
    finally:
        for fd in (readEnd, writeEnd) if sink is None else (readEnd, writeEnd, sink):
            os.close(fd)
    if failure is not None:
        raise failure


def _fromSocket(source: int, pipe: int, count: int, poller: select.poll, *, stall: float,
                stopped: threading.Event) -> int:
    """Bytes of the body moved from the socket into the (empty) pipe: at least one."""
    return _moved(lambda: os.splice(source, pipe, min(count, CHUNK),
                                    flags=os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK),
                  count, poller, stall=stall, stopped=stopped)


def receiveSome(source: int, into: memoryview, left: int, poller: select.poll, *,
                stall: float, stopped: threading.Event) -> int:
    """Bytes of the body (``left`` still to come) received from the socket into ``into``:
    at least one."""
    return _moved(lambda: os.readv(source, [into]), left, poller, stall=stall,
                  stopped=stopped)


def _moved(move: Callable[[], int], count: int, poller: select.poll, *, stall: float,
           stopped: threading.Event) -> int:
    """What ``move`` (a non-blocking read of the socket ``poller`` watches) moved once the
    socket had something: at least one byte.  The client's faults raised as theirs."""
    deadline = time.monotonic() + stall
    while True:
        if stopped.is_set():
            raise BodyCut("The connection was closed while its body was being received.")
        try:
            moved = move()
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BodyStalled(f"Nothing of the body came for {stall:g} seconds.") from None
            poller.poll(min(left, SLICE) * 1000)
            continue
        except OSError as error:  # ECONNRESET, ETIMEDOUT: the file is not at fault
            raise BodyCut(f"The client's connection failed: {error.strerror}.") from None
        if not moved:
            raise BodyCut(f"The client closed its connection with {count} bytes of its "
                          "body still to send.")
        return moved


P = ParamSpec("P")
T = TypeVar("T")


def inOwnThread(reactor: IReactorFromThreads, work: Callable[P, T], *args: P.args,
                **kwargs: P.kwargs) -> Deferred[T]:
    """``work`` in a daemon thread of its own; its outcome on the reactor's thread.

    Not the transfer pool's: an upload holds its thread as long as its client sends, and a
    few slow uploads must not stop downloads; nor must one keep the server from stopping."""
    outcome: Deferred[T] = Deferred()

    def run() -> None:
        try:
            result = work(*args, **kwargs)
        except BaseException:
            reactor.callFromThread(outcome.errback, Failure())
        else:
            reactor.callFromThread(outcome.callback, result)

    threading.Thread(target=run, name="occi-splice", daemon=True).start()
    return outcome
