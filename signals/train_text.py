"""Fitting the text model (:mod:`signals.text_model`) on labelled articles (scikit-learn).

One L2-regularised logistic regression per rupture over the TF-IDF of the article's keys,
trained on every labelled article judged for that rupture (target: labelled evidence for it),
whether or not a term hits it. :func:`out_of_fold` gives each training article the score of a
model fitted without it (5 folds, grouped by article), which is what the judge is trained on:
a score the text model gives its own training articles would look far more reliable than it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .models import Polarity
from .text_model import RuptureText, TextModel

#: Inverse regularisation strength of the per-rupture text models.
TEXT_C = 3.0
#: A key enters the model when at least this many training articles use it.
TEXT_MIN_DF = 5
#: Weights smaller than this are left out of the file (the norm still counts every known key).
TEXT_MIN_WEIGHT = 0.05
#: A rupture gets a text model with at least this many evidence and non-evidence articles.
TEXT_MIN_POSITIVES = 3
TEXT_FOLDS = 5


@dataclass(frozen=True)
class TextExample:
    """One labelled article: its keys, and for each rupture it was judged for, whether it is
    evidence of it (``evidence``) and whether it is counter-evidence (``counter``)."""

    group: str  # the article (its URL): the folds never split one article's records
    keys: tuple[str, ...]
    evidence: Mapping[str, bool]
    counter: Mapping[str, bool] = field(default_factory=dict)


def _identity(keys: Sequence[str]) -> Sequence[str]:
    return keys


def fit_text(examples: Sequence[TextExample], c: float = TEXT_C, counter: bool = True) -> TextModel:
    """The text model of ``examples``; with ``counter``, also the counter-evidence models (over
    the same keys and weighting)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer=_identity, min_df=TEXT_MIN_DF, sublinear_tf=True)
    try:
        x = vec.fit_transform([e.keys for e in examples])
    except ValueError:  # no key used by TEXT_MIN_DF articles: nothing to learn from
        return TextModel({}, {}, {} if counter else None)
    names = [str(n) for n in vec.get_feature_names_out()]
    idf = {n: round(float(v), 4) for n, v in zip(names, vec.idf_, strict=True)}
    ruptures = _fit_ruptures(x, names, [e.evidence for e in examples], c)
    counters = _fit_ruptures(x, names, [e.counter for e in examples], c) if counter else None
    return TextModel(idf, ruptures, counters)


def _fit_ruptures(
    x: Any, names: Sequence[str], targets: Sequence[Mapping[str, bool]], c: float
) -> dict[str, RuptureText]:
    """Per rupture, a logistic regression of ``targets`` (article → rupture → label) on the
    TF-IDF rows ``x``, over the articles judged for it."""
    from sklearn.linear_model import LogisticRegression

    out = {}
    for rid in sorted({r for t in targets for r in t}):
        idx = [i for i, t in enumerate(targets) if rid in t]
        y = [int(targets[i][rid]) for i in idx]
        if min(sum(y), len(y) - sum(y)) < TEXT_MIN_POSITIVES:
            continue
        lr = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(x[idx], y)
        coef = {
            n: round(float(w), 4)
            for n, w in zip(names, lr.coef_[0], strict=True)
            if abs(w) >= TEXT_MIN_WEIGHT
        }
        out[rid] = RuptureText(round(float(lr.intercept_[0]), 4), coef)
    return out


def out_of_fold(
    examples: Sequence[TextExample], c: float = TEXT_C, seed: int = 0, counter: bool = True
) -> dict[tuple[int, str, Polarity], float]:
    """(example index, rupture, polarity) → the score of a text model fitted on the other folds
    (the counter-evidence models' scores with ``counter``)."""
    from sklearn.model_selection import GroupKFold

    out: dict[tuple[int, str, Polarity], float] = {}
    groups = [e.group for e in examples]
    folds = GroupKFold(n_splits=min(TEXT_FOLDS, len(set(groups))), shuffle=True, random_state=seed)
    sides = (Polarity.EVIDENCE, Polarity.COUNTER) if counter else (Polarity.EVIDENCE,)
    for train, held in folds.split(examples, groups=groups):
        model = fit_text([examples[i] for i in train], c, counter)
        for i in held:
            vector = model.vector(examples[i].keys)
            for rid in examples[i].evidence:
                for pol in sides:
                    s = model.score(rid, vector, counter=pol is Polarity.COUNTER)
                    if s is not None:
                        out[(int(i), rid, pol)] = s.score
    return out
