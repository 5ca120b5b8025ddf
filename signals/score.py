"""Weekly statistics: is a rupture gaining evidence, and how sure are we? Pure: no I/O.

For rupture *r* and ISO week *w*:

- ``E``: distinct evidence articles in *w* (near-duplicates already collapsed upstream);
  ``N``: articles analysed in *w*; ``rate = E / N`` (0 when ``N == 0``).
- Baseline: ``E0`` and ``N0`` summed over the ``baseline_weeks`` weeks before *w* (default 8);
  ``baseline_rate = E0 / N0``; ``rate_ratio = rate / baseline_rate`` (``None`` when the baseline
  rate is 0).
- Test: the conditional exact binomial test of two Poisson rates. Given ``k = E + E0`` evidence
  articles in the whole window, under "same rate" the number falling in *w* is
  ``X ~ Binomial(k, N / (N + N0))``; ``p_gain = P(X >= E)`` and ``p_fade = P(X <= E)``, computed
  exactly in log space (:func:`math.lgamma`). ``p_value`` is the one-sided p in the direction
  observed (gain when ``rate >= baseline_rate``, fade otherwise). When either period analysed
  nothing (``N == 0`` or ``N0 == 0``) there is nothing to compare and both p-values are 1.
- Correction: Benjamini-Hochberg (false discovery rate) over the *2m* one-sided tests of the
  week (gain and fade for each of the *m* ruptures scored together). We test both directions,
  so picking the direction after looking at the data costs its factor of two instead of being
  hidden. ``q_value`` is the adjusted p in the observed direction. BH rather than Holm: the
  digest is a screening tool; we accept that about ``alpha`` of the flagged ruptures may be
  flukes in exchange for not missing weak signals, which Holm's family-wise control would.

Status, first rule that applies:

1. ``new``: ``E >= min_new_evidence`` (2), this is the first week the rupture ever had
   evidence (``first_evidence_week == w``; when that is unknown, the earliest week with
   evidence in the counts), and the store's history covers at least ``min_history_weeks`` (8)
   weeks before *w* (``history_start``): the first weeks of an import are never "new".
   Evidence counts only articles the article-level judge accepted (see ``judge.py``).
   With ``window_weeks > 1``, ``E`` and ``N`` sum the window of weeks ending at *w* and the
   baseline is the ``baseline_weeks`` before the window.
2. ``gaining``: ``E >= min_evidence``, rate above baseline and the rupture's own one-sided
   ``p_gain < screen_p`` (a screening threshold, uncorrected: the digest is there to surface weak
   signals; the confidence, from the corrected ``q``, says how strong each one is).
3. ``fading``: rate below baseline, the rupture's own ``p_fade < screen_p`` and
   ``E0 >= min_evidence``.
4. ``quiet``: ``E == 0`` and ``E0 == 0``, or ``E + E0 < min_evidence`` (too little to say).
5. ``steady``: everything else.

Beside the status, ``counter_rising``: the counter-evidence (doubts) of the window tested against
its own baseline the same way (``doubts_p``), at least ``min_evidence`` articles and
``doubts_p < screen_p``: the rupture is being contested this week, whatever its evidence does.

Confidence (in the signal of this row, not in the stability of a non-signal):

- *support* is ``E`` (for a fading rupture: ``E0``, what faded); *diffusion* is the number of
  distinct sources this week (for a fading rupture: the largest weekly number of distinct sources
  in the baseline, a lower bound on the baseline's diffusion).
- ``high``: ``q < alpha / 5`` in the observed direction, diffusion >= 3, and (when rising) fewer
  counter-evidence articles than evidence articles.
- ``medium``: not high, and either ``q < alpha``, or support >= ``min_evidence`` from at least
  2 sources.
- ``low``: everything else (one outlet, a handful of articles, nothing testable).

Momentum, the digest's sort key (descending): the signed surprise ``-log10(p_value)``, positive
when the rate is above baseline and negative when below, 0 when equal; computed from the log
tail so it stays finite when p underflows. Gaining ruptures come first, fading ones last, steady
and quiet ones in between. Ties are broken by evidence (more first), then by id
(:func:`momentum_order`).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction

from signals.errors import InputError

__all__ = [
    "InvalidWeekError",
    "RuptureScore",
    "ScoreParams",
    "WeeklyCounts",
    "binomial_test_rates",
    "confidence_rule",
    "counts_as_of",
    "iso_week",
    "momentum_order",
    "previous_weeks",
    "score_week",
    "score_weeks",
    "span_weeks",
    "week_bounds",
]

STATUSES = ("gaining", "new", "steady", "fading", "quiet")
CONFIDENCES = ("high", "medium", "low")

_WEEK_RE = re.compile(r"([0-9]{4})-W([0-9]{2})")


class InvalidWeekError(InputError, ValueError):
    """A week string that is not an existing ISO week ``YYYY-Www``.

    Both an :class:`~signals.errors.InputError` (the CLI maps it to exit code 2) and a
    :class:`ValueError` (what a pure helper is expected to raise)."""


@dataclass(frozen=True)
class ScoreParams:
    baseline_weeks: int = 52
    min_evidence: int = 2  # fewer evidence articles can never be "gaining"
    alpha: float = 0.05  # after correction: the confidence of every status
    screen_p: float = (
        0.1  # the rupture's own one-sided p: under it a rise is "gaining", a fall "fading"
    )
    history_weeks: int = 12  # sparkline length
    window_weeks: int = 1  # weeks summed into the tested window (ending with the digest week)
    min_history_weeks: int = 8  # analysed weeks needed before a rupture can be called "new"
    min_new_evidence: int = 2  # evidence articles needed for "new"

    def __post_init__(self) -> None:
        if self.window_weeks < 1:
            raise ValueError("window_weeks must be >= 1")
        if self.baseline_weeks < 1:
            raise ValueError("baseline_weeks must be >= 1")
        if self.min_evidence < 0:
            raise ValueError("min_evidence must be >= 0")
        if not 0.0 < self.alpha < 1.0:
            raise ValueError("alpha must be in (0, 1)")
        if not 0.0 < self.screen_p < 1.0:
            raise ValueError("screen_p must be in (0, 1)")
        if self.history_weeks < 1:
            raise ValueError("history_weeks must be >= 1")


@dataclass(frozen=True)
class WeeklyCounts:
    analysed: Mapping[str, int]  # ISO week "2022-W07" -> articles analysed N
    evidence: Mapping[str, Mapping[str, int]]  # rupture id -> week -> distinct evidence articles E
    sources: Mapping[str, Mapping[str, int]]  # rupture id -> week -> distinct sources among them
    doubts: Mapping[str, Mapping[str, int]]  # rupture id -> week -> counter-evidence articles
    first_evidence_week: Mapping[str, str | None]  # rupture id -> first week it ever had evidence
    history_start: str | None = None  # first week the store analysed anything (None: unknown)


@dataclass(frozen=True)
class RuptureScore:
    rupture_id: str
    week: str
    evidence: int
    analysed: int
    rate: float
    baseline_evidence: int
    baseline_analysed: int
    baseline_rate: float
    rate_ratio: float | None  # None when the baseline rate is 0 (JSON null)
    p_value: float  # one-sided, in the direction observed
    q_value: float  # Benjamini-Hochberg over the 2m one-sided tests of the week
    direction: str  # "up" | "down" | "flat"
    sources: int
    doubts: int
    status: str  # gaining | steady | fading | new | quiet
    confidence: str  # high | medium | low
    momentum: float  # sort key for the digest table, descending
    history: tuple[int, ...]  # evidence counts for the last history_weeks weeks ending at `week`
    # counter-evidence (doubts) in the window against its baseline, tested as the evidence is
    baseline_doubts: int = 0
    doubts_p: float = 1.0  # one-sided p that the counter-evidence rate rose
    counter_rising: bool = False  # >= min_evidence doubts, rate up, doubts_p < screen_p


# --------------------------------------------------------------------------- ISO weeks


def iso_week(d: datetime) -> str:
    """The ISO week of an aware datetime, in UTC: ``"2022-W07"``."""
    if d.tzinfo is None or d.utcoffset() is None:
        raise ValueError("iso_week needs a timezone-aware datetime")
    year, week, _ = d.astimezone(UTC).isocalendar()
    return f"{year:04d}-W{week:02d}"


def _week_monday(week: str) -> date:
    if not isinstance(week, str):
        raise InvalidWeekError(f"not an ISO week string: {week!r}")
    m = _WEEK_RE.fullmatch(week)
    if m is None:
        raise InvalidWeekError(f"not an ISO week (expected YYYY-Www, e.g. 2022-W07): {week!r}")
    year, num = int(m.group(1)), int(m.group(2))
    try:
        return date.fromisocalendar(year, num, 1)
    except ValueError:
        raise InvalidWeekError(f"no such ISO week: {week!r}") from None


def week_bounds(week: str) -> tuple[datetime, datetime]:
    """``[Monday 00:00 UTC, next Monday 00:00 UTC)`` of an ISO week; ValueError when invalid."""
    monday = datetime.combine(_week_monday(week), time(0), tzinfo=UTC)
    return monday, monday + timedelta(days=7)


def previous_weeks(week: str, n: int) -> list[str]:
    """The ``n`` ISO weeks before ``week``, oldest first."""
    if n < 0:
        raise ValueError("n must be >= 0")
    monday = _week_monday(week)
    out = []
    for i in range(n, 0, -1):
        year, num, _ = (monday - timedelta(weeks=i)).isocalendar()
        out.append(f"{year:04d}-W{num:02d}")
    return out


# --------------------------------------------------------------------------- the exact test


def _log_binom_pmf(i: int, k: int, log_p: float, log_q: float) -> float:
    return (
        math.lgamma(k + 1)
        - math.lgamma(i + 1)
        - math.lgamma(k - i + 1)
        + (i * log_p if i else 0.0)
        + ((k - i) * log_q if k - i else 0.0)
    )


@functools.lru_cache(maxsize=256)
def _log_factorials(k: int) -> tuple[float, ...]:
    """``lgamma(i + 1)`` for i in 0..k: a digest scores a thousand weeks of the same counts."""
    return tuple(math.lgamma(i + 1) for i in range(k + 1))


def _log_sum_exp(values: list[float]) -> float:
    top = max(values)
    if top == -math.inf:
        return -math.inf
    return top + math.log(math.fsum(math.exp(v - top) for v in values))


def _log_tails(e: int, n: int, e0: int, n0: int) -> tuple[float, float]:
    """Natural logs of ``(p_gain, p_fade)``; see :func:`binomial_test_rates`."""
    for name, value in (("e", e), ("n", n), ("e0", e0), ("n0", n0)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    k = e + e0
    if k == 0 or n == 0 or n0 == 0:
        # No evidence at all, or one period analysed nothing: nothing to compare.
        return 0.0, 0.0
    log_p = math.log(n) - math.log(n + n0)
    log_q = math.log(n0) - math.log(n + n0)
    lf = _log_factorials(k)  # the terms of _log_binom_pmf, each lgamma computed once
    terms = [
        lf[k] - lf[i] - lf[k - i] + (i * log_p if i else 0.0) + ((k - i) * log_q if k - i else 0.0)
        for i in range(k + 1)
    ]
    # Normalising by the computed total cancels the rounding shared by every term (the
    # lgamma(k + 1) part), so a tail holding all the mass comes out as exactly 1.
    log_total = _log_sum_exp(terms)
    gain = _log_sum_exp(terms[e:]) - log_total
    fade = _log_sum_exp(terms[: e + 1]) - log_total
    return min(gain, 0.0), min(fade, 0.0)


def binomial_test_rates(e: int, n: int, e0: int, n0: int) -> tuple[float, float]:
    """Conditional exact binomial test of two Poisson rates ``e/n`` (this week) vs ``e0/n0``.

    Given ``k = e + e0``, under equal rates ``X ~ Bin(k, n / (n + n0))``. Returns
    ``(p_gain, p_fade) = (P(X >= e), P(X <= e))``. Exact, summed in log space. When ``k == 0``,
    ``n == 0`` or ``n0 == 0`` there is no information and both are 1. Negative counts raise
    ValueError.
    """
    log_gain, log_fade = _log_tails(e, n, e0, n0)
    return math.exp(log_gain), math.exp(log_fade)


# --------------------------------------------------------------------------- correction


def _benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """BH-adjusted p-values (q-values), in the input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    q = [1.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        q[i] = min(running, 1.0)
    return q


# --------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class _Raw:
    rid: str
    e: int
    n: int
    e0: int
    n0: int
    direction: str
    log_gain: float
    log_fade: float


def _first_week(counts: WeeklyCounts, rid: str) -> str | None:
    first = counts.first_evidence_week.get(rid)
    if first is not None:
        return first
    weeks = [w for w, c in counts.evidence.get(rid, {}).items() if c > 0]
    return min(weeks) if weeks else None


def _weeks_between(start: str, end: str) -> int:
    return (_week_monday(end) - _week_monday(start)).days // 7


def _status(
    raw: _Raw,
    first: str | None,
    week: str,
    params: ScoreParams,
    history_start: str | None = None,
) -> str:
    enough_history = (
        history_start is None or _weeks_between(history_start, week) >= params.min_history_weeks
    )
    if raw.e >= params.min_new_evidence and enough_history and (first is None or first >= week):
        return "new"
    if (
        raw.e >= params.min_evidence
        and raw.direction == "up"
        and math.exp(raw.log_gain) < params.screen_p
    ):
        return "gaining"
    if (
        raw.direction == "down"
        and math.exp(raw.log_fade) < params.screen_p
        and raw.e0 >= params.min_evidence
    ):
        return "fading"
    if (raw.e == 0 and raw.e0 == 0) or raw.e + raw.e0 < params.min_evidence:
        return "quiet"
    return "steady"


def _confidence(
    raw: _Raw,
    q_value: float,
    sources: int,
    baseline_sources: int,
    doubts: int,
    status: str,
    params: ScoreParams,
) -> str:
    if status == "fading":
        support, diffusion = raw.e0, baseline_sources
    else:
        support, diffusion = raw.e, sources
    contradicted = raw.direction != "down" and doubts >= raw.e
    if q_value < params.alpha / 5 and diffusion >= 3 and not contradicted:
        return "high"
    if q_value < params.alpha or (support >= params.min_evidence and diffusion >= 2):
        return "medium"
    return "low"


def confidence_rule(params: ScoreParams) -> str:
    """:func:`_confidence` in words, for the digest's Method section (and the README's)."""
    return (
        f"Confidence: high when q under {params.alpha / 5:g}, from at least 3 distinct sources and "
        f"not outnumbered by counter-evidence; medium when q under {params.alpha:g} or at least "
        f"{params.min_evidence} articles from 2 or more sources; low otherwise. For a fading "
        "rupture the articles and sources judged are those that faded: the baseline's evidence "
        "and the most distinct sources of one baseline week (this week may have none)."
    )


def _momentum(direction: str, log_p: float) -> float:
    if direction == "flat":
        return 0.0
    surprise = -log_p / math.log(10) + 0.0  # + 0.0 turns -0.0 into 0.0
    return surprise if direction == "up" else -surprise


def momentum_order(scores: Sequence[RuptureScore]) -> list[RuptureScore]:
    """Scores in digest order: momentum descending, then evidence descending, then id."""
    return sorted(scores, key=lambda s: (-s.momentum, -s.evidence, s.rupture_id))


def score_week(
    counts: WeeklyCounts,
    week: str,
    rupture_ids: Sequence[str],
    params: ScoreParams = ScoreParams(),
) -> list[RuptureScore]:
    """Score every rupture in ``rupture_ids`` for ``week``; the result is in input order
    (use :func:`momentum_order` for the digest's). The multiple-testing correction runs over
    exactly these ruptures."""
    week_bounds(week)  # validates
    if len(set(rupture_ids)) != len(rupture_ids):
        raise ValueError("duplicate rupture ids")
    window = [*previous_weeks(week, params.window_weeks - 1), week]
    baseline = previous_weeks(window[0], params.baseline_weeks)
    history_weeks = [*previous_weeks(week, params.history_weeks - 1), week]
    n = sum(counts.analysed.get(w, 0) for w in window)
    n0 = sum(counts.analysed.get(w, 0) for w in baseline)

    raws: list[_Raw] = []
    for rid in rupture_ids:
        ev = counts.evidence.get(rid, {})
        e = sum(ev.get(w, 0) for w in window)
        e0 = sum(ev.get(w, 0) for w in baseline)
        # Compare the rates exactly; a period that analysed nothing has rate 0.
        now = Fraction(e, n) if n else Fraction(0)
        before = Fraction(e0, n0) if n0 else Fraction(0)
        direction = "up" if now > before else "down" if now < before else "flat"
        log_gain, log_fade = _log_tails(e, n, e0, n0)
        raws.append(_Raw(rid, e, n, e0, n0, direction, log_gain, log_fade))

    q_all = _benjamini_hochberg(
        [math.exp(r.log_gain) for r in raws] + [math.exp(r.log_fade) for r in raws]
    )
    m = len(raws)

    out: list[RuptureScore] = []
    for idx, raw in enumerate(raws):
        q_gain, q_fade = q_all[idx], q_all[m + idx]
        observed_gain = raw.direction != "down"
        log_p = raw.log_gain if observed_gain else raw.log_fade
        q_value = q_gain if observed_gain else q_fade
        rate = raw.e / raw.n if raw.n else 0.0
        baseline_rate = raw.e0 / raw.n0 if raw.n0 else 0.0
        src = counts.sources.get(raw.rid, {})
        sources = src.get(week, 0)
        baseline_sources = max((src.get(w, 0) for w in baseline), default=0)
        doubts = counts.doubts.get(raw.rid, {}).get(week, 0)
        dbt = counts.doubts.get(raw.rid, {})
        d_now = sum(dbt.get(w, 0) for w in window)
        d_base = sum(dbt.get(w, 0) for w in baseline)
        doubts_p = math.exp(_log_tails(d_now, raw.n, d_base, raw.n0)[0])
        counter_rising = (
            d_now >= params.min_evidence
            and d_now * raw.n0 > d_base * raw.n
            and doubts_p < params.screen_p
        )
        first = _first_week(counts, raw.rid)
        if first is not None and params.window_weeks > 1 and first >= window[0]:
            first = week  # first evidence inside the window: new this week
        status = _status(raw, first, week, params, counts.history_start)
        ev = counts.evidence.get(raw.rid, {})
        out.append(
            RuptureScore(
                rupture_id=raw.rid,
                week=week,
                evidence=raw.e,
                analysed=raw.n,
                rate=rate,
                baseline_evidence=raw.e0,
                baseline_analysed=raw.n0,
                baseline_rate=baseline_rate,
                rate_ratio=rate / baseline_rate if baseline_rate > 0 else None,
                p_value=math.exp(log_p),
                q_value=q_value,
                direction=raw.direction,
                sources=sources,
                doubts=doubts,
                status=status,
                confidence=_confidence(
                    raw, q_value, sources, baseline_sources, doubts, status, params
                ),
                momentum=_momentum(raw.direction, log_p),
                history=tuple(ev.get(w, 0) for w in history_weeks),
                baseline_doubts=d_base,
                doubts_p=doubts_p,
                counter_rising=counter_rising,
            )
        )
    return out


def span_weeks(params: ScoreParams) -> int:
    """How many weeks before the scored one :func:`score_week` reads."""
    return max(params.baseline_weeks + params.window_weeks - 1, params.history_weeks - 1)


def counts_as_of(
    counts: WeeklyCounts, week: str, params: ScoreParams = ScoreParams()
) -> WeeklyCounts:
    """What the store held about ``week`` and the weeks before it that :func:`score_week` reads,
    and nothing later: the digest's view of that week, with no look-ahead."""
    span = [*previous_weeks(week, span_weeks(params)), week]

    def cut(d: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
        return {r: {w: v[w] for w in span if w in v} for r, v in d.items()}

    first = {
        r: (f if f is not None and f <= week else None)
        for r, f in counts.first_evidence_week.items()
    }
    start = counts.history_start
    return WeeklyCounts(
        analysed={w: counts.analysed[w] for w in span if w in counts.analysed},
        evidence=cut(counts.evidence),
        sources=cut(counts.sources),
        doubts=cut(counts.doubts),
        first_evidence_week=first,
        history_start=None if start is None else min(start, week),
    )


def score_weeks(
    counts: WeeklyCounts,
    weeks: Sequence[str],
    rupture_ids: Sequence[str],
    params: ScoreParams = ScoreParams(),
) -> dict[str, list[RuptureScore]]:
    """Rupture id → its score for each of ``weeks`` (same order), each week scored from
    :func:`counts_as_of` that week: a timeline with no look-ahead."""
    out: dict[str, list[RuptureScore]] = {r: [] for r in rupture_ids}
    for week in weeks:
        for s in score_week(counts_as_of(counts, week, params), week, rupture_ids, params):
            out[s.rupture_id].append(s)
    return out
