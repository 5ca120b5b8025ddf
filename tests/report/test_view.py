"""The view model both templates read: every article, split into the best shown first and the
rest; the sentences cut at their spans; the chart slot."""

from __future__ import annotations

import dataclasses

from signals.report import DigestSentence
from signals.report.view import MAX_ARTICLES, article_list, article_view, digest_view, why_text

from ..test_report import article, make_digest


def test_every_article_is_kept_best_first_and_split_for_html() -> None:
    arts = [article(i) for i in range(MAX_ARTICLES + 3)]
    views = article_list(arts)
    assert views.count == len(arts)
    assert [v.n for v in views.best] == list(range(1, MAX_ARTICLES + 1))
    assert [v.article for v in views.rest] == arts[MAX_ARTICLES:]
    assert article_list(arts[:2]).rest == ()


def test_sentences_are_cut_at_their_spans_and_name_their_items() -> None:
    a = dataclasses.replace(
        article(0),
        sentences=(
            DigestSentence("Les chauffeurs ubérisés.", ((15, 23),), ("monnaies-alternatives",)),
            DigestSentence("Rien.", (), ("x",)),
        ),
    )
    v = article_view(a, 1)
    assert [s.segments for s in v.sentences] == [
        (("Les chauffeurs ", False), ("ubérisés", True), (".", False)),
        (("Rien.", False),),
    ]
    assert v.items == ("le développement des monnaies alternatives", "label") and v.numbered
    assert [s.refs for s in v.sentences] == [(1,), (2,)]


def test_items_sharing_a_label_are_named_once() -> None:
    a = dataclasses.replace(
        article(0),
        item_ids=("a", "b"),
        item_labels=("same", "same"),
        sentences=(DigestSentence("Un.", (), ("a", "b")),),
    )
    v = article_view(a, 1)
    assert v.items == ("same",) and not v.numbered
    assert v.sentences[0].refs == (1,)


def test_a_digest_without_sentences_shows_its_stored_sentence_unmarked() -> None:
    a = dataclasses.replace(article(0), sentences=())
    assert [s.segments for s in article_view(a, 1).sentences] == [((a.sentence, False),)]
    assert article_view(dataclasses.replace(a, sentence="  "), 1).sentences == ()


def test_rows_in_table_order_sections_for_moved_and_chart_slot() -> None:
    d = make_digest()
    v = digest_view(d, charts={"post-patrimonial": "<svg></svg>"})
    assert [r.n for r in v.rows] == list(range(1, 20))
    assert [r.rupture.id for r in v.moved] == [
        "post-patrimonial",
        "ville-reseau",
        "sante-connectee",
        "travail-libere",
    ]
    assert [r.rupture.id for r in v.also] == ["ecole-ouverte", "etat-plateforme"]
    assert v.rows[0].chart_svg == "<svg></svg>" and v.rows[1].chart_svg is None
    assert v.rows[0].evidence.count == len(v.rows[0].rupture.articles)


def test_why_says_when_counter_evidence_is_rising() -> None:
    d = make_digest()
    r = d.ruptures[0]
    assert "Counter-evidence is rising" not in why_text(r, d.params)
    rising = dataclasses.replace(
        r, score=dataclasses.replace(r.score, counter_rising=True, baseline_doubts=1, doubts_p=0.01)
    )
    assert "Counter-evidence is rising" in why_text(rising, d.params)
    assert "against 1 over the baseline" in why_text(rising, d.params)
