"""Group commit: the writer runs work while the syncer makes earlier commits durable; what
came during a sync is committed together for the next one, each unit acknowledged only once a
sync that began after its commit has ended, and a failure refuses only what it concerns."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread

from occi_twisted.model.errors import Conflict
from occi_twisted.store._sqlschema import openWriter
from occi_twisted.store._writer import GroupCommitWriter
from occi_twisted.store.interface import StoreUnavailable


class Disk:
    """A sync that the test holds until it lets it go, and that fails when told to."""

    def __init__(self) -> None:
        self.started: list[threading.Event] = []
        self.gate = threading.Event()
        self.gate.set()
        self.failing = False

    def __call__(self) -> None:
        began = threading.Event()
        self.started.append(began)
        began.set()
        self.gate.wait(10)
        if self.failing:
            raise OSError("the disk went away")


@pytest.fixture
def disk() -> Disk:
    return Disk()


@pytest.fixture
def writer(tmp_path: Path, disk: Disk) -> Iterator[GroupCommitWriter]:
    made = GroupCommitWriter(partial(openWriter, str(tmp_path / "store.sqlite3")), reactor,
                             sync=disk, mark=_rows)
    pytest_twisted.blockon(made.start())
    yield made
    disk.gate.set()
    pytest_twisted.blockon(made.stop())


def _rows(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT count(*) FROM user_mixins").fetchone()[0])


def insert(name: str) -> Any:
    def work(db: sqlite3.Connection) -> str:
        db.execute("INSERT INTO user_mixins (identifier, document) VALUES (?, '{}')", (name,))
        return name

    return work


def taken(db: sqlite3.Connection) -> None:
    db.execute("INSERT INTO user_mixins (identifier, document) VALUES ('x', '{}')")
    raise Conflict("taken")


async def untilSyncs(disk: Disk, count: int) -> None:
    """Wait until ``count`` syncs have begun (the one at start counts)."""
    while len(disk.started) < count:
        await deferLater(reactor, 0.005, lambda: None)  # type: ignore[arg-type]


@pytest_twisted.ensureDeferred
async def test_work_done_during_a_sync_is_committed_for_the_next(
    writer: GroupCommitWriter, disk: Disk, tmp_path: Path
) -> None:
    disk.gate.clear()
    first = writer.submit(insert("a"))
    await untilSyncs(disk, 2)  # "a" is committed, and its sync is on the disk
    later = [writer.submit(insert("b")), writer.submit(insert("c"))]
    await deferLater(reactor, 0.05, lambda: None)  # type: ignore[arg-type]
    later.append(writer.submit(insert("d")))
    await deferLater(reactor, 0.05, lambda: None)  # type: ignore[arg-type]
    assert writer.commits == 1  # b, c and d wait in the open transaction
    assert _committedRows(tmp_path) == 1
    assert not first.called and not any(d.called for d in later)
    assert writer.durableMark == 0
    disk.gate.set()
    assert await first == "a"
    assert await DeferredList(later, fireOnOneErrback=True) == [
        (True, "b"), (True, "c"), (True, "d")]
    assert (writer.commits, writer.syncs) == (2, 2)  # b, c and d in one commit, one sync
    assert writer.durableMark == 4


def _committedRows(directory: Path) -> int:
    """What another connection sees of the store."""
    db = sqlite3.connect(directory / "store.sqlite3")
    try:
        return _rows(db)
    finally:
        db.close()


@pytest_twisted.ensureDeferred
async def test_nothing_is_acknowledged_before_its_sync(
    writer: GroupCommitWriter, disk: Disk
) -> None:
    disk.gate.clear()
    written = writer.submit(insert("a"))
    await untilSyncs(disk, 2)
    await deferToThread(lambda: None)
    assert not written.called
    disk.gate.set()
    assert await written == "a"


@pytest_twisted.ensureDeferred
async def test_a_failing_unit_refuses_only_itself(writer: GroupCommitWriter) -> None:
    results = await DeferredList([writer.submit(insert("a")), writer.submit(taken),
                                  writer.submit(insert("b"))], consumeErrors=True)
    assert [ok for ok, _ in results] == [True, False, True]
    assert isinstance(results[1][1].value, Conflict)
    assert writer.durableMark == 2  # "x" was rolled back with its savepoint


@pytest_twisted.ensureDeferred
async def test_a_failed_sync_refuses_what_it_was_to_make_durable(
    writer: GroupCommitWriter, disk: Disk
) -> None:
    disk.failing = True
    lost = writer.submit(insert("a"))
    with pytest.raises(StoreUnavailable, match="durable"):
        await lost
    assert writer.durableMark == 0
    disk.failing = False
    assert await writer.submit(insert("b")) == "b"
    assert writer.durableMark == 2


@pytest_twisted.ensureDeferred
async def test_stop_writes_what_was_submitted(writer: GroupCommitWriter) -> None:
    written: Deferred[str] = writer.submit(insert("a"))
    await writer.stop()
    assert await written == "a"
    with pytest.raises(StoreUnavailable):
        await writer.submit(insert("b"))
