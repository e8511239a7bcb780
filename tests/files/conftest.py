"""Fixtures of the file tests: a socket pair as the reactor keeps its sockets."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(client, server), the server's end non-blocking as the reactor keeps it."""
    client, server = socket.socketpair()
    server.setblocking(False)
    yield client, server
    client.close()
    server.close()
