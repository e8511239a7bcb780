"""Every representation at a URL of its own (the walkthrough's "by way of the URL"):
``{location}?format=<name>`` is the representation of that media type, whatever ``Accept``
says."""

from __future__ import annotations

from collections.abc import Iterable

HTML = "text/html"

#: Short names of the media types, as they appear in ``?format=``.
FORMATS: dict[str, str] = {
    "html": HTML,
    "text": "text/plain",
    "occi": "text/occi",
    "json": "application/occi+json",
    "xml": "application/occi+xml",
    "descriptor": "text/x-occi-descriptor",
    "atom": "application/atom+xml",
    "urilist": "text/uri-list",
    # Files (see occi_twisted.files.types): the image of a storage, a compute's OVF and OVA.
    "image": "application/octet-stream",
    "ovf": "application/ovf+xml",
    "ova": "application/x-ova",
    # A compute's screen, where its driver shows one (see occi_twisted.http.consoles).
    "png": "image/png",
}
_NAMES = {mediaType: name for name, mediaType in FORMATS.items()}


def formatsOf(available: Iterable[str]) -> list[str]:
    """The short names of the available media types."""
    return [_NAMES[t] for t in available if t in _NAMES]


def representations(location: str, available: Iterable[str]) -> list[tuple[str, str]]:
    """(URL path, media type) of each representation of ``location``, preferred first."""
    return [(f"{location}?format={_NAMES[t]}", t) for t in available if t in _NAMES]
