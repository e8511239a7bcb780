"""An upload's body received from its socket into aligned buffers and written past the page
cache (``O_DIRECT``, Linux).

Spliced into a file (:mod:`.splice`), a body still goes through the page cache: the kernel
copies each page of it there, and on a virtual machine whose memory the host hands back
lazily, filling the cache with a gigabyte costs more system time than anything else the
upload does (1.6-2.2 CPU seconds a GiB here, against 0.3-0.4 this way), and pushes out what
other clients read.  Here the rest of the body is received into page-aligned buffers of
:data:`BUFFER` bytes while a second thread writes the full ones with ``O_DIRECT``: the disk
takes them from those buffers, and the network and the disk work at once.

Direct writes must start and end on :data:`BLOCK` boundaries.  The bytes before the first
boundary go through the ordinary descriptor (another page than the direct writes touch); the
last block is written whole, with whatever the buffer holds past the body, and the file is
then cut to the body's end.  The caller's ``fsync`` makes it durable, as it would a spliced
file.  A file system that refuses ``O_DIRECT`` (tmpfs before Linux 6.6, some FUSE ones) is
:class:`DirectUnavailable`: the caller splices instead.

A client that hangs up or stalls, and a file that cannot be written, end it as a splice
would end (:class:`.splice.BodyCut`, :class:`.splice.BodyStalled`, the disk's
:class:`OSError` once the body is read out of the socket).
"""

from __future__ import annotations

import errno
import mmap
import os
import queue
import select
import threading
from collections.abc import Callable

from .splice import receiveSome

#: The alignment of a direct write's offset, length and memory: a page, which is a multiple
#: of any disk's logical block.
BLOCK = 4096
#: Bytes one write moves; four buffers in all (one filling, the rest writing or waiting).
BUFFER = 2 << 20
BUFFERS = 4


class DirectUnavailable(OSError):
    """The file system of the file does not take ``O_DIRECT`` writes."""


def openDirect(path: str | os.PathLike[str]) -> int:
    """A descriptor writing ``path`` (which exists) past the page cache."""
    try:
        return os.open(path, os.O_WRONLY | os.O_DIRECT | os.O_CLOEXEC)
    except OSError as error:
        if error.errno == errno.EINVAL:
            raise DirectUnavailable(error.errno, "O_DIRECT is not supported here") from None
        raise


def receiveDirect(source: int, buffered: int, direct: int, offset: int, count: int, *,
                  stall: float, stopped: threading.Event) -> None:
    """Receive ``count`` bytes from the socket ``source`` (non-blocking) into the file from
    ``offset``: the bytes before the next :data:`BLOCK` boundary through ``buffered``, the
    rest through ``direct`` (:func:`openDirect`); blocks until they are written.  The file
    ends at ``offset + count``."""
    poller = select.poll()
    poller.register(source, select.POLLIN)

    def receive(into: memoryview, left: int) -> None:
        """Fill ``into`` from the socket (``left`` bytes of the body still to come)."""
        got = 0
        while got < len(into):
            got += receiveSome(source, into[got:], left - got, poller, stall=stall,
                               stopped=stopped)

    failures: list[OSError] = []
    head = min(count, -offset % BLOCK)
    if head:
        view = memoryview(bytearray(head))
        receive(view, count)
        try:
            _pwriteAll(buffered, view, offset)
        except OSError as error:
            failures.append(error)
        offset, count = offset + head, count - head
    if count:
        _receiveAligned(receive, direct, offset, count, failures)
    if failures:
        raise failures[0]


def _receiveAligned(receive: Callable[[memoryview, int], None], direct: int, offset: int,
                    count: int, failures: list[OSError]) -> None:
    """The body from the block boundary ``offset`` on: each buffer received while the ones
    before it are written; the file then cut to the body's end.  The disk's failures are
    kept in ``failures``, and the rest of the body read out all the same."""
    end = offset + count
    free: queue.SimpleQueue[mmap.mmap] = queue.SimpleQueue()
    full: queue.SimpleQueue[tuple[mmap.mmap, int, int] | None] = queue.SimpleQueue()
    for _ in range(min(BUFFERS, -(-count // BUFFER))):
        free.put(mmap.mmap(-1, BUFFER))
    writer = threading.Thread(target=_write, args=(direct, full, free, failures),
                              name="occi-direct-write", daemon=True)
    writer.start()
    try:
        while count:
            buffer = free.get()
            length = min(BUFFER, count)
            receive(memoryview(buffer)[:length], count)
            full.put((buffer, offset, length))
            offset, count = offset + length, count - length
    finally:
        # (The buffers are unmapped once unreferenced: a view of one may live on in the
        # traceback of a client's fault.)
        full.put(None)
        writer.join()
    if not failures:
        os.ftruncate(direct, end)


def _write(direct: int, full: queue.SimpleQueue[tuple[mmap.mmap, int, int] | None],
           free: queue.SimpleQueue[mmap.mmap], failures: list[OSError]) -> None:
    """The writing thread: each full buffer written whole blocks at a time, until told to
    stop.  After a failure the buffers are only handed back: the body is still read out."""
    while (item := full.get()) is not None:
        buffer, offset, length = item
        if not failures:
            try:
                _pwriteAll(direct, memoryview(buffer)[:length + -length % BLOCK], offset)
            except OSError as error:
                failures.append(error)
        free.put(buffer)


def _pwriteAll(fd: int, view: memoryview, offset: int) -> None:
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written
