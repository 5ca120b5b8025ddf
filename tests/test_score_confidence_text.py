"""The fading-confidence rule and the words that describe it (digest Method, README) agree."""

from __future__ import annotations

from pathlib import Path

from signals.score import ScoreParams, WeeklyCounts, confidence_rule, previous_weeks, score_week

REPO = Path(__file__).resolve().parents[1]
WEEK = "2022-W10"
BASE = previous_weeks(WEEK, 8)


def test_a_fading_rupture_with_no_source_this_week_can_be_high() -> None:
    counts = WeeklyCounts(
        analysed=dict.fromkeys([*previous_weeks(WEEK, 11), WEEK], 1000),
        evidence={"fading": {**dict.fromkeys(BASE, 20), WEEK: 0}},
        sources={"fading": {**dict.fromkeys(BASE, 4), WEEK: 0}},
        doubts={},
        first_evidence_week={"fading": BASE[0]},
    )
    (s,) = score_week(counts, WEEK, ["fading"])
    assert (s.status, s.confidence, s.sources) == ("fading", "high", 0)
    # ...and the text says why: the baseline's sources are what is judged
    rule = confidence_rule(ScoreParams())
    assert (
        "For a fading rupture" in rule and "baseline" in rule and "this week may have none" in rule
    )
    # with a baseline of one source a week, the same fading is not high
    counts.sources["fading"].update(dict.fromkeys(BASE, 1))  # type: ignore[attr-defined]
    (s,) = score_week(counts, WEEK, ["fading"])
    assert s.confidence == "medium"


def test_the_readme_method_states_the_same_rule() -> None:
    readme = " ".join(REPO.joinpath("README.md").read_text(encoding="utf-8").split())
    method = readme.split("### Method", 1)[1].split("## ", 1)[0]
    assert (
        "For a fading rupture the articles and sources judged are those that faded: the "
        "baseline's evidence and the most distinct sources of one baseline week"
    ) in method


def test_the_digest_method_section_states_it() -> None:
    from signals.report import render_html, render_markdown

    from .test_report import make_digest

    d = make_digest()
    rule = confidence_rule(d.params)
    assert rule in " ".join(render_markdown(d).split())
    assert "For a fading rupture" in render_html(d)
