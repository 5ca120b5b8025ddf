"""Queries of the near-duplicate index (``near_dup_bands``): a batch's worth at a time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from . import schema as t


@dataclass(frozen=True)
class NewBands:
    """An original's band buckets, to be stored for the articles that follow."""

    article_id: int
    keys: Sequence[tuple[int, int]]
    published_at: datetime


def add_bands(conn: Connection, rows: Iterable[NewBands]) -> None:
    """Every band of ``rows`` in one multi-row insert. On SQLite the rows go to the driver's
    ``executemany`` as they are (each date converted once, by the column type's own processor):
    a batch has some 500 bands, and SQLAlchemy's per-row parameter handling was most of the
    insert's cost."""
    rows = list(rows)
    if not any(r.keys for r in rows):
        return
    if conn.dialect.name != "sqlite":
        conn.execute(
            t.near_dup_bands.insert(),
            [
                {"article_id": r.article_id, "band": b, "bucket": k, "published_at": r.published_at}
                for r in rows
                for b, k in r.keys
            ],
        )
        return
    to_db = t.near_dup_bands.c.published_at.type.dialect_impl(conn.dialect).bind_processor(
        conn.dialect
    )
    assert to_db is not None  # a TypeDecorator always has one
    values: list[tuple[int, int, int, Any]] = []
    for r in rows:
        published = to_db(r.published_at)
        values.extend((r.article_id, band, bucket, published) for band, bucket in r.keys)
    conn.exec_driver_sql(_INSERT_SQLITE, values)


_INSERT_SQLITE = (
    "INSERT INTO near_dup_bands (article_id, band, bucket, published_at) VALUES (?, ?, ?, ?)"
)


@dataclass(frozen=True)
class Original:
    """A stored original (not itself a copy) that shares a band bucket with an article."""

    id: int
    text: str
    published_at: datetime


class StoredBands:
    """The stored bands that a batch of articles could share, read in one query: who shares a
    bucket with given keys within a date window, without a query per article."""

    def __init__(
        self, conn: Connection, keys: Iterable[tuple[int, int]], start: datetime, end: datetime
    ):
        self._conn = conn
        self._by_key: dict[tuple[int, int], list[tuple[int, datetime]]] = defaultdict(list)
        self._originals: dict[int, Original | None] = {}
        buckets = sorted({bucket for _, bucket in keys})
        if not buckets:
            return
        b = t.near_dup_bands
        q = select(b.c.article_id, b.c.band, b.c.bucket, b.c.published_at).where(
            b.c.bucket.in_(buckets), b.c.published_at >= start, b.c.published_at <= end
        )
        for r in conn.execute(q).all():
            self._by_key[(r.band, r.bucket)].append((r.article_id, r.published_at))

    def sharing(
        self, keys: Sequence[tuple[int, int]], start: datetime, end: datetime, exclude: int
    ) -> list[int]:
        """Ids of the articles with a band bucket in ``keys`` published in [start, end]."""
        ids = {
            aid
            for key in keys
            for aid, published in self._by_key.get(key, ())
            if start <= published <= end and aid != exclude
        }
        return sorted(ids)

    def originals(self, ids: Sequence[int]) -> list[Original]:
        """Those of ``ids`` that are originals (not copies), with their text, oldest first."""
        todo = [i for i in ids if i not in self._originals]
        if todo:
            a = t.articles
            q = select(a.c.id, a.c.text, a.c.published_at).where(
                a.c.id.in_(todo), a.c.dup_of.is_(None)
            )
            found = {
                r.id: Original(r.id, r.text or "", r.published_at) for r in self._conn.execute(q)
            }
            for i in todo:
                self._originals[i] = found.get(i)
        out = [o for i in ids if (o := self._originals[i]) is not None]
        return sorted(out, key=lambda o: (o.published_at, o.id))
