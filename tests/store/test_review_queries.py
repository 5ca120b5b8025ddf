"""The queries behind the digest's near-the-line list and the review export's --min-score, on
SQLite and PostgreSQL: rejected candidates in the score band, best first, at most N per
rupture, none that an analyst gave a verdict or that is a collapsed copy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from signals.models import Polarity
from signals.store import open_store, repo
from signals.store import schema as t

from ..conftest import verdict_row
from ..test_neardup import _article as new_article

NOW = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
WEEK = "2024-W10"  # the week test_neardup's articles are filed in


def test_near_line_candidates_and_the_review_rows_above_a_score(db_url: str) -> None:
    store = open_store(db_url)
    scores = {"a": 0.9, "b": 0.55, "c": 0.5, "d": 0.45, "e": 0.42, "f": 0.3, "g": 0.48, "h": 0.5}
    ids: dict[str, int] = {}
    with store.begin() as c:
        repo.ensure_import_source(c, "src", "fr")
        for name, score in scores.items():
            url = f"https://src.example/{name}"
            ids[name] = repo.add_article(c, new_article(url, url, "t", NOW), "src", NOW)[0]
            c.execute(
                t.judgements.insert().values(
                    article_id=ids[name],
                    rupture_id="r",
                    polarity="evidence",
                    score=score,
                    accepted=score >= 0.6,
                    reasons=[],
                )
            )
        # an analyst's verdict takes it off the list, either way
        c.execute(t.verdicts.insert().values(**verdict_row(ids["g"], "r", "rejected", NOW)))
        c.execute(update(t.articles).where(t.articles.c.id == ids["h"]).values(dup_of=ids["a"]))
    with store.engine.connect() as c:
        near = repo.near_line_week(c, WEEK, Polarity.EVIDENCE, 0.4, 3)
        assert near == {"r": [ids["b"], ids["c"], ids["d"]]}  # best first, three at most
        assert repo.near_line_week(c, WEEK, Polarity.COUNTER, 0.4, 3) == {}
        start, end = NOW - timedelta(days=7), NOW + timedelta(days=1)
        rows = {r["url"].rsplit("/", 1)[1] for r in repo.review_rows(c, start, end, True, 0.45)}
        assert rows == {"a", "b", "c", "d", "g"}  # accepted, or rejected at 0.45 and above
        assert {r["url"][-1] for r in repo.review_rows(c, start, end, False)} == {"a"}
        assert len(list(repo.review_rows(c, start, end, True))) == 7  # copies never
    store.engine.dispose()
