"""The 500s the fuzz suite finds that are not fixed yet, one reproduction each.

They live in code being moved (http/app.py is being carved into rooms), so they are marked
``xfail(strict=True)``: the fix makes a test pass, which fails the suite until its marker
and its entry in ``known.py`` go.  Each names its class of defect; the fix is for the class.
"""

from __future__ import annotations

import pytest

from ..conftest import RunningServer
from .known import KNOWN, KnownDefect, knownDefectOf
from .world import World

DEFECTS = {defect.name: defect for defect in KNOWN}


def _xfail(name: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=DEFECTS[name].reason)


@pytest.mark.parametrize("name", [pytest.param(name, marks=_xfail(name)) for name in DEFECTS])
def test_known_500(name: str) -> None:
    answer = World.seeded().send(DEFECTS[name].example)
    assert answer.code < 500, (name, answer.raw[:300])


@pytest.mark.parametrize("name", list(DEFECTS))
def test_each_reproduction_is_its_known_class(name: str) -> None:
    """While a defect stands, its reproduction fails as the class says (not some other
    way): the property tests tolerate exactly these."""
    answer = World.seeded().send(DEFECTS[name].example)
    if answer.code < 500:
        pytest.skip(f"{name} is fixed: remove it from known.py and its xfail")
    found = knownDefectOf(answer.failures)
    assert isinstance(found, KnownDefect) and found.name == name


@_xfail("beyond 64 bits")
def test_a_cursor_beyond_64_bits_on_the_real_store(server: RunningServer) -> None:
    """The same on SQLite, through a real ``twistd occi``: the defect the in-memory suite's
    64-bit store stands in for."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", "/log/?before=9223372036854775808")
    assert connection.getresponse().status < 500
