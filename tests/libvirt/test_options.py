"""``--libvirt-*`` options: checked at launch, one line and exit status 1 when unusable."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from occi_twisted.drivers.libvirt.factory import LibvirtDriverFactory, domainType
from tests.conftest import serverEnvironment, twistdCommand


def launch(tmp_path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(twistdCommand("--data", str(tmp_path / "data"), *options),
                          cwd=tmp_path, env=serverEnvironment(), capture_output=True,
                          text=True, timeout=60, check=False)


def test_a_bad_domain_type_is_one_line(tmp_path: Path) -> None:
    ended = launch(tmp_path, "--driver", "libvirt", "--libvirt-domain-type", "xen")
    assert ended.returncode == 1
    assert ended.stderr.strip().splitlines()[-1] == (
        "twistd occi: --libvirt-domain-type must be one of qemu, kvm, auto, not 'xen'")


def test_another_driver_takes_no_libvirt_options(tmp_path: Path) -> None:
    ended = launch(tmp_path, "--libvirt-uri", "qemu:///system")
    assert ended.returncode == 1
    assert "the simulated driver takes no options (--libvirt-uri)" in ended.stderr


def test_options_are_read() -> None:
    factory = LibvirtDriverFactory().configured({"libvirt-uri": "test:///default",
                                                 "libvirt-images": "/srv/images"})
    assert (factory.uri, factory.domainType, str(factory.images)) == (
        "test:///default", "qemu", "/srv/images")
    with pytest.raises(ValueError, match="libvirt URI"):
        LibvirtDriverFactory().configured({"libvirt-uri": "nonsense"})
    with pytest.raises(ValueError, match="from 1 to 3600"):
        LibvirtDriverFactory().configured({"libvirt-stop-deadline": "0"})
    with pytest.raises(ValueError, match="one of destroy, fail"):
        LibvirtDriverFactory().configured({"libvirt-stop-after": "wait"})
    patient = LibvirtDriverFactory().configured({"libvirt-stop-deadline": "120",
                                                 "libvirt-stop-after": "fail"})
    assert (patient.stopDeadline, patient.stopAfter) == (120.0, "fail")
    assert domainType("qemu") == "qemu"
    assert domainType("auto") in ("qemu", "kvm")
