"""Scoring against labels: counts, micro and per rupture, intervals, stream precision, floors."""

from __future__ import annotations

from pathlib import Path

import pytest

from signals.errors import InputError
from signals.eval_run import format_report
from signals.evaluate import (
    DocDecision,
    check_floors,
    evaluate,
    metric,
    new_floors,
    read_floors,
    wilson,
    worst_rupture_precision,
)
from signals.extract import compose_text
from signals.labels import Label, LabelRecord
from signals.models import Judgement, Polarity

E, C = Polarity.EVIDENCE, Polarity.COUNTER
RUPTURES = ["a", "b"]


def decision(*accepted: tuple[str, Polarity]) -> DocDecision:
    return DocDecision({(r, p): Judgement(r, p, 0.9, True, ()) for r, p in accepted}, {})


def rec(
    id_: str,
    *labels: tuple[str, Polarity],
    scope: str = "all",
    drawn_by: str = "random",
    weight: float | None = None,
) -> LabelRecord:
    return LabelRecord(
        f"https://x.org/{id_}",
        scope,
        tuple(Label(r, p) for r, p in labels),
        drawn_by=drawn_by,
        stream_weight=weight,
    )


def test_counts_per_polarity_and_rupture() -> None:
    records = [
        rec("1", ("a", E)),
        rec("2", ("a", E)),
        rec("3"),
        rec("4", ("b", C)),
        rec("5", ("b", E)),
    ]
    decisions = {
        "https://x.org/1": decision(("a", E)),  # tp
        "https://x.org/2": decision(),  # miss
        "https://x.org/3": decision(("a", E), ("b", C)),  # 2 fp
        "https://x.org/4": decision(("b", C)),  # counter tp
        "https://x.org/5": decision(("b", C)),  # counter fp + evidence miss
    }
    rep = evaluate(records, decisions, RUPTURES)
    ev, co = rep.micro["evidence"], rep.micro["counter"]
    assert (ev.tp, ev.fp, ev.fn) == (1, 1, 2)
    assert (co.tp, co.fp, co.fn) == (1, 2, 0)
    assert rep.per_rupture["evidence"]["a"].recall == 0.5
    assert {e.kind for e in rep.errors} == {"false-positive", "miss"}
    assert rep.labels == 5 and rep.missing == 0


def test_missing_articles_are_counted_not_scored() -> None:
    rep = evaluate([rec("1", ("a", E))], {}, RUPTURES)
    assert rep.missing == 1 and rep.micro["evidence"].tp == 0


def test_pairs_count_only_for_their_rupture_and_stream_precision() -> None:
    records = [
        rec("1", ("a", E), scope="a", drawn_by="matcher", weight=10.0),
        rec("2", scope="a", drawn_by="matcher", weight=10.0),
        rec("3", ("b", E), scope="b", drawn_by="matcher", weight=1.0),
    ]
    decisions = {
        "https://x.org/1": decision(("a", E), ("b", E)),
        "https://x.org/2": decision(("a", E)),
        "https://x.org/3": decision(("b", E)),
    }
    rep = evaluate(records, decisions, RUPTURES)
    assert rep.micro["evidence"].fp == 1  # article 1's "b" is out of the pair's scope
    assert rep.stream_precision["raw"] == round(2 / 3, 4)
    # a: precision 0.5 weighted 10, b: precision 1.0 weighted 1
    assert rep.stream_precision["weighted"] == round((10 * 0.5 + 1 * 1.0) / 11, 4)


def test_metric_and_wilson() -> None:
    m = metric(8, 2, 8)
    assert (m.precision, m.recall) == (0.8, 0.5) and m.f1 == round(2 * 0.8 * 0.5 / 1.3, 4)
    lo, hi = wilson(8, 10) or (0, 0)
    assert lo < 0.8 < hi and 0.4 < lo < 0.5
    assert wilson(0, 0) is None and metric(0, 0, 0).precision is None


def test_floors_check_update_and_refuse_to_lower(tmp_path: Path) -> None:
    rep = evaluate(
        [rec("1", ("a", E)), rec("2")],
        {"https://x.org/1": decision(("a", E)), "https://x.org/2": decision(("a", E))},
        RUPTURES,
    )
    assert check_floors(rep, {"evidence.precision": 0.5}) == []
    assert check_floors(rep, {"evidence.precision": 0.6}) == [
        "evidence.precision = 0.5 is below its floor 0.6"
    ]
    with pytest.raises(InputError, match="refusing to lower"):
        new_floors(rep, {"evidence.precision": 0.6}, allow_lower=False)
    assert (
        new_floors(rep, {"evidence.precision": 0.6}, allow_lower=True)["evidence.precision"] == 0.5
    )
    bad = tmp_path / "f.json"
    bad.write_text('{"floors": {"evidence.precision": "high"}}')
    with pytest.raises(InputError):
        read_floors(bad)
    bad.write_text('{"floors": {"evidence.precisoin": 0.5}}')
    with pytest.raises(InputError, match="unknown floor"):
        read_floors(bad)


def test_the_worst_rupture_precision_counts_ruptures_with_enough_labels() -> None:
    # "a": 5 labels, 3 found, 2 false positives (0.6); "b": 1 label, 0 of 1 right (too few)
    records = [rec(f"a{i}", ("a", E)) for i in range(5)] + [rec(f"n{i}") for i in range(3)]
    records.append(rec("b1", ("b", E)))
    decisions = {f"https://x.org/a{i}": decision(("a", E) if i < 3 else ("b", C)) for i in range(5)}
    decisions |= {"https://x.org/n0": decision(("a", E)), "https://x.org/n1": decision(("a", E))}
    decisions |= {"https://x.org/n2": decision(("b", E)), "https://x.org/b1": decision()}
    rep = evaluate(records, decisions, RUPTURES)
    assert rep.per_rupture["evidence"]["b"].precision == 0.0
    assert worst_rupture_precision(rep) == 0.6
    assert check_floors(rep, {"evidence.worst_rupture_precision": 0.5}) == []
    assert check_floors(rep, {"evidence.worst_rupture_precision": 0.7}) == [
        "evidence.worst_rupture_precision = 0.6 is below its floor 0.7"
    ]
    assert worst_rupture_precision(evaluate(records[5:], decisions, RUPTURES)) is None


def test_compose_text_puts_the_title_first() -> None:
    assert compose_text("Titre", "Corps.") == "Titre.\nCorps."
    assert compose_text("Titre", "Titre et corps") == "Titre et corps"
    assert compose_text("", "Corps") == "Corps"


def test_candidates_count_every_hit_of_the_labelled_polarity_even_when_the_other_wins() -> None:
    both = DocDecision(
        {
            ("a", E): Judgement("a", E, 0.9, True, ()),
            ("a", C): Judgement("a", C, 0.4, False, ()),  # a candidate, rejected
        },
        {},
    )
    records = [rec("1", ("a", C)), rec("2", ("a", E)), rec("3", ("b", C)), rec("4")]
    decisions = {
        "https://x.org/1": both,  # counter labelled: the evidence side wins, yet a candidate
        "https://x.org/2": decision(),  # evidence labelled, no hit at all
        "https://x.org/3": decision(("b", C)),
        "https://x.org/4": both,  # nothing labelled: not counted
    }
    rep = evaluate(records, decisions, RUPTURES)
    assert rep.candidates == {"evidence": [1, 0], "counter": [2, 2]}
    assert rep.micro["counter"].recall == 0.5  # the judge found one of the two


def test_recall_by_the_labels_confidence() -> None:
    def labelled(id_: str, confidence: str, pol: Polarity = E) -> LabelRecord:
        return LabelRecord(f"https://x.org/{id_}", "all", (Label("a", pol, confidence=confidence),))

    records = [
        labelled("1", "high"),
        labelled("2", "high"),
        labelled("3", "low"),
        labelled("4", "low"),
        labelled("5", "low", C),
    ]
    decisions = {
        "https://x.org/1": decision(("a", E)),  # found
        "https://x.org/2": decision(),  # missed
        "https://x.org/3": decision(("a", C)),  # the wrong polarity: missed
        "https://x.org/4": decision(),
        "https://x.org/5": decision(("a", C)),
    }
    rep = evaluate(records, decisions, RUPTURES)
    assert rep.by_confidence == {
        "evidence": {"high": [2, 1], "low": [2, 0]},
        "counter": {"low": [1, 1]},
    }
    assert rep.to_json()["by_confidence"] == rep.by_confidence
    text = format_report(rep, "t", 0)
    assert "recall by the label's confidence: high 1 of 2 (0.500), low 0 of 2 (0.000)" in text
    assert "recall by the label's confidence: low 1 of 1 (1.000)" in text


def test_the_report_lists_false_positives_and_misses_under_their_headings() -> None:
    records = [rec("1"), rec("2", ("a", E))]
    decisions = {"https://x.org/1": decision(("a", E)), "https://x.org/2": decision()}
    text = format_report(evaluate(records, decisions, RUPTURES), "t", 10)
    assert "\nfalse positives (first 1):\n  a evidence (label: none)" in text
    assert "\nmisses (first 1):\n  a evidence (label: evidence) no candidate" in text


def test_recall_by_guide_bullet_counts_labelled_hit_and_found() -> None:
    def labelled(id_: str, bullet: str | None, pol: Polarity = E) -> LabelRecord:
        return LabelRecord(f"https://x.org/{id_}", "all", (Label("a", pol, bullet=bullet),))

    rejected = DocDecision({("a", E): Judgement("a", E, 0.2, False, ())}, {})
    records = [
        labelled("1", "E10"),
        labelled("2", "E2"),
        labelled("3", "E2"),
        labelled("4", None),
        labelled("5", "C1", C),
    ]
    decisions = {
        "https://x.org/1": decision(("a", E)),  # found
        "https://x.org/2": rejected,  # a candidate the judge turned down
        "https://x.org/3": decision(),  # no hit at all
        "https://x.org/4": decision(("a", E)),
        "https://x.org/5": decision(),
    }
    rep = evaluate(records, decisions, RUPTURES)
    assert rep.by_bullet == {
        "evidence": {"a ?": [1, 1, 1], "a E2": [2, 1, 0], "a E10": [1, 1, 1]},
        "counter": {"a C1": [1, 0, 0]},
    }
    assert list(rep.by_bullet["evidence"]) == ["a ?", "a E2", "a E10"]  # E10 after E2
    assert rep.to_json()["by_bullet"] == rep.by_bullet
    assert "by guide bullet" not in format_report(rep, "t", 0)
    text = format_report(rep, "t", 0, by_bullet=True)
    assert "  a E2                                  2     1      0" in text
    assert "  a C1                                  1     0      0" in text
