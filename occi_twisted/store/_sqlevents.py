"""The events and subscriptions tables of the SQLite store.

Appends run on the writer thread inside the change's savepoint, so an event commits with its
change or not at all; reads run on the reactor thread.
"""

from __future__ import annotations

import json

from ..model.events import Event, EventPage, Subscription
from . import _eventrules as rules
from ._sql import Database

_COLUMNS = ", ".join(rules.COLUMNS)
INSERT = (f"INSERT INTO events ({_COLUMNS}) VALUES "
           f"({', '.join('?' * len(rules.COLUMNS))})")


def append(db: Database, row: rules.Row | None) -> None:
    if row is not None:
        db.execute(INSERT, row)


def locationOf(db: Database, entityId: str) -> str | None:
    found = db.execute("SELECT location FROM entities WHERE id = ?", (entityId,)).fetchone()
    return None if found is None else str(found[0])


def after(db: Database, seq: int, limit: int, durable: int) -> list[Event]:
    """Up to ``limit`` events after ``seq`` and up to ``durable``: what followers are told of
    is durable (a commit is visible a moment before, see :mod:`._writer`)."""
    rows = db.execute(f"SELECT seq, {_COLUMNS} FROM events WHERE seq > ? AND seq <= ?"
                      " ORDER BY seq LIMIT ?", (seq, durable, limit)).fetchall()
    return [rules.fromRow(row[0], row[1:]) for row in rows]


def lastSeq(db: Database) -> int:
    """The ``seq`` of the last event appended (0: none yet)."""
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    return 0 if row is None else int(row[0])


def byId(db: Database, eventId: str) -> Event | None:
    row = db.execute(f"SELECT seq, {_COLUMNS} FROM events WHERE id = ?", (eventId,)).fetchone()
    return None if row is None else rules.fromRow(row[0], row[1:])


def page(db: Database, node: str, requestId: str | None, before: int | None,
         limit: int, *, owner: str | None = None) -> EventPage:
    """Newest first, through the index of the node's kind."""
    where, values = _where({
        "request_id = ?": requestId,
        "owner = ?": owner,
        "collection = ?" if node.endswith("/") else "location = ?": None if node == "/" else node,
        "seq < ?": before,
    })
    rows = db.execute(
        f"SELECT seq, {_COLUMNS} FROM events {where} ORDER BY seq DESC LIMIT ?",
        (*values, limit + 1),
    ).fetchall()
    return EventPage([rules.fromRow(row[0], row[1:]) for row in rows[:limit]],
                     len(rows) > limit)


SUBSCRIPTION = "SELECT subid, created FROM subscriptions WHERE node = ? AND jid = ?"


def subscribe(db: Database, subscription: Subscription) -> Subscription:
    existing = db.execute(SUBSCRIPTION, (subscription.node, subscription.jid)).fetchone()
    options = json.dumps(dict(subscription.options), sort_keys=True)
    if existing is not None:
        db.execute("UPDATE subscriptions SET options = ? WHERE node = ? AND jid = ?",
                   (options, subscription.node, subscription.jid))
        return Subscription(subscription.node, subscription.jid, existing[0],
                            dict(subscription.options), float(existing[1]))
    db.execute("INSERT INTO subscriptions (node, jid, subid, options, created)"
               " VALUES (?, ?, ?, ?, ?)",
               (subscription.node, subscription.jid, subscription.subid, options,
                subscription.created))
    return subscription


def unsubscribe(db: Database, node: str, jid: str, subid: str | None) -> bool:
    if subid is None:
        cursor = db.execute("DELETE FROM subscriptions WHERE node = ? AND jid = ?", (node, jid))
    else:
        cursor = db.execute("DELETE FROM subscriptions WHERE node = ? AND jid = ? AND subid = ?",
                            (node, jid, subid))
    return cursor.rowcount > 0


def subscriptions(db: Database, node: str | None, jid: str | None
                  ) -> list[Subscription]:
    where, values = _where({"node = ?": node, "jid = ?": jid})
    rows = db.execute(
        f"SELECT node, jid, subid, options, created FROM subscriptions {where}"
        " ORDER BY created, node, jid", values).fetchall()
    return [Subscription(row[0], row[1], row[2], json.loads(row[3]), float(row[4]))
            for row in rows]


def publishedUpTo(db: Database) -> int | None:
    row = db.execute("SELECT seq FROM published").fetchone()
    return None if row is None else int(row[0])


def savePublished(db: Database, seq: int) -> None:
    db.execute("INSERT INTO published (one, seq) VALUES (1, ?) ON CONFLICT (one)"
               " DO UPDATE SET seq = excluded.seq WHERE published.seq < excluded.seq", (seq,))


def _where(conditions: dict[str, object]) -> tuple[str, list[object]]:
    """A WHERE clause of the conditions whose value is not ``None``, and its values."""
    kept = {condition: value for condition, value in conditions.items() if value is not None}
    return (f"WHERE {' AND '.join(kept)}" if kept else ""), list(kept.values())
