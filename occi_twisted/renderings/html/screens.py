"""What a compute shows on its page, where its driver has it: a screenshot while it runs,
and a link to its serial console's text (which a browser can reload to follow a boot)."""

from __future__ import annotations

from collections.abc import Sequence

from twisted.web.template import Tag, tags

from ...model import Entity
from .markup import Markup, flattened
from .words import uri


def screensSection(entity: Entity, shows: Sequence[tuple[str, str]]) -> Markup:
    """The section of what ``entity`` shows: ``shows`` is (path, media type) of each."""
    items: list[Tag] = []
    for path, mediaType in shows:
        if mediaType == "image/png":
            if entity.attributes.get("occi.compute.state") == "active":
                items.append(tags.p(tags.img(src=uri(path), id="screen",
                                             alt="The compute's screen")))
        else:
            items.append(tags.p(tags.a("Serial console", href=uri(path), id="console"),
                                f" ({mediaType}; reload to follow)."))
    return flattened(tags.section(tags.h2("Console"), *items, id="console-section"))
