"""One real ``twistd -n occi`` for each module of the client's tests (each test makes its
own entities)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..conftest import RunningServer


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = RunningServer(tmp_path_factory.mktemp("client") / "occi-data").start()
    yield server
    server.stop()
