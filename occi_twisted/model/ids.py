"""Ids: the one rule for an entity's, random ones for entities whose client names none, and
time-ordered ones for what the store keeps in creation order (requests, events)."""

from __future__ import annotations

import os
import re
import threading

#: What an entity's id (``occi.core.id``) may be, in every room.  It is the last segment of
#: the entity's location, a key in the store and, for a storage, the name of its image file
#: (``drivers/storage``), so it holds only what a URI path segment and a file name both hold
#: as they are, and starts with a letter or a digit: never ``.``, ``..`` or a hidden file.
ENTITY_ID = r"[A-Za-z0-9][A-Za-z0-9._~:@-]{0,127}"
#: The same in words, for the sentence that refuses an id.
ENTITY_ID_RULE = ("1-128 letters, digits, '.', '_', '~', ':', '@' or '-', starting with a "
                  "letter or a digit")
_ENTITY_ID = re.compile(ENTITY_ID)


def isEntityId(text: str) -> bool:
    """Whether ``text`` may be an entity's id."""
    return _ENTITY_ID.fullmatch(text) is not None


class _Entropy(threading.local):
    """Random bytes from ``os.urandom``, read a block at a time.

    Every create needs an id, and every change an event id.  ``os.urandom`` is a system call
    that gives up the GIL, and taking it back behind the store's writer thread costs a hundred
    times the call itself; one call per block instead of per id keeps the reactor thread busy
    with requests.  The bytes are the kernel's all the same; each thread has its block, and a
    forked child starts a fresh one, so that no two processes or threads hand out the same id.
    """

    BLOCK = 4096

    def __init__(self) -> None:
        self.forget()

    def forget(self) -> None:
        """Drop what is left of the block (in a forked child, the parent's)."""
        self.block = b""
        self.used = 0

    def take(self, count: int) -> bytes:
        if self.used + count > len(self.block):
            self.block, self.used = os.urandom(self.BLOCK), 0
        start, self.used = self.used, self.used + count
        return self.block[start:self.used]


_entropy = _Entropy()
os.register_at_fork(after_in_child=_entropy.forget)


def randomBits(count: int) -> int:
    """``count`` random bytes as a number (from the kernel's random source)."""
    return int.from_bytes(_entropy.take(count))


def randomId() -> str:
    """A random UUID (version 4): the id of an entity whose client named none."""
    value = randomBits(16)
    value = value & ~(0xF << 76) | 0x4 << 76
    return _uuidText(value & ~(0x3 << 62) | 0x2 << 62)


def orderedId(now: float) -> str:
    """A random UUID whose first bits are the time ``now`` (epoch seconds, from the caller's
    clock; the layout of UUID version 7): ids made one after another sort together, so the
    store's indexes grow at their end instead of touching a random page each (half the bytes
    written per request)."""
    milliseconds = int(now * 1000)
    value = (milliseconds & (1 << 48) - 1) << 80 | randomBits(10)
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    return _uuidText(value & ~(0x3 << 62) | 0x2 << 62)  # the RFC 4122 variant


def _uuidText(value: int) -> str:
    # Written out here rather than through uuid.UUID, which costs four times as much: one
    # id is made for every create and every event.
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
