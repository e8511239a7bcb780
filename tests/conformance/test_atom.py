"""Every Atom document the server renders -- event feeds and entries, notes, collections
and entities passed by value -- against RFC 4287's RELAX NG schema (jing, one run for all)
and the two Schematron assertions that schema carries."""

from __future__ import annotations

from functools import cache

import pytest

from .corpus import ATOM, ATOM_TYPE, corpus
from .validators import jingErrors, schematronErrors


@cache
def _verdicts() -> dict[str, list[str]]:
    return jingErrors({name: answer.body for name, answer in corpus().atom.items()})


@pytest.mark.parametrize("name", list(ATOM))
def test_rfc4287_schema(name: str) -> None:
    answer = corpus().atom[name]
    assert answer.code == 200, (answer.code, answer.text)
    assert (answer.header("content-type") or "").startswith(ATOM_TYPE)
    assert _verdicts()[name] == []
    assert schematronErrors(answer.body) == []
