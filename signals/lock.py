"""A job lock kept in the database, so it works the same on SQLite and PostgreSQL and across
machines sharing one PostgreSQL. The second run of a job exits at once with ``LockedError``
(exit code 75 from the CLI), or waits up to ``wait`` for the holder to finish.

The lock is a row in ``locks`` (name, owner, host, pid, acquired_at, heartbeat_at) that
``signals status`` and an operator can read. While the lock is held a daemon thread refreshes
``heartbeat_at`` every ``heartbeat_every``, so a long job is never mistaken for a dead one.

A lock left by a killed run (``kill -9``, a crash, a power cut) is reclaimed:

* at once when the row names a process of this host that no longer exists (or whose pid now
  belongs to another process: the owner token records the process start time). A live local
  holder is never reclaimed, whatever its heartbeat says: on SQLite its heartbeat can queue
  behind its own long write transactions, and it is alive by definition;
* at once on PostgreSQL, whatever the host: the holder also keeps a session-level advisory
  lock (``pg_try_advisory_lock``) on a dedicated connection, which the server releases the
  moment that session ends. Whoever gets the advisory lock knows any row left is stale;
* otherwise (a holder on another host) when its heartbeat is older than ``stale_after``.

The busy check is a plain read (never waiting for a writer), so a second run exits at once
even while the first is in the middle of a long write transaction.

If a holder finds on a heartbeat that its row is gone or belongs to someone else (its lock
was reclaimed: it ran on another host and was stalled longer than ``stale_after``), it logs
an error; the work itself stays safe because every batch is one transaction.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .errors import LockedError
from .store import Store, locks

log = logging.getLogger(__name__)
HEARTBEAT_EVERY = timedelta(seconds=30)
STALE_AFTER = timedelta(minutes=10)  # 20 missed heartbeats
WAIT_POLL_SECONDS = 2.0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:  # not a pid this system can have
        return False
    return True


def _process_start(pid: int) -> str | None:
    """The start time of a local process (clock ticks since boot, Linux), to tell a pid
    reused by another process from the original; None where /proc is not available."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _holder_alive(row: Any) -> bool:
    """Whether the local process named by a lock row still runs (and is the same process)."""
    if not _pid_alive(row.pid):
        return False
    parts = str(row.owner).split(":")
    recorded = parts[2] if len(parts) == 4 else None  # host:pid:start:token
    if recorded and recorded != "-":
        current = _process_start(row.pid)
        if current is not None and current != recorded:
            return False
    return True


def local_process_gone(pid: int, start: str | None) -> bool:
    """Whether the process ``pid`` of this host (started at ``start``, as ``_process_start``
    gives it; None or "-": unknown) is gone, or its pid now belongs to another process."""
    if not _pid_alive(pid):
        return True
    if start and start != "-":
        current = _process_start(pid)
        return current is not None and current != start
    return False


def owner_token(host: str, pid: int) -> str:
    """``host:pid:start:random``: names a process so that a pid reused later does not pass
    for it (used by the job locks and the work leases)."""
    return f"{host}:{pid}:{_process_start(pid) or '-'}:{uuid.uuid4().hex[:12]}"


def advisory_key(name: str) -> int:
    """The signed 64-bit PostgreSQL advisory lock key of a lock name."""
    return int.from_bytes(
        hashlib.sha256(f"signals-lock:{name}".encode()).digest()[:8], "big", signed=True
    )


def _busy_message(name: str, row: Any) -> str:
    if row is None:  # PostgreSQL: the advisory lock is held but its row is not written yet
        return f"another '{name}' job is running (starting up: no pid recorded yet); exiting"
    return (
        f"another '{name}' job is running (pid {row.pid} on {row.host}, since "
        f"{row.acquired_at:%Y-%m-%d %H:%M:%S} UTC); exiting"
    )


def _reclaimable(row: Any, host: str, stale_after: timedelta, advisory: bool) -> str | None:
    """Why a lock row may be taken over, or None if its holder is live."""
    if advisory:
        return "its PostgreSQL session is gone"
    if row.host == host:
        return None if _holder_alive(row) else "process gone"
    if datetime.now(UTC) - row.heartbeat_at > stale_after:
        return f"no heartbeat since {row.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC"
    return None


def _write_row(
    store: Store, name: str, owner: str, host: str, pid: int, stale_after: timedelta, advisory: bool
) -> None:
    """Insert our row, reclaiming a dead or stale one; raise LockedError if it is live."""
    if not advisory:  # a plain read first: a live holder is reported without queueing
        with store.engine.connect() as conn:
            row = locks.get(conn, name)
        if row is not None and _reclaimable(row, host, stale_after, advisory) is None:
            raise LockedError(_busy_message(name, row))
    now = datetime.now(UTC)  # wall-clock time on purpose: --now is for data, not for locks
    with store.begin() as conn:
        row = locks.get(conn, name)
        if row is not None:
            why = _reclaimable(row, host, stale_after, advisory)
            if why is None:
                raise LockedError(_busy_message(name, row))
            log.warning(
                "reclaiming lock %r left by pid %s on %s (%s)", name, row.pid, row.host, why
            )
            locks.delete_owned(conn, name, row.owner)
        try:
            locks.insert(conn, name, owner, host, pid, now)
        except IntegrityError:
            raise LockedError(f"another '{name}' job started at the same moment; exiting") from None


def _try_acquire(
    store: Store, name: str, owner: str, host: str, pid: int, stale_after: timedelta
) -> Connection | None:
    """Take the lock or raise LockedError. On PostgreSQL returns the connection holding the
    advisory lock (keep it open while the lock is held)."""
    if store.is_sqlite:
        _write_row(store, name, owner, host, pid, stale_after, advisory=False)
        return None
    key = advisory_key(name)
    conn = store.engine.connect()
    try:
        got = locks.try_advisory(conn, key)
        conn.commit()
        if not got:
            row = None
            for _ in range(10):  # the holder may be between its advisory lock and its row
                with store.engine.connect() as c:
                    row = locks.get(c, name)
                if row is not None:
                    break
                time.sleep(0.1)
            raise LockedError(_busy_message(name, row))
        try:
            _write_row(store, name, owner, host, pid, stale_after, advisory=True)
        except BaseException:
            locks.release_advisory(conn, key)
            conn.commit()
            raise
        return conn
    except BaseException:
        conn.close()
        raise


class _Heartbeat(threading.Thread):
    """Refreshes the lock row's heartbeat until stopped."""

    def __init__(
        self,
        store: Store,
        name: str,
        owner: str,
        every: timedelta,
        advisory_conn: Connection | None,
    ) -> None:
        super().__init__(name=f"signals-lock-{name}", daemon=True)
        self.store, self.lock_name, self.owner = store, name, owner
        self.every = max(every.total_seconds(), 0.01)
        self.conn = advisory_conn  # on PostgreSQL: beat through the session holding the lock
        self.halt = threading.Event()
        self.lost = threading.Event()
        self.beats = 0

    def run(self) -> None:
        while not self.halt.wait(self.every):
            self.beat()

    def beat(self) -> None:
        now = datetime.now(UTC)
        try:
            if self.conn is not None:
                n = locks.beat(self.conn, self.lock_name, self.owner, now)
                self.conn.commit()
            else:
                with self.store.begin() as conn:
                    n = locks.beat(conn, self.lock_name, self.owner, now)
        except SQLAlchemyError as e:  # a busy or unreachable database: try again next beat
            # (on SQLite a beat may queue behind this process's own long write transaction)
            log.log(
                logging.DEBUG if "locked" in str(e) else logging.WARNING,
                "lock %r: heartbeat failed: %s",
                self.lock_name,
                str(e).splitlines()[0],
            )
            if self.conn is not None and self.conn.invalidated:
                log.error(
                    "lock %r: the PostgreSQL session holding the lock is gone; another run "
                    "may start",
                    self.lock_name,
                )
                self.lost.set()
            return
        self.beats += 1
        if n == 0 and not self.lost.is_set():
            log.error(
                "lock %r was reclaimed by another process (this one was stalled for longer "
                "than the stale limit); finishing the current batch anyway",
                self.lock_name,
            )
            self.lost.set()

    def stop(self) -> None:
        self.halt.set()
        if self.is_alive():
            self.join()


def _pause(seconds: float, should_stop: Callable[[], bool] | None) -> None:
    """Sleep ``seconds``, waking early once ``should_stop()`` is true."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if should_stop is not None and should_stop():
            return
        time.sleep(min(left, 0.1))


@contextmanager
def job_lock(
    store: Store,
    name: str,
    stale_after: timedelta = STALE_AFTER,
    heartbeat_every: timedelta = HEARTBEAT_EVERY,
    wait: timedelta = timedelta(0),
    should_stop: Callable[[], bool] | None = None,
    poll: float = WAIT_POLL_SECONDS,
) -> Iterator[str]:
    """Hold the lock ``name`` for the duration of the block; yields the owner token.

    Raises ``LockedError`` at once when another live process holds it, or after ``wait`` if
    given (checking every ``poll`` seconds, and giving up early once ``should_stop()`` is true).
    """
    host = socket.gethostname()[:150]
    pid = os.getpid()
    owner = owner_token(host, pid)
    deadline = time.monotonic() + wait.total_seconds()
    while True:
        try:
            advisory_conn = _try_acquire(store, name, owner, host, pid, stale_after)
            break
        except LockedError:
            left = deadline - time.monotonic()
            if left <= 0 or (should_stop is not None and should_stop()):
                raise
            _pause(min(poll, left), should_stop)
    beat = _Heartbeat(store, name, owner, heartbeat_every, advisory_conn)
    beat.start()
    try:
        yield owner
    finally:
        beat.stop()
        try:
            with store.begin() as conn:
                locks.delete_owned(conn, name, owner)
        finally:
            if advisory_conn is not None:
                try:
                    locks.release_advisory(advisory_conn, advisory_key(name))
                    advisory_conn.commit()
                except SQLAlchemyError:  # the session is gone: so is its advisory lock
                    pass
                advisory_conn.close()
