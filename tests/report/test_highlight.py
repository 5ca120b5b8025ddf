"""Cutting a sentence at the matcher's spans: no re-derivation, robust to bad spans."""

from __future__ import annotations

from signals.report.highlight import segments


def test_segments_cut_at_the_spans() -> None:
    text = "Les chauffeurs ubérisés manifestent."
    assert segments(text, [(15, 23)]) == (
        ("Les chauffeurs ", False),
        ("ubérisés", True),
        (" manifestent.", False),
    )
    assert segments(text, []) == ((text, False),)


def test_no_span_no_mark_even_when_a_term_is_spelled_out() -> None:
    # the old renderer re-found "monnaie locale" by folding; now only spans are marked
    assert segments("monnaie locale", ()) == (("monnaie locale", False),)


def test_whitespace_collapses_and_bad_spans_are_dropped() -> None:
    text = "  a\n\nb   c  "
    assert segments(text, [(5, 6), (9, 4), (50, 60)]) == (("a ", False), ("b", True), (" c", False))
    assert "".join(s for s, _ in segments(text, [(0, 100)])) == "a b c"
    assert segments("", [(0, 1)]) == ()
