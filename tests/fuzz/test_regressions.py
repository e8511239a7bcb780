"""The 500s the fuzz suite found, one reproduction each.

Those not fixed yet live in code someone else is changing; they are marked
``xfail(strict=True)``: the fix makes a test pass, which fails the suite until its marker and
its entry in ``known.py`` go.  Each names its class of defect; the fix is for the class.  The
fixed ones (``known.FIXED``) are held to the clear answer they get now.
"""

from __future__ import annotations

import http.client

import pytest

from ..conftest import RunningServer
from .known import FIXED, KNOWN, QUIET, KnownDefect, knownDefectOf
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


@pytest.mark.parametrize("name", [*FIXED, *QUIET])
def test_a_fixed_500_stays_a_clear_answer(name: str) -> None:
    request, status = {**FIXED, **QUIET}[name]
    answer = World.seeded().send(request)
    assert (answer.code, answer.failures) == (status, []), answer.raw[:300]
    if status >= 400:  # a sentence that says what is wrong, not a bare status
        assert answer.body.strip(), answer.raw[:300]


@pytest.mark.parametrize("target", [
    "/log/?before=9223372036854775808", "/log/?before=9223372036854775807",
    "/compute/?format=atom&after=9223372036854775808",
    "/compute/?page=9223372036854775808&number=1",
    "/compute/?format=atom&after=" + "9" * 5000])
def test_cursors_beyond_64_bits_on_the_real_store(server: RunningServer, target: str) -> None:
    """The same on SQLite, through a real ``twistd occi``: the store the in-memory suite's
    64-bit store stands in for.  The largest cursor SQLite holds is served; beyond it, 400."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", target, headers={"Accept": "text/plain"})
    status = connection.getresponse().status
    assert status == (200 if target.endswith("807") else 400)
