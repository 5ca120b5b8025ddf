"""What a weekly digest holds. The pipeline fills these in from the store; the renderers only
read them. Every string that came from a feed (URLs, titles, source names, sentences, entity
names) is untrusted and is escaped by the renderers, never here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from signals.emerging import EmergingMap
from signals.report.charts import ChartWeek
from signals.score import RuptureScore, ScoreParams

#: Evidence candidates the judge rejected with at least this score are listed "near the line",
#: never counted (README, The digest: how many of them labelled news found to be evidence).
NEAR_LINE_MIN_SCORE = 0.4
NEAR_LINE_PER_RUPTURE = 3  # at most this many per rupture, best first


@dataclass(frozen=True)
class DigestSentence:
    """A sentence of the article that items hit, with what the matcher matched in it."""

    text: str
    spans: tuple[tuple[int, int], ...] = ()  # [start, end) character offsets of matched terms
    item_ids: tuple[str, ...] = ()  # the items that hit this sentence


@dataclass(frozen=True)
class DigestArticle:
    url: str
    title: str
    source: str
    published: datetime  # timezone-aware UTC
    item_ids: tuple[str, ...]  # the watch items / early signs / doubts it matched
    item_labels: tuple[str, ...]  # their labels, same order
    kinds: tuple[str, ...]  # their kinds (ItemKind values), same order
    sentence: str  # the stored sentence of its first item (``sentences`` has them all)
    terms: tuple[str, ...] = ()  # the terms found in its sentences, as written in the YAML
    score: float | None = None  # the article-level judge's probability (None: not judged)
    reasons: tuple[str, ...] = ()  # the judge's strongest reasons, e.g. "in the title +1.3"
    confirmed: bool = False  # an analyst confirmed it (``signals labels import``)
    sentences: tuple[DigestSentence, ...] = ()  # every sentence its items hit, article order


@dataclass(frozen=True)
class ItemActivity:
    item_id: str
    label: str
    kind: str  # ItemKind value: watch, early_sign, doubt, milestone, announcer
    articles: int  # distinct articles that matched it this week


@dataclass(frozen=True)
class DigestRupture:
    id: str
    title: str
    summary: str
    score: RuptureScore
    items: tuple[ItemActivity, ...]
    articles: tuple[DigestArticle, ...]  # every evidence article of the week, best first
    counter_evidence: tuple[DigestArticle, ...]  # every counted article matching its doubts
    announcers: tuple[str, ...]  # announcers mentioned around its evidence this week
    entities: tuple[tuple[str, int], ...]  # top entities around its evidence (name, count)
    trend: tuple[ChartWeek, ...] = ()  # the last TREND_WEEKS weeks as each was scored, oldest first
    emerging: EmergingMap | None = (
        None  # emerging terms of its evidence (None: no evidence in the window)
    )
    #: evidence candidates of the week the judge scored under its threshold but at least
    #: ``Digest.near_line_min_score``, best first: listed for an analyst to confirm, never counted
    near_line: tuple[DigestArticle, ...] = ()


@dataclass(frozen=True)
class Digest:
    week: str  # ISO week "2022-W07"
    start: datetime  # Monday 00:00 UTC
    end: datetime  # next Monday 00:00 UTC (exclusive)
    generated_at: datetime
    ruleset_version: str
    articles_analysed: int
    sources_active: int
    ruptures: tuple[DigestRupture, ...]  # any order; renderers sort by momentum
    params: ScoreParams = ScoreParams()  # what the scores were computed with (Method note)
    near_line_min_score: float = NEAR_LINE_MIN_SCORE  # the lowest score listed "near the line"
