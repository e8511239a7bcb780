"""What one change set does to the SQLite database, run on the writer thread.

Every function here runs inside the change set's SAVEPOINT (see :mod:`._writer`): it may raise
a domain error at any point and the savepoint rolls back whatever it did.  Only plain data
arrives here (records built on the reactor thread), never model objects or the registry.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ..model.answers import Answer, RememberAnswer, keyTaken
from ..model.errors import NotFound
from ..model.forwards import RememberForward
from ..model.quotas import WithinQuota, checkWithin, resizeTo
from . import _eventrules, _rules, _sqlevents, _sqlforwards, _sqlnotes, _sqlrequests
from ._sql import Database
from ._sqlrequests import NewRequest
from .serial import EntityRecord, canonical


@dataclass(frozen=True)
class PutRecord:
    """A :class:`~.interface.Put` with its entity turned into a record."""

    record: EntityRecord
    expect: int | None
    #: The entity's ``updated`` time, for its event.
    updated: float
    #: Who makes the change, for its event (``None``: the owner).
    author: str | None = None


@dataclass(frozen=True)
class DeleteId:
    """A :class:`~.interface.Delete`, as it is (it holds only plain data already)."""

    entityId: str
    expect: int | None
    #: When, for the events of what is deleted.
    now: float
    #: Who makes the change, for its events (``None``: each entity's owner).
    author: str | None = None


STORED = "SELECT seq, kind, location, revision, is_resource FROM entities WHERE id = ?"
HAS_USER_MIXIN = "SELECT 1 FROM user_mixins WHERE identifier = ?"
#: The documents of one owner, for a quota (PostgreSQL first takes the owner's lock).
OWNED = "SELECT document FROM entities WHERE owner = ?"
#: The entities carrying a user mixin that is being removed.
#: The statements that change the user mixins: a node that runs one tells the others
#: (PostgreSQL, see :mod:`.postgres.events`).
DEFINE_USER_MIXIN = ("INSERT INTO user_mixins (identifier, document) VALUES (?, ?)"
                     " ON CONFLICT (identifier) DO NOTHING")
REMOVE_USER_MIXIN = "DELETE FROM user_mixins WHERE identifier = ?"
CARRIERS = ("SELECT e.seq, e.document, e.id, e.kind, e.location, e.owner FROM entity_mixins AS m"
            " JOIN entities AS e ON e.seq = m.seq WHERE m.mixin = ?")


class _Transaction:
    """The database as the change set sees it: a :class:`._rules.View` over the connection."""

    def __init__(self, connection: Database) -> None:
        self._db = connection

    def stored(self, entityId: str) -> _rules.Stored | None:
        row = self._db.execute(STORED, (entityId,)).fetchone()
        if row is None:
            return None
        seq, kind, location, revision, isResource = row
        return _rules.Stored(seq, kind, location, revision, bool(isResource))

    def hasUserMixin(self, identifier: str) -> bool:
        return self._db.execute(HAS_USER_MIXIN, (identifier,)).fetchone() is not None

    def forwarded(self, entityId: str) -> bool:
        return _sqlforwards.forwarded(self._db, entityId)


PreparedChange = PutRecord | DeleteId | NewRequest | RememberAnswer | WithinQuota | RememberForward


def applyChanges(connection: Database, changes: Sequence[PreparedChange]) -> None:
    """Apply a change set, each change checked against the state its predecessors left."""
    view = _Transaction(connection)
    for change in changes:
        if isinstance(change, PutRecord):
            _put(connection, view, change)
        elif isinstance(change, DeleteId):
            _delete(connection, view, change)
        elif isinstance(change, RememberAnswer):
            _remember(connection, change.answer)
        elif isinstance(change, WithinQuota):
            _checkQuota(connection, change)
        elif isinstance(change, RememberForward):
            _sqlforwards.remember(connection, change.forward)
        else:
            _sqlrequests.insert(connection, change.row)


def _checkQuota(db: Database, change: WithinQuota) -> None:
    """The owner's things as this transaction leaves them, against their limits."""
    documents = (str(row[0]) for row in db.execute(OWNED, (change.owner,)))
    running, resizing = 0, dict[str, float]()
    for entityId, action, attributes in db.execute(
            "SELECT entity_id, action, attributes FROM requests WHERE owner = ? AND state IN"
            " ('queued', 'scheduled', 'running')", (change.owner,)):
        running += 1
        size = resizeTo(str(action), json.loads(attributes))
        if size is not None:
            resizing[str(entityId)] = max(size, resizing.get(str(entityId), 0.0))
    checkWithin(change.limits, documents, running, resizing)


def _remember(db: Database, answer: Answer) -> None:
    if db.execute(
        "INSERT INTO answers (owner, key, fingerprint, status, headers, body, created)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (owner, key) DO NOTHING",
        (answer.owner, answer.key, answer.fingerprint, answer.status,
         json.dumps(answer.headers), answer.body, answer.created),
    ).rowcount == 0:
        raise keyTaken(answer.key)


def recall(db: Database, owner: str, key: str) -> Answer | None:
    row = db.execute(
        "SELECT fingerprint, status, headers, body, created FROM answers"
        " WHERE owner = ? AND key = ?", (owner, key),
    ).fetchone()
    if row is None:
        return None
    fingerprint, status, headers, body, created = row
    return Answer(owner, key, fingerprint, status,
                  tuple((str(name), str(value)) for name, value in json.loads(headers)),
                  bytes(body), created)


def forgetAnswers(db: Database, before: float) -> int:
    return db.execute("DELETE FROM answers WHERE created < ?", (before,)).rowcount


def _put(db: Database, view: _Transaction, change: PutRecord) -> None:
    record = change.record
    existing = _rules.checkPut(view, record, change.expect)
    old: str | None = None
    if existing is not None:
        seq = existing.seq
        old = db.execute("SELECT document FROM entities WHERE seq = ?", (seq,)).fetchone()[0]
        db.execute(
            "UPDATE entities SET owner = ?, revision = ?, source = ?, target = ?, document = ?"
            " WHERE seq = ?",
            (record.owner, record.revision, record.source, record.target, record.document, seq),
        )
        db.execute("DELETE FROM entity_mixins WHERE seq = ?", (seq,))
    else:
        seq = int(db.execute(
            "INSERT INTO entities (id, kind, location, owner, revision, is_resource, source,"
            " target, document) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
            (record.id, record.kind, record.location, record.owner, record.revision,
             record.isResource, record.source, record.target, record.document),
        ).fetchone()[0])
    if record.mixins:
        db.executemany(
            "INSERT INTO entity_mixins (seq, mixin) VALUES (?, ?)",
            [(seq, mixin) for mixin in record.mixins],
        )
    _sqlevents.append(db, _eventrules.entityRow(
        record.kind, record.id, record.location, record.owner, old=old, new=record.document,
        now=change.updated, created=change.updated, author=change.author))


def _delete(db: Database, view: _Transaction, change: DeleteId) -> None:
    """Delete the entity, then every link from or to it, then links to those, and so on."""
    doomed = [(existing := _rules.checkDelete(view, change.entityId, change.expect)).seq]
    locations = {existing.seq: existing.location}
    seen: set[int] = set()
    while doomed:
        seq = doomed.pop()
        if seq in seen:
            continue
        seen.add(seq)
        gone = db.execute("SELECT id, kind, location, owner FROM entities WHERE seq = ?",
                          (seq,)).fetchone()
        if gone is not None:
            _sqlevents.append(db, _eventrules.entityRow(
                gone[1], gone[0], gone[2], gone[3], old=None, new=None, now=change.now,
                author=change.author))
            _sqlnotes.deleteOf(db, gone[0])
        db.execute("DELETE FROM entities WHERE seq = ?", (seq,))
        db.execute("DELETE FROM entity_mixins WHERE seq = ?", (seq,))
        location = locations[seq]
        for linkSeq, linkLocation in db.execute(
            "SELECT seq, location FROM entities WHERE source = ? OR target = ?",
            (location, location),
        ).fetchall():
            locations[linkSeq] = linkLocation
            doomed.append(linkSeq)


def defineUserMixin(connection: Database, identifier: str, document: str) -> None:
    """Store a user mixin; defining one that exists already keeps the first definition."""
    connection.execute(DEFINE_USER_MIXIN, (identifier, document))


def removeUserMixin(connection: Database, identifier: str, now: float) -> None:
    """Remove a user mixin and its associations, bumping the revision of every entity that
    carried it (its document changes, so must its ETag)."""
    if connection.execute(REMOVE_USER_MIXIN, (identifier,)).rowcount == 0:
        raise NotFound(f"Category {identifier} is not known to this server.")
    carriers = connection.execute(CARRIERS, (identifier,)).fetchall()
    for seq, text, entityId, kind, location, owner in carriers:
        document = json.loads(text)
        document["mixins"] = [m for m in document["mixins"] if m != identifier]
        document["revision"] += 1
        document["updated"] = now
        changed = canonical(document)
        connection.execute(
            "UPDATE entities SET revision = ?, document = ? WHERE seq = ?",
            (document["revision"], changed, seq),
        )
        _sqlevents.append(connection, _eventrules.entityRow(
            kind, entityId, location, owner, old=text, new=changed, now=now))
    connection.execute("DELETE FROM entity_mixins WHERE mixin = ?", (identifier,))
