"""Remembered answers: what makes a creating POST exactly-once (the ``Idempotency-Key``).

A client that retries a POST it got no answer to -- the connection dropped, the server was
killed -- sends the same key again.  The first answer is stored *in the same transaction* as
what the POST created, so either both are durable or neither is: a retry finds the answer and
gets it again, or finds nothing and creates, never twice.  Two concurrent POSTs with one key
race to that transaction; the loser is refused with :class:`KeyTaken` and replays the winner's
answer.  Keys are per owner (one client's key never answers another's POST).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import Conflict


@dataclass(frozen=True)
class Answer:
    """The first answer to a POST with an ``Idempotency-Key``.

    ``fingerprint`` identifies the request (method, path, media type, body): the same key with
    another request is the client's mistake, answered 422 rather than replayed."""

    owner: str
    key: str
    fingerprint: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    created: float


@dataclass(frozen=True)
class RememberAnswer:
    """A change that stores ``answer`` with the rest of its change set; a key already
    remembered for that owner is :class:`KeyTaken`, and the whole set is refused."""

    answer: Answer


class KeyTaken(Conflict):
    """Another request with this key committed first."""


def keyTaken(key: str) -> KeyTaken:
    return KeyTaken(f"The Idempotency-Key {key[:60]!r} has been used already.")
