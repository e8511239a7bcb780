"""Ids: random ones are RFC 4122 UUIDs that never repeat, across threads and forks; ordered
ones sort by their time."""

from __future__ import annotations

import os
import threading
import uuid

from occi_twisted.model.ids import orderedId, randomId


def test_random_ids_are_version_4_uuids() -> None:
    for _ in range(1000):
        parsed = uuid.UUID(randomId())
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_ordered_ids_are_version_7_uuids_in_time_order() -> None:
    ids = [orderedId(1_700_000_000 + second) for second in range(100)]
    assert all(uuid.UUID(each).version == 7 for each in ids)
    assert ids == sorted(ids)


def test_random_ids_do_not_repeat_across_threads() -> None:
    made: list[list[str]] = [[] for _ in range(4)]

    def make(into: list[str]) -> None:
        into.extend(randomId() for _ in range(5000))

    threads = [threading.Thread(target=make, args=(each,)) for each in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [each for ids in made for each in ids]
    assert len(set(every)) == len(every) == 20000


def test_a_forked_child_does_not_hand_out_its_parents_ids() -> None:
    randomId()  # the parent holds a block with ids still to give
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.close(reading)
        os.write(writing, "\n".join(randomId() for _ in range(50)).encode())
        os._exit(0)
    os.close(writing)
    with os.fdopen(reading) as pipe:
        fromChild = set(pipe.read().split("\n"))
    os.waitpid(child, 0)
    fromParent = {randomId() for _ in range(50)}
    assert len(fromChild) == 50
    assert not fromChild & fromParent
