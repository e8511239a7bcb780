"""The storage engine on real files: images, snapshots, backups, and secure erase in slices
that checkpoint, resume exactly and stop when cancelled."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import pytest_twisted
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import reactor, task
from twisted.internet.defer import Deferred, fail, succeed
from twisted.python.threadpool import ThreadPool

from occi_twisted.drivers.storage import (
    GIB,
    CopyState,
    CorruptBackup,
    DiskImages,
    EraseJob,
    EraseState,
    ImageExists,
    InvalidStorageArgument,
    JobCancelled,
    NoSuchBackup,
    NoSuchImage,
    Pattern,
    Phase,
    Progress,
    StorageError,
    StreamKey,
    VerificationFailed,
    bytesOf,
    passFills,
    runErase,
    runJob,
)
from occi_twisted.drivers.storage.files import HOLE_GRAIN

from .support import (
    CHUNK,
    ODD_SIZE,
    allocatedBytes,
    assertErased,
    assertLooksRandom,
    assertMonotonic,
    fullyAllocated,
    markedSparseFile,
    punches,
    recorder,
    resumeAt,
    runSteps,
    writeAt,
)


@pytest.fixture
def images(tmp_path: Path) -> DiskImages:
    return DiskImages(tmp_path / "data", chunkSize=CHUNK)


@pytest.fixture
def pool() -> Iterator[ThreadPool]:
    threads = ThreadPool(minthreads=1, maxthreads=2, name="test-storage")
    threads.start()
    yield threads
    threads.stop()


async def failureOf(d: Deferred[Progress]) -> BaseException:
    try:
        await d
    except BaseException as problem:  # whatever it was is the result
        return problem
    raise AssertionError("the Deferred did not fail")


async def waitUntil(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await task.deferLater(reactor, 0.002, lambda: None)


# -- images ----------------------------------------------------------------------------------


def test_sizes_are_gi_b_rounded_to_the_byte() -> None:
    assert bytesOf(1) == GIB
    assert bytesOf(0.5) == GIB // 2
    assert bytesOf(1e-9) == 1
    assert bytesOf(ODD_SIZE / GIB) == ODD_SIZE
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(InvalidStorageArgument):
            bytesOf(bad)


def test_create_makes_a_sparse_image(images: DiskImages) -> None:
    path = images.create("s1", 0.5)
    assert path == images.dataDir / "storage" / "s1.img"
    assert path.stat().st_size == GIB // 2
    assert allocatedBytes(path) < 1 << 20
    assert images.sizeOf("s1") == GIB // 2
    with pytest.raises(ImageExists):
        images.create("s1", 1)


def test_resize_grows_sparsely_and_shrinks_by_truncating(images: DiskImages) -> None:
    path = images.create("s1", 1 / 1024)  # 1 MiB
    writeAt(path, 0, b"keep" * 1024)
    before = allocatedBytes(path)
    assert images.resize("s1", 2) == 2 * GIB
    assert path.stat().st_size == 2 * GIB
    assert allocatedBytes(path) == before
    assert images.resize("s1", 2 / GIB) == 2
    assert path.read_bytes() == b"ke"


def test_delete_removes_the_image(images: DiskImages) -> None:
    path = images.create("s1", 0.001)
    images.delete("s1")
    assert not path.exists()
    with pytest.raises(NoSuchImage):
        images.delete("s1")
    with pytest.raises(NoSuchImage):
        images.resize("s1", 1)
    with pytest.raises(NoSuchImage):
        images.sizeOf("s1")


@pytest.mark.parametrize("name", ["../x", ".hidden", "a/b", "", "-rf", "x" * 129])
def test_names_that_could_leave_their_directory_are_refused(images: DiskImages, name: str) -> None:
    with pytest.raises(InvalidStorageArgument):
        images.create(name, 1)
    with pytest.raises(InvalidStorageArgument):
        images.snapshotJob("s1", name)
    with pytest.raises(InvalidStorageArgument):
        images.restoreJob("s1", name)


# -- snapshots -------------------------------------------------------------------------------


def sparseImageWithData(images: DiskImages, storageId: str = "s1") -> Path:
    """8 MiB, mostly hole, with data at the start, at an odd place, and in the last byte."""
    path = images.create(storageId, 8 / 1024)
    writeAt(path, 0, os.urandom(100_000))
    writeAt(path, 3_333_333, os.urandom(777_777))
    writeAt(path, 8 * (1 << 20) - 1, b"\x01")
    return path


@pytest.mark.parametrize("copyFileRange", [True, False], ids=["copy_file_range", "read-write"])
def test_snapshot_copies_every_byte_and_keeps_holes(
    images: DiskImages, monkeypatch: pytest.MonkeyPatch, copyFileRange: bool
) -> None:
    if not copyFileRange:
        def unsupported(*args: object) -> int:
            raise OSError(errno.EXDEV, "cross-device")
        monkeypatch.setattr(os, "copy_file_range", unsupported, raising=False)
    source = sparseImageWithData(images)
    job = images.snapshotJob("s1", "before-upgrade")
    progresses = runSteps(job, 3 * CHUNK)
    job.close()
    snapshot = images.snapshotPath("s1", "before-upgrade")
    assert snapshot == images.dataDir / "snapshots" / "s1" / "before-upgrade.img"
    assert snapshot.read_bytes() == source.read_bytes()
    assert allocatedBytes(snapshot) <= allocatedBytes(source) + CHUNK
    assert allocatedBytes(snapshot) < source.stat().st_size // 2
    assert not job.partial.exists()
    assert images.snapshots("s1") == ["before-upgrade"]
    assertMonotonic(progresses)
    assert progresses[-1] == Progress(Phase.DONE, 1, 1, source.stat().st_size,
                                      source.stat().st_size)
    again = images.snapshotJob("s1", "before-upgrade")
    with pytest.raises(ImageExists):
        again.step(CHUNK)
    again.close()


def test_snapshot_of_a_missing_image(images: DiskImages) -> None:
    job = images.snapshotJob("nothing", "snap")
    with pytest.raises(NoSuchImage):
        job.step(CHUNK)


# -- backups ---------------------------------------------------------------------------------


def backUp(images: DiskImages, created: float, keep: int | None = None,
           storageId: str = "s1") -> str:
    job = images.backupJob(storageId, created, keep=keep)
    runSteps(job, 5 * CHUNK)
    job.close()
    assert job.result is not None
    return job.result.name


def test_backup_records_the_sha256_of_the_image(images: DiskImages) -> None:
    source = sparseImageWithData(images)
    name = backUp(images, 1_700_000_000.25)
    assert name == "20231114T221320.250000Z"
    backup = images.backupPath("s1", name)
    manifest = json.loads(images.manifestPath("s1", name).read_text())
    assert manifest["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert manifest["size"] == source.stat().st_size
    assert manifest["created"] == "2023-11-14T22:13:20.250000Z"
    assert backup.read_bytes() == source.read_bytes()
    assert allocatedBytes(backup) < source.stat().st_size // 2
    [listed] = images.backups("s1")
    assert (listed.name, listed.sha256, listed.created) == (name, manifest["sha256"],
                                                            1_700_000_000.25)


def test_retention_keeps_the_newest_backups(images: DiskImages) -> None:
    images.create("s1", 0.001)
    names = [backUp(images, 1_700_000_000 + day * 86400, keep=2) for day in range(4)]
    assert [b.name for b in images.backups("s1")] == names[2:]
    directory = images.backupPath("s1", names[0]).parent
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        f"{name}.{ext}" for name in names[2:] for ext in ("img", "json"))
    assert [b.name for b in images.pruneBackups("s1", 1)] == names[2:3]
    assert [b.name for b in images.backups("s1")] == names[3:]


def test_restore_puts_the_backup_back(images: DiskImages) -> None:
    source = sparseImageWithData(images)
    original = source.read_bytes()
    name = backUp(images, 1_700_000_000)
    writeAt(source, 10, b"changed after the backup")
    images.resize("s1", 16 / 1024)
    job = images.restoreJob("s1", name)
    runSteps(job, 4 * CHUNK)
    job.close()
    assert source.read_bytes() == original
    assert not job.partial.exists()


def test_a_corrupt_backup_is_refused_and_the_image_kept(images: DiskImages) -> None:
    source = sparseImageWithData(images)
    name = backUp(images, 1_700_000_000)
    writeAt(source, 0, b"the image as it is now")
    current = source.read_bytes()
    writeAt(images.backupPath("s1", name), 5_000_000, b"\x00bitrot")
    job = images.restoreJob("s1", name)
    with pytest.raises(CorruptBackup, match=f"Backup {name} of storage s1 is corrupt: its "
                                            "SHA-256 is [0-9a-f]{64}, its manifest says"):
        runSteps(job, 4 * CHUNK)
    job.close()
    assert source.read_bytes() == current
    assert not job.partial.exists()


def test_a_truncated_backup_is_refused_at_once(images: DiskImages) -> None:
    sparseImageWithData(images)
    name = backUp(images, 1_700_000_000)
    os.truncate(images.backupPath("s1", name), 1000)
    job = images.restoreJob("s1", name)
    with pytest.raises(CorruptBackup, match="manifest says"):
        job.step(CHUNK)
    assert not job.partial.exists()


def test_missing_or_damaged_backups(images: DiskImages) -> None:
    images.create("s1", 0.001)
    with pytest.raises(NoSuchBackup):
        images.restoreJob("s1", "20200101T000000.000000Z").step(CHUNK)
    name = backUp(images, 1_700_000_000)
    images.manifestPath("s1", name).write_text("{not json")
    with pytest.raises(CorruptBackup, match="damaged"):
        images.restoreJob("s1", name).step(CHUNK)
    assert images.backups("s1") == []


def test_a_backup_resumes_from_its_checkpoint(images: DiskImages) -> None:
    source = sparseImageWithData(images)
    first = images.backupJob("s1", 1_700_000_000)
    runSteps(first, CHUNK, limit=5)
    saved = CopyState.fromJSON(first.state.toJSON())
    assert 0 < saved.offset < source.stat().st_size
    first.close()
    resumed = images.backupJob("s1", 1_700_000_000, resumeFrom=saved)
    runSteps(resumed, CHUNK)
    resumed.close()
    assert resumed.result is not None
    assert resumed.result.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert images.backupPath("s1", resumed.result.name).read_bytes() == source.read_bytes()
    # A restart after the commit but before its checkpoint was stored finds it done.
    again = images.backupJob("s1", 1_700_000_000, resumeFrom=saved)
    assert again.step(CHUNK).phase is Phase.DONE
    assert again.result == resumed.result



def test_a_copy_a_hypervisor_wrote_is_hashed_and_kept_never_made_from_the_image(
        images: DiskImages) -> None:
    images.create("s1", ODD_SIZE / GIB)
    source = images.imagePath("s1")
    writeAt(source, 0, b"the image, written on after the hypervisor's copy")
    job = images.backupJob("s1", 1_700_000_000, name="before-upgrade", prefilled=True)
    with pytest.raises(StorageError, match="is missing"):  # not a copy of a disk in use
        job.step(CHUNK)
    job.close()
    copy = b"the disk as it was" + bytes(ODD_SIZE - 18)
    whole = -(-ODD_SIZE // 512) * 512  # the hypervisor writes whole sectors
    job.partial.parent.mkdir(parents=True)
    job.partial.write_bytes(copy + bytes(whole - ODD_SIZE))
    progress = runSteps(job, CHUNK)
    job.close()
    assert progress[-1].phase is Phase.DONE and not job.partial.exists()
    assert progress[0].phase is Phase.VERIFYING and progress[0].bytesDone == CHUNK
    kept = images.backup("s1", "before-upgrade")
    assert kept.path.read_bytes() == copy
    assert kept.sha256 == hashlib.sha256(copy).hexdigest() and kept.size == ODD_SIZE
    short = images.backupJob("s1", 1_700_000_001, name="short", prefilled=True)
    short.partial.write_bytes(copy[:1000])  # another size is not the image's copy
    with pytest.raises(StorageError, match="is 1000 bytes, not"):
        short.step(CHUNK)
    # Listed by the time each was made, whatever its name.
    older = backUp(images, 1_600_000_000)
    assert [backup.name for backup in images.backups("s1")] == [older, "before-upgrade"]


def test_the_zeros_a_hypervisor_wrote_into_its_copy_take_no_space_in_the_backup(
        images: DiskImages) -> None:
    """QEMU's backup job writes a disk whole, its empty parts as zeros: the backup kept
    frees them (a hole reads as the zeros it replaced) and keeps the data and the digest."""
    size = 24 << 20
    images.create("s1", size / GIB)
    job = images.backupJob("s1", 1_700_000_000, name="hot", prefilled=True)
    copy = bytearray(size)
    copy[5 << 20:(5 << 20) + 100] = b"d" * 100  # some data among the zeros
    copy[-1] = 1
    job.partial.parent.mkdir(parents=True)
    job.partial.write_bytes(copy)
    with job.partial.open("rb") as written:
        os.fsync(written.fileno())
    assert job.partial.stat().st_blocks * 512 >= size  # dense, as the hypervisor left it
    if not punches(job.partial.parent):
        pytest.skip("this file system frees no blocks of a file (no fallocate PUNCH_HOLE)")
    runSteps(job, CHUNK)
    job.close()
    kept = images.backup("s1", "hot")
    assert kept.path.read_bytes() == copy
    assert kept.sha256 == hashlib.sha256(copy).hexdigest()
    assert kept.path.stat().st_blocks * 512 <= 2 * HOLE_GRAIN + 8192


# -- secure erase: the end result ------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "passes"), [
    (Pattern.ZEROS, 1), (Pattern.ONES, 2), (Pattern.RANDOM, 1), (Pattern.DOD3, 3),
    (Pattern.DOD3, 4),
])
def test_erase_overwrites_every_byte_and_allocates_the_holes(
    tmp_path: Path, pattern: Pattern, passes: int
) -> None:
    path = tmp_path / "disk.img"
    markedSparseFile(path, ODD_SIZE)
    assert not fullyAllocated(path)
    job = EraseJob(path, passes, pattern, chunkSize=CHUNK)
    progresses = runSteps(job, 3 * CHUNK + 1000)
    job.close()
    assertErased(path, pattern, passes)
    assertMonotonic(progresses)
    total = (passes + 1) * ODD_SIZE
    assert progresses[-1] == Progress(Phase.DONE, passes, passes, total, total)
    assert progresses[-1].percent == 100.0


def test_dod3_cycles_zeros_ones_random() -> None:
    z, o, r = Pattern.ZEROS, Pattern.ONES, Pattern.RANDOM
    assert passFills(Pattern.DOD3, 3) == (z, o, r)
    assert passFills(Pattern.DOD3, 5) == (z, o, r, z, o)
    assert passFills(Pattern.ONES, 2) == (o, o)


def test_an_empty_file_is_erased_at_once(tmp_path: Path) -> None:
    path = tmp_path / "empty.img"
    path.touch()
    job = EraseJob(path, 3, "dod3")
    progresses = runSteps(job, CHUNK)
    assert progresses[-1].phase is Phase.DONE and progresses[-1].percent == 100.0


def test_a_step_never_spans_two_passes(tmp_path: Path) -> None:
    path = tmp_path / "disk.img"
    markedSparseFile(path, ODD_SIZE)
    job = EraseJob(path, 3, "dod3", chunkSize=CHUNK)
    states = []
    while not job.done:
        job.step(100 * ODD_SIZE)
        states.append(job.state)
    job.close()
    assert [(s.passIndex, s.offset) for s in states] == [(1, 0), (2, 0), (3, 0), (4, 0)]


@pytest.mark.parametrize("pattern", [Pattern.ONES, Pattern.RANDOM])
def test_verification_notices_a_bad_byte(tmp_path: Path, pattern: Pattern) -> None:
    path = tmp_path / "disk.img"
    markedSparseFile(path, ODD_SIZE)
    job = EraseJob(path, 1, pattern, chunkSize=CHUNK)
    while job.state.passIndex < 1:
        job.step(CHUNK)
    writeAt(path, ODD_SIZE - 1, b"\x42")  # as if the disk lost a write
    with pytest.raises(VerificationFailed, match=str(path)):
        runSteps(job, CHUNK)
    job.close()


def test_erase_of_a_missing_image(images: DiskImages) -> None:
    with pytest.raises(NoSuchImage):
        images.eraseJob("nothing").step(CHUNK)
    with pytest.raises(InvalidStorageArgument):
        images.eraseJob("s1", 0)
    with pytest.raises(InvalidStorageArgument):
        images.eraseJob("s1", 1, "gutmann")


# -- secure erase: checkpoints and resume ----------------------------------------------------


def test_states_round_trip_through_json() -> None:
    state = EraseState(2, 12345, ODD_SIZE, StreamKey(b"\xab" * 32, b"\xcd" * 16))
    assert EraseState.fromJSON(state.toJSON()) == state
    assert json.loads(state.toJSON()) == {"passIndex": 2, "offset": 12345, "size": ODD_SIZE,
                                          "key": "ab" * 32, "nonce": "cd" * 16}
    assert json.loads(EraseState(1, 0).toJSON()) == {"passIndex": 1, "offset": 0, "size": None}
    assert CopyState.fromJSON(CopyState(5, 10, True).toJSON()) == CopyState(5, 10, True)
    for bad in ('{"passIndex": -1, "offset": 0}', '{"passIndex": 0}', "[]", "nonsense",
                '{"passIndex": 0, "offset": 0, "key": "xyz", "nonce": "00"}',
                f'{{"passIndex": 0, "offset": 0, "key": "{"ab" * 32}"}}',
                f'{{"passIndex": 0, "offset": 0, "key": "{"ab" * 31}", "nonce": "{"cd" * 16}"}}',
                '{"passIndex": true, "offset": 0}'):
        with pytest.raises(ValueError):
            EraseState.fromJSON(bad)


@pytest.mark.parametrize(("pattern", "passes", "where"), [
    (Pattern.ZEROS, 2, (0, ODD_SIZE // 2)),       # in a fixed pass
    (Pattern.DOD3, 3, (2, ODD_SIZE // 3)),        # in the random last pass
    (Pattern.RANDOM, 2, (0, ODD_SIZE // 2)),      # in a random pass that is not hashed
    (Pattern.RANDOM, 1, (1, ODD_SIZE // 2)),      # in the verification of a random pass
    (Pattern.ONES, 1, (1, ODD_SIZE // 2)),        # in the verification of a fixed pass
])
def test_a_resumed_erase_ends_as_an_uninterrupted_one(
    tmp_path: Path, pattern: Pattern, passes: int, where: tuple[int, int]
) -> None:
    path = tmp_path / "disk.img"
    markedSparseFile(path, ODD_SIZE)
    state = resumeAt(path, passes, pattern, lambda s: (s.passIndex, s.offset) >= where,
                     CHUNK + 4096)
    assert state.passIndex == where[0] and 0 < state.offset < ODD_SIZE
    job = EraseJob(path, passes, pattern, resumeFrom=state, chunkSize=CHUNK)
    before = job.progress
    progresses = runSteps(job, CHUNK)
    job.close()
    assertMonotonic([before, *progresses])
    assert progresses[-1].phase is Phase.DONE
    assertErased(path, pattern, passes)


def test_a_resumed_random_pass_verifies_the_prefix_it_wrote_before(tmp_path: Path) -> None:
    """The verification of a resumed random pass covers the bytes written before the restart
    too: a byte of that prefix damaged after the pass is caught."""
    path = tmp_path / "disk.img"
    markedSparseFile(path, ODD_SIZE)
    state = resumeAt(path, 1, Pattern.RANDOM, lambda s: s.offset > ODD_SIZE // 2, CHUNK)
    job = EraseJob(path, 1, Pattern.RANDOM, resumeFrom=state, chunkSize=CHUNK)
    while job.state.passIndex < 1:
        job.step(CHUNK)
    first = path.read_bytes()[0]
    writeAt(path, 0, bytes([first ^ 1]))
    with pytest.raises(VerificationFailed, match="random bytes the last pass wrote"):
        runSteps(job, CHUNK)
    job.close()


def test_a_resume_refuses_a_file_that_changed_size(tmp_path: Path) -> None:
    path = tmp_path / "disk.img"
    markedSparseFile(path, ODD_SIZE)
    state = resumeAt(path, 2, Pattern.ZEROS, lambda s: s.offset > 0, CHUNK)
    os.truncate(path, ODD_SIZE + 1)
    with pytest.raises(StorageError, match="changed size"):
        EraseJob(path, 2, Pattern.ZEROS, resumeFrom=state).step(CHUNK)


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(0, 200_000),
    passes=st.integers(1, 4),
    pattern=st.sampled_from(list(Pattern)),
    chunkSize=st.sampled_from([4096, 10_000, 65_536]),
    maxBytes=st.integers(1000, 80_000),
    interruptions=st.lists(st.integers(0, 40), max_size=2),
)
def test_interrupted_erases_end_as_uninterrupted_ones(
    size: int, passes: int, pattern: Pattern, chunkSize: int, maxBytes: int,
    interruptions: list[int],
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "disk.img"
        markedSparseFile(path, size)
        job = EraseJob(path, passes, pattern, chunkSize=chunkSize)
        progresses = [job.progress]
        steps = 0
        while not job.done:
            if steps in interruptions:  # a restart: only the JSON checkpoint survives
                job.close()
                saved = EraseState.fromJSON(job.state.toJSON())
                job = EraseJob(path, passes, pattern, resumeFrom=saved, chunkSize=chunkSize)
            progresses.append(job.step(maxBytes))
            steps += 1
        job.close()
        assertMonotonic(progresses)
        total = (passes + 1) * size
        assert progresses[-1] == Progress(Phase.DONE, passes, passes, total, total)
        data = path.read_bytes()
        assert len(data) == size
        last = passFills(pattern, passes)[-1]
        if last is Pattern.RANDOM:
            assertLooksRandom(data)
        else:
            assert data == bytes([0 if last is Pattern.ZEROS else 0xFF]) * size
        assert fullyAllocated(path)


# -- secure erase driven by the reactor ------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_run_erase_checkpoints_every_slice_and_ends_exactly(
    tmp_path: Path, pool: ThreadPool
) -> None:
    path = tmp_path / "disk.img"
    markedSparseFile(path, ODD_SIZE)
    seen, checkpoint = recorder()
    job = EraseJob(path, 3, "dod3", chunkSize=CHUNK)
    final = await runErase(job, reactor, pool, checkpoint, sliceBytes=2 * CHUNK)
    progresses = [progress for _, progress in seen]
    assertMonotonic(progresses)
    total = 4 * ODD_SIZE
    assert final == progresses[-1] == Progress(Phase.DONE, 3, 3, total, total)
    # Two chunks a slice, and a slice ends at each pass end: 7 slices per pass.
    assert len(seen) == 4 * 7
    assert [s.passIndex for s, _ in seen if s.offset == 0] == [1, 2, 3, 4]
    assert all(s.offset % CHUNK == 0 for s, _ in seen)
    # Verifying the random last pass: the key of its stream is kept.
    assert all(s.stream for s, _ in seen if s.passIndex in (2, 3))
    assertErased(path, Pattern.DOD3, 3)


@pytest_twisted.ensureDeferred
async def test_run_erase_sizes_slices_by_time(tmp_path: Path, pool: ThreadPool) -> None:
    path = tmp_path / "disk.img"
    markedSparseFile(path, 16 << 20)
    seen, checkpoint = recorder()
    await runErase(EraseJob(path, 2, "zeros", chunkSize=CHUNK), reactor, pool, checkpoint,
                   sliceSeconds=0.01)
    offsets = [s.offset for s, _ in seen if s.offset]
    assert len(seen) > 3 and all(offset % CHUNK == 0 for offset in offsets)


@pytest_twisted.ensureDeferred
async def test_cancelling_between_slices_reports_the_last_checkpoint(
    tmp_path: Path, pool: ThreadPool
) -> None:
    path = tmp_path / "disk.img"
    markedSparseFile(path, ODD_SIZE)
    seen: list[EraseState] = []
    job = EraseJob(path, 3, "dod3", chunkSize=CHUNK)

    def checkpoint(state: EraseState, progress: Progress) -> Deferred[None]:
        seen.append(state)
        if state.passIndex == 2 and state.offset >= 2 * CHUNK:  # in the random pass
            reactor.callLater(0, running.cancel)
        return succeed(None)

    running = runErase(job, reactor, pool, checkpoint, sliceBytes=CHUNK)
    cancelled = await failureOf(running)
    assert isinstance(cancelled, JobCancelled)
    assert cancelled.state == seen[-1]
    assert cancelled.state == EraseState(2, 2 * CHUNK, ODD_SIZE, cancelled.state.stream)
    assert cancelled.state.stream is not None  # in the random pass
    assert cancelled.progress.passNumber == 3 and cancelled.progress.phase is Phase.WRITING
    await cancelled.stopped
    resumed = EraseJob(path, 3, "dod3", resumeFrom=EraseState.fromJSON(seen[-1].toJSON()),
                       chunkSize=CHUNK)
    records, record = recorder()
    final = await runErase(resumed, reactor, pool, record)
    assert final.phase is Phase.DONE
    assert records[0][1].bytesDone > cancelled.progress.bytesDone
    assertErased(path, Pattern.DOD3, 3)


class SlowDiskErase(EraseJob):
    """An erase on a disk slow enough that one pass takes about a second."""

    def _write(self, fd: int, fill: Pattern, offset: int, n: int) -> None:
        time.sleep(0.004)
        super()._write(fd, fill, offset, n)


@pytest_twisted.ensureDeferred
async def test_cancelling_inside_a_slice_stops_within_it(tmp_path: Path, pool: ThreadPool) -> None:
    """One slice would be a whole pass; cancelling stops the thread at its next chunk."""
    path = tmp_path / "disk.img"
    size, chunk = 16 << 20, 64 << 10  # 256 chunks: about 1 s a pass
    markedSparseFile(path, size)
    job = SlowDiskErase(path, 2, "random", chunkSize=chunk)
    seen, checkpoint = recorder()
    running = runErase(job, reactor, pool, checkpoint, sliceBytes=10 * size)
    await waitUntil(lambda: job.progress.bytesDone > 0)
    asked = time.monotonic()
    running.cancel()
    cancelled = await failureOf(running)
    assert isinstance(cancelled, JobCancelled)
    assert cancelled.progress.bytesDone == 0 and seen == []  # no slice had finished
    stoppedAt = await cancelled.stopped
    assert time.monotonic() - asked < 0.5
    assert 0 < stoppedAt.bytesDone < size  # stopped inside the first pass
    assert job.progress == stoppedAt
    modified = path.stat().st_mtime_ns
    await task.deferLater(reactor, 0.05, lambda: None)
    assert path.stat().st_mtime_ns == modified  # nothing writes any more
    # The exact position reached is a valid checkpoint too.
    state = EraseState.fromJSON(job.state.toJSON())
    assert state.passIndex == 0 and state.offset == stoppedAt.bytesDone
    resumed = EraseJob(path, 2, "random", resumeFrom=state, chunkSize=chunk)
    final = await runErase(resumed, reactor, pool, checkpoint)
    assert final.phase is Phase.DONE
    assertErased(path, Pattern.RANDOM, 2)


@pytest_twisted.ensureDeferred
async def test_a_failing_checkpoint_stops_the_erase(tmp_path: Path, pool: ThreadPool) -> None:
    path = tmp_path / "disk.img"
    markedSparseFile(path, ODD_SIZE)
    job = EraseJob(path, 1, "zeros", chunkSize=CHUNK)

    def checkpoint(state: EraseState, progress: Progress) -> Deferred[None]:
        return fail(RuntimeError("the store is down"))

    problem = await failureOf(runErase(job, reactor, pool, checkpoint, sliceBytes=CHUNK))
    assert isinstance(problem, RuntimeError)
    assert job.state == EraseState(0, CHUNK, ODD_SIZE)  # it went no further


@pytest_twisted.ensureDeferred
async def test_a_failed_verification_fails_the_run(tmp_path: Path, pool: ThreadPool) -> None:
    path = tmp_path / "disk.img"
    markedSparseFile(path, ODD_SIZE)
    job = EraseJob(path, 1, "zeros", chunkSize=CHUNK)

    def checkpoint(state: EraseState, progress: Progress) -> Deferred[None]:
        if state.passIndex == 1 and state.offset == 0:  # written, not yet verified
            writeAt(path, ODD_SIZE - 2, b"\x07")
        return succeed(None)

    problem = await failureOf(runErase(job, reactor, pool, checkpoint))
    assert isinstance(problem, VerificationFailed)
    assert f"Byte {ODD_SIZE - 2} of {path} is 0x07" in problem.message


@pytest_twisted.ensureDeferred
async def test_run_job_drives_copies_too(images: DiskImages, pool: ThreadPool) -> None:
    source = sparseImageWithData(images)
    states: list[CopyState] = []

    def checkpoint(state: CopyState, progress: Progress) -> Deferred[None]:
        states.append(state)
        return succeed(None)

    job = images.backupJob("s1", 1_700_000_000, keep=1)
    final = await runJob(job, reactor, pool, checkpoint, sliceBytes=CHUNK)
    assert final.phase is Phase.DONE and states[-1].done
    assert job.result is not None
    assert job.result.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
