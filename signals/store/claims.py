"""The queries of work leases (``signals.process``): ready articles claimed by one worker until
``lease_until``, checked again when the worker writes its results."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, func, or_, select, text, update

from . import schema as t
from .repo import ReadyArticle, ready_query

#: The PostgreSQL transaction-level advisory lock that serialises the short result writes, so
#: that the duplicate checks made inside them see every original written before (SQLite has
#: one writer anyway).
WRITE_LOCK_KEY = 7357246662


def claim(
    conn: Connection, worker: str, limit: int, now: datetime, lease_until: datetime
) -> list[ReadyArticle]:
    """Claim the next ``limit`` ready articles nobody holds (no claim, or an expired lease),
    oldest first. On PostgreSQL the rows are taken with ``FOR UPDATE SKIP LOCKED``: workers
    claiming at the same moment get different rows instead of waiting for each other."""
    a = t.articles
    q = ready_query(limit, or_(a.c.claimed_by.is_(None), a.c.lease_until < now))
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True, of=t.articles)
    rows = [ReadyArticle(**r._mapping) for r in conn.execute(q).all()]
    if rows:
        conn.execute(
            update(a)
            .where(a.c.id.in_([r.id for r in rows]))
            .values(claimed_by=worker, lease_until=lease_until)
        )
    return rows


def still_ours(conn: Connection, ids: Sequence[int], worker: str) -> set[int]:
    """Those of ``ids`` still ready and claimed by ``worker`` (an expired lease nobody took
    over still counts), locked until the end of the transaction on PostgreSQL."""
    if not ids:
        return set()
    a = t.articles
    q = select(a.c.id).where(a.c.id.in_(list(ids)), a.c.state == "ready", a.c.claimed_by == worker)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    return {int(i) for i in conn.execute(q).scalars()}


def release(conn: Connection, ids: Sequence[int], worker: str) -> int:
    """Drop ``worker``'s claims on ``ids`` (done, or given back); the number released."""
    if not ids:
        return 0
    a = t.articles
    return conn.execute(
        update(a)
        .where(a.c.id.in_(list(ids)), a.c.claimed_by == worker)
        .values(claimed_by=None, lease_until=None)
    ).rowcount


def serialise_writes(conn: Connection) -> None:
    """Wait for the other workers' result writes (PostgreSQL; a no-op on SQLite, where the
    write transaction is already the only one)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})


def meta_shared(conn: Connection, key: str) -> str | None:
    """A meta value, share-locked on PostgreSQL until the end of the transaction (a concurrent
    update of it, the re-match recording a new ruleset, waits for this writer)."""
    q = select(t.meta.c.value).where(t.meta.c.key == key)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(read=True)
    return conn.execute(q).scalar()


def claimants(conn: Connection) -> list[str]:
    """The workers holding claims on ready articles (live or expired leases)."""
    a = t.articles
    q = select(a.c.claimed_by).where(a.c.state == "ready", a.c.claimed_by.is_not(None)).distinct()
    return [str(w) for w in conn.execute(q).scalars()]


def release_all(conn: Connection, worker: str) -> int:
    """Drop every claim of ``worker`` (a dead one); the number released."""
    a = t.articles
    return conn.execute(
        update(a)
        .where(a.c.state == "ready", a.c.claimed_by == worker)
        .values(claimed_by=None, lease_until=None)
    ).rowcount


def count_claimed(conn: Connection) -> int:
    """Ready articles under a claim (live or expired): for tests and ``status``."""
    a = t.articles
    return int(
        conn.execute(
            select(func.count())
            .select_from(a)
            .where(a.c.state == "ready", a.c.claimed_by.is_not(None))
        ).scalar_one()
    )
