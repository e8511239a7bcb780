"""Reads of the SQLite store: indexed lookups and keyset pages, run on the reactor thread.

They return JSON documents, not entities: turning those into entities needs the registry,
which is the caller's.  Every statement is read to its end, so no read transaction stays open
to pin an old snapshot of the WAL.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._sql import Database
from .interface import Query
from .serial import canonical

#: Bound parameters per statement stay well below SQLite's limit (32766 since 3.32).
_CHUNK = 500

_INT64 = range(-(2**63), 2**63)


def document(db: Database, entityId: str) -> str | None:
    row = db.execute("SELECT document FROM entities WHERE id = ?", (entityId,)).fetchone()
    return None if row is None else str(row[0])


def page(
    db: Database, query: Query, after: int, limit: int
) -> tuple[list[tuple[int, str]], bool]:
    """Up to ``limit`` (seq, document) pairs after ``after`` and whether more follow.

    Keyset pagination, so a page deep in a listing costs what the first page costs: each
    kind or mixin of the query is an index on (kind or mixin, seq), and each is walked from
    the cursor for at most ``limit + 1`` rows; several such walks are merged, which sorts only
    what they took.  A query with neither walks the table itself (seq is its rowid).
    """
    arms = _arms(query, after, limit + 1)
    if len(arms) == 1:
        sql, params = arms[0]
    else:
        # An entity carries several mixins, but has one kind.
        glue = " UNION " if query.mixins else " UNION ALL "
        sql = glue.join(f"SELECT * FROM ({arm})" for arm, _ in arms) + " ORDER BY 1 LIMIT ?"
        params = [*(param for _, more in arms for param in more), limit + 1]
    rows = db.execute(sql, params).fetchall()
    return [(int(seq), str(text)) for seq, text in rows[:limit]], len(rows) > limit


def _arms(query: Query, after: int, take: int) -> list[tuple[str, list[object]]]:
    """One ordered, limited walk of an index per mixin, else per kind, else of the table."""
    arms: list[tuple[str, list[object]]] = []
    if query.mixins:
        where, params = whereClause(query, table="e", skipMixins=True)
        for mixin in sorted(query.mixins):
            arms.append((
                "SELECT e.seq, e.document FROM entity_mixins AS m CROSS JOIN entities AS e"
                f" ON e.seq = m.seq WHERE m.mixin = ? AND m.seq > ? AND {where}"
                " ORDER BY m.seq LIMIT ?",
                [mixin, after, *params, take],
            ))
    elif query.kinds:
        where, params = whereClause(query, table="e", skipKinds=True)
        for kind in sorted(query.kinds):
            arms.append((
                "SELECT e.seq, e.document FROM entities AS e INDEXED BY entities_by_kind"
                f" WHERE e.kind = ? AND e.seq > ? AND {where} ORDER BY e.seq LIMIT ?",
                [kind, after, *params, take],
            ))
    else:
        where, params = whereClause(query, table="e")
        arms.append((
            f"SELECT e.seq, e.document FROM entities AS e WHERE e.seq > ? AND {where}"
            " ORDER BY e.seq LIMIT ?",
            [after, *params, take],
        ))
    return arms


def count(db: Database, query: Query) -> int:
    where, params = whereClause(query, table="e")
    row = db.execute("SELECT count(*) FROM entities AS e WHERE " + where, params).fetchone()
    return int(row[0])


def linksFrom(db: Database, sources: Sequence[str]) -> list[tuple[str, str]]:
    """(source, document) of the links from ``sources``, in creation order."""
    found: list[tuple[int, str, str]] = []
    unique = list(dict.fromkeys(sources))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start:start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        found.extend(db.execute(
            f"SELECT seq, source, document FROM entities WHERE source IN ({marks})", chunk
        ).fetchall())
    found.sort()
    return [(source, text) for _, source, text in found]


def userMixins(db: Database) -> list[str]:
    """Documents of the user mixins, in the order they were defined."""
    return [str(text) for (text,) in db.execute("SELECT document FROM user_mixins ORDER BY seq")]


def whereClause(
    query: Query, table: str, *, skipKinds: bool = False, skipMixins: bool = False
) -> tuple[str, list[object]]:
    """A WHERE clause (and its parameters) selecting what ``query`` asks for."""
    clauses: list[str] = []
    params: list[object] = []
    if query.kinds and not skipKinds:
        kinds = sorted(query.kinds)
        clauses.append(f"{table}.kind IN ({', '.join('?' * len(kinds))})")
        params.extend(kinds)
    if query.owner is not None:
        clauses.append(f"{table}.owner = ?")
        params.append(query.owner)
    if query.mixins and not skipMixins:
        mixins = sorted(query.mixins)
        clauses.append(
            f"EXISTS (SELECT 1 FROM entity_mixins AS em WHERE em.seq = {table}.seq"
            f" AND em.mixin IN ({', '.join('?' * len(mixins))}))"
        )
        params.extend(mixins)
    for name, value in sorted(query.attributes.items()):
        clause, more = _attribute(f"{table}.document", name, value)
        clauses.append(clause)
        params.extend(more)
    return " AND ".join(clauses) or "TRUE", params


def _attribute(column: str, name: str, value: object) -> tuple[str, list[object]]:
    """A typed comparison of one attribute, by the rules of :class:`~.interface.Query`.

    Numbers compare as SQL numbers (``2 = 2.0``).  Everything else compares as canonical JSON
    text: ``->`` yields the stored text of the value, which is canonical because the whole
    document is, and the text says the type (``true``, ``"true"``, ``[...]``, ``{...}``).
    """
    if '"' in name or "\\" in name:
        return "0", []  # no attribute has such a name, and it could not be quoted in a path
    path = f'$.attributes."{name}"'
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = value if isinstance(value, float) or value in _INT64 else float(value)
        return (
            f"json_type({column}, ?) IN ('integer', 'real') AND json_extract({column}, ?) = ?",
            [path, path, number],
        )
    return f"{column} -> ? = ?", [path, canonical(value)]
