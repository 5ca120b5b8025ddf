"""The article-level judge: candidates and their features, the model file, scoring and reasons."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from signals.analyse import Analyser
from signals.config import load_scenarios
from signals.errors import ConfigError
from signals.judge import (
    FEATURES,
    Candidate,
    _reason,
    accept_all,
    candidates,
    load_model,
    model_from_json,
)
from signals.match import Ruleset, compile_ruleset
from signals.models import AnalysedDoc, Polarity

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def setup() -> tuple[Analyser, object]:
    analyser = Analyser(entities=False)
    return analyser, compile_ruleset(load_scenarios(REPO / "scenarios.yaml"), analyser)


def _post_patrimonial(doc: AnalysedDoc, ruleset: Ruleset) -> Candidate:
    """The article's one post-patrimonial evidence candidate."""
    (c,) = [
        c
        for c in candidates(doc, ruleset.match_items(doc), ruleset.vocabulary(doc.language))
        if c.rupture_id == "post-patrimonial"
    ]
    return c


ABOUT = (
    "Les monnaies locales se multiplient en France.\n"
    "À Bayonne, l'eusko, monnaie locale complémentaire, circule désormais dans 800 commerces. "
    "Les monnaies locales complémentaires sont reconnues par la loi depuis 2014. "
    "D'autres villes lancent leur propre monnaie locale."
)
PASSING = (
    "Un incendie ravage un entrepôt à Lyon.\n"
    "Les pompiers sont intervenus pendant toute la nuit. Aucun blessé n'est à déplorer. "
    "Les riverains ont été évacués vers un gymnase. "
    "Le quartier, connu pour sa monnaie locale, a été bouclé. L'enquête commence."
)


def test_an_article_about_the_topic_scores_above_a_passing_mention(setup: tuple) -> None:
    analyser, ruleset = setup
    judge = load_model()
    about = analyser.analyse(ABOUT, "fr")
    passing = analyser.analyse(PASSING, "fr")
    (ja,) = [
        j
        for j in judge.judge_doc(about, ruleset.match_items(about), ruleset.vocabulary("fr"))
        if j.rupture_id == "post-patrimonial"
    ]
    (jp,) = [
        j
        for j in judge.judge_doc(passing, ruleset.match_items(passing), ruleset.vocabulary("fr"))
        if j.rupture_id == "post-patrimonial"
    ]
    assert ja.score > jp.score
    assert ja.polarity is Polarity.EVIDENCE and ja.reasons


def test_features_measure_title_lead_and_spread(setup: tuple) -> None:
    analyser, ruleset = setup
    doc = analyser.analyse(ABOUT, "fr")
    c = _post_patrimonial(doc, ruleset)
    assert set(c.features) == set(FEATURES)
    assert c.features["title"] == 1.0 and c.features["lead"] == 1.0
    assert c.features["sentences"] > c.features["title"] * 0.5
    doc = analyser.analyse(PASSING, "fr")
    c = _post_patrimonial(doc, ruleset)
    assert c.features["title"] == 0.0 and c.features["lead"] == 0.0


def test_accept_all_accepts_every_candidate(setup: tuple) -> None:
    analyser, ruleset = setup
    doc = analyser.analyse(PASSING, "fr")
    js = accept_all().judge_doc(doc, ruleset.match_items(doc), ruleset.vocabulary("fr"))
    assert js and all(j.accepted for j in js)


def test_the_shipped_model_round_trips_and_has_a_stable_version() -> None:
    m = load_model()
    again = model_from_json(m.to_json())
    assert again.version == m.version
    assert set(again.models) == set(Polarity)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format=99), "format"),
        (lambda d: d.pop("counter"), "missing the counter model"),
        (lambda d: d["evidence"]["coef"].update(bogus=1.0), "unknown feature"),
        (lambda d: d["evidence"].update(threshold="high"), "malformed evidence model"),
    ],
)
def test_a_bad_model_file_is_one_clear_error(tmp_path: Path, mutate, message: str) -> None:
    data = load_model().to_json()
    mutate(data)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=message):
        load_model(path)


def test_a_model_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text("{nope")
    with pytest.raises(ConfigError, match="not JSON"):
        load_model(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_model(tmp_path / "absent.json")


def test_headline_words_weigh_per_rupture_and_are_explained(setup: tuple) -> None:
    analyser, ruleset = setup
    doc = analyser.analyse(ABOUT, "fr")
    c = _post_patrimonial(doc, ruleset)
    assert c.title_keys == frozenset(doc.sentences[0].keys)
    key = sorted(c.title_keys)[0]
    data = load_model().to_json()
    base = model_from_json(data).judge(c)
    data["evidence"]["coef"][f"title:post-patrimonial:{key}"] = 3.0
    data["evidence"]["coef"][f"title:my-data:{key}"] = -9.0  # another rupture's word: no effect
    boosted = model_from_json(data).judge(c)
    assert boosted.score > base.score
    assert any(r.startswith(f"headline word {key!r} +3.0") for r in boosted.reasons)


def test_vocabulary_words_weigh_per_rupture_and_are_explained(setup: tuple) -> None:
    analyser, ruleset = setup
    doc = analyser.analyse(ABOUT, "fr")
    vocab = ruleset.vocabulary("fr")
    c = _post_patrimonial(doc, ruleset)
    article_keys = {k for s in doc.sentences for k in s.keys}
    assert c.vocab_keys == frozenset(article_keys) & vocab["post-patrimonial"]
    assert "eusko" in c.vocab_keys
    data = load_model().to_json()
    base = model_from_json(data).judge(c)
    data["evidence"]["coef"]["vocab:post-patrimonial:eusko"] = -4.0
    data["evidence"]["coef"]["vocab:my-data:eusko"] = 9.0  # another rupture's word: no effect
    lowered = model_from_json(data).judge(c)
    assert lowered.score < base.score
    assert any(r.startswith("vocabulary word 'eusko' -4.0") for r in lowered.reasons)


def test_numeric_features_weigh_per_rupture_and_are_explained(setup: tuple) -> None:
    analyser, ruleset = setup
    doc = analyser.analyse(ABOUT, "fr")
    c = _post_patrimonial(doc, ruleset)
    assert c.features["vocab"] > 0
    data = load_model().to_json()
    data["evidence"]["coef"] = {
        k: v for k, v in data["evidence"]["coef"].items() if not k.startswith("feature:")
    }
    base = model_from_json(data).judge(c)
    data["evidence"]["coef"]["feature:post-patrimonial:vocab"] = 5.0
    data["evidence"]["coef"]["feature:my-data:vocab"] = -9.0  # another rupture's: no effect
    boosted = model_from_json(data).judge(c)
    assert boosted.score > base.score
    added = 5.0 * c.features["vocab"]
    assert any(
        r.endswith(f"words of its vocabulary, for this rupture {added:+.1f}")
        for r in boosted.reasons
    )


def test_the_text_model_scores_the_whole_article_and_is_explained(setup: tuple) -> None:
    analyser, ruleset = setup
    doc = analyser.analyse(ABOUT, "fr")
    data = load_model().to_json()
    keys = sorted({k for s in doc.sentences for k in s.keys})
    data["text"] = {
        "idf": {k: 1.0 for k in keys},
        "ruptures": {"post-patrimonial": {"intercept": 0.0, "coef": {"eusko": 4.0}}},
    }
    data["evidence"]["coef"]["text"] = 2.0
    model = model_from_json(data)
    vocab = ruleset.vocabulary("fr")
    (c,) = [
        c
        for c in model.measure(doc, ruleset.match_items(doc), vocab)
        if c.rupture_id == "post-patrimonial"
    ]
    assert c.text > 0 and c.text_words == ("eusko",)
    base = replace(c, text=0.0, text_words=())
    assert model.judge(c).score > model.judge(base).score
    assert any(r.startswith("the article's words ('eusko')") for r in model.judge(c).reasons)
    data["text"]["ruptures"]["post-patrimonial"]["coef"]["nowhere"] = 1.0  # a key with no idf
    with pytest.raises(ConfigError, match="malformed text model"):
        model_from_json(data)


def test_counter_candidates_get_the_counter_evidence_text_models_score(setup: tuple) -> None:
    analyser, ruleset = setup
    doc = analyser.analyse(
        "Les monnaies locales se multiplient.\nÀ Paris, la mairie veut limiter les nuitées Airbnb. "
        "L'eusko circule à Bayonne.",
        "fr",
    )
    data = load_model().to_json()
    keys = sorted({k for s in doc.sentences for k in s.keys})
    data["text"] = {
        "idf": {k: 1.0 for k in keys},
        "ruptures": {"post-patrimonial": {"intercept": 0.0, "coef": {"eusko": 4.0}}},
        "counter": {"post-patrimonial": {"intercept": -0.5, "coef": {"eusko": -3.0}}},
    }
    vocab = ruleset.vocabulary("fr")

    def scores(model_data: dict) -> dict[Polarity, float]:
        model = model_from_json(model_data)
        found = model.measure(doc, ruleset.match_items(doc), vocab)
        return {c.polarity: c.text for c in found if c.rupture_id == "post-patrimonial"}

    got = scores(data)
    assert got[Polarity.EVIDENCE] > 0 > got[Polarity.COUNTER]
    # a file without the counter section: both polarities read the evidence models, as before
    old = scores({**data, "text": {k: v for k, v in data["text"].items() if k != "counter"}})
    assert old[Polarity.COUNTER] == old[Polarity.EVIDENCE] == got[Polarity.EVIDENCE]


def test_the_rupture_vocabulary_measures_how_much_the_article_speaks_it(setup: tuple) -> None:
    analyser, ruleset = setup
    vocab = ruleset.vocabulary("fr")
    assert "eusko" in vocab["post-patrimonial"]
    assert not any("eusko" in v for r, v in vocab.items() if r != "post-patrimonial")
    about, passing = analyser.analyse(ABOUT, "fr"), analyser.analyse(PASSING, "fr")
    ca = _post_patrimonial(about, ruleset)
    cp = _post_patrimonial(passing, ruleset)
    assert ca.features["vocab"] > cp.features["vocab"] > 0
    assert ca.features["vocab_title"] > 0 == cp.features["vocab_title"]
    assert 0 < cp.features["vocab_share"] < ca.features["vocab_share"] <= 1


def test_vocabulary_reasons_read_as_sentences() -> None:
    assert _reason("vocab", math.log1p(12), 2.7) == "12 words of its vocabulary +2.7"
    assert _reason("vocab_share", 0.25, 1.0) == "25% of the article's words in its vocabulary +1.0"
    assert _reason("vocab_title", math.log1p(2), 0.4) == "2 vocabulary words in the headline +0.4"
