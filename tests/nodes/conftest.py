"""The nodes' tests use the XMPP tests' real Prosody, and nodes started one after another."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..conftest import RunningServer
from ..xmpp.conftest import prosody  # noqa: F401  (a fixture)


@contextmanager
def twoNodes(data: Path, database: str, *options: str
             ) -> Iterator[tuple[RunningServer, RunningServer]]:
    """Nodes ``a`` and ``b`` on ``database``, sharing ``data``, with ``options`` each."""
    a, b = (RunningServer(data, "--store", database, "--node", name, *options)
            for name in ("a", "b"))
    try:
        a.start(timeout=30)  # first: it sets the database up
        b.start(timeout=30)
        yield a, b
    finally:
        a.stop()
        b.stop()
