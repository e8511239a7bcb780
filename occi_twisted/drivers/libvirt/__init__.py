"""The libvirt driver: computes as domains, networks as libvirt networks, links as their
devices, storages as the disk driver's image files.

``connection`` (the pool and the events), ``definitions`` (the XML), ``images`` (boot images
and their ``os_tpl`` mixins), ``guest`` (``occi-guest``), ``states``, ``computes``,
``devices``, ``networks``, ``driver`` (the whole) and ``factory`` (``--driver libvirt``).
"""
