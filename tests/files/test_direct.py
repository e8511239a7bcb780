"""A body received from a socket and written past the page cache: real socket pairs, real
files on a file system that takes ``O_DIRECT``.  Exactly the bytes asked for land at the
offset asked, whatever the alignment of either end; what follows stays for the next request;
a client that hangs up or stalls fails the move; a file that cannot be written still has the
body read out of the socket; a file system without ``O_DIRECT`` makes the sink splice
instead."""

from __future__ import annotations

import errno
import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_twisted as pt

from occi_twisted.files import direct, splice
from occi_twisted.files.direct import (
    BLOCK,
    BUFFER,
    DirectUnavailable,
    openDirect,
    receiveDirect,
)
from occi_twisted.files.splice import BodyCut, BodyStalled

from .support import assertReadOut, leftInSocket, send, sinkAt

ROOT = Path(__file__).resolve().parent.parent.parent


def _takesDirect(folder: Path) -> bool:
    probe = folder / ".direct-probe"
    probe.write_bytes(b"")
    try:
        os.close(openDirect(probe))
    except DirectUnavailable:
        return False
    finally:
        probe.unlink()
    return True


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A folder whose file system takes ``O_DIRECT``: the test's own, or (where that is
    tmpfs, as ``/tmp`` is on some systems) one beside the project, on its disk."""
    if _takesDirect(tmp_path):
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix=".direct-tests-", dir=ROOT))
    try:
        if not _takesDirect(folder):
            pytest.skip("no file system here takes O_DIRECT")
        yield folder
    finally:
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()






def _received(server: socket.socket, path: Path, prefix: bytes, count: int, *,
              stall: float = 10) -> None:
    """Receive ``count`` bytes into ``path`` (holding ``prefix``) after the prefix."""
    path.write_bytes(prefix)
    buffered, straight = os.open(path, os.O_WRONLY), openDirect(path)
    try:
        receiveDirect(server.fileno(), buffered, straight, len(prefix), count, stall=stall,
                      stopped=threading.Event())
    finally:
        os.close(buffered)
        os.close(straight)


@pytest.mark.parametrize(("prefix", "size"), [
    (b"head", 9 * BUFFER // 4 + 123),   # unaligned start, unaligned end, several buffers
    (b"", 2 * BUFFER),                  # aligned both ends, whole buffers
    (b"x" * BLOCK, BLOCK - 1),          # aligned start, one short block
    (b"h" * 100, 50),                   # all of it before the first boundary
    (b"h" * (BLOCK - 10), BLOCK + 20),  # a head of 10 bytes, then a block and a bit
], ids=["unaligned", "aligned", "short-block", "head-only", "small-head"])
def test_the_bytes_asked_for_land_at_the_offset_and_the_rest_stays(
        pair: tuple[socket.socket, socket.socket], disk: Path, prefix: bytes,
        size: int) -> None:
    client, server = pair
    body = os.urandom(size)
    sender = send(client, body + b"GET /next HTTP/1.1\r\n")
    _received(server, disk / "upload", prefix, size)
    sender.join()
    assert (disk / "upload").read_bytes() == prefix + body
    assert leftInSocket(server) == b"GET /next HTTP/1.1\r\n"


def test_a_client_that_hangs_up_early_cuts_the_body(
        pair: tuple[socket.socket, socket.socket], disk: Path) -> None:
    client, server = pair
    send(client, b"x" * BUFFER, close=True)
    with pytest.raises(BodyCut, match="bytes of its body still to send"):
        _received(server, disk / "upload", b"", 2 * BUFFER)


def test_a_client_that_stops_sending_stalls(
        pair: tuple[socket.socket, socket.socket], disk: Path) -> None:
    client, server = pair
    send(client, b"x" * 1000)
    with pytest.raises(BodyStalled, match=r"for 0\.2 seconds"):
        _received(server, disk / "upload", b"", 2 * BLOCK, stall=0.2)


@pytest.mark.parametrize("prefix", [b"", b"ab"], ids=["aligned", "head-first"])
def test_a_file_that_cannot_be_written_still_has_the_body_read(
        pair: tuple[socket.socket, socket.socket], disk: Path, prefix: bytes) -> None:
    client, server = pair
    sender = send(client, b"y" * (BUFFER + 5) + b"after")
    path = disk / "upload"
    path.write_bytes(prefix)
    readOnly = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(OSError) as raised:
            receiveDirect(server.fileno(), readOnly, readOnly, len(prefix), BUFFER + 5,
                          stall=10, stopped=threading.Event())
    finally:
        os.close(readOnly)
    assertReadOut(raised.value, sender, server, b"after")




async def _receivedBySink(pair: tuple[socket.socket, socket.socket], path: Path) -> int:
    """How many bytes the sink at ``path`` took from the socket, after bytes written to it
    first (the part of a body that came with its head), once it holds them all."""
    client, server = pair
    sink = sinkAt(path)
    first, rest = os.urandom(70_001), os.urandom(5 * BUFFER // 2 + 7)
    sink.write(first)
    sender = send(client, rest)
    await sink.receiveFrom(os.dup(server.fileno()), len(rest), stall=10,
                           stopped=threading.Event())
    assert await sink.finished() == len(first) + len(rest)
    sender.join()
    assert path.read_bytes() == first + rest
    return len(rest)


@pt.ensureDeferred
async def test_a_sink_writes_the_rest_past_the_page_cache(
        monkeypatch: pytest.MonkeyPatch, pair: tuple[socket.socket, socket.socket],
        disk: Path) -> None:
    moved: list[int] = []
    real = direct.receiveDirect

    def counted(*args: object, **kwargs: object) -> None:
        moved.append(args[4])  # type: ignore[arg-type]
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("occi_twisted.files.sink.receiveDirect", counted)
    assert moved == [await _receivedBySink(pair, disk / "upload")]


@pt.ensureDeferred
async def test_a_sink_on_a_file_system_without_direct_writes_splices(
        monkeypatch: pytest.MonkeyPatch, pair: tuple[socket.socket, socket.socket],
        tmp_path: Path) -> None:
    # As a file system without O_DIRECT answers (tmpfs before Linux 6.6, some FUSE ones).
    realOpen, spliced = os.open, []

    def refusing(path: str, flags: int, *args: int, **kwargs: int) -> int:
        if flags & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return realOpen(path, flags, *args, **kwargs)

    def counted(*args: object, **kwargs: object) -> None:
        spliced.append(args[3])
        splice.spliceInto(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refusing)
    monkeypatch.setattr("occi_twisted.files.sink.spliceInto", counted)
    with pytest.raises(DirectUnavailable):
        openDirect(tmp_path)
    assert spliced == [await _receivedBySink(pair, tmp_path / "upload")]
