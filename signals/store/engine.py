"""Open the database: SQLite (WAL, busy timeout, BEGIN IMMEDIATE) or PostgreSQL, same code."""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, select, text
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from ..errors import StoreError
from .schema import SCHEMA_VERSION, meta, metadata

log = logging.getLogger(__name__)
BUSY_TIMEOUT_MS = 60_000


RETRY_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
T = TypeVar("T")


@dataclass
class Store:
    engine: Engine
    url: str
    retries: int = 0  # transactions re-run by ``transaction`` (for tests and logs)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite: no lost updates between writers).
        Read-only work uses ``engine.connect()``: a deferred BEGIN, which in WAL mode never
        waits for a writer (a reader taking the write lock would queue behind a long job)."""
        with self.engine.connect() as conn:
            conn.execution_options(signals_write=True)
            with conn.begin():
                yield conn

    def transaction(self, work: Callable[[Connection], T], attempts: int = 5) -> T:
        """``work(conn)`` in one write transaction, run again from the start (after a short
        random pause) when PostgreSQL aborts it as a deadlock or serialization failure, which
        concurrent writers inserting the same keys in different orders can cause. SQLite
        serialises writers (BEGIN IMMEDIATE + busy timeout) and never needs it."""
        for attempt in range(1, attempts + 1):
            try:
                with self.begin() as conn:
                    return work(conn)
            except DBAPIError as e:
                if attempt == attempts or getattr(e.orig, "sqlstate", None) not in RETRY_SQLSTATES:
                    raise
                self.retries += 1
                log.info("transaction aborted by the database (%s); retrying (attempt %d)",
                         str(e.orig).splitlines()[0], attempt + 1)
                time.sleep(random.uniform(0.0, 0.02 * attempt))
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN IMMEDIATE instead of pysqlite's deferred BEGIN.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    _set_wal(cur)
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def _set_wal(cur: sqlite3.Cursor) -> None:
    """WAL is persistent: set it once. Switching a brand-new file to WAL while other processes
    open it can fail with "database is locked" without the busy handler being consulted
    (seen with 4 processes opening a new file at once), so retry that for a while."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("signals_write") else "BEGIN")


def open_store(url: str, create: bool = True) -> Store:
    """Connect, create missing tables, and check the schema version."""
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4)
        store = Store(engine, url)
        if create:
            with store.begin() as conn:
                # one transaction: concurrent first runs on a new database do not race to create
                # the tables (BEGIN IMMEDIATE on SQLite; a transaction-level advisory lock here)
                if not store.is_sqlite:
                    conn.execute(text("SELECT pg_advisory_xact_lock(7357246661)"))
                metadata.create_all(conn)
                row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
                if row is None:
                    conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
                elif int(row) > SCHEMA_VERSION:
                    raise StoreError(f"database schema {row} is newer than this Signals ({SCHEMA_VERSION})")
        return store
    except StoreError:
        raise
    except (OperationalError, SQLAlchemyError, OSError, ModuleNotFoundError) as e:
        raise StoreError(f"cannot open database {_redact(url)}: {e.__class__.__name__}: {str(e).splitlines()[0]}") from None


def _redact(url: str) -> str:
    """Hide a password in a database URL before it reaches a message or a log."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            creds = creds.split(":", 1)[0] + ":***"
        return f"{scheme}://{creds}@{host}"
    return url
