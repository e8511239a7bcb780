"""``--driver libvirt``: computes and networks on a hypervisor through libvirt (see
:mod:`occi_twisted.drivers.libvirt` and docs/howto/libvirt.rst)."""

from occi_twisted.drivers.libvirt.factory import LibvirtDriverFactory

libvirtDriver = LibvirtDriverFactory()
