"""The SQLite schema, its migrations, and opening connections with the settings durability needs.

``PRAGMA user_version`` holds the schema version.  :data:`MIGRATIONS` is append-only: entry
``n`` takes a store from version ``n`` to ``n + 1``, in one transaction, so a store written by
any earlier release is upgraded on start and a crash mid-upgrade leaves the old version intact.
"""

from __future__ import annotations

import os
import sqlite3

from .interface import StoreUnavailable

#: How long a connection waits for another process's lock before giving up, in milliseconds.
_BUSY_TIMEOUT_MS = 10_000

_V1 = """
-- seq is the rowid: creation order, never reused (AUTOINCREMENT), so keyset pages walk the
-- table's own b-tree.  id is the entity's key: UNIQUE NOT NULL is exactly what a TEXT PRIMARY
-- KEY would be in a rowid table.
CREATE TABLE entities (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    location    TEXT NOT NULL,
    owner       TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    is_resource INTEGER NOT NULL,
    source      TEXT,
    target      TEXT,
    document    TEXT NOT NULL
);
CREATE INDEX entities_by_kind ON entities (kind, seq);
CREATE INDEX entities_by_owner ON entities (owner, seq);
CREATE INDEX entities_by_source ON entities (source) WHERE source IS NOT NULL;
CREATE INDEX entities_by_target ON entities (target) WHERE target IS NOT NULL;

CREATE TABLE entity_mixins (
    seq   INTEGER NOT NULL,
    mixin TEXT NOT NULL,
    PRIMARY KEY (seq, mixin)
) WITHOUT ROWID;
CREATE INDEX entity_mixins_by_mixin ON entity_mixins (mixin, seq);

-- seq keeps the order of definition: a user mixin may depend on one defined before it.
CREATE TABLE user_mixins (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    identifier TEXT NOT NULL UNIQUE,
    document   TEXT NOT NULL
);
"""

_V2 = """
-- Persistent requests (store/requests.py).  seq is creation order, as for entities; JSON
-- columns hold canonical text.  Only the partial indexes below are read to claim or to find
-- the next due time, so pending requests stay on disk until claimed.
CREATE TABLE requests (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    entity_id        TEXT NOT NULL,
    owner            TEXT NOT NULL,
    action           TEXT NOT NULL,
    attributes       TEXT NOT NULL,
    state            TEXT NOT NULL,
    not_before       REAL NOT NULL,
    created          REAL NOT NULL,
    updated          REAL NOT NULL,
    progress         TEXT NOT NULL,
    checkpoint       TEXT,
    attempts         INTEGER NOT NULL,
    started          REAL,
    finished         REAL,
    message          TEXT NOT NULL,
    claimed_by       TEXT,
    lease_until      REAL,
    cancel_requested INTEGER NOT NULL,
    revision         INTEGER NOT NULL
);
CREATE INDEX requests_by_entity ON requests (entity_id, seq);
-- Waiting requests by due time; what claims and timers read.
CREATE INDEX requests_waiting ON requests (not_before)
    WHERE state IN ('queued', 'scheduled');
-- Running requests by the end of their lease: a lease that ends unrenewed is a dead node.
CREATE INDEX requests_leased ON requests (lease_until) WHERE state = 'running';
"""

_V3 = """
-- Remembered answers of POSTs with an Idempotency-Key (store/answers.py), per owner.
CREATE TABLE answers (
    owner       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL,
    headers     TEXT NOT NULL,
    body        BLOB NOT NULL,
    created     REAL NOT NULL,
    PRIMARY KEY (owner, key)
) WITHOUT ROWID;
CREATE INDEX answers_by_age ON answers (created);
"""

_V4 = """
-- Events (store/events.py): one per change, in commit order (seq), written in the change's
-- transaction.  Feeds read them newest first by node: the entity, its collection, or all.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    location    TEXT NOT NULL,
    collection  TEXT NOT NULL,
    request_id  TEXT,
    owner       TEXT NOT NULL,
    updated     REAL NOT NULL,
    title       TEXT NOT NULL,
    content     TEXT NOT NULL
);
CREATE INDEX events_by_location ON events (location, seq);
CREATE INDEX events_by_collection ON events (collection, seq);
CREATE INDEX events_by_request ON events (request_id, seq) WHERE request_id IS NOT NULL;

-- XEP-0060 subscriptions to the nodes the events are published on.
CREATE TABLE subscriptions (
    node    TEXT NOT NULL,
    jid     TEXT NOT NULL,
    subid   TEXT NOT NULL,
    options TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (node, jid)
) WITHOUT ROWID;
CREATE INDEX subscriptions_by_jid ON subscriptions (jid);
"""

_V5 = """
-- Notes (store/notes.py), kept in creation order; deleted with their entity.
CREATE TABLE notes (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_id TEXT NOT NULL,
    id        TEXT NOT NULL,
    owner     TEXT NOT NULL,
    title     TEXT NOT NULL,
    text      TEXT NOT NULL,
    created   REAL NOT NULL,
    updated   REAL NOT NULL,
    revision  INTEGER NOT NULL,
    UNIQUE (entity_id, id)
);
"""

_V6 = """
-- Who made each change (an administrator may change a user's entity); older events were
-- made by their owner, which is what an empty author reads as.
ALTER TABLE events ADD COLUMN author TEXT;
"""

_V7 = """
-- How far the XMPP notifications have been taken by the XMPP server (one row): whichever
-- node holds the component next starts there.
CREATE TABLE published (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    seq INTEGER NOT NULL
);
"""

_V8 = """
-- Where migrated entities went (model/forwards.py): by the location they had here; url is
-- NULL once an operator forgot it (410 Gone).  seq orders a listing.
CREATE TABLE forwards (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    location  TEXT NOT NULL UNIQUE,
    entity_id TEXT NOT NULL,
    owner     TEXT NOT NULL,
    url       TEXT,
    created   REAL NOT NULL
);
CREATE INDEX forwards_by_entity ON forwards (entity_id);
CREATE INDEX forwards_by_owner ON forwards (owner, seq);
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8)


def openWriter(path: str) -> sqlite3.Connection:
    """The connection that does every write: WAL, ``synchronous=NORMAL`` (see
    :class:`LogSync`), schema up to date.

    ``path`` is the database file (SQLite keeps ``-wal`` and ``-shm`` files beside it); its
    directory is created if need be.  Raises :class:`StoreUnavailable` with one line a person
    can act on when the directory or the file cannot be used.
    """
    directory = os.path.dirname(path) or "."
    try:
        os.makedirs(directory, exist_ok=True)
    except FileExistsError:
        raise StoreUnavailable(
            f"Cannot use {path} as the store: {directory} is not a directory."
        ) from None
    except OSError as problem:
        raise StoreUnavailable(
            f"Cannot use {path} as the store: cannot create {directory}: {problem.strerror}."
        ) from None
    if os.path.isdir(path):
        raise StoreUnavailable(f"Cannot use {path} as the store: it is a directory.")
    try:
        connection = sqlite3.connect(path, isolation_level=None, cached_statements=256)
    except sqlite3.Error as problem:
        raise StoreUnavailable(f"Cannot open the store {path}: {problem}.") from None
    try:
        connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise StoreUnavailable(
                f"Cannot use {path}: its file system does not support SQLite's WAL mode."
            )
        # NORMAL: a commit does not wait for the disk; the writer's syncer makes the WAL
        # durable (LogSync) before any commit is acknowledged, for many commits at once, so
        # an acknowledged write survives a crash of the machine, not only of the process.
        # (SQLite still syncs the WAL before each checkpoint copies it into the database.)
        connection.execute("PRAGMA synchronous = NORMAL")
        _migrate(connection, path)
    except sqlite3.Error as problem:
        connection.close()
        raise StoreUnavailable(f"Cannot open the store {path}: {problem}.") from None
    except StoreUnavailable:
        connection.close()
        raise
    return connection


class LogSync:
    """Makes every transaction committed to the WAL of the database ``path`` so far durable:
    one ``fdatasync`` of the ``-wal`` file, however many commits it holds.

    The WAL is SQLite's log: a commit appends its pages there, and recovery after a crash
    replays the commits whose frames reached the disk.  Its directory entry is synced too, the
    first time a WAL file is seen (SQLite creates it with the first connection, and removes it
    with the last).
    """

    def __init__(self, path: str) -> None:
        self._wal = path + "-wal"
        self._directory = os.path.dirname(path) or "."
        self._synced: int | None = None

    def __call__(self) -> None:
        log = os.open(self._wal, os.O_RDONLY)
        try:
            os.fdatasync(log)
            inode = os.fstat(log).st_ino
        finally:
            os.close(log)
        if inode != self._synced:
            directory = os.open(self._directory, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
            self._synced = inode


def openReader(path: str) -> sqlite3.Connection:
    """A connection for the reads on the reactor thread; WAL lets it read during commits."""
    try:
        connection = sqlite3.connect(path, isolation_level=None, cached_statements=256)
        connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA query_only = ON")
    except sqlite3.Error as problem:
        raise StoreUnavailable(f"Cannot open the store {path}: {problem}.") from None
    return connection


def _migrate(connection: sqlite3.Connection, path: str) -> None:
    version: int = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreUnavailable(
            f"The store {path} has schema version {version}, newer than this server's "
            f"{len(MIGRATIONS)}: run a newer occi-twisted."
        )
    for target, script in enumerate(MIGRATIONS[version:], start=version + 1):
        try:
            connection.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {target};\nCOMMIT;"
            )
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
