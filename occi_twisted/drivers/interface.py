"""The driver interface, and how the launcher finds the driver it was told to use."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorFromThreads, IReactorTime
from twisted.plugin import IPlugin, getPlugins
from zope.interface import Attribute, Interface

from ..model import Action, Category, Entity, Kind, Value
from ..model.errors import BadRequest, Conflict

if TYPE_CHECKING:
    from ..store.interface import IEntityStore


class InvalidTransition(Conflict):
    """The entity's current state does not allow the action (e.g. suspending a stopped VM)."""


@dataclass(frozen=True)
class ActionOutcome:
    """What a finished action changed: new values of server-managed attributes, and a line
    for the request's message."""

    changes: Mapping[str, Value] = field(default_factory=dict)
    message: str = ""
    #: Final progress for the request; ``None`` keeps the last one reported.
    progress: Mapping[str, Value] | None = None


class ActionContext(Protocol):
    """What a driver sees of the request an action runs for (the scheduler's run context).

    Long work goes in slices: after each, ``checkpoint`` makes the progress (for clients) and
    the checkpoint (for a resume) durable, and raises when the work must stop -- cancelled,
    the server stopping -- which the driver lets propagate after cleaning up.  A run that
    resumes after a crash finds its last checkpoint in ``saved``."""

    clock: IReactorTime

    @property
    def saved(self) -> Value | None: ...

    def checkpoint(
        self, progress: Mapping[str, Value] | None = None, checkpoint: Value | None = None
    ) -> Deferred[None]: ...


class IDriver(Interface):
    """Performs actions on real (or simulated) infrastructure."""

    def start() -> None:
        """Take the resources the driver needs (threads, connections); called once the
        store is open, before any other call but :meth:`provision` and :meth:`check`."""

    def stop() -> Deferred[None]:
        """Let them go; fires once the driver is idle."""

    def provision(entity: Entity) -> Mapping[str, Value]:
        """Server-chosen attribute values for a new entity (e.g. a link's interface name).

        Called before the entity is stored, and again before every change of it is stored
        (with the entity as changed); raises a domain error to refuse what the
        infrastructure cannot be (a disk larger than the file system allows).  Must not
        block."""

    def check(entity: Entity, action: Action, attributes: Mapping[str, Value]) -> None:
        """Raise :class:`InvalidTransition` if ``action`` cannot run on ``entity`` now.

        Called before a request is stored, so a refused action changes nothing; and again
        when the request runs, since the entity may have changed meanwhile."""

    def perform(
        entity: Entity, action: Action, attributes: Mapping[str, Value], context: ActionContext
    ) -> Deferred[ActionOutcome]:
        """Carry out ``action`` for the request of ``context``; fires with the state it leaves
        the entity in.  May run again after a crash: resume from ``context.saved``."""

    def realize(before: Entity | None, after: Entity | None) -> Deferred[None]:
        """Make the infrastructure match a change already stored: ``before`` is ``None`` for a
        creation, ``after`` for a deletion.  Must be idempotent: the server calls it again
        with ``before == after`` whenever it is not sure the change was followed (every
        storage at start-up, each change as the store reports it).

        Once called, the work is done whatever becomes of the returned Deferred: cancelling
        it (the client who asked hung up) stops the waiting, not the work."""


class IHoldings(Interface):
    """A driver that keeps something of its own for entities (a storage's image file) and can
    list it: start-up takes back what belongs to entities the store no longer has."""

    def held() -> Deferred[list[tuple[Kind, str]]]:
        """The kind and id of every entity the driver holds something for."""


class IImages(Interface):
    """A driver that keeps each storage as an image file, which the server hands out (a
    download, an OVA) and takes in (an upload, an imported OVA)."""

    def imagePath(storageId: str) -> Path:
        """Where the storage's image is (no I/O): opened to be read, never written."""

    def uploadPath(storageId: str) -> Path:
        """A new name beside the image for an upload to be written to (nothing is created):
        on the image's file system, so that replacing the image is a rename.  Uploads the
        server never finished (it was killed) are removed when it next starts."""

    def replaceImage(storageId: str, upload: Path, size: int) -> Deferred[None]:
        """Make the file ``upload`` the storage's image, extended with zeros (sparsely) to
        ``size`` bytes: synced, then renamed over the image and the directory synced, so a
        crash leaves the old image or the new one, never a mix.  Waits for the storage's
        other jobs (an erase, a backup); a job waits for it the same way."""

    def discardUpload(upload: Path) -> Deferred[None]:
        """Remove an upload that will not become an image."""

    def freeBytes() -> int:
        """The bytes the images' file system has free (a metadata call, quick enough for the
        reactor): what an upload of unknown size may take at most."""


#: How a driver tells the server what its infrastructure did on its own: the entity's id and
#: the server-managed attributes (a state and its message) that change.
Report = Callable[[str, Mapping[str, Value]], Deferred[None]]


class IInfrastructure(Interface):
    """A driver whose infrastructure is more than storage images, and changes on its own (a
    guest powers itself off): it follows more kinds, offers categories of its own, reads the
    store and reports what it sees."""

    kinds = Attribute("The kinds whose entities the driver follows (:meth:`IDriver.realize` "
                      "on every change) and reconciles at start-up.")

    def categories() -> Sequence[Category]:
        """Mixins the driver offers (its boot images as ``os_tpl`` mixins), added to the
        registry before the store opens."""

    def observe(store: IEntityStore, report: Report) -> None:
        """Called before :meth:`IDriver.start`: where to read entities (a compute's links),
        and how to report a change the infrastructure made."""


class IConsoles(Interface):
    """A driver whose computes have a serial console and a screen to show."""

    def consoleLog(computeId: str) -> Path:
        """The file the compute's serial console output is appended to (no I/O; it may not
        exist yet)."""

    def screenshot(computeId: str) -> Deferred[bytes]:
        """A PNG of the running compute's screen; a Conflict if it is not running."""


class IDriverOptions(Interface):
    """A driver factory that takes settings of its own (``--libvirt-uri``...)."""

    def configured(options: Mapping[str, str]) -> IDriverFactory:
        """A factory that makes drivers with ``options`` (the operator's, by option name
        without dashes; absent ones take their defaults); raises ``ValueError`` with the
        line to show for a bad one."""


class IDriverFactory(Interface):
    """A plugin that makes drivers; found with :func:`twisted.plugin.getPlugins`."""

    name = Attribute("The name operators give with --driver.")
    description = Attribute("One line saying what the driver drives.")

    def makeDriver(dataDir: Path, clock: IReactorTime, threads: IReactorFromThreads) -> IDriver:
        """A driver keeping whatever files it needs under ``dataDir``; ``clock`` and
        ``threads`` are both the reactor, named for what the driver uses it for."""


def driverFactories() -> dict[str, IDriverFactory]:
    """Every driver plugin installed, by name."""
    from .. import plugins

    return {
        factory.name: factory
        for factory in getPlugins(IDriverFactory, plugins)
        if IPlugin.providedBy(factory)
    }


def findDriver(name: str) -> IDriverFactory:
    """The driver plugin called ``name``, or a BadRequest that lists the available ones."""
    factories = driverFactories()
    try:
        return factories[name]
    except KeyError:
        raise BadRequest(
            f"No driver called {name!r}; available: {', '.join(sorted(factories)) or 'none'}."
        ) from None
