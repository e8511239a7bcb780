"""The random pass of a secure erase: an AES-256-CTR keystream under a key drawn for the pass,
which a resumed pass continues and the verification regenerates; and the chunk writer that
puts every pass on the disk, directly where it can."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from occi_twisted.drivers.storage import (
    EraseJob,
    EraseState,
    Pattern,
    Phase,
    StreamKey,
    VerificationFailed,
)
from occi_twisted.drivers.storage.files import ChunkWriter
from occi_twisted.drivers.storage.patterns import Keystream

from .support import CHUNK, ODD_SIZE, assertErased, markedSparseFile, resumeAt, runSteps, writeAt


def keystream(key: StreamKey, size: int) -> bytes:
    """The first ``size`` bytes of the stream, made independently of the engine."""
    cipher = Cipher(algorithms.AES(key.key), modes.CTR(key.nonce)).encryptor()
    return cipher.update(bytes(size)) + cipher.finalize()


@contextmanager
def chunkWriter(path: Path, length: int) -> Iterator[ChunkWriter]:
    """A writer on a new empty file, closed (with its file) afterwards."""
    path.touch()
    fd = os.open(path, os.O_RDWR)
    writer = ChunkWriter(path, fd, length)
    try:
        yield writer
    finally:
        writer.close()
        os.close(fd)


def test_the_keystream_starts_at_any_byte(tmp_path: Path) -> None:
    """Made in pieces, from any offset (a counter block's middle too), in any order, it is
    the one stream: what lets a resumed pass go on and a verification regenerate it."""
    key = StreamKey.new()
    whole = keystream(key, 5000)
    stream = Keystream(key)
    with chunkWriter(tmp_path / "buffer", 4096) as writer:
        for offset, n in [(0, 100), (100, 33), (133, 4096), (7, 9), (4080, 17), (17, 0)]:
            stream.makeInto(writer, offset, n)
            assert writer.buffer[:n] == whole[offset:offset + n]


def test_a_counter_that_wraps_goes_on_at0(tmp_path: Path) -> None:
    """The 128-bit counter wraps as OpenSSL's does, so any initial counter block works."""
    key = StreamKey(b"k" * 32, b"\xff" * 16)
    whole = keystream(key, 64)
    with chunkWriter(tmp_path / "buffer", 64) as writer:
        Keystream(key).makeInto(writer, 40, 24)
        assert writer.buffer[:24] == whole[40:]


def test_a_random_pass_writes_the_keystream_of_its_key(tmp_path: Path) -> None:
    path = tmp_path / "disk.img"
    markedSparseFile(path, ODD_SIZE)
    job = EraseJob(path, 1, Pattern.RANDOM, chunkSize=CHUNK)
    key = job.state.stream
    assert key is not None
    while job.state.passIndex < 1:
        job.step(CHUNK)
    job.close()
    assert job.state.stream == key  # kept for the verification
    assert path.read_bytes() == keystream(key, ODD_SIZE)


def test_each_random_pass_has_a_key_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "disk.img"
    markedSparseFile(path, ODD_SIZE)
    job = EraseJob(path, 3, Pattern.RANDOM, chunkSize=CHUNK)
    keys = [job.state.stream]
    while not job.done:
        job.step(10 * ODD_SIZE)  # one pass a step
        keys.append(job.state.stream)
    job.close()
    # Each pass's key from its start; the last one's kept for its verification; then none.
    first, second, third, verified, done = keys
    assert third is not None and len({first, second, third}) == 3
    assert verified == third and done is None
    assert path.read_bytes() == keystream(third, ODD_SIZE)


def test_the_kernel_gives_only_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``os.urandom`` (a few hundred MB/s) supplies 48 bytes a pass, not the pass itself."""
    drawn: list[int] = []
    urandom = os.urandom

    def counted(n: int) -> bytes:
        drawn.append(n)
        return urandom(n)

    monkeypatch.setattr(os, "urandom", counted)
    path = tmp_path / "disk.img"
    markedSparseFile(path, ODD_SIZE)
    job = EraseJob(path, 2, Pattern.RANDOM, chunkSize=CHUNK)
    runSteps(job, 3 * CHUNK)
    job.close()
    assert sum(drawn) == 2 * (32 + 16)


@pytest.mark.parametrize("passes", [1, 2])
def test_a_resumed_random_pass_continues_the_same_stream(tmp_path: Path, passes: int) -> None:
    """Stopped at an offset that is not a multiple of 16 (inside a counter block), resumed
    from the checkpoint as JSON keeps it: the file holds one unbroken stream."""
    path = tmp_path / "disk.img"
    markedSparseFile(path, ODD_SIZE)
    last = passes - 1
    state = resumeAt(path, passes, Pattern.RANDOM,
                     lambda s: s.passIndex == last and s.offset > ODD_SIZE // 2, CHUNK + 4097)
    assert state.offset % 16 and state.stream is not None
    job = EraseJob(path, passes, Pattern.RANDOM, resumeFrom=state, chunkSize=CHUNK)
    while job.state.passIndex == last:
        job.step(CHUNK)
    assert path.read_bytes() == keystream(state.stream, ODD_SIZE)
    runSteps(job, CHUNK)  # and it verifies
    job.close()
    assert job.progress.phase is Phase.DONE


def test_verification_names_a_flipped_byte_of_the_stream(tmp_path: Path) -> None:
    path = tmp_path / "disk.img"
    markedSparseFile(path, ODD_SIZE)
    job = EraseJob(path, 1, Pattern.RANDOM, chunkSize=CHUNK)
    while job.state.passIndex < 1:
        job.step(CHUNK)
    key = job.state.stream
    assert key is not None
    at = 2 * CHUNK + 1234
    written = keystream(key, ODD_SIZE)[at]
    writeAt(path, at, bytes([written ^ 0x10]))
    with pytest.raises(VerificationFailed) as failed:
        runSteps(job, CHUNK)
    job.close()
    assert failed.value.message == (
        f"Byte {at} of {path} is {written ^ 0x10:#04x}, not {written:#04x} as in the random "
        "bytes the last pass wrote.")


@pytest.mark.parametrize(("pattern", "passes", "where"), [
    (Pattern.RANDOM, 2, (1, ODD_SIZE // 2)),  # writing a random pass
    (Pattern.DOD3, 3, (3, ODD_SIZE // 2)),    # verifying the random last pass
])
def test_a_checkpoint_without_its_key_writes_the_pass_again(
    tmp_path: Path, pattern: Pattern, passes: int, where: tuple[int, int]
) -> None:
    """An older server's checkpoint kept a digest, not the key: the random pass cannot go on
    with its stream, so it is written again from its start under a new key."""
    path = tmp_path / "disk.img"
    markedSparseFile(path, ODD_SIZE)
    state = resumeAt(path, passes, pattern, lambda s: (s.passIndex, s.offset) >= where, CHUNK)
    older = EraseState.fromJSON(f'{{"passIndex": {state.passIndex}, "offset": {state.offset}, '
                                f'"size": {ODD_SIZE}, "digest": "{"ab" * 32}"}}')
    assert older.stream is None
    job = EraseJob(path, passes, pattern, resumeFrom=older, chunkSize=CHUNK)
    assert (job.state.passIndex, job.state.offset) == (min(where[0], passes - 1), 0)
    assert job.state.stream not in (None, state.stream)
    runSteps(job, CHUNK)
    job.close()
    assert job.progress.phase is Phase.DONE
    assertErased(path, pattern, passes)


# -- the chunk writer ------------------------------------------------------------------------


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A 20,000-byte file of zeros and a descriptor open on it."""
    path = tmp_path / "disk.img"
    path.write_bytes(bytes(20_000))
    fd = os.open(path, os.O_RDWR)
    yield path, fd
    os.close(fd)


def put(writer: ChunkWriter, offset: int, data: bytes) -> None:
    writer.buffer[:len(data)] = data
    writer.write(offset, len(data))


def test_the_chunk_writer_writes_aligned_and_unaligned_chunks(disk: tuple[Path, int]) -> None:
    path, fd = disk
    writer = ChunkWriter(path, fd, 8192)
    try:
        put(writer, 0, b"a" * 8192)
        put(writer, 8192, b"b" * 100)  # unaligned: through the ordinary descriptor
        put(writer, 8292, b"c" * 3000)
        with pytest.raises(ValueError, match="does not fit"):
            writer.write(0, 8193)
    finally:
        writer.close()
    assert path.read_bytes() == b"a" * 8192 + b"b" * 100 + b"c" * 3000 + bytes(20_000 - 11_292)


def test_a_file_system_that_refuses_direct_writes_gets_buffered_ones(
    disk: tuple[Path, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, fd = disk
    writer = ChunkWriter(path, fd, 8192)
    if not writer.direct:
        writer.close()
        pytest.skip("no O_DIRECT on this file system")
    pwrite = os.pwrite

    def refusingDirect(target: int, data: bytes, offset: int) -> int:
        if target != fd:
            raise OSError(errno.EINVAL, "Invalid argument")
        return pwrite(target, data, offset)

    monkeypatch.setattr(os, "pwrite", refusingDirect)
    try:
        put(writer, 0, b"x" * 8192)
        assert not writer.direct  # refused once: buffered from then on
        put(writer, 8192, b"y" * 8192)
    finally:
        writer.close()
    assert path.read_bytes() == b"x" * 8192 + b"y" * 8192 + bytes(20_000 - 16_384)


def test_a_chunk_written_behind_is_on_the_disk_once_waited_for(disk: tuple[Path, int]) -> None:
    """Buffers take turns: the caller makes the next chunk while those before are written;
    a buffer comes back once the chunk in it is on the disk."""
    path, fd = disk
    writer = ChunkWriter(path, fd, 4096)
    try:
        first = writer.buffer
        put(writer, 0, b"p" * 4096)  # a write now: the buffer stays
        assert writer.buffer is first
        turns = b"qrstuvwxyz"[:ChunkWriter.BEHIND + 1]
        seen = []
        for n, byte in enumerate(turns, start=1):
            seen.append(writer.buffer)
            writer.buffer[:4096] = bytes([byte]) * 4096
            writer.writeBehind(4096 * n, 4096)
        assert len({id(buffer) for buffer in seen}) == len(turns)
        assert writer.buffer is first  # its chunk was waited for before it came back
        writer.wait()
        expected = b"p" * 4096 + b"".join(bytes([byte]) * 4096 for byte in turns)
        assert path.read_bytes()[:len(expected)] == expected
    finally:
        writer.close()


def test_a_failed_write_behind_is_raised_at_the_next_wait(
    disk: tuple[Path, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, fd = disk

    def failing(target: int, data: bytes, offset: int) -> int:
        raise OSError(errno.EIO, "Input/output error")

    writer = ChunkWriter(path, fd, 8192)
    monkeypatch.setattr(os, "pwrite", failing)
    try:
        writer.writeBehind(0, 8192)
        with pytest.raises(OSError, match="Input/output error"):
            writer.wait()
        writer.wait()  # raised once
    finally:
        writer.close()
