"""Listings of the PostgreSQL store: keyset pages as SQLite's, attribute filters in Python.

Kinds, mixins and the owner select rows in SQL (the clause is SQLite's, which PostgreSQL runs
as it is).  Attribute values are compared here, by the rule of the memory store
(:func:`..memory.sameValue`), because PostgreSQL's ``json`` types refuse values the store
keeps: a ``\\u0000`` or a lone surrogate escape in a string is valid JSON text and a valid
attribute value, and casting such a document would fail the whole query.  So a filtered page
walks the candidates in chunks until it has its fill; counting reads the candidates'
documents.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from .. import _sqlread
from .._sql import Database
from ..interface import Query
from ..memory import sameValue

#: Candidates read at a time while a page with attribute filters fills.
_CHUNK = 200


def page(db: Database, query: Query, after: int, limit: int
         ) -> tuple[list[tuple[int, str]], bool]:
    """Up to ``limit`` (seq, document) pairs after ``after`` and whether more follow."""
    selecting = replace(query, attributes={})
    where, params = _sqlread.whereClause(selecting, table="e")
    sql = (f"SELECT e.seq, e.document FROM entities AS e WHERE e.seq > ? AND {where}"
           " ORDER BY e.seq LIMIT ?")
    found: list[tuple[int, str]] = []
    take = limit + 1 if not query.attributes else max(_CHUNK, limit + 1)
    while len(found) <= limit:
        rows = db.execute(sql, [after, *params, take]).fetchall()
        found.extend((int(seq), str(text)) for seq, text in rows
                     if _matches(str(text), query))
        if len(rows) < take:
            break
        after = int(rows[-1][0])
    return found[:limit], len(found) > limit


def count(db: Database, query: Query) -> int:
    if not query.attributes:
        return _sqlread.count(db, query)
    where, params = _sqlread.whereClause(replace(query, attributes={}), table="e")
    rows = db.execute(f"SELECT e.document FROM entities AS e WHERE {where}", params)
    return sum(1 for (text,) in rows if _matches(str(text), query))


def _matches(text: str, query: Query) -> bool:
    if not query.attributes:
        return True
    attributes: dict[str, Any] = json.loads(text)["attributes"]
    return all(name in attributes and sameValue(attributes[name], wanted)
               for name, wanted in query.attributes.items())
