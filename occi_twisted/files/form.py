"""An HTML form's upload (``multipart/form-data``, RFC 7578), its file written as it arrives.

Browsers send a file only as a form does: a ``POST`` of ``multipart/form-data``, the file
between boundary lines, with the form's other fields around it.  Twisted would read such a
body into memory whole to parse it (the server turns that off); the storage page's upload
form (:mod:`occi_twisted.renderings.html.transfers`) is posted to a signed URL whose body
the channel hands to a :class:`FormSink` chunk by chunk: the parts are told apart here as
the bytes pass, and only the content of the one file field is written, through the
:class:`~.sink.UploadSink` it is, so memory stays as bounded as for a ``PUT``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import Message
from enum import Enum, auto
from pathlib import Path

from twisted.internet.interfaces import IReactorFromThreads
from twisted.python.threadpool import ThreadPool

from .sink import UploadSink

#: The media type of a form that carries files.
FORM_DATA = "multipart/form-data"
#: What a form adds to its file at most: boundaries and part headers (with a long file name).
FORM_SLACK = 64 * 1024
#: The headers of one part, at most.
_MAX_HEADERS = 16 * 1024
#: RFC 2046 section 5.1.1: a boundary is 1 to 70 of these, and does not end with a space.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")


def boundaryOf(contentType: str) -> bytes | None:
    """The boundary a ``multipart/form-data`` Content-Type names, or None when it is not one
    or names none that RFC 2046 allows."""
    header = Message()
    header["Content-Type"] = contentType
    if header.get_content_type() != FORM_DATA:
        return None
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not _BOUNDARY.fullmatch(boundary):
        return None
    return boundary.encode("ascii")


class _Where(Enum):
    PREAMBLE = auto()  # before the first boundary
    DELIMITED = auto()  # just after a boundary: a line break, or "--" at the end
    HEADERS = auto()  # a part's headers
    FILE = auto()  # the content of the file field
    SKIPPED = auto()  # the content of any other part
    END = auto()  # after the last boundary


class FormSink(UploadSink):
    """An :class:`~.sink.UploadSink` for a whole form body, which writes only the content of
    the file field ``field`` (the first part of that name with a file name) to its file.

    A body that is not such a form leaves :meth:`complaint` saying why; nothing more of it
    is written, and the caller removes what was."""

    takesSplice = False  # the parts are told apart here, byte by byte

    def __init__(self, path: Path, pool: ThreadPool, reactor: IReactorFromThreads, *,
                 boundary: bytes, field: str, pause: Callable[[], None],
                 resume: Callable[[], None]) -> None:
        super().__init__(path, pool, reactor, pause=pause, resume=resume)
        self._delimiter = b"\r\n--" + boundary
        # The first boundary may open the body, without the line break before the others.
        self._pending = b"\r\n"
        self._where = _Where.PREAMBLE
        self._field = field
        self._problem: str | None = None
        #: Whether the file field was met.
        self.found = False

    def write(self, data: bytes) -> None:
        if self._problem is not None or self._where is _Where.END:
            return
        self._pending += data
        while self._problem is None and self._step():
            pass

    def complaint(self) -> str | None:
        """Why the body received is no form with a file field, or None if it is one."""
        if self._problem is not None:
            return self._problem
        if not self.found:
            return f"The form carried no file in a field named {self._field!r}."
        if self._where is not _Where.END:
            return "The form's body ended before its last boundary."
        return None

    # -- the parts, as the bytes pass ------------------------------------------------------------

    def _step(self) -> bool:
        """Move on through what is pending; False when more bytes are needed."""
        where = self._where
        if where in (_Where.PREAMBLE, _Where.FILE, _Where.SKIPPED):
            return self._content()
        if where is _Where.DELIMITED:
            return self._afterBoundary()
        if where is _Where.HEADERS:
            return self._headers()
        self._pending = b""
        return False

    def _content(self) -> bool:
        """Pass on (or over) a part's content up to the next boundary; all of it but what
        could be the start of a boundary split across chunks when there is none yet."""
        at = self._pending.find(self._delimiter)
        if at < 0:
            keep = len(self._delimiter) - 1
            if len(self._pending) > keep:
                self._emit(self._pending[:-keep])
                self._pending = self._pending[-keep:]
            return False
        self._emit(self._pending[:at])
        self._pending = self._pending[at + len(self._delimiter):]
        self._where = _Where.DELIMITED
        return True

    def _emit(self, content: bytes) -> None:
        if content and self._where is _Where.FILE:
            super().write(content)

    def _afterBoundary(self) -> bool:
        """After a boundary: ``--`` ends the form, a line break (after optional white space)
        starts a part."""
        if self._pending.startswith(b"--"):
            self._where, self._pending = _Where.END, b""
            return False
        end = self._pending.find(b"\r\n")
        if end < 0:
            if len(self._pending) > 1024:
                self._problem = "The form's body has a damaged boundary line."
            return False
        if self._pending[:end].strip(b" \t"):
            self._problem = "The form's body has a damaged boundary line."
            return False
        self._pending = self._pending[end + 2:]
        self._where = _Where.HEADERS
        return True

    def _headers(self) -> bool:
        """A part's headers, up to the empty line: the file field's content is written,
        every other part's passed over."""
        if self._pending.startswith(b"\r\n"):
            end, block = 0, b""  # a part without headers
        else:
            end = self._pending.find(b"\r\n\r\n")
            if end < 0:
                if len(self._pending) > _MAX_HEADERS:
                    self._problem = (f"A part of the form has more than {_MAX_HEADERS} "
                                     "bytes of headers.")
                return False
            block, end = self._pending[:end], end + 2
        self._pending = self._pending[end + 2:]
        isFile = not self.found and _isFileField(block, self._field)
        self.found = self.found or isFile
        self._where = _Where.FILE if isFile else _Where.SKIPPED
        return True


def _isFileField(block: bytes, field: str) -> bool:
    """Whether a part's headers name the form field ``field`` holding a file (a file name,
    empty when the person chose none)."""
    part = Message()
    for line in block.decode("utf-8", "replace").split("\r\n"):
        name, colon, value = line.partition(":")
        if colon and name.strip().lower() == "content-disposition":
            part["Content-Disposition"] = value.strip()
    if part.get_content_disposition() != "form-data":
        return False
    return part.get_param("name", header="content-disposition") == field and \
        part.get_param("filename", header="content-disposition") is not None
