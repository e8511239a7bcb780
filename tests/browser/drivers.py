"""Driver plugins for the browser tests, each the bundled simulated driver with one thing
changed so that a page has something to show:

- ``throttled-erase`` (:data:`THROTTLED`): a secure erase writes its real passes over the
  real image but at most :data:`SLICE` bytes a slice, after a pause of :data:`PAUSE`
  seconds.  On a fast disk a whole erase of a small image is over in a fraction of a
  second, before a page could show it moving; this one lasts long enough for a person --
  or a test -- to watch.
- ``consoled`` (:data:`CONSOLED`): computes have a serial console and a screen that the
  test itself writes -- the console a log file the test appends to or replaces, the screen
  a PNG file that is there while the test says the compute runs (a Conflict otherwise, as
  a stopped guest's screen is).  So a page's script can be watched against what a console
  really does (a character cut in two between reads, terminal escapes, a log replaced)
  without a hypervisor.

Nothing else differs.  The tests copy this file into an ``occi_twisted/plugins`` folder of
their own on the server's ``PYTHONPATH`` (see :func:`.support.serverWith`), as a deployer
adds a driver.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IReactorFromThreads, IReactorTime
from twisted.plugin import IPlugin
from zope.interface import implementer

from occi_twisted.drivers import IConsoles, IDriver, IDriverFactory
from occi_twisted.drivers.disks import DiskDriver
from occi_twisted.drivers.storage import DiskImages, EraseJob, EraseState, Pattern, Progress
from occi_twisted.model.errors import Conflict
from occi_twisted.plugins.simulated import TIMINGS, SimulatedDriver

#: The names to give ``--driver``.
THROTTLED = "throttled-erase"
CONSOLED = "consoled"
#: Bytes an erase slice writes at most, and the pause before each slice.
SLICE = 4 << 20
PAUSE = 0.1


class ThrottledErase(EraseJob):
    """An erase that takes its time."""

    def step(self, maxBytes: int) -> Progress:
        time.sleep(PAUSE)  # in the driver's thread pool, as the writing is
        return super().step(min(maxBytes, SLICE))


class ThrottledImages(DiskImages):
    def eraseJob(self, storageId: str, passes: int = 3, pattern: Pattern | str = Pattern.DOD3,
                 *, resumeFrom: EraseState | None = None) -> EraseJob:
        return ThrottledErase(self.imagePath(storageId), passes, pattern,
                              resumeFrom=resumeFrom, chunkSize=self.chunkSize)


def consolesOf(dataDir: Path) -> Path:
    """Where the ``consoled`` computes' console logs (``ID.log``) and screens (``ID.png``)
    are."""
    return dataDir / "consoles"


@implementer(IConsoles)
class ConsoledDriver(SimulatedDriver):
    def __init__(self, dataDir: Path, threads: IReactorFromThreads) -> None:
        super().__init__(timings=TIMINGS, disks=DiskDriver(DiskImages(dataDir), threads))
        self.consoles = consolesOf(dataDir)

    def consoleLog(self, computeId: str) -> Path:
        return self.consoles / f"{computeId}.log"

    def screenshot(self, computeId: str) -> Deferred[bytes]:
        try:
            return succeed((self.consoles / f"{computeId}.png").read_bytes())
        except FileNotFoundError:
            return fail(Conflict(f"The compute {computeId} is not running: it has no screen "
                                 "to show."))


@implementer(IPlugin, IDriverFactory)
@dataclass(frozen=True)
class DriverPlugin:
    name: str
    description: str
    make: Callable[[Path, IReactorFromThreads], IDriver]

    def makeDriver(self, dataDir: Path, clock: IReactorTime,
                   threads: IReactorFromThreads) -> IDriver:
        return self.make(dataDir, threads)


throttled = DriverPlugin(
    THROTTLED, "The simulated driver with a slow secure erase (browser tests)",
    lambda dataDir, threads: SimulatedDriver(
        timings=TIMINGS, disks=DiskDriver(ThrottledImages(dataDir), threads)))
consoled = DriverPlugin(
    CONSOLED, "The simulated driver with consoles and screens the test writes",
    ConsoledDriver)
