"""Two real ``twistd`` nodes on one PostgreSQL database, with users: an address that guesses
passwords is refused by every node once the guesses it spread over them add up."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import RunningServer
from ..identity.support import ask, usersFile
from .conftest import twoNodes

ALICE = ("alice", "wonderland")
#: The login throttle's default: failures an address may have within its window.
FAILURES = 10


@pytest.fixture
def nodes(tmp_path: Path, database: str) -> Iterator[tuple[RunningServer, RunningServer]]:
    users = usersFile(tmp_path, alice=ALICE[1])
    with twoNodes(tmp_path / "data", database, "--users", str(users)) as both:
        yield both


def status(node: RunningServer, user: tuple[str, str], source: str) -> int:
    return ask(node, "GET", "/-/", user=user, source=source)[0].status


def test_guesses_spread_over_the_nodes_are_counted_by_each(
        nodes: tuple[RunningServer, RunningServer]) -> None:
    a, b = nodes
    guesser, bystander = "127.0.0.7", "127.0.0.8"
    for n in range(FAILURES):
        assert status((a, b)[n % 2], ("alice", f"guess {n}"), guesser) == 401
    # Half the guesses went to each node: only what each heard of the other's refuses now
    # (even the right password: a guesser that found it must not learn so).
    deadline = time.monotonic() + 10
    refused: dict[int, int] = {}
    while time.monotonic() < deadline and set(refused.values()) != {429}:
        refused = {node.port: status(node, ALICE, guesser) for node in (a, b)}
        time.sleep(0.05)
    assert set(refused.values()) == {429}, refused
    assert ask(a, "GET", "/-/", user=ALICE, source=guesser)[0].getheader("Retry-After")
    for node in (a, b):
        assert status(node, ALICE, bystander) == 200
