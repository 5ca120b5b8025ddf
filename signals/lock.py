"""A job lock kept in the database, so it works the same on SQLite and PostgreSQL and across
machines sharing one PostgreSQL. The second run of a job exits at once with ``LockedError``.

A lock left by a killed run is reclaimed: at once when its process is gone from this host,
otherwise when its heartbeat is older than ``stale_after``.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from .errors import LockedError
from .store import Store
from .store import schema as t

log = logging.getLogger(__name__)
STALE_AFTER = timedelta(hours=6)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def job_lock(store: Store, name: str, stale_after: timedelta = STALE_AFTER) -> Iterator[str]:
    """Hold the lock ``name`` for the duration of the block; yields the owner token."""
    host = socket.gethostname()[:200]
    pid = os.getpid()
    owner = f"{host}:{pid}:{uuid.uuid4().hex[:12]}"
    now = datetime.now(UTC)  # wall-clock time on purpose: --now is for data, not for locks
    with store.begin() as conn:
        row = conn.execute(select(t.locks).where(t.locks.c.name == name)).first()
        if row is not None:
            dead = row.host == host and not _pid_alive(row.pid)
            stale = now - row.heartbeat_at > stale_after
            if not (dead or stale):
                raise LockedError(
                    f"another '{name}' job is running (pid {row.pid} on {row.host}, since "
                    f"{row.acquired_at:%Y-%m-%d %H:%M:%S} UTC); exiting")
            log.warning("reclaiming lock %r left by pid %s on %s (%s)", name, row.pid, row.host,
                        "process gone" if dead else "stale heartbeat")
            conn.execute(delete(t.locks).where(t.locks.c.name == name, t.locks.c.owner == row.owner))
        try:
            conn.execute(t.locks.insert().values(name=name, owner=owner, host=host, pid=pid,
                                                 acquired_at=now, heartbeat_at=now))
        except IntegrityError:
            raise LockedError(f"another '{name}' job started at the same moment; exiting") from None
    try:
        yield owner
    finally:
        with store.begin() as conn:
            conn.execute(delete(t.locks).where(t.locks.c.name == name, t.locks.c.owner == owner))


def heartbeat(store: Store, name: str, owner: str) -> None:
    with store.begin() as conn:
        conn.execute(update(t.locks).where(t.locks.c.name == name, t.locks.c.owner == owner)
                     .values(heartbeat_at=datetime.now(UTC)))
