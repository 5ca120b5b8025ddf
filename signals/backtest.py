"""Backtest: every week of a period scored as the digest would have scored it that week.

The counts of the whole period (and of the baseline weeks before it) are read from the store
once; each week is then scored from :func:`~signals.score.counts_as_of` that week, the exact view
:func:`~signals.digest.build_digest` has (articles published up to that week, the baseline from
the weeks before), so nothing published later can change a week's status. The ruleset is the
current one: run ``process`` first so that stored matches follow it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from .events import ALARMS
from .match import Ruleset
from .models import Polarity
from .score import (
    RuptureScore,
    ScoreParams,
    WeeklyCounts,
    iso_week,
    previous_weeks,
    score_weeks,
    span_weeks,
    week_bounds,
)
from .store import Store, repo

PEAK_ARTICLES = 5  # top articles listed per peak
MAX_PEAKS = 12  # per rupture, the largest ones


@dataclass(frozen=True)
class PeakArticle:
    url: str
    title: str
    source: str
    published: datetime
    score: float
    sentence: str


@dataclass(frozen=True)
class Peak:
    """A run of consecutive alarm weeks (``gaining``/``new``), shown at its busiest week."""

    rupture_id: str
    first_week: str
    last_week: str
    week: str  # the run's week with the most evidence
    status: str
    evidence: int
    articles: tuple[PeakArticle, ...]


@dataclass(frozen=True)
class RuptureHistory:
    id: str
    title: str
    scores: tuple[RuptureScore, ...]  # one per week of the backtest, oldest first
    peaks: tuple[Peak, ...]  # oldest first

    @property
    def alarms(self) -> set[str]:
        return {s.week for s in self.scores if s.status in ALARMS}

    @property
    def counter_alarms(self) -> set[str]:
        """The weeks its counter-evidence rose (``RuptureScore.counter_rising``)."""
        return {s.week for s in self.scores if s.counter_rising}


@dataclass(frozen=True)
class Backtest:
    start: date
    end: date
    weeks: tuple[str, ...]
    ruptures: tuple[RuptureHistory, ...]  # scenarios.yaml order
    ruleset_version: str
    params: ScoreParams
    generated_at: datetime

    @property
    def alarms(self) -> dict[str, set[str]]:
        return {r.id: r.alarms for r in self.ruptures}

    @property
    def counter_alarms(self) -> dict[str, set[str]]:
        return {r.id: r.counter_alarms for r in self.ruptures}


def weeks_between(start: date, end: date) -> list[str]:
    """The ISO weeks from the one holding ``start`` to the one holding ``end``, inclusive."""
    if end < start:
        raise ValueError("the end is before the start")
    last = iso_week(datetime.combine(end, time(0), UTC))
    monday = week_bounds(iso_week(datetime.combine(start, time(0), UTC)))[0]
    out = []
    while True:
        week = iso_week(monday)
        out.append(week)
        if week == last:
            return out
        monday += timedelta(weeks=1)


def import_period(
    start: date, end: date, params: ScoreParams | None = None
) -> tuple[datetime, datetime]:
    """``[from, to)``: what a backtest of ``start``..``end`` reads, its baseline weeks included."""
    params = params or ScoreParams()
    weeks = weeks_between(start, end)
    first = [*previous_weeks(weeks[0], span_weeks(params)), weeks[0]][0]
    return week_bounds(first)[0], week_bounds(weeks[-1])[1]


def load_counts(store: Store, weeks: Sequence[str], params: ScoreParams) -> WeeklyCounts:
    """The store's counts for ``weeks`` and the baseline weeks before them, read once."""
    span = [*previous_weeks(weeks[0], span_weeks(params)), *weeks]
    with store.engine.connect() as conn:
        evidence, sources = repo.rupture_counts(conn, span, Polarity.EVIDENCE)
        doubts, _ = repo.rupture_counts(conn, span, Polarity.COUNTER)
        return WeeklyCounts(
            analysed=repo.analysed_per_week(conn, span),
            evidence=evidence,
            sources=sources,
            doubts=doubts,
            first_evidence_week=dict(repo.first_evidence_weeks(conn)),
            history_start=repo.first_analysed_week(conn),
        )


def _peaks(store: Store, rupture_id: str, scores: Sequence[RuptureScore]) -> list[Peak]:
    runs: list[list[RuptureScore]] = []
    prev: str | None = None
    for s in scores:
        if s.status in ALARMS:
            if runs and prev is not None and runs[-1][-1].week == prev:
                runs[-1].append(s)
            else:
                runs.append([s])
        prev = s.week
    runs = sorted(runs, key=lambda run: -max(s.evidence for s in run))[:MAX_PEAKS]
    out = []
    with store.engine.connect() as conn:
        for run in runs:
            top = max(run, key=lambda s: (s.evidence, s.momentum))
            rows = repo.counted_articles(conn, rupture_id, top.week, Polarity.EVIDENCE)[
                :PEAK_ARTICLES
            ]
            arts = tuple(
                PeakArticle(
                    url=a.url,
                    title=a.title,
                    source=", ".join(a.sources),
                    published=a.published_at,
                    score=a.score,
                    sentence=a.sentences[0] if a.sentences else "",
                )
                for a in rows
            )
            out.append(
                Peak(
                    rupture_id, run[0].week, run[-1].week, top.week, top.status, top.evidence, arts
                )
            )
    return sorted(out, key=lambda p: p.first_week)


def run_backtest(
    store: Store,
    ruleset: Ruleset,
    start: date,
    end: date,
    now: datetime,
    params: ScoreParams | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Backtest:
    """Score every week from ``start`` to ``end`` (dates, inclusive) from the store."""
    params = params or ScoreParams()
    weeks = weeks_between(start, end)
    rupture_ids = [r.id for r in ruleset.scenarios.ruptures]
    counts = load_counts(store, weeks, params)
    by_rupture = score_weeks(counts, weeks, rupture_ids, params)
    ruptures = []
    for i, r in enumerate(ruleset.scenarios.ruptures, 1):
        scores = by_rupture[r.id]
        ruptures.append(
            RuptureHistory(r.id, r.title, tuple(scores), tuple(_peaks(store, r.id, scores)))
        )
        if progress is not None:
            progress(i, len(rupture_ids))
    return Backtest(start, end, tuple(weeks), tuple(ruptures), ruleset.version, params, now)


def week_range(first: str, last: str) -> list[str]:
    """The ISO weeks from ``first`` to ``last`` inclusive (InvalidWeekError when not weeks,
    ValueError when ``last`` is before ``first``)."""
    return weeks_between(week_bounds(first)[0].date(), week_bounds(last)[0].date())
