"""Fitting the text model: per-rupture weights, ruptures with too few labels, out-of-fold scores."""

from __future__ import annotations

import random

from signals.train_text import TEXT_MIN_DF, TextExample, fit_text, out_of_fold

R = "apres-chute-reseaux"


def _examples(n: int = 80) -> list[TextExample]:
    """Evidence of R when the article says 'rancon'; 'hopital' everywhere; my-data judged on a few."""
    rng = random.Random(5)
    out = []
    for i in range(n):
        positive = i % 2 == 0
        keys = ["hopital", "rancon" if positive else "footbal"] + rng.sample(
            ["lundi", "ville", "annonc", "jour"], 2
        )
        judged = {R: positive} | ({"my-data": i == 0} if i < 10 else {})
        out.append(TextExample(f"https://x.org/{i}", tuple(keys), judged))
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


def test_rare_keys_are_left_out() -> None:
    examples = _examples()
    examples[1] = TextExample("https://x.org/1", ("footbal", "hapax"), {R: False})
    model = fit_text(examples)
    assert "hapax" not in model.idf and TEXT_MIN_DF > 1


def test_out_of_fold_scores_every_judged_rupture_with_a_model_and_keeps_articles_whole() -> None:
    examples = _examples()
    # the same article twice (two records): both in the same fold, so the same score
    examples.append(TextExample("https://x.org/0", examples[0].keys, {R: True}))
    scores = out_of_fold(examples)
    assert {k for k in scores if k[1] == R} == {(i, R) for i in range(len(examples))}
    assert scores[(0, R)] == scores[(len(examples) - 1, R)]
    right = sum((scores[(i, R)] > 0) == e.evidence[R] for i, e in enumerate(examples))
    assert right >= 0.9 * len(examples)
