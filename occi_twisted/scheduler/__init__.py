"""Persistent requests, run: claimed from the store when due, checkpointed, resumed after a
crash, retried when they fail for now, stopped in order; and the daily windows they wait for."""

from .runner import (
    EntityRunner,
    Interrupted,
    LeaseLost,
    RequestCancelled,
    RetryPolicy,
    RunContext,
    Runner,
    RunResult,
    StopRun,
    TransientError,
)
from .service import Scheduler
from .windows import lastWindow, localZone, nextWindow, parseTimeOfDay, windowDue

__all__ = [
    "EntityRunner",
    "Interrupted",
    "LeaseLost",
    "RequestCancelled",
    "RetryPolicy",
    "RunContext",
    "RunResult",
    "Runner",
    "Scheduler",
    "StopRun",
    "TransientError",
    "lastWindow",
    "localZone",
    "nextWindow",
    "parseTimeOfDay",
    "windowDue",
]
