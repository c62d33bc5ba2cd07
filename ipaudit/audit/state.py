"""The audit's memory: ``state_dir/state.db`` (SQLite, WAL) and the ``state_dir/lock`` that keeps runs apart.

The schema is versioned with ``PRAGMA user_version`` and tagged with an application id,
so a database that is corrupt or belongs to something else is moved aside with a
warning and rebuilt, instead of crashing every cron run from then on.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import time
from contextlib import contextmanager
from typing import Iterator

from ipaudit.errors import IpauditError

log = logging.getLogger(__name__)

#: "IPAU" in ASCII: marks state.db as ipaudit's, so a foreign SQLite file is not mistaken for it.
APPLICATION_ID = 0x49504155

#: Each entry migrates the schema from version i to i + 1; never edit one that has shipped, append.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE stations (lan TEXT NOT NULL, ip TEXT NOT NULL, mac TEXT NOT NULL, vendor TEXT,
        first_seen REAL NOT NULL, last_seen REAL NOT NULL, PRIMARY KEY (lan, ip, mac));
    CREATE TABLE dhcp_servers (lan TEXT NOT NULL, server TEXT NOT NULL, mac TEXT NOT NULL,
        allowed INTEGER NOT NULL, first_seen REAL NOT NULL, last_seen REAL NOT NULL,
        PRIMARY KEY (lan, server, mac));
    CREATE TABLE open_findings (lan TEXT NOT NULL, key TEXT NOT NULL, code TEXT NOT NULL,
        severity TEXT NOT NULL, address TEXT NOT NULL, message TEXT NOT NULL, opened_at REAL NOT NULL,
        last_alert_at REAL NOT NULL, reminded INTEGER NOT NULL DEFAULT 0, acked INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (lan, key));
    CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, lan TEXT NOT NULL,
        kind TEXT NOT NULL, code TEXT NOT NULL DEFAULT '', severity TEXT NOT NULL DEFAULT '',
        address TEXT NOT NULL DEFAULT '', mac TEXT NOT NULL DEFAULT '', key TEXT NOT NULL DEFAULT '',
        message TEXT NOT NULL DEFAULT '');
    CREATE INDEX events_at ON events (at);
    CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE,
        channel TEXT NOT NULL, payload TEXT NOT NULL, created_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, sent_at REAL);
    CREATE TABLE runs (lan TEXT PRIMARY KEY, last_run REAL NOT NULL, last_success REAL);
    """,
)


class StateError(IpauditError):
    """The state directory cannot be used (permissions, another run holding the lock)."""


@contextmanager
def run_lock(state_dir: str, wait: float = 0.0) -> Iterator[None]:
    """Hold ``flock`` on ``state_dir/lock``; another run holding it is an error at once, or after ``wait`` s."""
    try:
        os.makedirs(state_dir, mode=0o750, exist_ok=True)
        handle = os.open(os.path.join(state_dir, "lock"), os.O_RDWR | os.O_CREAT, 0o640)
    except OSError as problem:
        raise StateError(f"cannot use state_dir {state_dir}: {problem.strerror}",
                         hint="run as the user that owns it, or set state_dir in the config") from None
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StateError(f"another ipaudit audit is running (it holds {state_dir}/lock)",
                                     hint="pass --wait SECONDS to wait for it") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(handle)  # closing the descriptor releases the lock


def _migrate(db: sqlite3.Connection) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise sqlite3.DatabaseError(f"schema version {version} is newer than this ipaudit knows")
    for number in range(version, len(MIGRATIONS)):
        with db:
            db.executescript("BEGIN;" + MIGRATIONS[number] + f"PRAGMA user_version = {number + 1}; COMMIT;")


def _connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.row_factory = sqlite3.Row
    if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
        raise sqlite3.DatabaseError("quick_check failed")
    application = db.execute("PRAGMA application_id").fetchone()[0]
    tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if application != APPLICATION_ID:
        if tables:
            raise sqlite3.DatabaseError("not an ipaudit state database (foreign application id)")
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    _migrate(db)
    return db


def open_state(state_dir: str) -> sqlite3.Connection:
    """The state database, migrated to the current schema; a corrupt or foreign one is moved aside first."""
    path = os.path.join(state_dir, "state.db")
    try:
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
    except OSError as problem:
        raise StateError(f"cannot create the state directory {state_dir}: {problem.strerror}",
                         hint="set state_dir in ipaudit.toml to a directory this user may write") from None
    if os.path.exists(path) and not os.access(path, os.R_OK | os.W_OK):
        raise StateError(f"cannot open {path}: permission denied", hint="run as the user that owns it")
    try:
        return _connect(path)
    except sqlite3.DatabaseError as problem:
        if not os.path.exists(path):
            raise StateError(f"cannot create the state database {path}: {problem}") from None
        aside = f"{path}.broken-{time.strftime('%Y%m%dT%H%M%S')}"
        log.warning("%s is unusable (%s): moved it to %s and started a new state; conflicts open before "
                    "will be reported again", path, problem, aside)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.replace(path + suffix, aside + suffix)
        try:
            return _connect(path)
        except sqlite3.DatabaseError as again:
            raise StateError(f"cannot build a new state database at {path}: {again}") from None


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: everything a run records commits together, or nothing does."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
