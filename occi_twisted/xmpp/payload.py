"""What an event's pubsub item carries: its Atom entry, as XML text.

The service is given ``entryOf``, a function from an event to its entry -- a domish element or
XML text, a standalone element that declares its own namespace -- and turns it into text once
per event, however many subscribers it goes to: notifications are written as text.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.words.xish import domish

from ..model import Registry
from ..model.events import Event
from ..renderings import atom
from ..renderings.document import RenderContext

#: An event's Atom entry (see the module's docstring).
EntryOf = Callable[[Event], "str | domish.Element"]


def payloadXML(entry: str | domish.Element) -> str:
    """The entry as XML text."""
    if isinstance(entry, str):
        return entry
    return str(entry.toXml())


def atomEntries(context: RenderContext, registry: Registry) -> EntryOf:
    """``entryOf`` for the server: each event's entry as the Atom feeds render it, with the
    links made absolute on ``context``'s base URL."""

    def entryOf(event: Event) -> str:
        return atom.entryElement(event, context, registry)

    return entryOf
