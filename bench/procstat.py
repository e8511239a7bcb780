"""CPU time and memory of a process, from /proc: what the benchmarks report CPU shares and
memory growth with."""

from __future__ import annotations

import os
import re
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def cpuSeconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), in seconds; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def memory(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (its peak) of a process, in KiB; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return {"VmRSS": 0, "VmHWM": 0}
    found = {key: re.search(rf"{key}:\s+(\d+) kB", status) for key in ("VmRSS", "VmHWM")}
    return {key: int(match.group(1)) if match else 0 for key, match in found.items()}
