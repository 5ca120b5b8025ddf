"""Assemble one week's digest from the store: counts → scores → best articles → report model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection

from .emerging import (
    BACKGROUND_MAX,
    Background,
    EmergingMap,
    EmergingParams,
    clean_entities,
    emerging_map,
    watch_keys,
)
from .match import Ruleset
from .models import AnalysedDoc, ItemKind, Polarity, Sentence
from .report.charts import chart_week
from .report.model import (
    NEAR_LINE_MIN_SCORE,
    NEAR_LINE_PER_RUPTURE,
    Digest,
    DigestArticle,
    DigestRupture,
    DigestSentence,
    ItemActivity,
)
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
from .store import emerging as emerging_store

TREND_WEEKS = 52  # the chart of each rupture


def last_complete_week(now: datetime) -> str:
    """The ISO week that ended most recently before ``now``."""
    return iso_week(now - timedelta(days=7))


def _item_activity(
    articles: Sequence[repo.MatchedArticle], ruleset: Ruleset
) -> tuple[ItemActivity, ...]:
    """The items that fired, with the distinct articles each matched. Items of one kind that
    share a label (several nets written for one seed bullet) are one line, so the digest never
    lists the same bullet twice; ``item_id`` then joins their ids with ``+``."""
    groups: dict[tuple[str, str], tuple[set[str], set[int]]] = {}
    for a in articles:
        for i in set(a.item_ids):
            item = ruleset.item_by_id.get(i)
            if item is None:
                continue
            ids, seen = groups.setdefault((str(item.kind), item.label), (set(), set()))
            ids.add(i)
            seen.add(a.article_id)
    items = [
        ItemActivity(item_id="+".join(sorted(ids)), label=label, kind=kind, articles=len(seen))
        for (kind, label), (ids, seen) in groups.items()
    ]
    return tuple(sorted(items, key=lambda i: (-i.articles, i.item_id)))


def _articles(
    conn: Connection, rows: list[repo.MatchedArticle], ruleset: Ruleset
) -> tuple[DigestArticle, ...]:
    """Every article of ``rows`` (best first), each with every sentence its items hit and the
    spans the matcher matched in them (recomputed from the stored analysis)."""
    stored = {s.article_id: s for s in repo.stored_analyses(conn, [a.article_id for a in rows])}
    out = []
    for a in rows:
        labels = tuple(
            ruleset.item_by_id[i].label if i in ruleset.item_by_id else i for i in a.item_ids
        )
        analysis = stored.get(a.article_id)
        doc = (
            None
            if analysis is None
            else AnalysedDoc(
                analysis.language,
                tuple(Sentence(text, tuple(keys.split())) for text, keys in analysis.sentences),
            )
        )
        found = matched_sentences(
            ruleset,
            doc,
            a.item_ids,
            a.language or "xx",
            fallback=dict(zip(a.item_ids, a.sentences, strict=True)),
        )
        out.append(
            DigestArticle(
                url=a.url,
                title=a.title,
                source=", ".join(a.sources),
                published=a.published_at,
                item_ids=a.item_ids,
                item_labels=labels,
                kinds=a.kinds,
                sentence=a.sentences[0],
                terms=tuple(dict.fromkeys(t for s in found for t in s.terms)),
                score=a.score,
                reasons=a.reasons,
                confirmed=a.verdict == "confirmed",
                sentences=tuple(DigestSentence(s.text, s.spans, s.item_ids) for s in found),
            )
        )
    return tuple(out)


def _rupture_terms(ruleset: Ruleset, rupture_id: str) -> list[str]:
    """Every term of a rupture's items (what "in the watch list" compares with)."""
    out: list[str] = []
    for _, item in ruleset.scenarios.rupture(rupture_id).all_items():
        for name in ("any", "all", "context", "aliases"):
            out += [str(v) for v in getattr(item, name, None) or ()]
        announcer = getattr(item, "name", None)
        if isinstance(announcer, str):
            out.append(announcer)
    return out


def _emerging(
    conn: Connection,
    ruleset: Ruleset,
    window: list[str],
    window_ev: dict[str, list[tuple[int, str]]],
    params: EmergingParams,
) -> tuple[Background, dict[str, EmergingMap]]:
    """The window's background and every rupture's map (ruptures with evidence in it)."""
    background = Background(emerging_store.background_docs(conn, window, BACKGROUND_MAX))
    # every rupture's evidence read once (an article is often evidence of several)
    loaded = {
        d.article_id: d
        for d in emerging_store.evidence_docs(
            conn, sorted({row for rows in window_ev.values() for row in rows})
        )
    }
    maps = {}
    for r in ruleset.scenarios.ruptures:
        rows = window_ev.get(r.id)
        if not rows:
            continue
        docs = [loaded[aid] for aid, _ in rows if aid in loaded]
        language = docs[0].language if docs else "fr"
        m = emerging_map(
            docs, background, window, watch_keys(_rupture_terms(ruleset, r.id), language), params
        )
        if m is not None:
            maps[r.id] = m
    return background, maps


def build_digest(
    store: Store,
    ruleset: Ruleset,
    week: str,
    now: datetime,
    params: ScoreParams | None = None,
    entities: Callable[[list[int]], None] | None = None,
    emerging: EmergingParams | None = None,
    near_line_min_score: float = NEAR_LINE_MIN_SCORE,
) -> tuple[Digest, list[RuptureScore]]:
    """The week's digest; ``entities`` is called with the evidence article ids first (this
    week's, then the emerging-terms window's), so that their named entities are computed
    (lazily, once) before they are counted. ``emerging``: the emerging-terms window.
    ``near_line_min_score``: the evidence candidates the judge rejected with at least this score
    are listed "near the line" (``NEAR_LINE_PER_RUPTURE`` per rupture; above 1: none)."""
    params = params or ScoreParams()
    emerging = emerging or EmergingParams()
    start, end = week_bounds(week)
    span = span_weeks(params) + TREND_WEEKS - 1  # every chart week with its own baseline
    weeks = [*previous_weeks(week, span), week]
    window = [*previous_weeks(week, emerging.weeks - 1), week]
    rupture_ids = [r.id for r in ruleset.scenarios.ruptures]
    with store.engine.connect() as conn:
        window_ev = emerging_store.window_evidence(conn, window)
        ids = (
            repo.counted_article_ids(conn, week, Polarity.EVIDENCE) if entities is not None else []
        )
    if entities is not None:
        entities(
            list(
                dict.fromkeys([*ids, *sorted({a for rows in window_ev.values() for a, _ in rows})])
            )
        )
    with store.engine.connect() as conn:
        analysed = repo.analysed_per_week(conn, weeks)
        evidence, sources = repo.rupture_counts(conn, weeks, Polarity.EVIDENCE)
        doubts, _ = repo.rupture_counts(conn, weeks, Polarity.COUNTER)
        first = repo.first_evidence_weeks(conn, Polarity.EVIDENCE)
        counts = WeeklyCounts(
            analysed=analysed,
            evidence=evidence,
            sources=sources,
            doubts=doubts,
            first_evidence_week={r: first.get(r) for r in rupture_ids},
            history_start=repo.first_analysed_week(conn),
        )
        scores = score_week(counts, week, rupture_ids, params)
        trend = score_weeks(
            counts, [*previous_weeks(week, TREND_WEEKS - 1), week], rupture_ids, params
        )
        by_id = {s.rupture_id: s for s in scores}
        background, maps = _emerging(conn, ruleset, window, window_ev, emerging)
        ev_ids = repo.counted_week(conn, week, Polarity.EVIDENCE)
        counter_ids = repo.counted_week(conn, week, Polarity.COUNTER)
        near_ids = repo.near_line_week(
            conn, week, Polarity.EVIDENCE, near_line_min_score, NEAR_LINE_PER_RUPTURE
        )
        ruptures = []
        for score in scores:
            r = ruleset.scenarios.rupture(score.rupture_id)
            ev = repo.counted_articles(conn, r.id, week, Polarity.EVIDENCE, ev_ids.get(r.id, []))
            counter = repo.counted_articles(
                conn, r.id, week, Polarity.COUNTER, counter_ids.get(r.id, [])
            )
            announced = repo.matched_articles(conn, r.id, week, [str(ItemKind.ANNOUNCER)])
            items = _item_activity(ev + counter, ruleset)
            near = repo.counted_articles(
                conn, r.id, week, Polarity.EVIDENCE, near_ids.get(r.id, [])
            )
            names = sorted(
                {
                    ruleset.item_by_id[i].label
                    for a in announced
                    for i in a.item_ids
                    if i in ruleset.item_by_id
                }
            )
            ruptures.append(
                DigestRupture(
                    id=r.id,
                    title=r.title,
                    summary=r.summary,
                    score=by_id[r.id],
                    items=items,
                    articles=_articles(conn, ev, ruleset),
                    counter_evidence=_articles(conn, counter, ruleset),
                    announcers=tuple(names),
                    entities=tuple(
                        clean_entities(
                            repo.entity_counts(conn, [a.article_id for a in ev], limit=50),
                            background,
                        )
                    ),
                    trend=tuple(chart_week(s) for s in trend[r.id]),
                    emerging=maps.get(r.id),
                    near_line=_articles(conn, near, ruleset),
                )
            )

        digest = Digest(
            week=week,
            start=start,
            end=end,
            generated_at=now,
            ruleset_version=ruleset.version,
            params=params,
            articles_analysed=analysed.get(week, 0),
            sources_active=repo.active_sources(conn, week),
            ruptures=tuple(ruptures),
            near_line_min_score=near_line_min_score,
        )
    return digest, scores
