"""The light tokenizer gives spaCy's token offsets without spaCy: checked against spaCy itself
on real Le Monde items and TV news reports and on the hard cases of its rules (elisions, hyphenated words, special
cases, URLs, whitespace)."""

from __future__ import annotations

import gzip
import json
import lzma
import re
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from signals.analyse import Analyser
from signals.tokenizer import (
    RULES_FORMAT,
    LightTokenizer,
    TokenizerRules,
    factor_alternation,
    load_rules,
    rules_from_spacy,
)

from .conftest import python_lines, shared

HARD = [
    "",
    " ",
    "  deux espaces  ",
    "L'homme d'aujourd'hui est peut-être porte-parole.",
    "Qu’en pense-t-il ? A-t-il dit « non » ?",
    "(A-t-il) [J.-C.] ; N'est-ce pas ?",
    "Les MONNAIES-LOCALES, les monnaies locales et l'ubérisation.",
    "Voir https://www.lemonde.fr/international/article/2022/03/07/x.html ou www.example.org.",
    "Le 7 mars 2022 à 14h30, 3,5 % de hausse ; 1 000 € — 12-15 ans.",
    "saut-de-ski, pet-en-l'air, faux-vampire, entr'abat, Saint-Jean-de-Luz",
    "Tabs\tand\nnewlines\n\n and   runs",
    "M. Macron, Mme Borne et St-Étienne : etc. :) :-(",
    "vis-à-vis, c'est-à-dire, aujourd’hui, Aujourd'hui, USA-Chine",
]


@cache
def _spacy(lang: str) -> Any:
    import spacy

    return spacy.blank(lang)


@cache
def _light(lang: str) -> LightTokenizer:
    return LightTokenizer(rules_from_spacy(_spacy(lang).tokenizer, lang))


def _spacy_spans(lang: str, text: str) -> list[tuple[int, int]]:
    return [(t.idx, t.idx + len(t.text)) for t in _spacy(lang).make_doc(text)]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_hard_cases_are_tokenised_as_spacy_does(lang: str) -> None:
    light = _light(lang)
    for text in HARD:
        assert light.spans(text) == _spacy_spans(lang, text), text


def _lemonde_texts(n: int) -> list[str]:
    path = shared("feeds", "lemonde-rss-2022", "items_dedup.jsonl.gz")
    out: list[str] = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            out += [d[k] for k in ("title", "description") if d.get(k)]
            if len(out) >= n:
                break
    return out


def test_real_le_monde_items_get_spacys_offsets() -> None:
    """3,000 titles and summaries, as written and as the stored sentences are (whitespace
    collapsed): every token offset is spaCy's (``fr``)."""
    light = _light("fr")
    texts = _lemonde_texts(3000)
    assert len(texts) >= 3000
    differ = [
        s
        for text in texts
        for s in (text, " ".join(text.split()))
        if light.spans(s) != _spacy_spans("fr", s)
    ]
    assert differ == []


def test_real_tv_reports_get_spacys_offsets() -> None:
    """1,500 TV news reports of 2013-2022 (longer texts, spoken style, every tenth report of the
    first 15,000): every token offset is spaCy's. Articles are analysed with the light tokenizer,
    so this is what keeps their keys spaCy's."""
    path = shared("backtest", "fr-tvnews-2013-2022", "tvnews_fr2_fr3_tf1_2013_2022.jsonl.xz")
    with lzma.open(path, "rt", encoding="utf-8") as fh:
        texts = [json.loads(line)["description"] for line in islice(fh, 0, 15_000, 10)]
    light = _light("fr")
    differ = [t for t in texts if light.spans(t) != _spacy_spans("fr", t)]
    assert len(texts) == 1_500
    assert differ == []


def test_the_factored_token_match_matches_the_same_strings() -> None:
    """spaCy's French ``token_match`` (266 alternatives, 1.4 MB) against its factored form,
    on every whitespace-separated piece of real texts and of the hard cases, and on pieces that
    each alternative's own shape accepts."""
    original = _spacy("fr").tokenizer.token_match.__self__
    factored = re.compile(factor_alternation(original.pattern), original.flags)
    assert len(factored.pattern) < len(original.pattern) / 20
    pieces = {p for t in [*HARD, *_lemonde_texts(2000)] for p in t.split()}
    pieces |= {p.strip(".,;:!?«»()\"'") for p in pieces}
    pieces |= {
        "a-sexualisé",
        "Binge-watchons",
        "contre-attaque",
        "grand'mère",
        "Aix-en-Provence",
        "pet-en-l'air",
        "rond-ponnez",
        "zig-zag",
        "yo-yo",
    }
    hits = [p for p in pieces if original.match(p)]
    assert len(hits) > 100  # the test compares real matches, not only misses
    assert [p for p in pieces if bool(original.match(p)) != bool(factored.match(p))] == []


def test_rules_are_cached_and_never_read_from_spacy_again(tmp_path: Path) -> None:
    first = load_rules("fr", tmp_path, lambda: _spacy("fr").tokenizer)
    [path] = tmp_path.glob("tokenizer-fr-*.json")

    def no_spacy() -> Any:
        raise AssertionError("spaCy asked again")

    assert load_rules("fr", tmp_path, no_spacy) == first
    path.write_text("{not json", encoding="utf-8")  # corrupt: read from spaCy again
    assert load_rules("fr", tmp_path, lambda: _spacy("fr").tokenizer) == first
    old = json.loads(path.read_text(encoding="utf-8"))
    old["format"] = RULES_FORMAT + "-old"
    path.write_text(json.dumps(old), encoding="utf-8")
    assert load_rules("fr", tmp_path, lambda: _spacy("fr").tokenizer) == first
    assert TokenizerRules.from_json(path.read_text(encoding="utf-8")) == first
    stale = tmp_path / "tokenizer-fr-0.0.1-f0-000000000000.json"
    stale.write_text("{}", encoding="utf-8")
    path.unlink()
    assert load_rules("fr", tmp_path, lambda: _spacy("fr").tokenizer) == first
    assert sorted(tmp_path.glob("tokenizer-fr-*.json")) == [path]  # the stale one is gone


def test_an_analyser_with_a_cache_gives_the_same_keys_and_spans(tmp_path: Path) -> None:
    plain, light = Analyser(entities=False), Analyser(entities=False, tokenizer_cache=tmp_path)
    for text in HARD:
        for lang in ("fr", "en", "de", None):
            assert light.key_spans(text, lang) == plain.key_spans(text, lang), text
            assert light.term_keys(text, lang) == plain.term_keys(text, lang), text


def test_with_warm_rules_key_spans_never_import_spacy(tmp_path: Path) -> None:
    """What a digest does with a warm cache: no spaCy import at all."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from signals.analyse import Analyser\n"
        f"a = Analyser(entities=False, tokenizer_cache=Path({str(tmp_path)!r}))\n"
        "print(a.key_spans(\"L'ubérisation des chauffeurs\", 'fr'))\n"
        "print('spacy' in sys.modules)\n"
    )

    cold = python_lines(code)  # reads the rules from spaCy and caches them
    assert cold[1] == "True"
    warm = python_lines(code)
    assert warm == [cold[0], "False"]
