"""Content words: spaCy's stop-word lists, read without importing spaCy."""

from __future__ import annotations

import pytest

from signals.keyness import _spacy_stop_words, stopwords, word_forms

from .conftest import python_lines


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_stop_words_are_spacys_lists(lang: str) -> None:
    import importlib

    module = importlib.import_module(f"spacy.lang.{lang}.stop_words")
    assert _spacy_stop_words(lang) == frozenset(module.STOP_WORDS)
    assert "pour" in stopwords("fr") and "the" in stopwords("en")


def test_reading_the_stop_words_does_not_import_spacy() -> None:
    """Importing ``spacy.lang.fr.stop_words`` runs ``spacy/lang/fr/__init__.py``, whose
    tokenizer exceptions cost seconds: the digest's emerging terms read the file instead."""
    code = (
        "import sys\n"
        "from signals.keyness import word_forms\n"
        "print(sorted(word_forms('Pour la monnaie locale des villes', 'fr')))\n"
        "print('spacy' in sys.modules)\n"
    )
    out = python_lines(code)
    assert out == ["['locale', 'monnaie', 'villes']", "False"]


def test_word_forms_keep_the_first_spelling_of_each_content_word() -> None:
    assert word_forms("Ubérisation : l'UBÉRISATION des chauffeurs, uberisation", "fr") == {
        "uberisation": "ubérisation",
        "chauffeurs": "chauffeurs",
    }
