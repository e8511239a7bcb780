"""What the server gets wrong today, one name per defect, each the reason of a strict xfail.

A check that fails because of one of these is marked with it; when the defect is fixed the
check passes, strict xfail turns that into a failure, and the mark goes.  The reasons are
the fix list: each says what is rendered, where, and which rule it breaks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest


def known(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=reason)




def together(*marks: pytest.MarkDecorator) -> pytest.MarkDecorator:
    """One strict xfail for a check that several defects spoil: it passes once all are fixed."""
    return known(" -- AND -- ".join(str(mark.kwargs["reason"]) for mark in marks))


def cases(names: Iterable[str], pinned: Mapping[str, pytest.MarkDecorator]
          ) -> list[Any]:
    """``names`` as pytest parameters, each marked with the defect pinned on it, if any."""
    unknown = set(pinned) - set(names)
    assert not unknown, f"defects pinned on checks that do not exist: {unknown}"
    return [pytest.param(name, id=name, marks=[pinned[name]] if name in pinned else [])
            for name in names]
