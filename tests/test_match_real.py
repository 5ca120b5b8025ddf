"""The matcher's grouped index (one lookup per distinct term length at each position) finds
exactly what the per-term scan found, in the same order, on real news: the repository's
scenarios and 5,000 terms drawn from the same texts (one to four words, many sharing a first
key, so that several terms and several lengths start at one position)."""

from __future__ import annotations

import gzip
import json
import random
from itertools import islice
from pathlib import Path

import pytest

from signals.analyse import BREAK, Analyser
from signals.config import Scenarios, load_scenarios
from signals.match import Ruleset, SentenceTerms, compile_ruleset
from signals.models import AnalysedDoc, Sentence

from .conftest import REPO, shared

ANALYSER = Analyser(entities=False)


@pytest.fixture(scope="module")
def docs() -> list[AnalysedDoc]:
    path = shared("feeds", "lemonde-rss-2022", "items_dedup.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in islice(fh, 1500)]
    texts = [(f"{r['title']}.\n{r['description']}", "fr") for r in rows if r.get("description")]
    return list(ANALYSER.analyse_many(texts))


def _drawn_terms(docs: list[AnalysedDoc], n: int) -> Scenarios:
    """``n`` phrases of 1-4 consecutive words of the texts, 5 per watch item."""
    rng = random.Random(8)
    words = [s.text.split() for d in docs for s in d.sentences]
    terms: dict[str, None] = {}
    while len(terms) < n:
        ws = rng.choice(words)
        i = rng.randrange(len(ws))
        phrase = " ".join(w.strip(".,;:!?«»()\"'") for w in ws[i : i + rng.randint(1, 4)])
        if len([k for k in ANALYSER.term_keys(phrase, "fr") if k != BREAK]) > 0:
            terms.setdefault(phrase, None)
    chunks = [list(terms)[i : i + 5] for i in range(0, n, 5)]
    watch = [{"id": f"w{i}", "label": "w", "any": c} for i, c in enumerate(chunks)]
    return Scenarios.model_validate({"ruptures": [{"id": "r", "title": "R", "watch": watch}]})


def _scan(rs: Ruleset, sentence: Sentence, language: str) -> SentenceTerms:
    """``find_terms`` as it was: every term of the first key's list compared in turn."""
    keys = sentence.keys
    found: dict[int, list[int]] = {}
    for i, k in enumerate(keys):
        for term_id, tkeys in rs.index(language).by_first.get(k, ()):
            if keys[i : i + len(tkeys)] == tkeys:
                found.setdefault(term_id, []).append(i)
    return SentenceTerms(sentence, found)


@pytest.mark.parametrize("which", ["scenarios.yaml", "5,000 drawn terms"])
def test_grouped_index_finds_what_the_scan_found_on_real_news(
    docs: list[AnalysedDoc], which: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenarios = (
        load_scenarios(Path(REPO) / "scenarios.yaml")
        if which == "scenarios.yaml"
        else _drawn_terms(docs, 5_000)
    )
    rs = compile_ruleset(scenarios, ANALYSER)
    fast = [rs.match_items(d) for d in docs]
    found = stacked = 0
    for d in docs:
        for s in d.sentences:
            new, old = rs.find_terms(s, d.language).positions, _scan(rs, s, d.language).positions
            assert list(new.items()) == list(old.items())  # same terms, positions and order
            found += len(new)
            lengths: dict[int, set[int]] = {}
            for i, _, n in rs.index(d.language).occurrences(s.keys):
                lengths.setdefault(i, set()).add(n)
            stacked += sum(len(ns) > 1 for ns in lengths.values())
    monkeypatch.setattr(rs, "find_terms", lambda s, lang: _scan(rs, s, lang))
    assert [rs.match_items(d) for d in docs] == fast
    assert found > (20 if which == "scenarios.yaml" else 5_000)
    assert sum(map(bool, fast)) > 10
    if which != "scenarios.yaml":
        assert stacked > 100  # terms of several lengths starting at one position
