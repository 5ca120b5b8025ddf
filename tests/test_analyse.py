"""Analysis: sentences and context-free keys per language (stemmed for the supported ones),
identical for a watch term and the same words in an article."""

from __future__ import annotations

import pytest

from signals.analyse import BREAK, Analyser, strip_accents
from signals.languages import SUPPORTED_LANGUAGES

ANALYSER = Analyser(entities=False)


def keys(text: str, lang: str) -> tuple[str, ...]:
    return tuple(k for s in ANALYSER.analyse(text, lang).sentences for k in s.keys)


@pytest.mark.parametrize(
    ("lang", "a", "b"),
    [
        ("fr", "monnaies locales", "MONNAIE LOCALE"),
        ("en", "universal basic incomes", "Universal Basic Income"),
        ("de", "bedingungslosen Grundeinkommens", "bedingungsloses Grundeinkommen"),
        ("es", "rentas básicas", "renta básica"),
        ("it", "redditi di cittadinanza", "reddito di cittadinanza"),
    ],
)
def test_inflections_share_keys_in_every_supported_language(lang: str, a: str, b: str) -> None:
    assert lang in SUPPORTED_LANGUAGES
    assert ANALYSER.term_keys(a, lang) == ANALYSER.term_keys(b, lang) == keys(a, lang)


def test_unsupported_language_is_not_stemmed() -> None:
    assert ANALYSER.term_keys("Grundeinkommens", "pt") == ("grundeinkommens",)
    assert ANALYSER.term_keys("Grundeinkommens", None) == ("grundeinkommens",)
    assert ANALYSER.analyse("Olá.", "pt-BR").language == "pt"
    assert ANALYSER.analyse("x", "not a language").language == "xx"


def test_function_words_elisions_hyphens_accents_and_breaks() -> None:
    assert ANALYSER.term_keys("la monnaie", "fr") == ANALYSER.term_keys("monnaie", "fr")
    assert ANALYSER.term_keys("l'ubérisation", "fr") == ANALYSER.term_keys("uberisation", "fr")
    assert ANALYSER.term_keys("Vier-Tage-Woche", "de") == ANALYSER.term_keys(
        "vier tage woche", "de"
    )
    assert BREAK in ANALYSER.term_keys("monnaie, locale", "fr")
    assert strip_accents("Éàç") == "Eac"


def test_sentences() -> None:
    doc = ANALYSER.analyse("Première phrase.  Deuxième\nphrase !", "fr")
    assert [s.text for s in doc.sentences] == ["Première phrase.", "Deuxième phrase !"]
    assert doc.entities == ()


def test_analyse_many_keeps_order_across_languages() -> None:
    items = [
        ("Eins zwei.", "de"),
        ("Un deux.", "fr"),
        ("Uno due.", "it"),
        ("Un dos.", "es"),
        ("Drei.", "de"),
    ]
    docs = list(ANALYSER.analyse_many(items, batch_size=2))
    assert [d.language for d in docs] == ["de", "fr", "it", "es", "de"]
    assert [d.sentences[0].text for d in docs] == [t for t, _ in items]


def test_strip_accents_drops_exactly_the_combining_marks_of_nfkd() -> None:
    """Over every code point: the translate table gives what filtering NFKD by
    ``unicodedata.combining`` gives (the keys of a stored analysis stay the same)."""
    import unicodedata

    from signals.analyse import strip_accents

    every = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000)
    nfkd = unicodedata.normalize("NFKD", every)
    assert strip_accents(every) == "".join(c for c in nfkd if not unicodedata.combining(c))
    assert strip_accents("Élisabeth Borne, ubérisation, ﬁn") == "Elisabeth Borne, uberisation, fin"
