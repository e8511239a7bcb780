"""Boot images: a directory per image, and the ``os_tpl`` mixin each is offered as.

The layout an operator keeps (and ``occi-guest`` writes for the tiny guest)::

    IMAGES/                      --libvirt-images [default: ~/.cache/occi-twisted/images]
        tiny/                    the image's term: its mixin is os_tpl#tiny
            kernel               what QEMU boots directly (a bzImage or a PVH vmlinux)
            initrd               optional: the initial RAM disk
            cmdline              optional: the kernel's command line [console=ttyS0]
            title                optional: the mixin's title [the term]
            architecture         optional: x86_64 (the default), aarch64, ...

Every sub-directory with a ``kernel`` is an image, read once when the driver is made.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ...model import Mixin
from ...model.infrastructure import osTemplate

#: Where images are looked for when no --libvirt-images names a directory.
DEFAULT_IMAGES = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") \
    / "occi-twisted" / "images"
#: The term of the tiny guest that ``occi-guest`` builds.
TINY = "tiny"


@dataclass(frozen=True)
class BootImage:
    """One image directory, as the domain XML needs it."""

    term: str
    title: str
    kernel: Path
    initrd: Path | None
    cmdline: str
    architecture: str

    def mixin(self) -> Mixin:
        """The ``os_tpl`` mixin that names this image on a compute."""
        return osTemplate(self.term, self.title, self.architecture)


#: An image's term: what fits in a mixin's term and a location segment.
_TERM = re.compile(r"[a-z][a-z0-9_.-]{0,63}")


def readImage(directory: Path) -> BootImage | None:
    """The image kept in ``directory``, or ``None`` if it is not one."""
    kernel = directory / "kernel"
    if not _TERM.fullmatch(directory.name) or not kernel.is_file():
        return None
    initrd = directory / "initrd"

    def text(name: str, default: str) -> str:
        try:
            return (directory / name).read_text(encoding="utf-8").strip() or default
        except OSError:
            return default

    return BootImage(term=directory.name, title=text("title", directory.name), kernel=kernel,
                     initrd=initrd if initrd.is_file() else None,
                     cmdline=text("cmdline", "console=ttyS0"),
                     architecture=text("architecture", "x86_64"))


def readImages(root: Path) -> dict[str, BootImage]:
    """Every image under ``root`` by term (none if it does not exist)."""
    try:
        directories = sorted(each for each in root.iterdir() if each.is_dir())
    except OSError:
        return {}
    images = (readImage(each) for each in directories)
    return {image.term: image for image in images if image is not None}
