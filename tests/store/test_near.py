"""The near-duplicate band queries: bands written in one insert are what SQLAlchemy's own insert
would store (on SQLite the driver gets the rows directly), and the batch lookup finds who shares
a bucket within a window, originals only, oldest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select

from signals.store import open_store, repo
from signals.store import schema as t
from signals.store.near import NewBands, StoredBands, add_bands

from ..test_neardup import _article as new_article

NOW = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)


def _article(conn: Connection, url: str, published: datetime) -> int:
    return repo.add_article(conn, new_article(url, url, "t", published), "src", NOW)[0]


def test_bands_round_trip_and_are_stored_as_sqlalchemy_stores_them(db_url: str) -> None:
    store = open_store(db_url)
    with store.begin() as c:
        repo.ensure_import_source(c, "src", "fr")
        a = _article(c, "https://src.example/a", NOW)
        b = _article(c, "https://src.example/b", NOW + timedelta(days=1))
        late = _article(c, "https://src.example/late", NOW + timedelta(days=20))
        add_bands(
            c,
            [
                NewBands(a, [(0, 11), (1, -12)], NOW),
                NewBands(late, [(0, 11)], NOW + timedelta(days=20)),
                NewBands(b, [], NOW),
            ],
        )
        c.execute(  # the reference: SQLAlchemy's own insert of the same kind of row
            t.near_dup_bands.insert(),
            [{"article_id": b, "band": 0, "bucket": 11, "published_at": NOW + timedelta(days=1)}],
        )
    nb = t.near_dup_bands
    with store.engine.connect() as c:
        rows = c.execute(select(nb).order_by(nb.c.article_id, nb.c.band)).all()
        assert [tuple(r) for r in rows] == [
            (a, 0, 11, NOW),
            (a, 1, -12, NOW),
            (b, 0, 11, NOW + timedelta(days=1)),
            (late, 0, 11, NOW + timedelta(days=20)),
        ]
        if store.is_sqlite:  # the same text format as SQLAlchemy's (range queries compare it)
            sql = "SELECT article_id, published_at FROM near_dup_bands"
            raw = dict(c.exec_driver_sql(sql).all())
            assert raw[b] == raw[a].replace("-03-02 ", "-03-03 ")  # b: SQLAlchemy's insert
            assert raw[a] < raw[b] < raw[late]
        stored = StoredBands(
            c, [(0, 11), (1, -12)], NOW - timedelta(days=7), NOW + timedelta(days=8)
        )
        window = (NOW - timedelta(days=7), NOW + timedelta(days=7))
        assert stored.sharing([(0, 11)], *window, exclude=a) == [b]  # late is outside
        assert stored.sharing([(1, -12), (0, 11)], *window, exclude=0) == [a, b]
        assert stored.sharing([(1, 11)], *window, exclude=0) == []  # another band's bucket
        assert [o.id for o in stored.originals([b, a])] == [a, b]  # oldest first
    store.dispose()
