"""Every JSON document the server renders, against GFD.225's JSON Schema (Appendix B) and
against rOCCI-core's schema where its stricter rules do not contradict GFD.225.

rOCCI-core is applied whole to resources, links and non-empty entity collections.  Where it
contradicts GFD.225 it is not applied: an empty collection (GFD.225 requires the
"resources"/"links" key, rOCCI forbids an empty array), and the query interface (rOCCI wants
a location on every kind, which GFD.223 forbids for entity, and a string "pattern" where
GFD.225 has a JSON Schema object); there only its ``minItems`` rule is checked.
"""

from __future__ import annotations

from typing import Any

import pytest

from .corpus import BY_NAME, CHECKS, EXCHANGES, JSON, Shape, corpus
from .validators import ROCCI, schemaErrors

LOCATION_LIST = "http://json-schema.org/draft-04/schema"

LINK_LISTS = ("networkinterface collection", "storagelink collection", "link collection",
              "user mixin collection of links", "empty link collection")


def _document(name: str) -> Any:
    answer = corpus().answer(name, JSON)
    assert 200 <= answer.code < 300, (answer.code, answer.text)
    assert (answer.header("content-type") or "").startswith("application/occi+json")
    return answer.json() if answer.body.strip() else None


@pytest.mark.parametrize("name", [e.name for e in EXCHANGES])
def test_gfd225_schema(name: str) -> None:
    exchange = BY_NAME[name]
    document = _document(name)
    if document is None and exchange.shape is Shape.COLLECTION_ACTION:
        return  # "MAY contain": no body is an answer too
    if exchange.shape is Shape.LOCATIONS:
        # GFD.225 has no list of locations; rOCCI-core's locations.json is this.
        assert schemaErrors(document, ["stringArray"], LOCATION_LIST) == []
        return
    assert schemaErrors(document, CHECKS[exchange.shape].gfd225) == []


def _rocciChecked(name: str) -> bool:
    return CHECKS[BY_NAME[name].shape].rocci is not None and not name.startswith("empty ")


ROCCI_NAMES = [e.name for e in EXCHANGES if _rocciChecked(e.name)]


@pytest.mark.parametrize("name", ROCCI_NAMES)
def test_rocci_core_schema(name: str) -> None:
    definition = CHECKS[BY_NAME[name].shape].rocci
    assert definition is not None
    assert schemaErrors(_document(name), [definition], ROCCI) == []


def emptyArrays(document: Any, where: str = "") -> list[str]:
    """Where ``document`` holds an empty array, but for the array of an entity collection
    (GFD.225 requires it, empty or not)."""
    found = []
    if isinstance(document, dict):
        for key, value in document.items():
            path = f"{where}/{key}"
            if value == [] and not (where == "" and key in ("resources", "links")
                                    and set(document) <= {"resources", "links"}):
                found.append(path)
            found += emptyArrays(value, path)
    elif isinstance(document, list):
        for number, item in enumerate(document):
            found += emptyArrays(item, f"{where}/{number}")
    return found


@pytest.mark.parametrize("name", [e.name for e in EXCHANGES])
def test_no_empty_arrays(name: str) -> None:
    """rOCCI-core's minItems, everywhere GFD.225 lets a member be left out."""
    assert emptyArrays(_document(name)) == []
