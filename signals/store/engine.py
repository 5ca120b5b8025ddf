"""Open the database: SQLite (WAL, busy timeout, BEGIN IMMEDIATE) or PostgreSQL, same code."""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from ..errors import NoDatabaseError, StoreError
from . import migrate
from .migrations import baseline

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
    def kept_open(self) -> Iterator[None]:
        """Keep one idle connection open (SQLite) around a run of short write transactions.
        Without it (NullPool) every commit closes the last connection to the file, which
        checkpoints the WAL and deletes it: ~20 ms per transaction, 7x the transaction itself
        (one per feed in a fetch cycle; ``bench/fetch_scale.py``). No transaction is opened, so
        checkpoints still happen (automatically, every 1,000 pages)."""
        if not self.is_sqlite:
            yield
            return
        with self.engine.connect():
            yield

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
                log.info(
                    "transaction aborted by the database (%s); retrying (attempt %d)",
                    str(e.orig).splitlines()[0],
                    attempt + 1,
                )
                time.sleep(random.uniform(0.0, 0.02 * attempt))
        raise AssertionError("unreachable")

    def upgrade(
        self, create: bool = True, location: Path = migrate.MIGRATIONS
    ) -> tuple[str | None, str]:
        """Apply pending migrations; (revision before, after). A database at head costs one
        read. Otherwise one write transaction, which is the lock: concurrent first runs on a
        new database do not race (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL).
        ``create=False``: a database without Signals tables raises ``NoDatabaseError``.
        ``location``: another revision directory (tests)."""
        with self.engine.connect() as conn:
            rev = migrate.current_revision(conn)
        if rev == migrate.head_of(location):
            return rev, rev
        with self.engine.connect() as conn:
            if self.is_sqlite:
                # a table rebuild (op.batch_alter_table) drops a table others point to: SQLite's
                # procedure for schema changes turns foreign keys off outside the transaction
                # and checks them before the commit (migrate.upgrade does)
                raw = conn.connection.driver_connection
                assert raw is not None
                raw.execute("PRAGMA foreign_keys = OFF")
            conn.execution_options(signals_write=True)
            with conn.begin():
                if not self.is_sqlite:
                    conn.execute(text("SELECT pg_advisory_xact_lock(7357246661)"))
                before, after = migrate.upgrade(conn, redact(self.url), create, location)
        if before != after:
            log.info(
                "database %s upgraded from revision %s to %s",
                redact(self.url),
                before or "none",
                after,
            )
        return before, after

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
    conn.exec_driver_sql(
        "BEGIN IMMEDIATE" if conn.get_execution_options().get("signals_write") else "BEGIN"
    )


def open_store(url: str, create: bool = True, upgrade: bool = True) -> Store:
    """Connect and bring the schema to the head revision (``upgrade``).

    ``create=False`` (the read commands) never creates anything: a missing SQLite file or a
    database without Signals tables raises ``NoDatabaseError`` (exit 3), and no directory or
    file is made. ``upgrade=False`` leaves the schema as it is (``signals db current``).
    """
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[1] if "///" in url else ""
            memory = not path or path == ":memory:" or "mode=memory" in path
            if not create and (memory or not _sqlite_has_tables(path.split("?", 1)[0])):
                raise NoDatabaseError(redact(url))
            if create and not memory:
                Path(path.split("?", 1)[0]).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                url, poolclass=NullPool, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}
            )
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4)
        store = Store(engine, url)
        try:
            if upgrade:
                store.upgrade(create)
            elif not create:
                with engine.connect() as conn:
                    if not migrate.schema_state(conn).exists:
                        raise NoDatabaseError(redact(url))
        except BaseException:
            store.dispose()
            raise
        return store
    except StoreError:
        raise
    except (OperationalError, SQLAlchemyError, OSError, ModuleNotFoundError, sqlite3.Error) as e:
        raise StoreError(
            f"cannot open database {redact(url)}: {e.__class__.__name__}: {str(e).splitlines()[0]}"
        ) from None


def _sqlite_has_tables(path: str) -> bool:
    """Whether the file exists and holds Signals tables, looked at read-only (a connection with
    our pragmas would turn any file it opens into a WAL database)."""
    if not Path(path).is_file():
        return False
    uri = f"file:{quote(str(Path(path).resolve()))}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return bool(names & ({migrate.VERSION_TABLE} | set(baseline.metadata.tables)))


def redact(url: str) -> str:
    """Hide a password in a database URL before it reaches a message or a log."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            creds = creds.split(":", 1)[0] + ":***"
        return f"{scheme}://{creds}@{host}"
    return url
