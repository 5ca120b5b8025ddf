"""The matcher: case-, accent- and inflection-insensitive phrases with any / all / none /
within / context, one hit per item per article carrying its sentence."""

from __future__ import annotations

import pytest

from signals.analyse import Analyser
from signals.config import Scenarios
from signals.errors import ConfigError
from signals.match import compile_ruleset
from signals.models import ItemKind


def _ruleset(
    items: list[dict], doubts: list[dict] | None = None, announcers: list[dict] | None = None
):
    sc = Scenarios.model_validate(
        {
            "ruptures": [
                {
                    "id": "r",
                    "title": "R",
                    "watch": items,
                    "doubts": doubts or [],
                    "announcers": announcers or [],
                }
            ]
        }
    )
    return compile_ruleset(sc, ANALYSER)


ANALYSER = Analyser(entities=False)


def hits(rs, text: str, lang: str = "fr") -> dict[str, str]:
    return {h.item_id: h.sentence for h in rs.match(ANALYSER.analyse(text, lang))}


@pytest.mark.parametrize(
    "text",
    [
        "La monnaie locale de Nantes.",
        "LES MONNAIES LOCALES se portent bien.",
        "Des monnaies locales fleurissent.",
        "une monnaie locale",
        "Une monnaie-locale ?",
    ],
)
def test_inflection_case_accents(text: str) -> None:
    rs = _ruleset([{"id": "w", "label": "l", "any": ["monnaie locale"]}])
    assert "w" in hits(rs, text)


def test_accents_insensitive_both_ways() -> None:
    rs = _ruleset([{"id": "w", "label": "l", "any": ["ubérisation"]}])
    assert "w" in hits(rs, "L'uberisation du travail.")
    rs = _ruleset([{"id": "w", "label": "l", "any": ["uberisation"]}])
    assert "w" in hits(rs, "L'ubérisation du travail.")


def test_phrase_order_matters_and_no_partial_words() -> None:
    rs = _ruleset([{"id": "w", "label": "l", "any": ["monnaie locale"]}])
    assert hits(rs, "Une locale monnaie.") == {}
    assert hits(rs, "La monnaie unique et la presse locale.") == {}


def test_all_within_none_context() -> None:
    rs = _ruleset(
        [
            {"id": "all", "label": "l", "all": ["école", "fermeture"], "within": 5},
            {"id": "none", "label": "l", "any": ["monnaie"], "none": ["monnaie unique"]},
            {"id": "ctx", "label": "l", "any": ["plateforme"], "context": ["livreur", "chauffeur"]},
        ]
    )
    assert "all" in hits(rs, "La fermeture de l'école est annoncée.")
    assert "all" not in hits(
        rs,
        "L'école du quartier, où les élèves de trois classes ont appris ce matin, craint la fermeture.",
    )
    assert "none" in hits(rs, "Une monnaie citoyenne.")
    assert "none" not in hits(rs, "La monnaie unique a vingt ans.")
    assert "ctx" not in hits(rs, "La plateforme pétrolière.")
    assert "ctx" in hits(rs, "La plateforme recrute. Les livreurs protestent.")


def test_min_sentences_needs_that_many_distinct_sentences_hit() -> None:
    rs = _ruleset(
        [
            {
                "id": "theme",
                "label": "l",
                "any": ["télétravail"],
                "none": ["confinement"],
                "min_sentences": 2,
            }
        ]
    )
    once = "Le télétravail progresse. La ville se vide."
    assert hits(rs, once) == {}
    # two mentions in one sentence are still one sentence
    assert hits(rs, "Le télétravail, encore le télétravail. La ville se vide.") == {}
    twice = "Le télétravail progresse. Les bureaux se vident avec le télétravail."
    assert "theme" in hits(rs, twice)
    # a sentence vetoed by ``none`` does not count towards the minimum
    vetoed = "Le télétravail progresse. Le confinement impose le télétravail."
    assert hits(rs, vetoed) == {}
    got = rs.match_items(ANALYSER.analyse(twice, "fr"))
    assert [m.sentences for m in got] == [(0, 1)]


def test_min_sentences_is_validated() -> None:
    with pytest.raises(ValueError, match="min_sentences"):
        _ruleset([{"id": "w", "label": "l", "any": ["x"], "min_sentences": 0}])


def test_english_terms_in_english_and_french_text() -> None:
    rs = _ruleset([{"id": "w", "label": "l", "any": ["sharing economy"]}])
    assert "w" in hits(rs, "The sharing economy keeps growing.", "en")
    assert "w" in hits(rs, "La « sharing economy » arrive en France.", "fr")


def test_one_hit_per_item_with_best_sentence() -> None:
    rs = _ruleset([{"id": "w", "label": "l", "any": ["coworking", "fab lab"]}])
    text = "Un coworking ouvre. Le tiers-lieu associe un coworking et un fab lab. Fin."
    got = rs.match(ANALYSER.analyse(text, "fr"))
    assert len(got) == 1
    assert got[0].sentence == "Le tiers-lieu associe un coworking et un fab lab."
    assert got[0].kind is ItemKind.WATCH


def test_doubts_and_announcers_have_their_kinds() -> None:
    rs = _ruleset(
        [{"id": "w", "label": "l", "any": ["troc"]}],
        doubts=[{"id": "d", "label": "l", "any": ["ubérisation"]}],
        announcers=[{"id": "a", "name": "Jeremy Rifkin", "aliases": ["Rifkin"]}],
    )
    got = {
        h.item_id: h.kind
        for h in rs.match(ANALYSER.analyse("Rifkin craint l'ubérisation du troc.", "fr"))
    }
    assert got == {"w": ItemKind.WATCH, "d": ItemKind.DOUBT, "a": ItemKind.ANNOUNCER}


def test_term_of_only_function_words_is_rejected() -> None:
    with pytest.raises(ConfigError, match="normalises to nothing"):
        _ruleset([{"id": "w", "label": "l", "any": ["de la"]}])


def test_ruleset_version_changes_with_terms() -> None:
    a = _ruleset([{"id": "w", "label": "l", "any": ["troc"]}])
    b = _ruleset([{"id": "w", "label": "l", "any": ["troc", "don"]}])
    assert a.version != b.version


def test_matching_cost_does_not_depend_on_unrelated_terms() -> None:
    """Thousands of terms that share no first key with the text never get looked at."""
    many = [{"id": f"w{i}", "label": "l", "any": [f"motinconnu{i} suite"]} for i in range(3000)]
    rs = _ruleset([*many, {"id": "hit", "label": "l", "any": ["troc"]}])
    assert hits(rs, "Le troc revient.") == {"hit": "Le troc revient."}


def test_phrases_do_not_cross_punctuation_and_keep_single_letters() -> None:
    rs = _ruleset(
        [
            {"id": "w", "label": "l", "any": ["école d'entreprise"]},
            {"id": "d", "label": "l", "any": ["système D"]},
        ]
    )
    assert "w" not in hits(rs, "Les écoles, les entreprises et les mairies.")
    assert "w" in hits(rs, "Une école d’entreprise ouvre.")
    assert "d" in hits(rs, "Le système D des étudiants.")
    assert "d" not in hits(rs, "Le système de santé.")


def test_term_ranges_are_the_key_positions_of_the_items_terms() -> None:
    rs = _ruleset(
        [
            {"id": "w", "label": "l", "any": ["monnaie locale"], "none": ["euro"]},
            {"id": "v", "label": "l", "any": ["Bristol"]},
        ]
    )
    doc = ANALYSER.analyse("À Bristol, la monnaie locale et les monnaies locales.", "fr")
    keys = doc.sentences[0].keys
    ranges = rs.term_ranges(doc.sentences[0], "fr", ["w"])
    assert [rs.terms[t] for t, _, _ in ranges] == ["monnaie locale", "monnaie locale"]
    assert [keys[a:b] for _, a, b in ranges] == [("monnai", "local")] * 2
    assert [
        rs.terms[t] for t, _, _ in rs.term_ranges(doc.sentences[0], "fr", ["v", "unknown"])
    ] == ["Bristol"]
