"""Open the database: SQLite (WAL, busy timeout, BEGIN IMMEDIATE) or PostgreSQL, same code."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from ..errors import StoreError
from .schema import SCHEMA_VERSION, meta, metadata

log = logging.getLogger(__name__)
BUSY_TIMEOUT_MS = 60_000


@dataclass
class Store:
    engine: Engine
    url: str

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite: no lost updates between writers)."""
        with self.engine.begin() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN IMMEDIATE instead of pysqlite's deferred BEGIN.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


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
            metadata.create_all(engine)
            with store.begin() as conn:
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
