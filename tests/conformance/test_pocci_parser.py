"""The text renderings read by a parser nobody here wrote: pOCCI's (PyPI ``pocci`` 1.0.3, the
compliance tester, which ``.ci/install-pocci`` installs), and what it reads must be what the
JSON rendering says.

pOCCI is the one independent OCCI parser that runs on Python 3.11: ``occi`` 0.6 is Python 2
code, and ooi 1.2.0 installs but its package fails to import (``collections.Mapping``); ooi's
rule for links is checked in ``test_protocol.py`` instead.

pOCCI 1.0.3 refuses every quoted string that holds a quoted-pair ("Unexpected quotes in OCCI
Attribute value": it compares lengths after unescaping), so what needs one is left out here
and checked against the ABNF alone: requests, whose structured attributes travel as quoted
JSON text, and titles with quotes (``test_text.py``).
"""

from __future__ import annotations

from typing import Any

import pytest

from .corpus import EXCHANGES, JSON, OCCI, PLAIN, Shape, corpus

render = pytest.importorskip("pOCCI.render", reason="pOCCI is installed by .ci/install-pocci")

READS = [e for e in EXCHANGES if not e.changes]
ENTITIES = [f"{e.name} as {media}" for e in READS if e.shape in (Shape.RESOURCE, Shape.LINK)
            and e.name != "request" for media in (PLAIN, OCCI)]
CATEGORIES = [f"{e.name} as {media}" for e in READS if e.shape is Shape.CATEGORIES
              for media in (PLAIN, OCCI)]
LOCATIONS = [f"{e.name} as {media}" for e in READS if e.shape in (Shape.RESOURCES, Shape.LINKS)
             for media in (PLAIN, OCCI)]


def _parsed(case: str, how: str) -> tuple[Any, Any]:
    """pOCCI's reading of the named answer (``how``: its parse method), and the JSON one."""
    name, _, media = case.rpartition(" as ")
    answer = corpus().answer(name, media)
    assert answer.code == 200, (answer.code, answer.text)
    parser = render.create_renderer(media)
    if media == PLAIN:
        result = getattr(parser, how)(answer.body.decode("utf-8").splitlines(), None)
    else:
        lines = [f"{field}: {value}" for field, values in answer.headers.items()
                 for value in values]
        result = getattr(parser, how)(None, lines)
    return result, corpus().answer(name, JSON).json()


@pytest.mark.parametrize("case", ENTITIES)
def test_entities(case: str) -> None:
    """Every attribute pOCCI reads has the value the JSON rendering gives it."""
    (categories, links, attributes), document = _parsed(case, "parse_resource")
    assert categories[0]["scheme"] + categories[0]["term"] == document["kind"]
    expected = {**document.get("attributes", {}), "occi.core.id": document["id"]}
    if case.startswith("template as "):
        del expected["occi.core.id"]  # a template is a new resource each time: a new id
    for member in ("title", "summary"):
        if member in document:
            expected[f"occi.core.{member}"] = document[member]
    read = {attribute["name"]: attribute["value"] for attribute in attributes}
    scalars = {name: value for name, value in expected.items()
               if isinstance(value, (str, int, float))}
    assert {name: read.get(name) for name in scalars} == scalars
    assert len(links) >= len(document.get("links", []))


@pytest.mark.parametrize("case", CATEGORIES)
def test_query_interface(case: str) -> None:
    categories, document = _parsed(case, "parse_categories")
    read = sorted(category["scheme"] + category["term"] for category in categories)
    assert read == sorted(category["scheme"] + category["term"]
                          for group in ("kinds", "mixins", "actions")
                          for category in document.get(group, []))


@pytest.mark.parametrize("case", LOCATIONS)
def test_collections(case: str) -> None:
    locations, document = _parsed(case, "parse_locations")
    entities = [*document.get("resources", []), *document.get("links", [])]
    assert [location.rpartition("/")[2] for location in locations] == \
        [entity["id"] for entity in entities]
