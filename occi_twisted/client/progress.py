"""Progress as people and logs read it: a bar redrawn in place on a terminal, a plain line
per change elsewhere (a pipe, a file, CI's log), each with the percentage, the pass (``pass 2
of 3``), the throughput and the time left.

The view is fed: by the request's own states as the long poll brings them (an erase), or by
the bytes of a transfer as they go.  It never asks for anything, so it shows exactly what
happened, at the pace it happened.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from ..renderings.values import byteSize

#: The rate is measured over this many seconds of the newest samples.
_WINDOW = 10.0


@dataclass(frozen=True)
class Step:
    """Where a piece of work stands."""

    percent: float
    bytesDone: int | None = None
    bytesTotal: int | None = None
    passNumber: int | None = None
    passes: int | None = None
    phase: str | None = None

    @classmethod
    def fromRequest(cls, progress: object, percent: object) -> Step:
        """A request's ``occi-twisted.request.progress`` (and ``.percent``) as a step: an
        object in JSON, a string of JSON in the text rendering (an XMPP notification's)."""
        if isinstance(progress, str):
            try:
                progress = json.loads(progress)
            except ValueError:
                progress = None
        found = progress if isinstance(progress, dict) else {}

        def number(key: str) -> int | None:
            value = found.get(key)
            return int(value) if isinstance(value, (int, float)) else None

        share = found.get("percent", percent)
        phase = found.get("phase")
        return cls(float(share) if isinstance(share, (int, float)) else 0.0,
                   number("bytes"), number("totalBytes"), number("pass"), number("passes"),
                   phase if isinstance(phase, str) else None)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else \
        f"{rest // 60}:{rest % 60:02d}"


class ProgressView:
    """Shows steps on ``out``: a bar redrawn in place when ``terminal``, else a line for
    each step that changes what the line says.  ``interval`` is the least time between two
    drawings (a transfer reports every chunk; a request's steps come a slice apart)."""

    def __init__(self, out: TextIO, label: str, *, terminal: bool, interval: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.out, self.label, self.terminal, self._clock = out, label, terminal, clock
        self._interval = interval
        self._drawnAt: float | None = None
        self._samples: list[tuple[float, int]] = []
        self._last: Step | None = None
        self._lastLine = ""
        self._drawn = False

    def show(self, step: Step) -> None:
        if step == self._last:
            return
        now = self._clock()
        if step.bytesDone is not None:
            if self._samples and step.bytesDone < self._samples[-1][1]:
                self._samples.clear()  # started over (a restarted transfer)
            self._samples.append((now, step.bytesDone))
            while len(self._samples) > 2 and now - self._samples[1][0] > _WINDOW:
                self._samples.pop(0)
        self._last = step
        if self._drawnAt is None or now - self._drawnAt >= self._interval \
                or step.percent >= 100:
            self._drawnAt = now
            self._draw()

    def rate(self) -> float | None:
        """Bytes a second over the newest samples; None before there are two."""
        if len(self._samples) < 2:
            return None
        (start, done0), (end, done1) = self._samples[0], self._samples[-1]
        return (done1 - done0) / (end - start) if end > start else None

    def remaining(self) -> float | None:
        step, rate = self._last, self.rate()
        if step is None or step.bytesDone is None or not step.bytesTotal or not rate:
            return None
        return max(step.bytesTotal - step.bytesDone, 0) / rate

    def line(self, width: int | None = None) -> str:
        """The words for the last step; with a terminal ``width``, with a bar that fits."""
        step = self._last or Step(0.0)
        rate = self.rate()
        head = [f"{step.percent:5.1f} %"]
        if step.passes:
            head.append(f"pass {step.passNumber or 1} of {step.passes}")
        if step.phase and step.phase != "writing":
            head.append(step.phase)
        tail = [f"{byteSize(rate)}/s" if rate is not None else "-- B/s",
                f"ETA {duration(self.remaining())}"]
        amount = [f"{byteSize(step.bytesDone)} of {byteSize(step.bytesTotal)}"] \
            if step.bytesDone is not None and step.bytesTotal else []
        if width is None:
            return f"{self.label}: " + "  ".join([*head, *amount, *tail])
        room = max(10, min(30, width // 4))  # the same on every line: the bar only fills
        text = "  ".join([*head, *amount, *tail])
        if len(self.label) + room + len(text) + 4 > width:
            text = "  ".join([*head, *tail])
        filled = round(min(max(step.percent, 0.0), 100.0) / 100 * room)
        return f"{self.label} [{'#' * filled}{'.' * (room - filled)}] {text}"[:width - 1]

    def suspend(self) -> None:
        """Clear the bar, so that a question can be asked on its line."""
        self._leave("\r\x1b[K")

    def resume(self) -> None:
        if self._last is not None:
            self._draw()

    def finish(self) -> None:
        """Leave the last state on the screen, and the cursor on a new line."""
        self._leave("\n")

    def _leave(self, ending: str) -> None:
        if self.terminal and self._drawn:
            self.out.write(ending)
            self.out.flush()
            self._drawn = False

    def _draw(self) -> None:
        if self.terminal:
            width = shutil.get_terminal_size((80, 24)).columns
            self.out.write("\r\x1b[K" + self.line(width))
            self._drawn = True
        else:
            text = self.line()
            if text == self._lastLine:
                return
            self._lastLine = text
            self.out.write(text + "\n")
        self.out.flush()
