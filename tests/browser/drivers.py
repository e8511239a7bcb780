"""A driver plugin for the browser tests: the bundled simulated driver, whose secure erase
writes its real passes over the real image but at most :data:`SLICE` bytes a slice, after a
pause of :data:`PAUSE` seconds.

On a fast disk a whole erase of a small image is over in a fraction of a second, before a
page could show it moving; this one lasts long enough for a person -- or a test -- to watch.
Nothing else differs.  The tests copy this file into an ``occi_twisted/plugins`` folder of
their own on the server's ``PYTHONPATH`` (see :func:`dropIn`), as a deployer adds a driver.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from twisted.internet.interfaces import IReactorFromThreads, IReactorTime
from twisted.plugin import IPlugin
from zope.interface import implementer

from occi_twisted.drivers import IDriver, IDriverFactory
from occi_twisted.drivers.disks import DiskDriver
from occi_twisted.drivers.storage import DiskImages, EraseJob, EraseState, Pattern, Progress
from occi_twisted.plugins.simulated import TIMINGS, SimulatedDriver

#: The name to give ``--driver``.
NAME = "throttled-erase"
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


@implementer(IPlugin, IDriverFactory)
class ThrottledDriverFactory:
    name = NAME
    description = "The simulated driver with a slow secure erase (browser tests)"

    def makeDriver(self, dataDir: Path, clock: IReactorTime,
                   threads: IReactorFromThreads) -> IDriver:
        return SimulatedDriver(timings=TIMINGS,
                               disks=DiskDriver(ThrottledImages(dataDir), threads))


throttled = ThrottledDriverFactory()


def dropIn(folder: Path) -> Path:
    """This plugin copied into ``folder/occi_twisted/plugins``; ``folder`` is what goes on
    the server's ``PYTHONPATH``."""
    plugins = folder / "occi_twisted" / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(__file__, plugins / "throttled_erase.py")
    return folder
