"""The queries of the fast path of an idle ``signals run`` (``signals.fast_run``), with the
standard library's ``sqlite3`` only (no SQLAlchemy), on a read-only connection.

``facts`` is what the full run leaves behind and records in the idle token (schema revision,
the sources as ``sources.yaml`` put them, the applied ruleset); ``work`` says what a full run
would find to do at ``now``, mirroring each of its steps: the intake lock it would wait for,
the feeds ``repo.due_sources`` would poll, the pages ``repo.pending_pages`` would download,
the articles ``claims.claim`` would process (and whose dead claims ``reclaim_dead`` would
release), the attempts ``repo.prune_attempts`` would delete. Timestamps are compared as
SQLAlchemy stores them on SQLite (``UtcDateTime``: UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import quote

#: What ``repo.sync_sources`` writes from ``sources.yaml`` (and the state it compares).
SYNCED_COLUMNS = (
    "id",
    "name",
    "url",
    "language",
    "tags",
    "kind",
    "interval_minutes",
    "fetch_pages",
    "configured",
    "enabled",
    "disabled_reason",
)


class DbFacts(NamedTuple):
    """What the full run left in the database that a later idle run relies on."""

    revision: str | None  # alembic_version
    sources: str  # digest of the sources' ``SYNCED_COLUMNS``
    meta: dict[str, str | None]  # meta key → digest of its value (None: no row)


def sqlite_file(url: str) -> str | None:
    """The file of a plain SQLite URL (``sqlite:///relative`` or ``sqlite:////absolute``);
    None for anything else (PostgreSQL, memory, query parameters, escapes)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///") :]
    if not path or path == ":memory:" or any(c in path for c in "?%#"):
        return None
    return path


@contextmanager
def open_ro(path: str, tidy: bool = False) -> Iterator[sqlite3.Connection]:
    """A connection that only reads and never creates the file (``sqlite3.Error`` if missing):
    ``mode=ro``, which may leave the WAL's empty ``-wal``/``-shm`` files; ``tidy`` opens it
    ``mode=rw`` instead (the full run's side), so that as the last connection it removes
    them, as the store's connections do."""
    uri = f"file:{quote(path)}?mode={'rw' if tidy else 'ro'}"
    with closing(sqlite3.connect(uri, uri=True, timeout=1.0)) as conn:
        yield conn


def sql_time(dt: datetime) -> str:
    """``dt`` as ``UtcDateTime`` binds it on SQLite, for comparisons with stored values."""
    d = dt.astimezone(UTC)
    return (
        f"{d.year:04d}-{d.month:02d}-{d.day:02d} "
        f"{d.hour:02d}:{d.minute:02d}:{d.second:02d}.{d.microsecond:06d}"
    )


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False).encode()).hexdigest()


def facts(conn: sqlite3.Connection, meta_keys: Sequence[str]) -> DbFacts:
    """The schema revision, the synced sources and the given meta values."""
    revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    cols = ", ".join(SYNCED_COLUMNS)
    rows = conn.execute(f"SELECT {cols} FROM sources ORDER BY id").fetchall()  # noqa: S608
    meta: dict[str, str | None] = {}
    for key in meta_keys:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        meta[key] = None if row is None else _digest(row[0])
    return DbFacts(None if revision is None else str(revision[0]), _digest(rows), meta)


def digest_value(value: str) -> str:
    """How ``facts`` records a meta value (for the values a run expects to find)."""
    return _digest(value)


def work(
    conn: sqlite3.Connection, lock: str, now: datetime, attempts_before: datetime
) -> str | None:
    """What a full run at ``now`` would do first, or None when it would find nothing to do."""
    checks = (
        ("the lock is held", "SELECT 1 FROM locks WHERE name = ?", (lock,)),
        (
            "a feed is due",
            "SELECT 1 FROM sources WHERE kind = 'feed' AND configured IS 1 AND enabled IS 1"
            " AND (next_fetch_at IS NULL OR next_fetch_at <= ?) LIMIT 1",
            (sql_time(now),),
        ),
        (
            "an article is pending",
            "SELECT 1 FROM articles WHERE state IN ('page', 'ready') LIMIT 1",
            (),
        ),
        (
            "attempts are to prune",
            "SELECT 1 FROM fetch_attempts WHERE started_at < ? LIMIT 1",
            (sql_time(attempts_before),),
        ),
    )
    for reason, sql, params in checks:
        if conn.execute(sql, params).fetchone() is not None:
            return reason
    return None
