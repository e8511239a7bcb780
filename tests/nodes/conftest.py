"""The nodes' tests: a database of the session's PostgreSQL cluster each, and the XMPP tests'
real Prosody."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..postgres import Cluster
from ..xmpp.conftest import prosody  # noqa: F401  (a fixture)


@pytest.fixture
def database(postgres: Cluster) -> Iterator[str]:
    """A new, empty database, dropped after the test; its URL."""
    url = postgres.database()
    yield url
    postgres.drop(url)
