"""What an erase writes: the patterns, the fill of each pass, and the random pass's keystream.

Zeros and ones are a constant byte.  A random pass writes an AES-256-CTR keystream (the
encryption of zeros) under a key and an initial counter drawn from ``os.urandom`` for that
pass: as unpredictable as the kernel's CSPRNG to anyone without the key, and several times
faster -- ``os.urandom`` gives about 200-350 MB/s here, far below the disk, while AES-NI gives
gigabytes a second.  A counter mode stream can be started at any byte, so a resumed pass goes
on with the very bytes an uninterrupted one would have written, and the verification reads
the disk back against the same stream regenerated, byte for byte, instead of a hash.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

from .files import ChunkWriter


class Pattern(StrEnum):
    """What an erase writes; the values are those of the secure_erase action's attribute."""

    ZEROS = "zeros"
    ONES = "ones"
    RANDOM = "random"
    DOD3 = "dod3"


#: The byte of each constant fill.
FILL_BYTES = {Pattern.ZEROS: 0x00, Pattern.ONES: 0xFF}


def passFills(pattern: Pattern, passes: int) -> tuple[Pattern, ...]:
    """The fill of each pass: dod3 cycles zeros, ones, random (so 3 passes is DoD 5220.22-M)."""
    if pattern is Pattern.DOD3:
        cycle = (Pattern.ZEROS, Pattern.ONES, Pattern.RANDOM)
        return tuple(cycle[n % 3] for n in range(passes))
    return (pattern,) * passes


_HEX = re.compile(r"[0-9a-f]*")
_BLOCK = 16


@dataclass(frozen=True)
class StreamKey:
    """The key and initial counter block of one random pass, as its checkpoint keeps them.

    Keeping the key in the store (in the request's checkpoint, which no rendering shows)
    gives away nothing that the erase protects: the key reproduces only the filler the pass
    writes over the disk, which anyone who can read the disk afterwards reads anyway, and it
    says nothing about the bytes that were there before -- those are overwritten, not
    encrypted.  What it buys is that a pass resumed after a crash continues the same stream,
    and that the verification can regenerate what was written.
    """

    #: Out of reprs and so of logs: harmless there (see above), but of no use to a reader.
    key: bytes = field(repr=False)
    nonce: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) != 32 or len(self.nonce) != _BLOCK:
            raise ValueError("a stream key is 32 bytes of key and 16 of initial counter")

    @classmethod
    def new(cls) -> StreamKey:
        """A fresh key for a pass, from the kernel's CSPRNG."""
        return cls(os.urandom(32), os.urandom(_BLOCK))

    @classmethod
    def fromHex(cls, key: object, nonce: object) -> StreamKey | None:
        """The key a checkpoint kept, or ``None`` when it kept none; refuses malformed hex."""
        if key is None and nonce is None:
            return None
        if not (isinstance(key, str) and isinstance(nonce, str)
                and _HEX.fullmatch(key) and _HEX.fullmatch(nonce)):
            raise ValueError(f"key and nonce must be lower-case hex, not {key!r}, {nonce!r}")
        return cls(bytes.fromhex(key), bytes.fromhex(nonce))


class Keystream:
    """The AES-256-CTR keystream of one :class:`StreamKey`, made into a chunk buffer.

    Byte ``offset`` of the stream is in counter block ``nonce + offset // 16`` (a 128-bit
    big-endian counter, as OpenSSL counts), so the stream starts anywhere; consecutive calls
    go on from the same cipher context without starting over.
    """

    def __init__(self, key: StreamKey) -> None:
        self.key = key
        self._cipher: CipherContext | None = None
        self._next = -1
        self._zeros = bytes(0)

    def makeInto(self, writer: ChunkWriter, offset: int, n: int) -> None:
        """Put bytes ``offset .. offset + n`` of the stream at the start of ``writer.buffer``."""
        if self._cipher is None or offset != self._next:
            self._cipher = self._startAt(offset)
        if len(self._zeros) < n:
            self._zeros = bytes(n)  # zero pages: costs nothing until read
        with (memoryview(self._zeros) as zeros, zeros[:n] as plain,
              memoryview(writer.buffer) as out):
            self._cipher.update_into(plain, out)
        self._next = offset + n

    def _startAt(self, offset: int) -> CipherContext:
        block, skip = divmod(offset, _BLOCK)
        counter = (int.from_bytes(self.key.nonce, "big") + block) % (1 << 128)
        cipher = Cipher(algorithms.AES(self.key.key), modes.CTR(counter.to_bytes(_BLOCK, "big")))
        context = cipher.encryptor()
        context.update(bytes(skip))
        return context
