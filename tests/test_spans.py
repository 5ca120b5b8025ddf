"""Matched spans: the character offsets of what the matcher matched, recomputed from the
stored analysis, so the digest highlights exactly that (a stem, an inflection, an accent)."""

from __future__ import annotations

from signals.analyse import Analyser
from signals.config import Scenarios
from signals.match import Ruleset, compile_ruleset
from signals.spans import matched_sentences, merge_spans, sentence_spans

ANALYSER = Analyser(entities=False)


def ruleset(watch: list[dict], doubts: list[dict] | None = None) -> Ruleset:
    sc = Scenarios.model_validate(
        {"ruptures": [{"id": "r", "title": "R", "watch": watch, "doubts": doubts or []}]}
    )
    return compile_ruleset(sc, ANALYSER)


def marked(text: str, spans: tuple[tuple[int, int], ...]) -> list[str]:
    return [text[a:b] for a, b in spans]


def test_an_inflected_form_the_matcher_found_is_the_span() -> None:
    rs = ruleset([{"id": "w", "label": "l", "any": ["ubérisation"]}])
    text = "Les chauffeurs ubérisés manifestent à Paris."
    found = sentence_spans(rs, text, "fr", ["w"])
    assert marked(text, found.spans) == ["ubérisés"]
    assert found.terms == ("ubérisation",)


def test_phrases_span_their_tokens_and_only_the_items_terms() -> None:
    rs = ruleset(
        [
            {"id": "w", "label": "l", "any": ["monnaie locale"]},
            {"id": "v", "label": "l", "any": ["Bristol"]},
        ]
    )
    text = "À Bristol, les MONNAIES-LOCALES et les monnaies locales se développent."
    assert marked(text, sentence_spans(rs, text, "fr", ["w"]).spans) == [
        "MONNAIES-LOCALES",
        "monnaies locales",
    ]
    assert marked(text, sentence_spans(rs, text, "fr", ["v"]).spans) == ["Bristol"]
    assert sentence_spans(rs, text, "fr", []).spans == ()


def test_every_sentence_an_item_hits_in_article_order_from_the_stored_analysis() -> None:
    rs = ruleset(
        [
            {"id": "w", "label": "l", "any": ["monnaie locale"]},
            {"id": "x", "label": "l", "all": ["école", "fermeture"], "within": 5},
        ],
        doubts=[{"id": "d", "label": "l", "any": ["troc"]}],
    )
    doc = ANALYSER.analyse(
        "La monnaie locale progresse. Il pleut. La fermeture de l'école inquiète. "
        "Les monnaies locales encore. Le troc aussi.",
        "fr",
    )
    found = matched_sentences(rs, doc, ["w", "x"], "fr")
    assert [s.index for s in found] == [0, 2, 3]
    assert [s.item_ids for s in found] == [("w",), ("x",), ("w",)]
    assert marked(found[1].text, found[1].spans) == ["fermeture", "école"]
    # the doubt was not asked for: its sentence is not listed
    assert all("troc" not in s.text for s in found)


def test_an_item_the_ruleset_no_longer_finds_keeps_its_stored_sentence() -> None:
    rs = ruleset([{"id": "w", "label": "l", "any": ["monnaie locale"]}])
    doc = ANALYSER.analyse("Rien à voir.", "fr")
    found = matched_sentences(rs, doc, ["gone"], "fr", fallback={"gone": "Une phrase stockée."})
    assert [(s.text, s.spans, s.item_ids) for s in found] == [
        ("Une phrase stockée.", (), ("gone",))
    ]
    # and without a stored analysis, the stored sentence is still highlighted
    found = matched_sentences(rs, None, ["w"], "fr", fallback={"w": "Des monnaies locales."})
    assert marked(found[0].text, found[0].spans) == ["monnaies locales"]


def test_merge_spans_clips_sorts_and_merges() -> None:
    assert merge_spans([(5, 9), (0, 2), (1, 3), (8, 12), (20, 30), (4, 4), (7, 6)], 15) == (
        (0, 3),
        (5, 12),
    )
    assert merge_spans([(-5, 2)], 10) == ((0, 2),)


def test_key_spans_give_each_key_the_offsets_of_its_token() -> None:
    text = "L'ubérisation des monnaies-locales, enfin."
    located = ANALYSER.key_spans(text, "fr")
    assert [(k, text[a:b]) for k, a, b in located] == [
        ("uberis", "ubérisation"),
        ("monnai", "monnaies"),
        ("local", "locales"),
        ("|", ","),
        ("enfin", "enfin"),
        ("|", "."),
    ]
    assert tuple(k for k, _, _ in located) == ANALYSER.term_keys(text, "fr")
