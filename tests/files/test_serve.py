"""Bodies served by :func:`sendBody` through a Klein route on a real socket, read by curl and
treq: whole, in ranges (single, several as multipart/byteranges, resumed), conditionally, by
HEAD; and the streaming itself -- a client that hangs up stops the reads, the reactor turns
while a read blocks, a slow client pauses the producer, a failed read cuts the answer."""

from __future__ import annotations

import email.parser
import email.policy
import os
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import pytest
import pytest_twisted as pt
import treq
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThread
from twisted.logger import formatEvent

from occi_twisted.files import serve
from occi_twisted.files.body import Body, BytesPart, FilePart, ZerosPart
from occi_twisted.files.producer import BodyProducer
from occi_twisted.files.serve import disposition

from .serving import (
    CountingRequest,
    MiB,
    Server,
    ShortPart,
    WatchedPart,
    curl,
    fileBody,
    headersOf,
    loggedErrors,
    rawGet,
    waitUntil,
)

#: Where the 64 MiB sparse image holds data (offset, size); the rest is holes.
DATA_AT = [(0, 4096), (10 * MiB + 123, 100_000), (33 * MiB - 7, MiB + 14), (64 * MiB - 5000, 5000)]
MIXED_HEAD = b"<Envelope/>\n" * 50


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("files")
    sparse = root / "disk.img"
    with sparse.open("wb") as image:
        image.truncate(64 * MiB)
        for offset, size in DATA_AT:
            image.seek(offset)
            image.write(os.urandom(size))
    small = root / "small.txt"
    small.write_bytes(b"hello, ranges\n" * 100)
    past = time.time() - 3600  # a Last-Modified that is a strong validator
    for path in (sparse, small):
        os.utime(path, (past, past))
    return {"sparse": sparse, "small": small}


@pytest.fixture
def server(files: dict[str, Path]) -> Iterator[Server]:
    running = Server({
        "disk.img": lambda: fileBody(files["sparse"], "disk.img"),
        "small": lambda: fileBody(files["small"]),
        "mixed": lambda: Body([BytesPart(MIXED_HEAD), FilePart.open(files["small"]),
                               ZerosPart(3 * MiB + 5)], "application/x-tar", '"mixed-1"',
                              1e9, "bündel.ova"),
        "empty": lambda: Body([], "application/octet-stream", '"empty"', 1e9),
    })
    yield running
    pt.blockon(running.stop())


@pytest.fixture
def producers(monkeypatch: pytest.MonkeyPatch) -> list[BodyProducer]:
    """Every producer sendBody makes, to look at its counts."""
    made: list[BodyProducer] = []

    class Recorded(BodyProducer):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    monkeypatch.setattr(serve, "BodyProducer", Recorded)
    return made


def expected(files: dict[str, Path], name: str) -> bytes:
    if name == "empty":
        return b""
    if name == "mixed":
        return MIXED_HEAD + files["small"].read_bytes() + bytes(3 * MiB + 5)
    return files["sparse" if name == "disk.img" else name].read_bytes()


@pt.ensureDeferred
async def test_curl_downloads_the_sparse_image_whole(server: Server, tmp_path: Path,
                                                     files: dict[str, Path]) -> None:
    out, dump = tmp_path / "out", tmp_path / "headers"
    await curl("-o", str(out), "-D", str(dump), f"{server.url}/disk.img")
    assert out.read_bytes() == expected(files, "disk.img")
    status, headers = headersOf(dump.read_bytes())
    stat = files["sparse"].stat()
    assert status == 200
    assert headers["content-length"] == str(64 * MiB)
    assert headers["content-type"] == "application/octet-stream"
    assert headers["accept-ranges"] == "bytes"
    assert headers["etag"] == f'"{stat.st_ino:x}-{stat.st_size:x}-{stat.st_mtime_ns:x}"'
    assert headers["last-modified"] == formatdate(stat.st_mtime, usegmt=True)
    assert headers["content-disposition"] == 'attachment; filename="disk.img"'
    assert headers["cache-control"] == "private, no-transform"
    assert CountingRequest.finishes == [1]


@pt.ensureDeferred
async def test_treq_downloads_every_body(server: Server, files: dict[str, Path]) -> None:
    for name in ("disk.img", "small", "mixed", "empty"):
        response = await treq.get(f"{server.url}/{name}", persistent=False)
        assert response.code == 200
        assert await response.content() == expected(files, name)
    assert CountingRequest.finishes == [1, 1, 1, 1]


@pt.ensureDeferred
async def test_curl_single_ranges(server: Server, tmp_path: Path,
                                  files: dict[str, Path]) -> None:
    whole = expected(files, "disk.img")
    for asked, (start, end) in (("10485700-10486000", (10485700, 10486001)),
                                ("-5000", (len(whole) - 5000, len(whole))),
                                ("60000000-", (60000000, len(whole)))):
        out, dump = tmp_path / "out", tmp_path / "headers"
        await curl("--range", asked, "-o", str(out), "-D", str(dump), f"{server.url}/disk.img")
        status, headers = headersOf(dump.read_bytes())
        assert status == 206
        assert headers["content-range"] == f"bytes {start}-{end - 1}/{len(whole)}"
        assert out.read_bytes() == whole[start:end]


@pt.ensureDeferred
async def test_curl_several_ranges_read_back_with_the_email_parser(
        server: Server, tmp_path: Path, files: dict[str, Path]) -> None:
    whole = expected(files, "mixed")
    spans = [(0, 100), (600, 2000), (len(whole) - 10, len(whole))]
    out, dump = tmp_path / "out", tmp_path / "headers"
    await curl("--range", "0-99,600-1999,-10", "-o", str(out), "-D", str(dump),
               f"{server.url}/mixed")
    status, headers = headersOf(dump.read_bytes())
    body = out.read_bytes()
    assert status == 206
    assert headers["content-length"] == str(len(body))
    assert headers["content-type"].startswith("multipart/byteranges; boundary=")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {headers['content-type']}\r\n\r\n".encode() + body)
    parts = list(message.iter_parts())
    assert [p["Content-Range"] for p in parts] == [f"bytes {s}-{e - 1}/{len(whole)}"
                                                  for s, e in spans]
    assert {p["Content-Type"] for p in parts} == {"application/x-tar"}
    assert [p.get_payload(decode=True) for p in parts] == [whole[s:e] for s, e in spans]


@pt.ensureDeferred
async def test_curl_resumes_a_partial_download(server: Server, tmp_path: Path,
                                               files: dict[str, Path]) -> None:
    whole = expected(files, "disk.img")
    out = tmp_path / "partial"
    out.write_bytes(whole[:33 * MiB + 17])
    await curl("-C", "-", "-o", str(out), f"{server.url}/disk.img")
    assert out.read_bytes() == whole


@pt.ensureDeferred
async def test_a_range_beyond_the_end_is_416(server: Server) -> None:
    for asked in ("bytes=70000000-", "bytes=67108864-67108864, 99999999-"):
        response = await treq.get(f"{server.url}/disk.img", headers={"Range": asked},
                                  persistent=False)
        assert response.code == 416
        assert response.headers.getRawHeaders("Content-Range") == [f"bytes */{64 * MiB}"]
        assert b"67108864 bytes" in await response.content()


@pt.ensureDeferred
async def test_ignored_ranges_send_the_whole(server: Server, files: dict[str, Path]) -> None:
    """Malformed or abusive range sets (and ranges on an empty body) are ignored: 200."""
    many = ",".join(f"{n * 1000}-{n * 1000}" for n in range(40))
    for name, asked in (("small", "bytes=5-3"), ("small", "lines=1-2"),
                        ("small", "bytes=1-2;3"), ("mixed", "bytes=" + many),
                        ("empty", "bytes=-5")):
        response = await treq.get(f"{server.url}/{name}", headers={"Range": asked},
                                  persistent=False)
        assert response.code == 200, asked
        assert await response.content() == expected(files, name)


@pt.ensureDeferred
async def test_overlapping_ranges_are_sent_once(server: Server, files: dict[str, Path]) -> None:
    response = await treq.get(f"{server.url}/small",
                              headers={"Range": "bytes=0-9,5-20,-1400,0-"}, persistent=False)
    assert response.code == 206
    assert response.headers.getRawHeaders("Content-Range") == ["bytes 0-1399/1400"]
    assert await response.content() == expected(files, "small")


@pt.ensureDeferred
async def test_if_range(server: Server, files: dict[str, Path]) -> None:
    whole = expected(files, "small")
    first = await treq.get(f"{server.url}/small", persistent=False)
    await first.content()
    etag = first.headers.getRawHeaders("ETag")[0]
    modified = first.headers.getRawHeaders("Last-Modified")[0]
    for condition, code in ((etag, 206), (modified, 206), ('"another"', 200),
                            ("W/" + etag, 200),  # a weak tag never matches strongly
                            (formatdate(time.time() - 7200, usegmt=True), 200)):
        response = await treq.get(f"{server.url}/small", persistent=False,
                                  headers={"Range": "bytes=100-199", "If-Range": condition})
        assert response.code == code, condition
        assert await response.content() == (whole[100:200] if code == 206 else whole)


@pt.ensureDeferred
async def test_a_date_of_this_second_is_too_weak_for_if_range(server: Server) -> None:
    now = time.time()
    server.files.bodies["fresh"] = lambda: Body([BytesPart(b"0123456789")], "text/plain",
                                                '"fresh"', now)
    response = await treq.get(f"{server.url}/fresh", persistent=False, headers={
        "Range": "bytes=2-3", "If-Range": formatdate(now, usegmt=True)})
    assert response.code == 200
    assert await response.content() == b"0123456789"


@pt.ensureDeferred
async def test_conditional_requests(server: Server) -> None:
    first = await treq.get(f"{server.url}/small", persistent=False)
    await first.content()
    etag = first.headers.getRawHeaders("ETag")[0]
    modified = first.headers.getRawHeaders("Last-Modified")[0]
    for headers, code in (({"If-None-Match": etag}, 304),
                          ({"If-None-Match": f'"x", W/{etag}'}, 304),
                          ({"If-None-Match": '"x"', "If-Modified-Since": modified}, 200),
                          ({"If-Modified-Since": modified}, 304),
                          ({"If-Match": '"x"'}, 412), ({"If-Match": f'"x", {etag}'}, 200),
                          ({"If-Unmodified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"}, 412),
                          ({"If-Modified-Since": "not a date"}, 200)):
        response = await treq.get(f"{server.url}/small", headers=headers, persistent=False)
        body = await response.content()
        assert response.code == code, headers
        if code == 304:
            assert body == b""
            assert response.headers.getRawHeaders("ETag") == [etag]
    post = await treq.post(f"{server.url}/small", persistent=False)
    assert post.code == 405
    assert post.headers.getRawHeaders("Allow") == ["GET, HEAD"]


@pt.ensureDeferred
async def test_head_answers_the_headers_of_get(server: Server, tmp_path: Path) -> None:
    for name, headers in (("mixed", []), ("disk.img", ["--range", "0-10"])):
        got = headersOf((await curl("-D", "-", "-o", str(tmp_path / "out"),
                                    f"{server.url}/{name}")).stdout)
        head = await curl("-I", *headers, f"{server.url}/{name}")
        assert head.stdout.endswith(b"\r\n\r\n")  # headers, and no body
        status, answered = headersOf(head.stdout)
        assert status == got[0] == 200  # ranges are for GET only (RFC 9110 §14.2)
        del answered["date"], got[1]["date"]
        assert answered == got[1]
    assert answered["content-disposition"] == 'attachment; filename="disk.img"'
    assert answered["content-length"] == str(64 * MiB)
    assert CountingRequest.finishes == [1, 1, 1, 1]


def test_file_names_are_offered_safely() -> None:
    assert disposition("disk.img") == b'attachment; filename="disk.img"'
    assert disposition('bündel "1".ova') == (
        b'attachment; filename="b_ndel _1_.ova"; '
        b"filename*=UTF-8''b%C3%BCndel%20%221%22.ova")
    assert disposition("a\r\nSet-Cookie: x") == (
        b'attachment; filename="a__Set-Cookie: x"; filename*=UTF-8\'\'a%0D%0ASet-Cookie%3A%20x')


@pt.ensureDeferred
async def test_a_client_that_hangs_up_stops_the_reads(
        server: Server, producers: list[BodyProducer]) -> None:
    part = WatchedPart(os.urandom(32 * MiB), free=2)
    server.files.bodies["watched"] = lambda: Body([part], "application/octet-stream",
                                                  '"w"', 1e9)
    with loggedErrors() as errors:
        head, _ = await deferToThread(rawGet, server.port.getHost().port, "/watched", keep=MiB)
        assert head.startswith(b"HTTP/1.1 200")
        await waitUntil(lambda: bool(producers) and producers[0].stopped)
        # The reads asked for before the hang-up was seen (one may not have started in its
        # thread yet): no other may follow.
        askedAtHangUp = producers[0].reads
        part.gate.set()  # the read under way, if any, ends in its thread
        await waitUntil(lambda: part.closes > 0)
        await deferToThread(time.sleep, 0.2)  # time for a read that should not happen
    assert part.reads == askedAtHangUp == producers[0].reads
    assert part.reads <= 3
    assert part.closes == 1
    assert CountingRequest.finishes == []  # nobody finished a request whose client left
    assert errors == []


@pt.ensureDeferred
async def test_an_answer_given_up_drops_the_connection(
        server: Server, producers: list[BodyProducer]) -> None:
    """Whoever awaits the answer may cancel it: the length promised can no longer be kept,
    so the connection goes at once, and the body is closed after the read under way."""
    part = WatchedPart(os.urandom(8 * MiB), free=1)
    server.files.bodies["given-up"] = lambda: Body([part], "application/octet-stream",
                                                   '"g"', 1e9)
    answer = deferToThread(rawGet, server.port.getHost().port, "/given-up")
    await waitUntil(lambda: part.reads == 2)  # the second read is held at the gate
    producers[0].done.cancel()
    assert part.closes == 0  # not while a read is under way
    part.gate.set()
    head, body = await answer
    assert b"Content-Length: 8388608" in head
    assert len(body) <= MiB
    await waitUntil(lambda: part.closes > 0)
    assert (part.reads, part.closes) == (2, 1)


@pt.ensureDeferred
async def test_the_reactor_turns_while_a_read_blocks(server: Server) -> None:
    ticks = [0]
    ticking = LoopingCall(lambda: ticks.__setitem__(0, ticks[0] + 1))
    ticking.start(0.005)
    seen: list[bool] = []

    def waitForTicks(offset: int) -> None:
        """Hold the read until the reactor has ticked three times meanwhile."""
        before = ticks[0]
        deadline = time.monotonic() + 20
        while ticks[0] < before + 3 and time.monotonic() < deadline:
            time.sleep(0.001)
        seen.append(ticks[0] >= before + 3)

    data = os.urandom(3 * MiB)
    part = WatchedPart(data, during=waitForTicks)
    server.files.bodies["ticking"] = lambda: Body([part], "application/octet-stream",
                                                  '"t"', 1e9)
    try:
        response = await treq.get(f"{server.url}/ticking", persistent=False)
        assert await response.content() == data
    finally:
        ticking.stop()
    assert seen == [True, True, True]


@pt.ensureDeferred
async def test_a_slow_client_pauses_the_producer(server: Server,
                                                 producers: list[BodyProducer]) -> None:
    data = os.urandom(6 * MiB)
    part = WatchedPart(data)
    server.files.bodies["slow"] = lambda: Body([part], "application/octet-stream", '"s"', 1e9)
    _, body = await deferToThread(rawGet, server.port.getHost().port, "/slow",
                                  receiveBuffer=16384, pace=0.0002)
    assert body == data
    [producer] = producers
    assert producer.pauses > 0
    assert producer.peakHeld == 2  # double buffered, never more
    assert producer.reads == part.reads == 6
    assert part.closes == 1


@pt.ensureDeferred
async def test_a_failed_read_cuts_the_answer_and_is_logged_once(server: Server) -> None:
    part = WatchedPart(os.urandom(8 * MiB), failAt=3 * MiB)
    server.files.bodies["failing"] = lambda: Body([part], "application/octet-stream",
                                                  '"f"', 1e9)
    early = WatchedPart(b"x" * 10, failAt=0)
    server.files.bodies["unreadable"] = lambda: Body([early], "text/plain", '"u"', 1e9)
    with loggedErrors() as errors:
        head, body = await deferToThread(rawGet, server.port.getHost().port, "/failing")
        assert b"Content-Length: 8388608" in head
        assert body == part.data[:3 * MiB]  # what was read; then the connection was closed
        assert part.closes == 1
        response = await treq.get(f"{server.url}/unreadable", persistent=False)
        assert response.code == 500  # nothing sent yet: the failure can be told
        assert b"could not be read" in await response.content()
        assert response.headers.getRawHeaders("ETag") is None
        assert early.closes == 1
        # A part that gives fewer bytes than it said it has: the answer is cut there too.
        server.files.bodies["short"] = lambda: Body([ShortPart(part.data[:2 * MiB])],
                                                    "application/octet-stream", '"s"', 1e9)
        head, body = await deferToThread(rawGet, server.port.getHost().port, "/short")
        assert b"Content-Length: 2097162" in head
        assert body == part.data[:2 * MiB]
    assert [formatEvent(e).split(":")[0] for e in errors] == [
        "Sending /failing", "Sending /unreadable", "Sending /short"]
    assert "/failing: reading from byte 3145728 failed" in formatEvent(errors[0])
    assert "0 bytes read where 10 were laid out" in formatEvent(errors[2])


def test_a_part_shorter_than_it_says_makes_the_read_short() -> None:
    """Not the next part's bytes read from before its start: the server sees a short read
    (and cuts the answer, as above)."""
    body = Body([ShortPart(b"abc"), BytesPart(b"defg")], "text/plain", '"x"', 0)
    assert body.read(0, 100) == b"abc"
