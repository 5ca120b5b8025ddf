"""The text model at scoring time: TF-IDF in plain Python, scikit-learn's weighting, the file."""

from __future__ import annotations

import math

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from signals.text_model import RuptureText, TextModel, text_model_from_json

DOCS = [
    ["rancon", "hopital", "rancon", "chiffr"],
    ["footbal", "match", "hopital"],
    ["rancon", "pirat", "match", "match", "match"],
]


def _identity(keys: list[str]) -> list[str]:
    return keys


def test_the_vector_is_scikit_learns_sublinear_tfidf() -> None:
    vec = TfidfVectorizer(analyzer=_identity, sublinear_tf=True)
    x = vec.fit_transform(DOCS)
    names = [str(n) for n in vec.get_feature_names_out()]
    model = TextModel(dict(zip(names, map(float, vec.idf_), strict=True)), {})
    for row, doc in enumerate(DOCS):
        expected = {names[j]: float(x[row, j]) for j in x[row].nonzero()[1]}
        got = model.vector([*doc, "unknown-key"])  # keys the model does not know are left out
        assert got.keys() == expected.keys()
        assert all(math.isclose(got[k], expected[k], rel_tol=1e-9) for k in got)
    assert model.vector(["unknown-key"]) == {}


def test_the_score_is_the_linear_logit_and_names_the_words_that_raised_it() -> None:
    model = TextModel(
        {"rancon": 2.0, "chiffr": 1.0, "footbal": 1.5},
        {"apres-chute-reseaux": RuptureText(-1.0, {"rancon": 3.0, "chiffr": 1.0, "footbal": -2.0})},
    )
    vector = model.vector(["rancon", "chiffr", "footbal"])
    s = model.score("apres-chute-reseaux", vector)
    assert s is not None
    expected = -1.0 + 3.0 * vector["rancon"] + 1.0 * vector["chiffr"] - 2.0 * vector["footbal"]
    assert math.isclose(s.score, expected)
    assert s.words == ("rancon", "chiffr")  # the positive contributions, strongest first
    assert model.score("my-data", vector) is None  # no model for that rupture


def test_the_file_round_trips_and_refuses_weights_without_idf() -> None:
    model = TextModel({"rancon": 2.0}, {"apres-chute-reseaux": RuptureText(-1.0, {"rancon": 3.0})})
    assert text_model_from_json(model.to_json()) == model
    data = model.to_json()
    data["ruptures"]["apres-chute-reseaux"]["coef"]["chiffr"] = 1.0
    with pytest.raises(ValueError, match="no idf"):
        text_model_from_json(data)
    with pytest.raises(KeyError):
        text_model_from_json({"ruptures": {}})


def test_counter_evidence_models_score_counter_candidates_and_old_files_fall_back() -> None:
    ev = {"apres-chute-reseaux": RuptureText(-1.0, {"rancon": 3.0})}
    ctr = {"apres-chute-reseaux": RuptureText(0.5, {"rancon": -2.0})}
    model = TextModel({"rancon": 2.0}, ev, ctr)
    vector = model.vector(["rancon"])
    got = model.score("apres-chute-reseaux", vector, counter=True)
    assert got is not None and math.isclose(got.score, 0.5 - 2.0)
    assert text_model_from_json(model.to_json()) == model
    # a file from before the counter-evidence models: counter candidates get the evidence score
    old = text_model_from_json({k: v for k, v in model.to_json().items() if k != "counter"})
    assert old.counter is None
    fallback = old.score("apres-chute-reseaux", vector, counter=True)
    assert fallback is not None and math.isclose(fallback.score, -1.0 + 3.0)
    # with a counter section, a rupture without a counter model has no counter score
    assert TextModel({"rancon": 2.0}, ev, {}).score("apres-chute-reseaux", vector, True) is None
    data = model.to_json()
    data["counter"]["apres-chute-reseaux"]["coef"]["chiffr"] = 1.0
    with pytest.raises(ValueError, match="counter-evidence text model of apres-chute-reseaux"):
        text_model_from_json(data)
