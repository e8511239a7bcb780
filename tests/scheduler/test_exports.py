"""The scheduler package's public names: what other rooms may import from it."""

from __future__ import annotations

from occi_twisted import scheduler
from occi_twisted.scheduler import runner, service, windows


def test_exports() -> None:
    assert sorted(scheduler.__all__) == sorted([
        "Interrupted", "LeaseLost", "Observer", "RequestCancelled", "RetryPolicy", "RunContext",
        "RunResult", "Runner", "Scheduler", "StopRun", "TransientError", "lastWindow",
        "localZone", "nextWindow", "parseTimeOfDay", "windowDue",
    ])
    assert scheduler.Scheduler is service.Scheduler
    assert scheduler.RunContext is runner.RunContext
    assert scheduler.nextWindow is windows.nextWindow
    for name in ["RequestCancelled", "Interrupted", "LeaseLost"]:
        assert issubclass(getattr(scheduler, name), scheduler.StopRun)


def test_noGlobalReactor() -> None:
    """Everything below the launcher receives its clock (ARCHITECTURE: rules of the house)."""
    from pathlib import Path

    for module in Path(scheduler.__file__).parent.glob("*.py"):
        assert "twisted.internet import reactor" not in module.read_text(), module
