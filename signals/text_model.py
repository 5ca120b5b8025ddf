"""What the whole article says: per rupture, a linear model over the article's keys (TF-IDF).

The judge's other features describe the hits (where, how many, which items) and the rupture's
vocabulary; this one reads every key of the article, hit or not, and is trained on every labelled
article judged for the rupture, including those no term hits. Its score (a logit: positive when
the article reads like the rupture's labelled evidence) is one more feature of the judge
(``text`` and ``text:<rupture>`` weights), so the logistic judge decides how far to trust it.

The weighting is scikit-learn's ``TfidfVectorizer(sublinear_tf=True)``, recomputed here in plain
Python so that scoring needs no scikit-learn: tf = 1 + ln(count), idf = ln((1 + n) / (1 + df)) +
1, the vector normalised to unit length over the keys the model knows. ``signals train`` fits it
(``signals.train.fit_text``); it is stored in the judge model file under ``"text"``.

Counter-evidence candidates get their own per-rupture models over the same keys (``counter``),
trained to tell the articles labelled counter-evidence from the rest: reading like a rupture's
evidence says little about doubting it. A model file from before them (no ``counter`` section)
scores counter-evidence candidates with the evidence models, as it was trained to.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: The strongest positive words named in a judgement's reasons.
TOP_WORDS = 3


@dataclass(frozen=True)
class RuptureText:
    intercept: float
    coef: Mapping[str, float]  # key → weight (the keys of the idf table; small weights pruned)


@dataclass(frozen=True)
class TextScore:
    score: float  # the rupture's logit for the article
    words: tuple[str, ...]  # its keys that pushed the score up most


@dataclass(frozen=True)
class TextModel:
    idf: Mapping[str, float]  # key → inverse document frequency (every key the model knows)
    ruptures: Mapping[str, RuptureText]
    counter: Mapping[str, RuptureText] | None = None  # None: a file from before them

    def vector(self, keys: Iterable[str]) -> dict[str, float]:
        """The article's unit-length TF-IDF vector over the known keys."""
        counts = Counter(k for k in keys if k in self.idf)
        vec = {k: (1.0 + math.log(n)) * self.idf[k] for k, n in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values()))
        return {k: v / norm for k, v in vec.items()} if norm else {}

    def score(
        self, rupture_id: str, vector: Mapping[str, float], counter: bool = False
    ) -> TextScore | None:
        """The rupture's score for an article's ``vector`` (its counter-evidence model's with
        ``counter``); None without a model for it."""
        models = self.counter if counter and self.counter is not None else self.ruptures
        model = models.get(rupture_id)
        if model is None:
            return None
        parts = [(k, model.coef[k] * v) for k, v in vector.items() if k in model.coef]
        top = sorted((p for p in parts if p[1] > 0), key=lambda p: -p[1])[:TOP_WORDS]
        return TextScore(model.intercept + sum(v for _, v in parts), tuple(k for k, _ in top))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "idf": dict(sorted(self.idf.items())),
            "ruptures": _json(self.ruptures),
        }
        if self.counter is not None:
            out["counter"] = _json(self.counter)
        return out


def _json(models: Mapping[str, RuptureText]) -> dict[str, Any]:
    return {
        rid: {"intercept": m.intercept, "coef": dict(sorted(m.coef.items()))}
        for rid, m in sorted(models.items())
    }


def text_model_from_json(data: Mapping[str, Any]) -> TextModel:
    """Raises KeyError, TypeError or ValueError on a malformed section (the caller says where)."""
    idf = {str(k): float(v) for k, v in dict(data["idf"]).items()}
    ruptures = _models(data["ruptures"], idf, "text model")
    counter = data.get("counter")
    return TextModel(
        idf,
        ruptures,
        None if counter is None else _models(counter, idf, "counter-evidence text model"),
    )


def _models(data: Any, idf: Mapping[str, float], what: str) -> dict[str, RuptureText]:
    out = {}
    for rid, raw in dict(data).items():
        coef = {str(k): float(v) for k, v in dict(raw["coef"]).items()}
        unknown = sorted(set(coef) - set(idf))
        if unknown:
            raise ValueError(f"{what} of {rid}: weights of keys with no idf ({unknown[0]}…)")
        out[str(rid)] = RuptureText(float(raw["intercept"]), coef)
    return out
