"""Article-level judgement: is this article *about* the rupture, or does it name a term in passing?

A sentence hit is a candidate. For each (article, rupture, polarity) with at least one hit of an
item of that polarity (watch / early signs / milestones → evidence; doubts → counter-evidence),
:func:`features` measures what shows the article is about it — a hit in the title, in the lead,
how many distinct items, terms and sentences, the share of the article they cover, repetition,
the items' ``weight`` — and a logistic model turns that into a probability. The candidate is
accepted when the probability reaches the threshold of its polarity (or its rupture's own).

Besides those, the model may weigh the words of the headline per rupture (``title:<rupture>:<key>``,
the matcher's keys of the first sentence): what the article leads with tells a development the
rupture is about ("rançongiciel", "hôpital") from a passing mention under another subject. And it
may weigh which words of the rupture's vocabulary the article uses (``vocab:<rupture>:<key>``):
"rançon" and "chiffrement" tell a cyberattack told in full; "piratage" alone, a mention.

The model is a reviewable JSON file (``signals/judge_model.json`` by default) written by
``signals train`` from labelled data; scoring it is pure Python at tokeniser speed, so history is
re-judged with the re-match. Each judgement carries its strongest reasons (feature contributions)
for the digest, ``export`` and ``explain``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError, ConfigProblem
from .models import AnalysedDoc, ItemKind, ItemMatch, Judgement, Polarity, polarity_of
from .text_model import TextModel, text_model_from_json

MODEL_FORMAT = 1
#: The numeric features, in the model file's order. On top come ``rupture:<id>`` biases and
#: ``item:<id>`` weights (one per watch item that hits: how reliable that item has proved).
FEATURES = (
    "title",  # an item hits the first sentence (the headline)
    "lead",  # an item hits one of the next three sentences
    "items",  # log(1 + distinct items)
    "terms",  # log(1 + distinct terms)
    "sentences",  # log(1 + distinct sentences hit)
    "share",  # sentences hit / sentences in the article
    "repeats",  # log(1 + term occurrences)
    "weight",  # the largest item weight
    "early_only",  # every hit is an early sign or a milestone, no watch item
    "other_side",  # log(1 + sentences hit by the opposite polarity of the same rupture)
    "short",  # the article has at most 3 sentences (a feed summary)
    "vocab",  # log(1 + distinct keys of the rupture's vocabulary in the article)
    "vocab_share",  # those keys / distinct keys of the article
    "vocab_title",  # log(1 + distinct keys of the rupture's vocabulary in the headline)
)
LEAD_SENTENCES = 3
#: The numeric features that may also get a weight per rupture (``feature:<rupture>:<name>``):
#: a hit in the headline, or the headline in the rupture's vocabulary, says more for some ruptures
#: than for others.
RUPTURE_FEATURES = ("title", "vocab_title", "vocab")
#: The text model's score of the article for the rupture (``signals.text_model``), when the
#: model file has one: a shared weight ``text`` and one per rupture ``text:<rupture>``.
TEXT = "text"
#: The families of per-rupture / per-item / per-headline-word weights on top of FEATURES.
PREFIXES = ("rupture:", "item:", "title:", "vocab:", "feature:", "text:")


@dataclass(frozen=True)
class Candidate:
    """One (article, rupture, polarity) with the items that hit it and its features."""

    rupture_id: str
    polarity: Polarity
    items: tuple[ItemMatch, ...]
    features: Mapping[str, float]
    title_keys: frozenset[str] = frozenset()
    vocab_keys: frozenset[str] = frozenset()  # the rupture's vocabulary words in the article
    text: float = 0.0  # the text model's score (JudgeModel.measure; 0 without a text model)
    text_words: tuple[str, ...] = ()  # the article's keys that raised that score most


def _log1(x: float) -> float:
    return math.log1p(x)


def candidates(
    doc: AnalysedDoc, matches: Sequence[ItemMatch], vocabulary: Mapping[str, frozenset[str]]
) -> list[Candidate]:
    """Group the item matches of one article into candidates and measure them;
    ``vocabulary`` is the ruleset's (``Ruleset.vocabulary(doc.language)``)."""
    groups: dict[tuple[str, Polarity], list[ItemMatch]] = defaultdict(list)
    for m in matches:
        pol = polarity_of(m.kind)
        if pol is not None:
            groups[(m.rupture_id, pol)].append(m)
    if not groups:
        return []  # most articles: nothing to measure
    n_sent = max(1, len(doc.sentences))
    title_keys = frozenset(doc.sentences[0].keys) if doc.sentences else frozenset()
    article_keys = frozenset(k for s in doc.sentences for k in s.keys)
    out = []
    for (rid, pol), items in sorted(groups.items()):
        sents = {i for m in items for i in m.sentences}
        other_pol = Polarity.COUNTER if pol is Polarity.EVIDENCE else Polarity.EVIDENCE
        other = {i for m in groups.get((rid, other_pol), ()) for i in m.sentences}
        f = {
            "title": 1.0 if 0 in sents else 0.0,
            "lead": 1.0 if any(1 <= i <= LEAD_SENTENCES for i in sents) else 0.0,
            "items": _log1(len(items)),
            "terms": _log1(len({t for m in items for t in m.terms})),
            "sentences": _log1(len(sents)),
            "share": len(sents) / n_sent,
            "repeats": _log1(sum(m.occurrences for m in items)),
            "weight": max(m.weight for m in items),
            "early_only": 1.0
            if pol is Polarity.EVIDENCE
            and all(m.kind in (ItemKind.EARLY_SIGN, ItemKind.MILESTONE) for m in items)
            else 0.0,
            "other_side": _log1(len(other)),
            "short": 1.0 if len(doc.sentences) <= 3 else 0.0,
        }
        vocab = vocabulary.get(rid, frozenset())
        spoken = article_keys & vocab
        f["vocab"] = _log1(len(spoken))
        f["vocab_share"] = len(spoken) / max(1, len(article_keys))
        f["vocab_title"] = _log1(len(title_keys & vocab))
        out.append(Candidate(rid, pol, tuple(items), f, title_keys, spoken))
    return out


@dataclass(frozen=True)
class PolarityModel:
    intercept: float
    coef: Mapping[str, float]  # feature → weight, and "rupture:<id>" → bias
    threshold: float
    rupture_thresholds: Mapping[str, float] = field(default_factory=dict)

    def logit(self, c: Candidate) -> tuple[float, list[tuple[str, float]]]:
        parts = [(name, self.coef.get(name, 0.0) * value) for name, value in c.features.items()]
        parts.append((f"rupture:{c.rupture_id}", self.coef.get(f"rupture:{c.rupture_id}", 0.0)))
        parts += [
            (name, self.coef[name] * c.features[f])
            for f, name in ((f, f"feature:{c.rupture_id}:{f}") for f in RUPTURE_FEATURES)
            if name in self.coef
        ]
        parts += [
            (name, self.coef[name] * c.text)
            for name in (TEXT, f"{TEXT}:{c.rupture_id}")
            if name in self.coef
        ]
        parts += [(f"item:{m.item_id}", self.coef.get(f"item:{m.item_id}", 0.0)) for m in c.items]
        parts += [
            (name, self.coef[name])
            for name in (f"title:{c.rupture_id}:{k}" for k in sorted(c.title_keys))
            if name in self.coef
        ]
        parts += [
            (name, self.coef[name])
            for name in (f"vocab:{c.rupture_id}:{k}" for k in sorted(c.vocab_keys))
            if name in self.coef
        ]
        return self.intercept + sum(v for _, v in parts), parts

    def threshold_for(self, rupture_id: str) -> float:
        return self.rupture_thresholds.get(rupture_id, self.threshold)


_REASON_TEXT = {
    "title": "in the title",
    "lead": "in the lead",
    "items": "{n} items",
    "terms": "{n} distinct terms",
    "sentences": "{n} sentences",
    "share": "{pct}% of sentences",
    "repeats": "{n} occurrences",
    "weight": "item weight {w}",
    "early_only": "early signs only",
    "other_side": "opposite side present",
    "short": "short text",
    "vocab": "{n} words of its vocabulary",
    "vocab_share": "{pct}% of the article's words in its vocabulary",
    "vocab_title": "{n} vocabulary words in the headline",
}


def _reason(name: str, value: float, contribution: float, words: Sequence[str] = ()) -> str:
    if name == TEXT or name.startswith(f"{TEXT}:"):
        said = f" ({', '.join(repr(w) for w in words)})" if words else ""
        mine = ", for this rupture" if name != TEXT else ""
        return f"the article's words{said}{mine} {contribution:+.1f}"
    if name.startswith("feature:"):
        text, weight = _reason(name.rsplit(":", 1)[1], value, contribution).rsplit(" ", 1)
        return f"{text}, for this rupture {weight}"
    if name.startswith("rupture:"):
        text = "rupture prior"
    elif name.startswith("item:"):
        text = f"item {name[5:]}"
    elif name.startswith("title:"):
        text = f"headline word {name.rsplit(':', 1)[1]!r}"
    elif name.startswith("vocab:"):
        text = f"vocabulary word {name.rsplit(':', 1)[1]!r}"
    else:
        n = (
            round(math.expm1(value))
            if name
            in ("items", "terms", "sentences", "repeats", "other_side", "vocab", "vocab_title")
            else 0
        )
        text = _REASON_TEXT.get(name, name).format(n=n, pct=round(100 * value), w=f"{value:g}")
    return f"{text} {contribution:+.1f}"


@dataclass(frozen=True)
class JudgeModel:
    """The trained judge: one logistic model per polarity (``--judge`` / ``signals train``)."""

    models: Mapping[Polarity, PolarityModel]
    meta: Mapping[str, Any]
    version: str
    text: TextModel | None = None

    def judge(self, c: Candidate) -> Judgement:
        m = self.models[c.polarity]
        z, parts = m.logit(c)
        p = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
        values = {
            **c.features,
            f"rupture:{c.rupture_id}": 1.0,
            **{f"feature:{c.rupture_id}:{f}": c.features[f] for f in RUPTURE_FEATURES},
            TEXT: c.text,
            f"{TEXT}:{c.rupture_id}": c.text,
            **{f"item:{m.item_id}": 1.0 for m in c.items},
            **{f"title:{c.rupture_id}:{k}": 1.0 for k in c.title_keys},
            **{f"vocab:{c.rupture_id}:{k}": 1.0 for k in c.vocab_keys},
        }
        top = sorted((x for x in parts if abs(x[1]) >= 0.05), key=lambda x: -abs(x[1]))[:4]
        reasons = tuple(_reason(name, values[name], v, c.text_words) for name, v in top)
        return Judgement(
            c.rupture_id, c.polarity, round(p, 4), p >= m.threshold_for(c.rupture_id), reasons
        )

    def judge_doc(
        self,
        doc: AnalysedDoc,
        matches: Sequence[ItemMatch],
        vocabulary: Mapping[str, frozenset[str]],
    ) -> list[Judgement]:
        return [self.judge(c) for c in self.measure(doc, matches, vocabulary)]

    def measure(
        self,
        doc: AnalysedDoc,
        matches: Sequence[ItemMatch],
        vocabulary: Mapping[str, frozenset[str]],
    ) -> list[Candidate]:
        """The article's candidates (:func:`candidates`) with the text model's scores."""
        found = candidates(doc, matches, vocabulary)
        if self.text is None or not found:
            return found
        vector = self.text.vector(k for s in doc.sentences for k in s.keys)
        out = []
        for c in found:
            ts = self.text.score(c.rupture_id, vector, counter=c.polarity is Polarity.COUNTER)
            out.append(c if ts is None else replace(c, text=ts.score, text_words=ts.words))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT,
            "features": list(FEATURES),
            "meta": dict(self.meta),
            **({"text": self.text.to_json()} if self.text is not None else {}),
            **{
                str(pol): {
                    "intercept": m.intercept,
                    "threshold": m.threshold,
                    "rupture_thresholds": dict(m.rupture_thresholds),
                    "coef": dict(sorted(m.coef.items())),
                }
                for pol, m in self.models.items()
            },
        }


def _fingerprint(data: Mapping[str, Any]) -> str:
    blob = json.dumps({k: v for k, v in data.items() if k != "meta"}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:10]


def model_from_json(data: Mapping[str, Any], source: str = "judge model") -> JudgeModel:
    def bad(msg: str) -> ConfigError:
        return ConfigError([ConfigProblem(source, None, "judge model", msg)])

    if not isinstance(data, Mapping) or data.get("format") != MODEL_FORMAT:
        raise bad(f"not a judge model file of format {MODEL_FORMAT}")
    models: dict[Polarity, PolarityModel] = {}
    for pol in Polarity:
        raw = data.get(str(pol))
        if not isinstance(raw, Mapping):
            raise bad(f"missing the {pol!s} model")
        try:
            coef = {str(k): float(v) for k, v in dict(raw["coef"]).items()}
            unknown = [
                k for k in coef if k not in FEATURES and k != TEXT and not k.startswith(PREFIXES)
            ]
            if unknown:
                raise bad(f"unknown feature(s) {', '.join(unknown)} in the {pol!s} model")
            models[pol] = PolarityModel(
                float(raw["intercept"]),
                coef,
                float(raw["threshold"]),
                {str(k): float(v) for k, v in dict(raw.get("rupture_thresholds") or {}).items()},
            )
        except (KeyError, TypeError, ValueError) as e:
            raise bad(f"malformed {pol!s} model ({e})") from None
    text = None
    if data.get("text") is not None:
        try:
            text = text_model_from_json(data["text"])
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise bad(f"malformed text model ({e})") from None
    return JudgeModel(models, dict(data.get("meta") or {}), _fingerprint(data), text)


def load_model(path: Path | None = None) -> JudgeModel:
    """The model at ``path``, or the one shipped with the package."""
    try:
        if path is None:
            text = (
                resources.files("signals").joinpath("judge_model.json").read_text(encoding="utf-8")
            )
            source = "signals/judge_model.json"
        else:
            text = path.read_text(encoding="utf-8")
            source = str(path)
    except OSError as e:
        raise ConfigError(
            [ConfigProblem(str(path), None, "judge model", f"cannot read: {e.strerror}")]
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(
            [ConfigProblem(source, e.lineno, "judge model", f"not JSON ({e.msg})")]
        ) from None
    return model_from_json(data, source)


def accept_all() -> JudgeModel:
    """Every candidate accepted: the sentence-hit behaviour, as a baseline for ``eval``."""
    m = PolarityModel(10.0, {}, 0.5)
    return JudgeModel(
        {Polarity.EVIDENCE: m, Polarity.COUNTER: m}, {"name": "every sentence hit"}, "all"
    )
