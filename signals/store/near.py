"""Queries of the near-duplicate index (``near_dup_bands``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, or_, select, tuple_

from . import schema as t


def add_bands(conn: Connection, article_id: int, keys: Sequence[tuple[int, int]],
              published_at: datetime) -> None:
    if keys:
        conn.execute(t.near_dup_bands.insert(), [
            {"article_id": article_id, "band": band, "bucket": bucket, "published_at": published_at}
            for band, bucket in keys])


def candidates(conn: Connection, keys: Sequence[tuple[int, int]], start: datetime, end: datetime,
               exclude: int) -> list[tuple[int, str, str]]:
    """(id, title, text) of originals (not themselves copies) sharing a band bucket with ``keys`` and
    published in [start, end], oldest first."""
    if not keys:
        return []
    b, a = t.near_dup_bands, t.articles
    match: ColumnElement[bool]
    if conn.dialect.name == "postgresql":
        match = tuple_(b.c.band, b.c.bucket).in_(list(keys))
    else:  # SQLite has row values too, but not in every version Python ships with
        match = or_(*(and_(b.c.band == band, b.c.bucket == bucket) for band, bucket in keys))
    ids = (select(b.c.article_id).where(match, b.c.published_at >= start, b.c.published_at <= end,
                                        b.c.article_id != exclude).distinct())
    q = (select(a.c.id, a.c.title, a.c.text).where(a.c.id.in_(ids), a.c.dup_of.is_(None))
         .order_by(a.c.published_at, a.c.id))
    return [(r.id, r.title or "", r.text or "") for r in conn.execute(q).all()]
