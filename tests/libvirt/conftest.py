"""The libvirt tests' daemon: started once per session (and stopped after, if they started
it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .support import hypervisor


@pytest.fixture(scope="session")
def connection() -> Iterator[Any]:
    yield from hypervisor()
