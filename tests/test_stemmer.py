"""The C stemmer (PyStemmer) is what the matcher uses, and it gives exactly the keys of the
pure-Python Snowball port on real text (so switching did not change a single stored key)."""

from __future__ import annotations

import json
import lzma
import re

import pytest
import snowballstemmer
from snowballstemmer.english_stemmer import EnglishStemmer
from snowballstemmer.french_stemmer import FrenchStemmer

from signals.analyse import Analyser

from .conftest import shared


def test_the_c_stemmer_is_used() -> None:
    import Stemmer

    assert isinstance(snowballstemmer.stemmer("french"), Stemmer.Stemmer)
    norm = Analyser(entities=False).normaliser("fr")
    assert isinstance(norm._stemmer, Stemmer.Stemmer)


@pytest.mark.slow  # every word of the real TV news corpus
def test_same_stems_as_the_pure_python_port_on_real_news() -> None:
    path = shared("backtest", "fr-tvnews-2013-2022", "tvnews_fr2_fr3_tf1_2013_2022.jsonl.xz")
    words: set[str] = set()
    with lzma.open(path, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= 15_000:
                break
            words.update(re.findall(r"\w+", json.loads(line)["description"].lower()))
    assert len(words) > 50_000
    for lang, pure in (("french", FrenchStemmer()), ("english", EnglishStemmer())):
        c = snowballstemmer.stemmer(lang)
        diff = [w for w in words if c.stemWord(w) != pure.stemWord(w)]
        assert diff == [], (lang, diff[:10])
