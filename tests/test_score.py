"""Weekly statistics: the exact test, the correction, statuses and the ISO-week helpers."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signals.errors import InputError
from signals.score import (
    InvalidWeekError,
    RuptureScore,
    ScoreParams,
    WeeklyCounts,
    _benjamini_hochberg,
    binomial_test_rates,
    iso_week,
    momentum_order,
    previous_weeks,
    week_bounds,
)
from signals.score import score_week as _score_week

#: The constructed cases below are written for an 8-week baseline and 3 articles for "gaining"
#: (the machinery); the shipped defaults (52 weeks, 2 articles) are checked on their own.
P8 = ScoreParams(baseline_weeks=8, min_evidence=3)


def score_week(
    counts: WeeklyCounts, week: str, ids: list[str], params: ScoreParams = P8
) -> list[RuptureScore]:
    return _score_week(counts, week, ids, params)


# --------------------------------------------------------------------------- exact test


def exact_tails(e: int, n: int, e0: int, n0: int) -> tuple[Fraction, Fraction]:
    """The same test with exact rational arithmetic: the oracle."""
    k = e + e0
    p = Fraction(n, n + n0)
    pmf = [math.comb(k, i) * p**i * (1 - p) ** (k - i) for i in range(k + 1)]
    return sum(pmf[e:], Fraction(0)), sum(pmf[: e + 1], Fraction(0))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # k=3, p=1/2: P(X>=3) = 1/8, P(X<=3) = 1
        ((3, 1, 0, 1), (Fraction(1, 8), Fraction(1))),
        # k=4, p=1/2: P(X>=2) = P(X<=2) = 11/16
        ((2, 1, 2, 1), (Fraction(11, 16), Fraction(11, 16))),
        # k=4, p=1/4: P(X>=1) = 1 - (3/4)^4 = 175/256; P(X<=1) = (81 + 108)/256
        ((1, 1, 3, 3), (Fraction(175, 256), Fraction(189, 256))),
        # k=20, p=1/2: P(X>=10) = 616666/2^20 (scipy binomtest(10, 20).pvalue greater)
        ((10, 5, 10, 5), (Fraction(616666, 2**20), Fraction(616666, 2**20))),
        # no evidence in the window at all: nothing to test
        ((0, 100, 0, 800), (Fraction(1), Fraction(1))),
        # evidence only this week, k=2, p=1/9: P(X>=2) = 1/81
        ((2, 1000, 0, 8000), (Fraction(1, 81), Fraction(1))),
        # none this week: P(X>=0) = 1, P(X<=0) = (8/9)^5
        ((0, 1000, 5, 8000), (Fraction(1), Fraction(8, 9) ** 5)),
    ],
)
def test_binomial_hand_computed(
    args: tuple[int, int, int, int], expected: tuple[Fraction, Fraction]
) -> None:
    gain, fade = binomial_test_rates(*args)
    assert gain == pytest.approx(float(expected[0]), rel=1e-12)
    assert fade == pytest.approx(float(expected[1]), rel=1e-12)


@pytest.mark.parametrize(
    "args",
    [
        (7, 1000, 16, 8000),
        (50, 1000, 100, 8000),
        (0, 1234, 77, 9876),
        (30, 700, 3, 5600),
        (120, 2000, 40, 16000),  # p_gain around 1e-80
        (5, 10, 400, 90),
    ],
)
def test_binomial_matches_exact_fractions(args: tuple[int, int, int, int]) -> None:
    gain, fade = binomial_test_rates(*args)
    exact_gain, exact_fade = exact_tails(*args)
    assert gain == pytest.approx(float(exact_gain), rel=1e-9)
    assert fade == pytest.approx(float(exact_fade), rel=1e-9)


@pytest.mark.parametrize("args", [(1, 0, 5, 100), (5, 100, 0, 0), (0, 0, 0, 0), (3, 0, 2, 0)])
def test_binomial_no_information_when_a_period_analysed_nothing(
    args: tuple[int, int, int, int],
) -> None:
    assert binomial_test_rates(*args) == (1.0, 1.0)


@pytest.mark.parametrize("args", [(-1, 10, 0, 10), (1, -10, 0, 10), (1, 10, -1, 10), (1, 1, 1, -1)])
def test_binomial_rejects_negative_counts(args: tuple[int, int, int, int]) -> None:
    with pytest.raises(ValueError):
        binomial_test_rates(*args)


def test_binomial_tiny_tail_does_not_crash() -> None:
    gain, fade = binomial_test_rates(2000, 1000, 0, 100000)
    assert 0.0 <= gain < 1e-300
    assert fade == 1.0


counts_st = st.integers(min_value=0, max_value=300)
volume_st = st.integers(min_value=0, max_value=50_000)


@settings(max_examples=300, deadline=None)
@given(e=counts_st, n=volume_st, e0=counts_st, n0=volume_st)
def test_binomial_properties(e: int, n: int, e0: int, n0: int) -> None:
    gain, fade = binomial_test_rates(e, n, e0, n0)
    assert 0.0 <= gain <= 1.0
    assert 0.0 <= fade <= 1.0
    # P(X >= e) + P(X <= e) = 1 + P(X = e)
    assert gain + fade >= 1.0 - 1e-9
    # more evidence this week: a gain is more, a fade less, significant
    gain_next, fade_next = binomial_test_rates(e + 1, n, e0, n0)
    assert gain_next <= gain * (1 + 1e-9) + 1e-300
    assert fade_next >= fade * (1 - 1e-9)
    # more evidence in the baseline: the reverse
    gain_b, fade_b = binomial_test_rates(e, n, e0 + 1, n0)
    assert gain_b >= gain * (1 - 1e-9)
    assert fade_b <= fade * (1 + 1e-9) + 1e-300


@settings(max_examples=100, deadline=None)
@given(
    e=st.integers(0, 25),
    n=st.integers(1, 60),
    e0=st.integers(0, 25),
    n0=st.integers(1, 60),
)
def test_binomial_matches_oracle_everywhere_small(e: int, n: int, e0: int, n0: int) -> None:
    gain, fade = binomial_test_rates(e, n, e0, n0)
    exact_gain, exact_fade = exact_tails(e, n, e0, n0)
    assert gain == pytest.approx(float(exact_gain), rel=1e-9, abs=1e-300)
    assert fade == pytest.approx(float(exact_fade), rel=1e-9, abs=1e-300)


def test_benjamini_hochberg_known_values() -> None:
    q = _benjamini_hochberg([0.01, 0.04, 0.03, 0.005])
    assert q == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert _benjamini_hochberg([]) == []
    assert _benjamini_hochberg([1.0, 0.9]) == pytest.approx([1.0, 1.0])


# --------------------------------------------------------------------------- ISO weeks


def test_iso_week_basic_and_year_boundaries() -> None:
    assert iso_week(datetime(2022, 2, 14, 12, tzinfo=UTC)) == "2022-W07"
    assert iso_week(datetime(2021, 1, 3, 23, 59, tzinfo=UTC)) == "2020-W53"
    assert iso_week(datetime(2021, 1, 4, tzinfo=UTC)) == "2021-W01"
    assert iso_week(datetime(2019, 12, 30, tzinfo=UTC)) == "2020-W01"
    assert iso_week(datetime(2026, 12, 31, tzinfo=UTC)) == "2026-W53"


def test_iso_week_converts_to_utc_first() -> None:
    paris_summer = timezone(timedelta(hours=2))
    # Monday 00:30 in UTC+2 is still Sunday in UTC
    assert iso_week(datetime(2022, 1, 3, 0, 30, tzinfo=paris_summer)) == "2021-W52"


def test_iso_week_refuses_naive() -> None:
    with pytest.raises(ValueError):
        iso_week(datetime(2022, 1, 3))  # noqa: DTZ001 - the point of the test


def test_week_bounds() -> None:
    start, end = week_bounds("2022-W07")
    assert start == datetime(2022, 2, 14, tzinfo=UTC)
    assert end == datetime(2022, 2, 21, tzinfo=UTC)
    assert start.tzinfo is UTC and end.tzinfo is UTC
    assert week_bounds("2020-W53") == (
        datetime(2020, 12, 28, tzinfo=UTC),
        datetime(2021, 1, 4, tzinfo=UTC),
    )
    assert week_bounds("2020-W01")[0] == datetime(2019, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "2022-W7",
        "2022-W007",
        "2022-W00",
        "2022-W54",
        "2021-W53",  # 2021 has 52 ISO weeks
        "2022W07",
        "2022-w07",
        " 2022-W07",
        "2022-W07 ",
        "2022-W07\n",
        "22-W07",
        "2022-07",
        "2022-W07-1",
        "\uff12\uff10\uff12\uff12-W07",  # full-width digits
        "2022-W\u0660\u0667",  # Arabic-Indic digits
        "0000-W01",
        None,
        202207,
    ],
)
def test_bad_week_strings(bad: object) -> None:
    with pytest.raises(ValueError):
        week_bounds(bad)  # type: ignore[arg-type]
    with pytest.raises(InputError):  # the CLI maps it to exit code 2
        previous_weeks(bad, 1)  # type: ignore[arg-type]


def test_invalid_week_error_is_both() -> None:
    assert issubclass(InvalidWeekError, ValueError)
    assert issubclass(InvalidWeekError, InputError)


def test_previous_weeks() -> None:
    assert previous_weeks("2022-W07", 3) == ["2022-W04", "2022-W05", "2022-W06"]
    assert previous_weeks("2021-W01", 2) == ["2020-W52", "2020-W53"]
    assert previous_weeks("2020-W01", 1) == ["2019-W52"]
    assert previous_weeks("2022-W07", 0) == []
    with pytest.raises(ValueError):
        previous_weeks("2022-W07", -1)


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1990, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
        max_value=datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    )
)
def test_week_helpers_agree(d: datetime) -> None:
    week = iso_week(d)
    start, end = week_bounds(week)
    assert start <= d < end
    assert start.weekday() == 0
    before = previous_weeks(week, 3)
    assert len(before) == 3 == len(set(before))
    assert before[-1] == iso_week(start - timedelta(seconds=1))
    assert sorted(before) == before  # "YYYY-Www" sorts chronologically
    assert before[-1] < week


# --------------------------------------------------------------------------- scoring

WEEK = "2022-W10"
BASE = previous_weeks(WEEK, 8)
HIST = [*previous_weeks(WEEK, 11), WEEK]
N = 1000


def build(
    evidence: dict[str, dict[str, int]],
    sources: dict[str, dict[str, int]] | None = None,
    doubts: dict[str, dict[str, int]] | None = None,
    analysed: dict[str, int] | None = None,
) -> WeeklyCounts:
    first: dict[str, str | None] = {}
    for rid, weeks in evidence.items():
        seen = sorted(w for w, c in weeks.items() if c > 0)
        first[rid] = seen[0] if seen else None
    if sources is None:
        sources = {rid: {w: min(c, 5) for w, c in weeks.items()} for rid, weeks in evidence.items()}
    return WeeklyCounts(
        analysed=analysed if analysed is not None else dict.fromkeys(HIST, N),
        evidence=evidence,
        sources=sources,
        doubts=doubts or {},
        first_evidence_week=first,
    )


def per_week(baseline: int, this_week: int) -> dict[str, int]:
    weeks = dict.fromkeys(BASE, baseline)
    weeks[WEEK] = this_week
    return weeks


def by_id(scores: list[RuptureScore]) -> dict[str, RuptureScore]:
    return {s.rupture_id: s for s in scores}


def test_statuses_on_constructed_cases() -> None:
    counts = build(
        {
            "gaining": per_week(1, 20),
            "fading": per_week(20, 0),
            "new": {WEEK: 2},
            "steady": per_week(5, 5),
            "quiet-empty": {},
            "quiet-thin": {BASE[0]: 1, WEEK: 1},
        },
        doubts={"gaining": {WEEK: 2}},
    )
    ids = ["gaining", "fading", "new", "steady", "quiet-empty", "quiet-thin"]
    scores = score_week(counts, WEEK, ids)
    assert [s.rupture_id for s in scores] == ids  # input order
    s = by_id(scores)

    g = s["gaining"]
    assert g.status == "gaining"
    assert (g.evidence, g.analysed, g.baseline_evidence, g.baseline_analysed) == (20, N, 8, 8 * N)
    assert g.rate == pytest.approx(0.02)
    assert g.baseline_rate == pytest.approx(0.001)
    assert g.rate_ratio == pytest.approx(20.0)
    assert g.direction == "up"
    assert g.p_value == pytest.approx(binomial_test_rates(20, N, 8, 8 * N)[0])
    assert g.p_value <= g.q_value < 0.05
    assert g.sources == 5 and g.doubts == 2
    assert g.confidence == "high"
    assert g.history == (0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 20)

    f = s["fading"]
    assert f.status == "fading"
    assert f.direction == "down"
    assert f.rate == 0.0 and f.rate_ratio == 0.0
    assert f.p_value == pytest.approx((8 / 9) ** 160)
    assert f.momentum < 0
    assert f.confidence == "high"  # 160 baseline articles from 5 sources a week

    n = s["new"]
    assert n.status == "new"
    assert n.rate_ratio is None  # baseline rate 0
    assert n.direction == "up"

    st_ = s["steady"]
    assert st_.status == "steady"
    assert st_.direction == "flat"
    assert st_.momentum == 0.0
    assert st_.rate_ratio == pytest.approx(1.0)
    assert st_.confidence == "medium"  # 5 articles from 5 sources, nothing significant

    for quiet in ("quiet-empty", "quiet-thin"):
        assert s[quiet].status == "quiet"
        assert s[quiet].confidence == "low"
    assert s["quiet-empty"].p_value == 1.0 and s["quiet-empty"].rate_ratio is None
    assert s["quiet-empty"].history == (0,) * 12

    order = [x.rupture_id for x in momentum_order(scores)]
    assert order[0] == "gaining"
    assert order[-1] == "fading"
    assert order.index("new") < order.index("steady")


def test_few_articles_can_never_be_gaining() -> None:
    # two articles out of nowhere are very surprising, but below min_evidence
    counts = build({"r": {BASE[0]: 1, WEEK: 2}}, analysed=dict.fromkeys(HIST, 10_000))
    counts = dataclasses.replace(counts, first_evidence_week={"r": BASE[0]})
    (s,) = score_week(
        counts, WEEK, ["r"], dataclasses.replace(P8, min_evidence=3, alpha=0.5, screen_p=0.5)
    )
    assert s.direction == "up"
    assert s.q_value < 0.5
    assert s.status == "steady"
    (s,) = score_week(
        counts, WEEK, ["r"], dataclasses.replace(P8, min_evidence=2, alpha=0.5, screen_p=0.5)
    )
    assert s.status == "gaining"


def test_fading_needs_baseline_evidence() -> None:
    counts = build({"r": {BASE[0]: 2, WEEK: 0}})
    (s,) = score_week(
        counts, WEEK, ["r"], dataclasses.replace(P8, min_evidence=3, alpha=0.99, screen_p=0.99)
    )
    assert s.direction == "down"
    assert s.status == "quiet"


def test_new_beats_gaining_and_is_only_the_first_week() -> None:
    counts = build({"r": {WEEK: 30}})
    (s,) = score_week(counts, WEEK, ["r"])
    assert s.status == "new"
    # when the first evidence was earlier, the same week is not new
    later = dataclasses.replace(counts, first_evidence_week={"r": "2019-W01"})
    (s,) = score_week(later, WEEK, ["r"])
    assert s.status == "gaining"


def test_new_falls_back_to_the_counts_when_first_week_is_unknown() -> None:
    counts = dataclasses.replace(build({"r": {WEEK: 2}}), first_evidence_week={})
    assert score_week(counts, WEEK, ["r"])[0].status == "new"
    counts = dataclasses.replace(build({"r": {BASE[3]: 1, WEEK: 2}}), first_evidence_week={})
    assert score_week(counts, WEEK, ["r"])[0].status != "new"


def test_one_article_is_never_new() -> None:
    counts = build({"r": {WEEK: 1}})
    assert score_week(counts, WEEK, ["r"])[0].status != "new"


def test_the_first_weeks_of_an_import_are_never_new() -> None:
    counts = dataclasses.replace(build({"r": {WEEK: 30}}), history_start=BASE[-2])
    assert score_week(counts, WEEK, ["r"])[0].status != "new"
    enough = dataclasses.replace(counts, history_start="2019-W01")
    assert score_week(enough, WEEK, ["r"])[0].status == "new"


def test_a_four_week_window_sums_what_one_week_cannot_show() -> None:
    # 2 evidence articles a week for 4 weeks against a baseline of 0-1: one week is not
    # significant, the 4-week window is.
    weeks = [*BASE, WEEK]
    ev = {"r": {w: 1 for w in weeks[:4]} | {w: 2 for w in weeks[-4:]}}
    counts = dataclasses.replace(build(ev), first_evidence_week={"r": "2019-W01"})
    one = score_week(counts, WEEK, ["r"], ScoreParams(baseline_weeks=4))[0]
    four = score_week(counts, WEEK, ["r"], ScoreParams(baseline_weeks=4, window_weeks=4))[0]
    assert four.evidence == 8 and one.evidence == 2
    assert four.p_value < one.p_value


def test_multiple_testing_correction_changes_the_verdict() -> None:
    # 7 this week against 16 over the 8 previous weeks: one-sided p about 0.010
    evidence = {"r": per_week(2, 7)}
    one_source = {"r": {WEEK: 1}}
    alone = score_week(build(evidence, sources=one_source), WEEK, ["r"])[0]
    assert alone.p_value == pytest.approx(0.01022, rel=1e-3)
    assert alone.q_value == pytest.approx(2 * alone.p_value)  # both directions are tested
    assert alone.status == "gaining" and alone.confidence == "medium"  # q 0.02 < alpha

    others = [f"other-{i:02d}" for i in range(18)]
    with_others = by_id(score_week(build(evidence, sources=one_source), WEEK, ["r", *others]))
    r = with_others["r"]
    assert r.p_value == alone.p_value  # the raw test does not change
    assert r.q_value == pytest.approx(38 * r.p_value)  # BH over 2 x 19 tests
    # the screening status reads the rupture's own p; the correction lowers the confidence
    assert r.status == "gaining" and r.confidence == "low"
    assert r.momentum == alone.momentum


def test_gaining_needs_the_rupture_s_own_p_under_screen_p() -> None:
    evidence = {"r": per_week(2, 7)}  # p about 0.010
    assert score_week(build(evidence), WEEK, ["r"], P8)[0].status == "gaining"
    strict = dataclasses.replace(P8, screen_p=0.005)
    assert score_week(build(evidence), WEEK, ["r"], strict)[0].status == "steady"
    with pytest.raises(ValueError, match="screen_p"):
        ScoreParams(screen_p=1.0)


def test_q_values_never_below_p_values() -> None:
    counts = build({f"r{i}": per_week(i % 4, i) for i in range(19)})
    for s in score_week(counts, WEEK, [f"r{i}" for i in range(19)]):
        assert 0.0 <= s.p_value <= s.q_value <= 1.0


def test_weeks_without_volume() -> None:
    # nothing analysed this week: rate 0, nothing testable, not "fading"
    analysed = dict.fromkeys(BASE, N)
    counts = build({"r": per_week(10, 0)}, analysed=analysed)
    (s,) = score_week(counts, WEEK, ["r"])
    assert (s.analysed, s.rate, s.p_value) == (0, 0.0, 1.0)
    assert s.status == "steady"
    # no baseline at all (first week of history)
    counts = build({"r": {WEEK: 4}}, analysed={WEEK: N})
    counts = dataclasses.replace(counts, first_evidence_week={"r": "2001-W01"})
    (s,) = score_week(counts, WEEK, ["r"])
    assert (s.baseline_analysed, s.baseline_rate, s.rate_ratio) == (0, 0.0, None)
    assert s.p_value == 1.0
    assert s.status == "steady"


def test_confidence_low_for_single_source_and_contradicted() -> None:
    one_source = build({"r": per_week(1, 20)}, sources={"r": {WEEK: 1}})
    (s,) = score_week(one_source, WEEK, ["r"])
    assert s.status == "gaining"
    assert s.confidence == "medium"  # significant, but one outlet repeating itself
    contradicted = build({"r": per_week(1, 20)}, doubts={"r": {WEEK: 25}})
    (s,) = score_week(contradicted, WEEK, ["r"])
    assert s.status == "gaining" and s.doubts == 25
    assert s.confidence == "medium"
    tiny = build({"r": per_week(1, 3)}, sources={"r": {WEEK: 1}})
    (s,) = score_week(tiny, WEEK, ["r"])
    assert s.confidence == "low"


def test_momentum_is_signed_surprise() -> None:
    counts = build({"up": per_week(1, 20), "down": per_week(20, 0)})
    s = by_id(score_week(counts, WEEK, ["up", "down"]))
    assert s["up"].momentum == pytest.approx(-math.log10(s["up"].p_value))
    assert s["down"].momentum == pytest.approx(math.log10(s["down"].p_value))


def test_momentum_finite_when_p_underflows() -> None:
    counts = build({"r": per_week(0, 900)}, analysed=dict.fromkeys(HIST, 1000))
    counts = dataclasses.replace(counts, first_evidence_week={"r": "2001-W01"})
    (s,) = score_week(counts, WEEK, ["r"])
    assert s.p_value == 0.0
    assert math.isfinite(s.momentum) and s.momentum > 300


def test_history_length_and_params() -> None:
    counts = build({"r": per_week(1, 2)})
    (s,) = score_week(counts, WEEK, ["r"], ScoreParams(history_weeks=3, baseline_weeks=2))
    assert s.history == (1, 1, 2)
    assert s.baseline_evidence == 2 and s.baseline_analysed == 2 * N


def test_score_week_rejects_bad_input() -> None:
    counts = build({})
    with pytest.raises(InvalidWeekError):
        score_week(counts, "2022-W99", ["r"])
    with pytest.raises(ValueError):
        score_week(counts, WEEK, ["r", "r"])
    with pytest.raises(ValueError):
        ScoreParams(alpha=0)
    with pytest.raises(ValueError):
        ScoreParams(baseline_weeks=0)


def test_score_week_empty() -> None:
    assert score_week(build({}), WEEK, []) == []


def test_the_tails_use_the_same_terms_as_the_binomial_pmf() -> None:
    """``_log_tails`` reads lgamma from a table: bit for bit what summing ``_log_binom_pmf``
    terms gives, over a thousand random counts."""
    import math
    import random

    from signals import score

    def by_pmf(e: int, n: int, e0: int, n0: int) -> tuple[float, float]:
        k = e + e0
        if k == 0 or n == 0 or n0 == 0:
            return 0.0, 0.0
        lp, lq = math.log(n) - math.log(n + n0), math.log(n0) - math.log(n + n0)
        terms = [score._log_binom_pmf(i, k, lp, lq) for i in range(k + 1)]
        total = score._log_sum_exp(terms)
        gain = score._log_sum_exp(terms[e:]) - total
        fade = score._log_sum_exp(terms[: e + 1]) - total
        return min(gain, 0.0), min(fade, 0.0)

    rng = random.Random(8)
    for _ in range(1000):
        args = (
            rng.randrange(300),
            rng.randrange(1, 10**5),
            rng.randrange(300),
            rng.randrange(10**6),
        )
        assert score._log_tails(*args) == by_pmf(*args), args


def test_the_shipped_defaults_are_a_weekly_test_against_a_year() -> None:
    p = ScoreParams()
    assert (p.window_weeks, p.baseline_weeks, p.min_evidence, p.screen_p) == (1, 52, 2, 0.1)
    # 3 articles this week against 1 a month over the year before: gaining at 52 weeks
    weeks = previous_weeks(WEEK, 52)
    evidence = {w: 1 for w in weeks[::4]} | {WEEK: 3}
    counts = build({"r": evidence}, analysed=dict.fromkeys([*weeks, WEEK], N))
    (s,) = _score_week(counts, WEEK, ["r"])
    assert (s.baseline_evidence, s.baseline_analysed) == (13, 52 * N)
    assert s.status == "gaining" and s.p_value < 0.1


def test_rising_counter_evidence_is_flagged_beside_the_status() -> None:
    counts = build({"r": per_week(2, 2)}, doubts={"r": {WEEK: 4}})
    (s,) = score_week(counts, WEEK, ["r"])
    assert (s.doubts, s.baseline_doubts) == (4, 0)
    assert s.counter_rising and s.doubts_p < 0.1
    calm = build({"r": per_week(2, 2)}, doubts={"r": {**dict.fromkeys(BASE, 1), WEEK: 1}})
    (c,) = score_week(calm, WEEK, ["r"])
    assert (c.baseline_doubts, c.counter_rising) == (8, False)
