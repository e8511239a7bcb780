"""The PostgreSQL schema and its migrations, versioned as the SQLite store's are.

``occi_schema.version`` holds the schema version.  :data:`MIGRATIONS` is append-only: entry
``n`` takes a database from version ``n`` to ``n + 1`` in one transaction, under an advisory
lock, so several nodes starting at once upgrade it once, and a crash mid-upgrade leaves the old
version intact.  Version 1 is what the SQLite store reached in six steps (its tables, with
PostgreSQL's types: identity columns for creation order, ``double precision`` for times).

Events differ in one way: ``seq`` is not given at insert but at commit (see :mod:`.events`);
``pos`` keeps the order of a transaction's own events until then.
"""

from __future__ import annotations

from typing import Any

import psycopg

from ..interface import StoreUnavailable
from .connection import LOCK_CLASS, SCHEMA_LOCK, shown

_V1 = """
CREATE TABLE entities (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    location    TEXT NOT NULL,
    owner       TEXT NOT NULL,
    revision    BIGINT NOT NULL,
    is_resource BOOLEAN NOT NULL,
    source      TEXT,
    target      TEXT,
    document    TEXT NOT NULL
);
CREATE INDEX entities_by_kind ON entities (kind, seq);
CREATE INDEX entities_by_owner ON entities (owner, seq);
CREATE INDEX entities_by_source ON entities (source) WHERE source IS NOT NULL;
CREATE INDEX entities_by_target ON entities (target) WHERE target IS NOT NULL;

CREATE TABLE entity_mixins (
    seq   BIGINT NOT NULL,
    mixin TEXT NOT NULL,
    PRIMARY KEY (seq, mixin)
);
CREATE INDEX entity_mixins_by_mixin ON entity_mixins (mixin, seq);

CREATE TABLE user_mixins (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    identifier TEXT NOT NULL UNIQUE,
    document   TEXT NOT NULL
);

CREATE TABLE requests (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    entity_id        TEXT NOT NULL,
    owner            TEXT NOT NULL,
    action           TEXT NOT NULL,
    attributes       TEXT NOT NULL,
    state            TEXT NOT NULL,
    not_before       DOUBLE PRECISION NOT NULL,
    created          DOUBLE PRECISION NOT NULL,
    updated          DOUBLE PRECISION NOT NULL,
    progress         TEXT NOT NULL,
    checkpoint       TEXT,
    attempts         INTEGER NOT NULL,
    started          DOUBLE PRECISION,
    finished         DOUBLE PRECISION,
    message          TEXT NOT NULL,
    claimed_by       TEXT,
    lease_until      DOUBLE PRECISION,
    cancel_requested INTEGER NOT NULL,
    revision         INTEGER NOT NULL
);
CREATE INDEX requests_by_entity ON requests (entity_id, seq);
CREATE INDEX requests_waiting ON requests (not_before, seq)
    WHERE state IN ('queued', 'scheduled');
CREATE INDEX requests_leased ON requests (lease_until, seq) WHERE state = 'running';

CREATE TABLE answers (
    owner       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL,
    headers     TEXT NOT NULL,
    body        BYTEA NOT NULL,
    created     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (owner, key)
);
CREATE INDEX answers_by_age ON answers (created);

CREATE TABLE events (
    pos         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seq         BIGINT UNIQUE,
    id          TEXT NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    location    TEXT NOT NULL,
    collection  TEXT NOT NULL,
    request_id  TEXT,
    owner       TEXT NOT NULL,
    updated     DOUBLE PRECISION NOT NULL,
    title       TEXT NOT NULL,
    content     TEXT NOT NULL,
    author      TEXT
);
CREATE INDEX events_pending ON events (pos) WHERE seq IS NULL;
CREATE INDEX events_by_location ON events (location, seq);
CREATE INDEX events_by_collection ON events (collection, seq);
CREATE INDEX events_by_request ON events (request_id, seq) WHERE request_id IS NOT NULL;

CREATE TABLE subscriptions (
    node    TEXT NOT NULL,
    jid     TEXT NOT NULL,
    subid   TEXT NOT NULL,
    options TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (node, jid)
);
CREATE INDEX subscriptions_by_jid ON subscriptions (jid);

CREATE TABLE notes (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity_id TEXT NOT NULL,
    id        TEXT NOT NULL,
    owner     TEXT NOT NULL,
    title     TEXT NOT NULL,
    text      TEXT NOT NULL,
    created   DOUBLE PRECISION NOT NULL,
    updated   DOUBLE PRECISION NOT NULL,
    revision  INTEGER NOT NULL,
    UNIQUE (entity_id, id)
);

CREATE TABLE published (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    seq BIGINT NOT NULL
);

CREATE TABLE forwards (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    location  TEXT NOT NULL UNIQUE,
    entity_id TEXT NOT NULL,
    owner     TEXT NOT NULL,
    url       TEXT,
    created   DOUBLE PRECISION NOT NULL
);
CREATE INDEX forwards_by_entity ON forwards (entity_id);
CREATE INDEX forwards_by_owner ON forwards (owner, seq);
"""

MIGRATIONS: tuple[str, ...] = (_V1,)


def migrate(connection: psycopg.Connection[Any], url: str) -> None:
    """Bring the database up to :data:`MIGRATIONS` (an empty one is set up); a version newer
    than this server's is :class:`StoreUnavailable`."""
    while True:
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, SCHEMA_LOCK))
            connection.execute("CREATE TABLE IF NOT EXISTS occi_schema (version INTEGER NOT NULL)")
            row = connection.execute("SELECT version FROM occi_schema").fetchone()
            version = 0 if row is None else int(row[0])
            if version > len(MIGRATIONS):
                raise StoreUnavailable(
                    f"The store {shown(url)} has schema version {version}, newer than this "
                    f"server's {len(MIGRATIONS)}: run a newer occi-twisted.")
            if version == len(MIGRATIONS):
                return
            connection.execute(MIGRATIONS[version])
            if row is None:
                connection.execute("INSERT INTO occi_schema (version) VALUES (1)")
            else:
                connection.execute("UPDATE occi_schema SET version = %s", (version + 1,))
