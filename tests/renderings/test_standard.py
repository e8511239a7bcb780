"""The server's table of renderings: every media type it reads and writes, in its order of
preference, each with its own parser and renderer."""

from __future__ import annotations

from occi_twisted.renderings import (
    atom,
    atomentities,
    descriptor,
    form,
    html,
    json,
    standard,
    text,
    urilist,
    xml,
)
from occi_twisted.renderings.standard import MEDIA_TYPES, standardMediaTypes

OUTPUTS = ["text/plain", "text/occi", "application/occi+json", "application/json",
           "text/html", "application/occi+xml", "text/x-occi-descriptor",
           "application/atom+xml"]
INPUTS = ["text/plain", "text/occi", "application/occi+json", "application/json",
          "application/x-www-form-urlencoded", "application/occi+xml",
          "text/x-occi-descriptor", "application/atom+xml"]


def test_the_server_prefers_text_then_json_then_the_rest() -> None:
    types = standardMediaTypes()
    assert types.outputTypes() == OUTPUTS
    assert types.outputTypes(listing=True) == [*OUTPUTS[:2], "text/uri-list", *OUTPUTS[2:]]
    assert types.inputTypes() == INPUTS


def test_the_text_renderings_read_and_write_text_and_list_uris() -> None:
    types = standardMediaTypes()
    assert types.parser("text/occi+plain; charset=utf-8") is text.parsePlain
    assert types.parser("TEXT/OCCI") is text.parseOcci
    assert types.renderer("text/plain") is text.PLAIN
    assert types.renderer("text/occi") is text.OCCI
    assert types.parser("text/uri-list") is None
    assert types.renderer("text/uri-list") is urilist.URI_LIST
    assert urilist.MEDIA_TYPE == "text/uri-list"


def test_both_json_types_read_alike_and_write_their_own_label() -> None:
    types = standardMediaTypes()
    assert types.parser("application/json") is types.parser("application/occi+json") is json.parse
    assert types.renderer("application/json") is json.JSON
    assert types.renderer("application/occi+json") is json.OCCI_JSON
    assert json.JSON.mediaType == "application/json"
    assert json.OCCI_JSON.mediaType == "application/occi+json"


def test_the_descriptors_read_and_write_their_type() -> None:
    types = standardMediaTypes()
    assert types.parser("text/x-occi-descriptor; charset=utf-8") is descriptor.parse
    assert types.renderer(descriptor.MEDIA_TYPE) is descriptor.DESCRIPTOR
    assert types.parser("application/occi+xml; charset=utf-8") is xml.parse
    assert types.renderer(xml.MEDIA_TYPE) is xml.XML


def test_forms_are_only_read_pages_only_written_and_atom_both() -> None:
    types = standardMediaTypes()
    assert types.parser(form.MEDIA_TYPE) is form.parse
    assert form.MEDIA_TYPE not in types.outputTypes(listing=True)
    assert types.renderer("text/html") is html.HTML and types.parser("text/html") is None
    assert types.renderer(atom.MEDIA_TYPE) is atomentities.ATOM
    # An entity's Atom entry can be PUT back ("GET it, modify it, PUT it back").
    assert types.parser(atom.MEDIA_TYPE) is atomentities.parse
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert types.choose(browser) == "text/html"


def test_the_module_functions_answer_from_the_servers_table() -> None:
    assert standard.parser("application/x-www-form-urlencoded") is form.parse
    assert standard.renderer("application/json") is MEDIA_TYPES.renderer("application/json")
    assert standard.outputTypes() == OUTPUTS
    assert standard.outputTypes(listing=True) == MEDIA_TYPES.outputTypes(listing=True)
    assert standard.inputTypes() == INPUTS
