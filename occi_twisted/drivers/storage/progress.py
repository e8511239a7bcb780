"""How far a job is, as a request shows it, and the reading of the checkpoints it resumes from.

A job's state serialises to a small JSON object for the scheduler to keep; the helpers here
read one back, refusing anything a job could not have written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from .errors import GIB


class Phase(StrEnum):
    WRITING = "writing"
    VERIFYING = "verifying"
    COPYING = "copying"
    DONE = "done"


@dataclass(frozen=True)
class Progress:
    """How far a job is, as a request shows it: pass n of m, bytes done of total, percent.

    For an erase, ``bytesTotal`` counts every pass and the verification read (passes + 1 times
    the size), so the percentage moves at the pace the time goes.  ``bytesDone`` never goes
    back, even across a resume, and equals ``bytesTotal`` exactly once the job is done.
    """

    phase: Phase
    passNumber: int
    passes: int
    bytesDone: int
    bytesTotal: int

    @property
    def percent(self) -> float:
        if self.phase is Phase.DONE:
            return 100.0
        return 100.0 * self.bytesDone / self.bytesTotal if self.bytesTotal else 0.0

    def describe(self) -> str:
        """One line for the request's message, e.g. ``pass 2 of 3 (writing): 1.50 of 4.00 GiB
        (37.5%)``."""
        return (f"pass {self.passNumber} of {self.passes} ({self.phase}): "
                f"{self.bytesDone / GIB:.2f} of {self.bytesTotal / GIB:.2f} GiB "
                f"({self.percent:.1f}%)")

    def toJSON(self) -> dict[str, object]:
        return {**asdict(self), "phase": str(self.phase), "percent": round(self.percent, 2)}


def dumpObject(value: Mapping[str, object]) -> str:
    """A job state as the compact JSON its checkpoint keeps."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def loadObject(text: str | bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as problem:
        raise ValueError(f"{what} is not JSON: {problem}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object")
    return value


def count(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, not {value!r}")
    return value


def optionalCount(value: object, name: str) -> int | None:
    return None if value is None else count(value, name)
