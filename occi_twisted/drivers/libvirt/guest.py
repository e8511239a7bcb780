"""``occi-guest``: builds the tiny Linux guest the libvirt driver offers as ``os_tpl#tiny``.

Debian's own kernel (``apt-get download linux-image-amd64``'s dependency, unpacked with
``dpkg-deb``; booted as the ELF inside, through PVH) and an initramfs of ``busybox-static``
with the few modules a guest needs (virtio disks and NICs, the ACPI button, evdev).  Its
init mounts ``/proc``, ``/sys`` and ``/dev``, names the host after ``occi.hostname=`` on the
kernel's command line, starts ``acpid`` on the power button *before* it says it is ready (a
press sent earlier would be lost), brings ``eth0`` up with ``udhcpc`` when a DHCP server
answers (or the address ``occi.ip=ADDR/PREFIX`` gives), prints :data:`READY` and runs a shell
on ``ttyS0``.  It boots to that shell in a few seconds under TCG with 128 MiB.

Idempotent: an image already built is left alone (``--force`` builds it again).  The image
directory's layout is :mod:`.images`'s.
"""

from __future__ import annotations

import argparse
import gzip
import io
import lzma
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .images import DEFAULT_IMAGES, TINY

#: What the guest prints on its console once it is ready (and its power button is heard).
READY = "occi-guest: ready"
#: The modules loaded at boot, by file name; their dependencies come first.
MODULES = ("virtio_pci", "virtio_blk", "virtio_net", "button", "evdev")

INIT = f"""#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /tmp /run /var/log /var/run && mount -t devpts devpts /dev/pts
for module in $(cat /etc/modules); do insmod /lib/modules/$module.ko 2>/dev/null; done
for word in $(cat /proc/cmdline); do
    case "$word" in
        occi.hostname=*) hostname "${{word#occi.hostname=}}" ;;
        occi.ip=*) address="${{word#occi.ip=}}" ;;
    esac
done
ip link set lo up
# The power button is read from now on: an ACPI shutdown is a clean poweroff.
# (once the button's event device is there: acpid opens the devices it finds when it starts)
for _ in $(seq 100); do
    button=$(grep -A5 'Name="Power Button"' /proc/bus/input/devices | grep -o 'event[0-9]*')
    [ -n "$button" ] && [ -e "/dev/input/$button" ] && break
    usleep 50000
done
acpid -c /etc/acpi
if [ -e /sys/class/net/eth0 ]; then
    ip link set eth0 up
    if [ -n "$address" ]; then ip addr add "$address" dev eth0
    else udhcpc -i eth0 -q -n -t 3 -T 1 -s /etc/udhcpc.sh >/dev/null 2>&1; fi
fi
echo "{READY} $(hostname)"
while true; do setsid -c sh -l </dev/ttyS0 >/dev/ttyS0 2>&1; done
"""

UDHCPC = """#!/bin/sh
case "$1" in
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        [ -n "$router" ] && ip route add default via ${router%% *} dev "$interface"
        ;;
esac
exit 0
"""

POWER = "#!/bin/sh\necho 'occi-guest: power button'\nsync\npoweroff -f\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="occi-guest", description="Build the tiny Linux guest of the libvirt driver "
        "(Debian's kernel, busybox) into the image directory the driver reads.")
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES,
                        help=f"the image directory [default: {DEFAULT_IMAGES}]")
    parser.add_argument("--force", action="store_true", help="build it again")
    options = parser.parse_args(argv)
    target = options.images / TINY
    if (target / "kernel").is_file() and (target / "initrd").is_file() and not options.force:
        print(f"{target}: built already")
        return 0
    try:
        build(target)
    except (OSError, subprocess.CalledProcessError, LookupError) as error:
        print(f"occi-guest: {error}", file=sys.stderr)
        return 1
    print(f"{target}: built")
    return 0


def build(target: Path) -> None:
    """Make the image directory ``target`` (written beside it, then renamed into place)."""
    busybox = shutil.which("busybox")
    if busybox is None:
        raise LookupError("busybox is not installed (apt-get install busybox-static)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        scratch = Path(work)
        kernelDir = _unpackKernel(scratch)
        building = scratch / "image"
        building.mkdir()
        release = next((kernelDir / "lib" / "modules").iterdir()).name
        (building / "kernel").write_bytes(
            uncompressed(next((kernelDir / "boot").glob("vmlinuz-*")).read_bytes()))
        (building / "initrd").write_bytes(
            _initramfs(Path(busybox), kernelDir / "lib" / "modules" / release))
        (building / "cmdline").write_text("console=ttyS0 quiet\n")
        (building / "title").write_text(
            f"Tiny Linux guest (Debian kernel {release}, busybox), for tests and demos\n")
        (building / "architecture").write_text("x86_64\n")
        if target.exists():
            shutil.rmtree(target)
        building.rename(target)


def _unpackKernel(scratch: Path) -> Path:
    """Download Debian's current kernel package and unpack it; its directory."""
    depends = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], check=True,
                             capture_output=True, text=True).stdout
    package = next((line.split()[-1] for line in depends.splitlines()
                    if line.strip().startswith("Depends: linux-image-")), None)
    if package is None:
        raise LookupError("apt-cache knows no linux-image-amd64 (apt-get update?)")
    subprocess.run(["apt-get", "download", "-q", package], check=True, cwd=scratch,
                   capture_output=True)
    deb = next(scratch.glob("*.deb"))
    unpacked = scratch / "kernel"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
    deb.unlink()
    return unpacked


def uncompressed(bzImage: bytes) -> bytes:
    """The ELF ``vmlinux`` inside a bzImage (its xz payload), which QEMU boots through PVH
    in half the time of the bzImage's own decompressor; the bzImage itself if it has none."""
    start = bzImage.find(b"\xfd7zXZ\x00")
    if start < 0:
        return bzImage
    try:
        elf = lzma.LZMADecompressor().decompress(bzImage[start:])
    except lzma.LZMAError:
        return bzImage
    return elf if elf.startswith(b"\x7fELF") else bzImage


def moduleOrder(modules: Path, wanted: tuple[str, ...]) -> list[Path]:
    """The module files ``wanted`` needs, each after those it depends on (``depends=`` of
    their ``.modinfo``, since a package's kernel comes without ``modules.dep``)."""
    files = {path.name.removesuffix(".ko"): path for path in modules.rglob("*.ko")}
    ordered: list[Path] = []

    def add(name: str) -> None:
        path = files[name]
        if path in ordered:
            return
        for line in path.read_bytes().split(b"\0"):
            if line.startswith(b"depends="):
                for dependency in filter(None, line[8:].decode().split(",")):
                    add(dependency)
        ordered.append(path)

    for name in wanted:
        add(name)
    return ordered


def _initramfs(busybox: Path, modules: Path) -> bytes:
    """The gzipped newc cpio of the guest's root file system."""
    files: dict[str, tuple[int, bytes]] = {
        "init": (0o755, INIT.encode()),
        "bin/busybox": (0o755, busybox.read_bytes()),
        "etc/udhcpc.sh": (0o755, UDHCPC.encode()),
        "etc/acpi/PWRF/00000080": (0o755, POWER.encode()),
        "etc/passwd": (0o644, b"root:x:0:0:root:/root:/bin/sh\n"),
        "etc/profile": (0o644, b"export PATH=/bin:/sbin:/usr/bin:/usr/sbin PS1='# '\n"),
    }
    order = moduleOrder(modules, MODULES)
    for path in order:
        files[f"lib/modules/{path.stem}.ko"] = (0o644, path.read_bytes())
    files["etc/modules"] = (0o644, "\n".join(path.stem for path in order).encode() + b"\n")
    directories = {"bin", "sbin", "usr", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp",
                   "root", "etc", "etc/acpi", "etc/acpi/PWRF", "var", "lib", "lib/modules", "run"}
    links = {f"bin/{name}": "busybox" for name in _applets(busybox) if name != "busybox"}
    return gzip.compress(_cpio(directories, files, links), 6)


def _applets(busybox: Path) -> list[str]:
    listed = subprocess.run([str(busybox), "--list"], check=True, capture_output=True,
                            text=True).stdout
    return [name for name in listed.split() if name and "/" not in name]


def _cpio(directories: set[str], files: dict[str, tuple[int, bytes]],
          links: dict[str, str]) -> bytes:
    """A newc archive (what the kernel unpacks), written without the ``cpio`` command."""
    out = io.BytesIO()
    inode = 0

    def entry(name: str, mode: int, data: bytes) -> None:
        nonlocal inode
        inode += 1
        encoded = name.encode() + b"\0"
        header = (f"070701{inode:08x}{mode:08x}{0:08x}{0:08x}{1:08x}{0:08x}"
                  f"{len(data):08x}{0:08x}{0:08x}{0:08x}{0:08x}{len(encoded):08x}{0:08x}")
        out.write(header.encode() + encoded)
        out.write(b"\0" * (-(110 + len(encoded)) % 4))
        out.write(data)
        out.write(b"\0" * (-len(data) % 4))

    for name in sorted(directories):
        entry(name, 0o040755, b"")
    for name, (mode, data) in sorted(files.items()):
        entry(name, 0o100000 | mode, data)
    for name, target in sorted(links.items()):
        entry(name, 0o120777, target.encode())
    entry("sbin/init", 0o120777, b"../init")
    entry("TRAILER!!!", 0, b"")
    return out.getvalue()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

__all__ = ["READY", "build", "main", "moduleOrder"]
