"""The server's renderings: which media type each one reads and writes, in the server's order
of preference -- the one explicit table, no discovery.

This module imports every rendering, and no rendering imports it (nor
:mod:`~occi_twisted.renderings.negotiation`, which it builds on): only the HTTP layer does, so
that the renderings form no import cycle and each one can be imported, and tested, alone.
"""

from __future__ import annotations

from . import atom, atomentities, descriptor, form, html, json, text, urilist, xml
from .document import Parser, Renderer
from .negotiation import MediaTypes


def standardMediaTypes() -> MediaTypes:
    """A new table of the server's renderings, preferred first."""
    types = MediaTypes()
    types.add(text.PLAIN_TYPE, parser=text.parsePlain, renderer=text.PLAIN)
    types.add(text.OCCI_TYPE, parser=text.parseOcci, renderer=text.OCCI)
    # GFD.229 gives text/uri-list to listings alone.
    types.add(urilist.MEDIA_TYPE, renderer=urilist.URI_LIST, listingOnly=True)
    types.add(json.MEDIA_TYPE, parser=json.parse, renderer=json.OCCI_JSON)
    types.add(json.PLAIN_JSON, parser=json.parse, renderer=json.JSON)
    # Forms are read, never written; pages are written, never read (browsers send forms).
    types.add(form.MEDIA_TYPE, parser=form.parse)
    types.add(html.MEDIA_TYPE, renderer=html.HTML)
    types.add(xml.MEDIA_TYPE, parser=xml.parse, renderer=xml.XML)
    types.add(descriptor.MEDIA_TYPE, parser=descriptor.parse, renderer=descriptor.DESCRIPTOR)
    # Atom is read back as it is written: an entry whose content is the text rendering.
    types.add(atom.MEDIA_TYPE, parser=atomentities.parse, renderer=atomentities.ATOM)
    return types


#: The table the server answers with.
MEDIA_TYPES = standardMediaTypes()


def parser(contentType: str | None) -> Parser | None:
    """:meth:`MediaTypes.parser` of the server's renderings."""
    return MEDIA_TYPES.parser(contentType)


def renderer(mediaType: str) -> Renderer:
    """:meth:`MediaTypes.renderer` of the server's renderings."""
    return MEDIA_TYPES.renderer(mediaType)


def inputTypes() -> list[str]:
    """:meth:`MediaTypes.inputTypes` of the server's renderings."""
    return MEDIA_TYPES.inputTypes()


def outputTypes(listing: bool = False) -> list[str]:
    """:meth:`MediaTypes.outputTypes` of the server's renderings."""
    return MEDIA_TYPES.outputTypes(listing)
