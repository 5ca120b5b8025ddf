"""The queries of the job lock (``signals.lock``): the ``locks`` rows and, on PostgreSQL, the
session-level advisory lock that goes with them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from . import schema as t


def get(conn: Connection, name: str) -> Any | None:
    """The row of lock ``name`` (name, owner, host, pid, acquired_at, heartbeat_at), or None."""
    return conn.execute(select(t.locks).where(t.locks.c.name == name)).first()


def insert(conn: Connection, name: str, owner: str, host: str, pid: int, now: datetime) -> None:
    """Our row; raises ``IntegrityError`` when another process inserted one first."""
    conn.execute(
        t.locks.insert().values(
            name=name, owner=owner, host=host, pid=pid, acquired_at=now, heartbeat_at=now
        )
    )


def delete_owned(conn: Connection, name: str, owner: str) -> int:
    """Delete lock ``name`` if ``owner`` holds it; the number of rows deleted."""
    return conn.execute(
        delete(t.locks).where(t.locks.c.name == name, t.locks.c.owner == owner)
    ).rowcount


def beat(conn: Connection, name: str, owner: str, now: datetime) -> int:
    """Refresh the heartbeat of our row; 0 when the row is gone or no longer ours."""
    return conn.execute(
        update(t.locks)
        .where(t.locks.c.name == name, t.locks.c.owner == owner)
        .values(heartbeat_at=now)
    ).rowcount


def try_advisory(conn: Connection, key: int) -> bool:
    """PostgreSQL ``pg_try_advisory_lock``: True if this session now holds ``key``."""
    return bool(conn.execute(select(func.pg_try_advisory_lock(key))).scalar())


def release_advisory(conn: Connection, key: int) -> None:
    conn.execute(select(func.pg_advisory_unlock(key)))
