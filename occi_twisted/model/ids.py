"""Ids: the one rule for an entity's, and the ids of what the store keeps in creation order
(requests, events)."""

from __future__ import annotations

import os
import re

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


def orderedId(now: float) -> str:
    """A random UUID whose first bits are the time ``now`` (epoch seconds, from the caller's
    clock; the layout of UUID version 7): ids made one after another sort together, so the
    store's indexes grow at their end instead of touching a random page each (half the bytes
    written per request)."""
    milliseconds = int(now * 1000)
    value = (milliseconds & (1 << 48) - 1) << 80 | int.from_bytes(os.urandom(10))
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # the RFC 4122 variant
    # Written out here rather than through uuid.UUID, which costs four times as much: one
    # is made for every event.
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
