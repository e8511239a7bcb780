"""A body moved from a socket to a file by the kernel: real socket pairs, real files.  Exactly
the bytes asked for are moved (what follows stays for the next request), at the offset asked;
a client that hangs up, stalls, or is stopped fails the move; a file that cannot be written
still has the body read out of the socket, then says why.  Writeback is asked for as the file
fills, a stretch at a time."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest
import pytest_twisted as pt

from occi_twisted.files import splice
from occi_twisted.files.splice import BodyCut, BodyStalled, spliceInto
from occi_twisted.files.writeback import STRETCH, WriteBehind

from .support import assertReadOut, leftInSocket, send, sinkAt

pytestmark = pytest.mark.skipif(not splice.available(), reason="no splice(2) here")

MIB = 1 << 20






def _file(path: Path, prefix: bytes = b"") -> int:
    path.write_bytes(prefix)
    return os.open(path, os.O_WRONLY)


def _spliced(pair: tuple[socket.socket, socket.socket], path: Path, body: bytes,
             prefix: bytes, after: bytes = b"") -> bytes:
    """The file at ``path`` holding ``prefix``, once ``body`` (sent with ``after``) is
    spliced into it after the prefix."""
    client, server = pair
    sender = send(client, body + after)
    fd = _file(path, prefix)
    try:
        spliceInto(server.fileno(), fd, len(prefix), len(body), stall=10,
                   stopped=threading.Event())
    finally:
        os.close(fd)
    sender.join()
    return path.read_bytes()


def test_the_bytes_asked_for_land_at_the_offset_and_the_rest_stays(
        pair: tuple[socket.socket, socket.socket], tmp_path: Path) -> None:
    body = os.urandom(9 * MIB + 123)
    assert _spliced(pair, tmp_path / "upload", body, b"head",
                    b"GET /next HTTP/1.1\r\n") == b"head" + body
    server = pair[1]
    assert leftInSocket(server) == b"GET /next HTTP/1.1\r\n"


def test_a_client_that_hangs_up_early_cuts_the_body(
        pair: tuple[socket.socket, socket.socket], tmp_path: Path) -> None:
    client, server = pair
    send(client, b"x" * MIB, close=True)
    fd = _file(tmp_path / "upload")
    try:
        with pytest.raises(BodyCut, match="bytes of its body still to send"):
            spliceInto(server.fileno(), fd, 0, 2 * MIB, stall=10, stopped=threading.Event())
    finally:
        os.close(fd)


def test_a_client_that_stops_sending_stalls(
        pair: tuple[socket.socket, socket.socket], tmp_path: Path) -> None:
    client, server = pair
    send(client, b"x" * 1000)
    fd = _file(tmp_path / "upload")
    try:
        with pytest.raises(BodyStalled, match=r"for 0\.2 seconds"):
            spliceInto(server.fileno(), fd, 0, 2000, stall=0.2, stopped=threading.Event())
    finally:
        os.close(fd)
    assert (tmp_path / "upload").read_bytes() == b"x" * 1000


def test_a_stopped_move_ends_while_the_client_is_silent(
        pair: tuple[socket.socket, socket.socket], tmp_path: Path) -> None:
    _, server = pair
    stopped = threading.Event()
    stopped.set()
    fd = _file(tmp_path / "upload")
    try:
        with pytest.raises(BodyCut, match="closed while"):
            spliceInto(server.fileno(), fd, 0, 10, stall=60, stopped=stopped)
    finally:
        os.close(fd)


def test_a_file_that_cannot_be_written_still_has_the_body_read(
        pair: tuple[socket.socket, socket.socket], tmp_path: Path) -> None:
    client, server = pair
    sender = send(client, b"y" * (3 * MIB) + b"after")
    (tmp_path / "upload").write_bytes(b"")
    readOnly = os.open(tmp_path / "upload", os.O_RDONLY)
    try:
        with pytest.raises(OSError) as raised:
            spliceInto(server.fileno(), readOnly, 0, 3 * MIB, stall=10,
                       stopped=threading.Event())
    finally:
        os.close(readOnly)
    assertReadOut(raised.value, sender, server, b"after")




@pt.ensureDeferred
async def test_a_sink_whose_client_hangs_up_is_removed(
        pair: tuple[socket.socket, socket.socket], tmp_path: Path) -> None:
    client, server = pair
    sink = sinkAt(tmp_path / "upload")
    send(client, b"z" * MIB, close=True)
    with pytest.raises(BodyCut):
        await sink.receiveFrom(os.dup(server.fileno()), 2 * MIB, stall=10,
                               stopped=threading.Event())
    await sink.abort()
    assert not (tmp_path / "upload").exists()


@pt.ensureDeferred
async def test_a_sink_whose_file_fails_says_so_when_finished(
        pair: tuple[socket.socket, socket.socket], tmp_path: Path) -> None:
    client, server = pair
    # A directory where the file should be: it cannot be opened for writing.
    (tmp_path / "upload").mkdir()
    sink = sinkAt(tmp_path / "upload")
    send(client, b"w" * 1000)
    await sink.receiveFrom(os.dup(server.fileno()), 1000, stall=10,
                           stopped=threading.Event())
    with pytest.raises(OSError):
        await sink.finished()


def test_writeback_is_asked_for_each_stretch_once_written(
        monkeypatch: pytest.MonkeyPatch, pair: tuple[socket.socket, socket.socket],
        tmp_path: Path) -> None:
    asked: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "posix_fadvise", lambda fd, start, length, advice: asked.append(
        (start, length)) if advice == os.POSIX_FADV_DONTNEED else None)
    behind = WriteBehind(0, 100)
    behind.wrote(100 + STRETCH - 1)
    assert asked == []
    behind.wrote(100 + STRETCH + 5)
    behind.wrote(100 + 2 * STRETCH)
    assert asked == [(100, STRETCH + 5)]
    # And a splice asks as it goes, from where it starts.
    asked.clear()
    body = os.urandom(2 * STRETCH + MIB)
    assert _spliced(pair, tmp_path / "upload", body, b"h") == b"h" + body
    assert asked and asked[0][0] == 1 and sum(length for _, length in asked) >= STRETCH
