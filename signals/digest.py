"""Assemble one week's digest from the store: counts → scores → best articles → report model."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection

from .match import Ruleset
from .models import AnalysedDoc, ItemKind, Polarity, Sentence
from .report.charts import chart_week
from .report.model import Digest, DigestArticle, DigestRupture, DigestSentence, ItemActivity
from .score import (
    RuptureScore,
    ScoreParams,
    WeeklyCounts,
    iso_week,
    previous_weeks,
    score_week,
    score_weeks,
    span_weeks,
    week_bounds,
)
from .spans import matched_sentences
from .store import Store, repo

TREND_WEEKS = 52  # the chart of each rupture


def last_complete_week(now: datetime) -> str:
    """The ISO week that ended most recently before ``now``."""
    return iso_week(now - timedelta(days=7))


def _articles(conn: Connection, rows: list[repo.MatchedArticle], ruleset: Ruleset) -> tuple[DigestArticle, ...]:
    """Every article of ``rows`` (best first), each with every sentence its items hit and the
    spans the matcher matched in them (recomputed from the stored analysis)."""
    stored = {s.article_id: s for s in repo.stored_analyses(conn, [a.article_id for a in rows])}
    out = []
    for a in rows:
        labels = tuple(ruleset.item_by_id[i].label if i in ruleset.item_by_id else i for i in a.item_ids)
        analysis = stored.get(a.article_id)
        doc = None if analysis is None else AnalysedDoc(analysis.language, tuple(
            Sentence(text, tuple(keys.split())) for text, keys in analysis.sentences))
        found = matched_sentences(ruleset, doc, a.item_ids, a.language or "xx",
                                  fallback=dict(zip(a.item_ids, a.sentences, strict=True)))
        out.append(DigestArticle(
            url=a.url, title=a.title, source=", ".join(a.sources), published=a.published_at,
            item_ids=a.item_ids, item_labels=labels, kinds=a.kinds, sentence=a.sentences[0],
            terms=tuple(dict.fromkeys(t for s in found for t in s.terms)),
            score=a.score, reasons=a.reasons, confirmed=a.verdict == "confirmed",
            sentences=tuple(DigestSentence(s.text, s.spans, s.item_ids) for s in found)))
    return tuple(out)


def build_digest(store: Store, ruleset: Ruleset, week: str, now: datetime,
                 params: ScoreParams | None = None,
                 entities: Callable[[list[int]], None] | None = None) -> tuple[Digest, list[RuptureScore]]:
    """The week's digest; ``entities`` is called with the evidence article ids first, so that
    their named entities are computed (lazily, once) before they are counted."""
    params = params or ScoreParams()
    start, end = week_bounds(week)
    span = span_weeks(params) + TREND_WEEKS - 1  # every chart week with its own baseline
    weeks = [*previous_weeks(week, span), week]
    rupture_ids = [r.id for r in ruleset.scenarios.ruptures]
    if entities is not None:
        with store.engine.connect() as conn:
            ids = repo.counted_article_ids(conn, week, Polarity.EVIDENCE)
        entities(ids)
    with store.engine.connect() as conn:
        analysed = repo.analysed_per_week(conn, weeks)
        evidence, sources = repo.rupture_counts(conn, weeks, Polarity.EVIDENCE)
        doubts, _ = repo.rupture_counts(conn, weeks, Polarity.COUNTER)
        first = repo.first_evidence_weeks(conn, Polarity.EVIDENCE)
        counts = WeeklyCounts(analysed=analysed, evidence=evidence, sources=sources, doubts=doubts,
                              first_evidence_week={r: first.get(r) for r in rupture_ids},
                              history_start=repo.first_analysed_week(conn))
        scores = score_week(counts, week, rupture_ids, params)
        trend = score_weeks(counts, [*previous_weeks(week, TREND_WEEKS - 1), week], rupture_ids, params)
        by_id = {s.rupture_id: s for s in scores}
        ruptures = []
        for score in scores:
            r = ruleset.scenarios.rupture(score.rupture_id)
            ev = repo.counted_articles(conn, r.id, week, Polarity.EVIDENCE)
            counter = repo.counted_articles(conn, r.id, week, Polarity.COUNTER)
            announced = repo.matched_articles(conn, r.id, week, [str(ItemKind.ANNOUNCER)])
            activity: Counter[str] = Counter()
            for a in ev + counter:
                activity.update(set(a.item_ids))
            items = tuple(
                ItemActivity(item_id=i, label=ruleset.item_by_id[i].label, kind=str(ruleset.item_by_id[i].kind),
                             articles=n)
                for i, n in sorted(activity.items(), key=lambda kv: (-kv[1], kv[0])) if i in ruleset.item_by_id)
            names = sorted({ruleset.item_by_id[i].label for a in announced for i in a.item_ids
                            if i in ruleset.item_by_id})
            ruptures.append(DigestRupture(
                id=r.id, title=r.title, summary=r.summary, score=by_id[r.id], items=items,
                articles=_articles(conn, ev, ruleset),
                counter_evidence=_articles(conn, counter, ruleset),
                announcers=tuple(names),
                entities=tuple(repo.entity_counts(conn, [a.article_id for a in ev])),
                trend=tuple(chart_week(s) for s in trend[r.id])))

        digest = Digest(week=week, start=start, end=end, generated_at=now, ruleset_version=ruleset.version, params=params,
                        articles_analysed=analysed.get(week, 0), sources_active=repo.active_sources(conn, week),
                        ruptures=tuple(ruptures))
    return digest, scores
