"""What libvirt says of a domain, as OCCI states, and which actions each state allows."""

from __future__ import annotations

from typing import Any

from .connection import libvirt

#: (kind term, action term) -> the states it may start from.
ALLOWED: dict[tuple[str, str], frozenset[str]] = {
    ("compute", "start"): frozenset({"inactive", "suspended", "error"}),
    ("compute", "stop"): frozenset({"active", "suspended", "error"}),
    ("compute", "restart"): frozenset({"active", "error"}),
    ("compute", "suspend"): frozenset({"active"}),
    ("compute", "save"): frozenset({"active", "inactive", "suspended"}),
    ("network", "up"): frozenset({"inactive", "active", "error"}),
    ("network", "down"): frozenset({"active", "inactive", "error"}),
}


def domainState(state: int, managedSave: bool) -> str:
    """The OCCI state of a domain in libvirt's ``state`` (``VIR_DOMAIN_*``); a shut-off
    domain with a managed save image is hibernated, which OCCI calls suspended."""
    if state in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED,
                 libvirt.VIR_DOMAIN_SHUTDOWN):
        return "active"
    if state in (libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PMSUSPENDED):
        return "suspended"
    if state == libvirt.VIR_DOMAIN_CRASHED:
        return "error"
    return "suspended" if managedSave else "inactive"


def eventChange(event: int, detail: int) -> dict[str, str] | None:
    """The state change a lifecycle event means (``None``: none, e.g. a definition)."""
    L = libvirt
    if event in (L.VIR_DOMAIN_EVENT_STARTED, L.VIR_DOMAIN_EVENT_RESUMED):
        return _change("active", "Running.")
    if event == L.VIR_DOMAIN_EVENT_SUSPENDED:
        return _change("suspended", "Paused.")
    if event == L.VIR_DOMAIN_EVENT_PMSUSPENDED:
        return _change("suspended", "The guest suspended itself.")
    if event == L.VIR_DOMAIN_EVENT_CRASHED:
        return _change("error", "The guest crashed.")
    if event == L.VIR_DOMAIN_EVENT_STOPPED:
        stopped: dict[int, tuple[str, str]] = {
            L.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN: ("inactive", "The guest powered off."),
            L.VIR_DOMAIN_EVENT_STOPPED_DESTROYED: ("inactive", "Powered off."),
            L.VIR_DOMAIN_EVENT_STOPPED_CRASHED: ("error", "The guest crashed."),
            L.VIR_DOMAIN_EVENT_STOPPED_FAILED: ("error", "The hypervisor failed the guest."),
            L.VIR_DOMAIN_EVENT_STOPPED_SAVED: ("suspended", "Hibernated: its memory is on "
                                                            "disk until it starts again."),
        }
        return _change(*stopped.get(detail, ("inactive", "Stopped.")))
    return None


def stillSo(state: str, live: str) -> bool:
    """Whether a domain that is ``live`` now can still be in the ``state`` an event said (a
    guest that crashed is shut off by then, which is no later change)."""
    return live == state or (state == "error" and live == "inactive")


def _change(state: str, message: str) -> dict[str, str]:
    return {"occi.compute.state": state, "occi.compute.state.message": message}


def liveState(domain: Any) -> str:
    """The OCCI state of ``domain`` now (a blocking call: in the pool)."""
    state, _ = domain.state()
    return domainState(state, bool(domain.hasManagedSaveImage()))
