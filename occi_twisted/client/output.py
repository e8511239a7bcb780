"""What the commands print: aligned tables for people, JSON for scripts (``--json``).

The JSON is the server's own (GFD.225) wherever the server gave JSON, pretty-printed, so a
script reads what the server said rather than this client's retelling of it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TextIO

from ..renderings.document import Document


def table(headings: Sequence[str], rows: Iterable[Sequence[object]],
          out: TextIO | None = None) -> None:
    """Columns padded to their widest cell, the last one left ragged."""
    stream = out or sys.stdout
    cells = [[_cell(value) for value in row] for row in rows]
    every = [list(headings), *cells]
    widths = [max(len(row[column]) for row in every) for column in range(len(headings))]
    for row in every:
        padded = [text.ljust(width) for text, width in zip(row[:-1], widths, strict=False)]
        stream.write("  ".join([*padded, row[-1]]).rstrip() + "\n")


def pairs(rows: Iterable[tuple[str, object]], out: TextIO | None = None) -> None:
    """A two-column table without headings: a name and its value."""
    listed = list(rows)
    width = max((len(name) for name, _ in listed), default=0)
    stream = out or sys.stdout
    for name, value in listed:
        stream.write(f"{name.ljust(width)}  {_cell(value)}".rstrip() + "\n")


def emit(value: object, out: TextIO | None = None) -> None:
    """``value`` as indented JSON."""
    stream = out or sys.stdout
    stream.write(json.dumps(value, indent=2, sort_keys=False, ensure_ascii=False) + "\n")


def raw(body: bytes) -> object:
    """A JSON body as a value, to print again."""
    return json.loads(body) if body.strip() else None


def describe(document: Document, location: str, out: TextIO | None = None) -> None:
    """One entity as a person reads it: where it is, its categories, its attributes, its
    links and the actions it offers now."""
    kinds = [ref.identifier for ref in document.categories if ref.cls == "kind"]
    mixins = [ref.identifier for ref in document.categories if ref.cls == "mixin"]
    rows: list[tuple[str, object]] = [("location", location)]
    rows += [("kind", kind) for kind in kinds]
    rows += [("mixin", mixin) for mixin in mixins]
    rows += sorted((name, value) for name, value in document.attributes.items())
    rows += [("link", link.target + "".join(f" ({ref.rpartition('#')[2]})"
                                            for ref in link.categories[:1]))
             for link in document.links]
    pairs(rows, out)


def actions(body: bytes) -> list[str]:
    """The action identifiers an entity's JSON offers (the parser checks, and drops them:
    they are the server's to say, never a client's to send)."""
    value = raw(body)
    offered = value.get("actions", []) if isinstance(value, dict) else []
    return [str(item) for item in offered if isinstance(item, str)]


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else str(value)
    if isinstance(value, (Mapping, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)
