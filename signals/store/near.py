"""Queries of the near-duplicate index (``near_dup_bands``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, select

from . import schema as t


def add_bands(
    conn: Connection, article_id: int, keys: Sequence[tuple[int, int]], published_at: datetime
) -> None:
    if keys:
        conn.execute(
            t.near_dup_bands.insert(),
            [
                {
                    "article_id": article_id,
                    "band": band,
                    "bucket": bucket,
                    "published_at": published_at,
                }
                for band, bucket in keys
            ],
        )


_SHARED = select(
    t.near_dup_bands.c.article_id, t.near_dup_bands.c.band, t.near_dup_bands.c.bucket
).where(
    t.near_dup_bands.c.bucket.in_(bindparam("buckets", expanding=True)),
    t.near_dup_bands.c.published_at >= bindparam("start"),
    t.near_dup_bands.c.published_at <= bindparam("end"),
    t.near_dup_bands.c.article_id != bindparam("exclude"),
)


def candidates(
    conn: Connection, keys: Sequence[tuple[int, int]], start: datetime, end: datetime, exclude: int
) -> list[tuple[int, str]]:
    """(id, text) of originals (not themselves copies) sharing a band bucket with ``keys``
    and published in [start, end], oldest first."""
    if not keys:
        return []
    wanted = set(keys)
    rows = conn.execute(
        _SHARED,
        {"buckets": sorted({b for _, b in keys}), "start": start, "end": end, "exclude": exclude},
    ).all()
    ids = sorted({r.article_id for r in rows if (r.band, r.bucket) in wanted})
    if not ids:
        return []
    a = t.articles
    q = (
        select(a.c.id, a.c.text)
        .where(a.c.id.in_(ids), a.c.dup_of.is_(None))
        .order_by(a.c.published_at, a.c.id)
    )
    return [(r.id, r.text or "") for r in conn.execute(q).all()]
