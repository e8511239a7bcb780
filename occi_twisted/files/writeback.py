"""An upload's bytes sent on to the disk as they arrive, not all at its end.

An upload ends with ``fsync`` before the image is replaced.  Left to itself the kernel
writes a file's dirty pages back only past ``vm.dirty_background_ratio`` of memory (gigabytes
on a server), so an upload of a gigabyte would be received first and written after, in one
flush at the ``fsync`` that the client waits for.  Asking for each stretch's writeback once it
is written (``POSIX_FADV_DONTNEED`` starts it, and drops the pages once they are clean) keeps
the disk busy while the network is, so that the final ``fsync`` has little left to do; and the
image, which nobody is about to read, does not push other files out of the page cache.
Durability is the ``fsync``'s all the same: it waits for the writeback started here.
"""

from __future__ import annotations

import os

#: Bytes written before their writeback is asked for.
STRETCH = 32 << 20


class WriteBehind:
    """Asks for the writeback of a file's stretches as they are written, in order."""

    def __init__(self, fd: int, start: int = 0) -> None:
        self._fd = fd
        self._from = start

    def wrote(self, end: int) -> None:
        """The file is written up to ``end``; blocks no longer than starting the writes."""
        if end - self._from >= STRETCH:
            os.posix_fadvise(self._fd, self._from, end - self._from, os.POSIX_FADV_DONTNEED)
            self._from = end
