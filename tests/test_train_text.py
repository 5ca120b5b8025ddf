"""Fitting the text model: per-rupture weights (evidence and counter-evidence), ruptures with too
few labels, out-of-fold scores."""

from __future__ import annotations

import random

from signals.models import Polarity
from signals.train_text import TEXT_MIN_DF, TextExample, fit_text, out_of_fold

R = "apres-chute-reseaux"


def _examples(n: int = 80) -> list[TextExample]:
    """Evidence of R when the article says 'rancon', counter-evidence when it says 'doute' (every
    fourth article); 'hopital' everywhere; my-data judged on a few."""
    rng = random.Random(5)
    out = []
    for i in range(n):
        positive = i % 2 == 0
        doubt = i % 4 == 1
        keys = ["hopital", "rancon" if positive else "doute" if doubt else "footbal"]
        keys += rng.sample(["lundi", "ville", "annonc", "jour"], 2)
        judged = {R: positive} | ({"my-data": i == 0} if i < 10 else {})
        counter = {R: doubt} | ({"my-data": False} if i < 10 else {})
        out.append(TextExample(f"https://x.org/{i}", tuple(keys), judged, counter))
    return out


def test_each_rupture_with_enough_labels_gets_weights_over_the_articles_keys() -> None:
    model = fit_text(_examples())
    assert set(model.ruptures) == {R}  # my-data: one positive only
    coef = model.ruptures[R].coef
    assert coef["rancon"] > 0 > coef["footbal"]
    assert "hopital" in model.idf  # known (it counts in the norm) ...
    assert abs(coef.get("hopital", 0.0)) < abs(coef["rancon"])  # ... but tells nothing
    about = model.score(R, model.vector(["rancon", "hopital"]))
    passing = model.score(R, model.vector(["footbal", "hopital"]))
    assert about is not None and passing is not None and about.score > 0 > passing.score


def test_counter_evidence_gets_its_own_models_over_the_same_keys() -> None:
    model = fit_text(_examples())
    assert model.counter is not None and set(model.counter) == {R}  # my-data: no positive
    assert model.counter[R].coef["doute"] > 0 > model.counter[R].coef["rancon"]
    doubt = model.score(R, model.vector(["doute", "hopital"]), counter=True)
    evidence = model.score(R, model.vector(["doute", "hopital"]))
    assert doubt is not None and evidence is not None and doubt.score > 0 > evidence.score
    assert fit_text(_examples(), counter=False).counter is None


def test_rare_keys_are_left_out() -> None:
    examples = _examples()
    examples[1] = TextExample("https://x.org/1", ("footbal", "hapax"), {R: False})
    model = fit_text(examples)
    assert "hapax" not in model.idf and TEXT_MIN_DF > 1


def test_out_of_fold_scores_every_judged_rupture_with_a_model_and_keeps_articles_whole() -> None:
    examples = _examples()
    # the same article twice (two records): both in the same fold, so the same score
    examples.append(TextExample("https://x.org/0", examples[0].keys, {R: True}, {R: False}))
    scores = out_of_fold(examples)
    n = len(examples)
    assert {k for k in scores if k[1] == R} == {(i, R, p) for i in range(n) for p in Polarity}
    for p in Polarity:
        assert scores[(0, R, p)] == scores[(n - 1, R, p)]
    ev = Polarity.EVIDENCE
    right = sum((scores[(i, R, ev)] > 0) == e.evidence[R] for i, e in enumerate(examples))
    assert right >= 0.9 * n
    ctr = Polarity.COUNTER
    right = sum((scores[(i, R, ctr)] > 0) == e.counter[R] for i, e in enumerate(examples))
    assert right >= 0.9 * n
    assert {k[2] for k in out_of_fold(examples, counter=False)} == {ev}
