"""What a compute shows: its screen as a PNG (QEMU hands libvirt a PPM), and where its serial
console is written."""

from __future__ import annotations

import re
import struct
import zlib
from typing import Any

from ...model.errors import Conflict
from .connection import libvirt

_PPM = re.compile(rb"P6\s+(?:#[^\n]*\n\s*)*(\d+)\s+(\d+)\s+(\d+)\s")


def png(ppm: bytes) -> bytes:
    """A binary PPM (P6, 8 bits per channel) as a PNG: an RGB image, one IDAT, no filter."""
    header = _PPM.match(ppm)
    if header is None or int(header.group(3)) != 255:
        raise ValueError("not an 8-bit binary PPM")
    width, height = int(header.group(1)), int(header.group(2))
    pixels = ppm[header.end():header.end() + width * height * 3]
    if len(pixels) != width * height * 3:
        raise ValueError("the PPM is cut short")
    stride = width * 3
    raw = b"".join(b"\0" + pixels[row * stride:(row + 1) * stride] for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def screenshot(connection: Any, name: str) -> bytes:
    """The screen of the running domain ``name`` as a PNG (blocks: in the pool)."""
    domain = connection.lookupByName(name)
    if not domain.isActive():
        raise Conflict(f"The compute {name} is not running: it has no screen to show.")
    stream = connection.newStream(0)
    try:
        mime = domain.screenshot(stream, 0, 0)
        received = []
        while True:
            data = stream.recv(1 << 18)
            if not data or not isinstance(data, bytes):
                break
            received.append(data)
        stream.finish()
    except libvirt.libvirtError:
        stream.abort()
        raise
    data = b"".join(received)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data  # a QEMU that writes PNG itself
    try:
        return png(data)
    except ValueError as error:
        raise Conflict(f"The screen of {name} came as {mime} that could not be read "
                       f"({error}).") from None
