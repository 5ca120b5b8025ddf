"""``signals eval``: how far the product's judgement agrees with the labelled set (pure scoring).

For every labelled article the current ``scenarios.yaml`` and judge model decide, per rupture,
evidence / counter-evidence / nothing, exactly as ``process`` does; the decisions are compared
with the labels:

* **Article set** (records with ``scope: all``, judged against all 19 ruptures): precision,
  recall and F1 for evidence and for counter-evidence, micro and per rupture, with Wilson 95 %
  intervals. A pair (article, rupture) is a true positive when both say the same polarity.
* **Stream precision** (records drawn from what the matcher flags, ``drawn_by: matcher``): of
  the flagged pairs the judge accepts, the share that are evidence; each rupture weighted by how
  many pairs it flags in the stream (``stream_weight``), so the figure is the one a reader of
  the digest meets in a real news stream.

Floors (``labels/floors.json``) pin the measured figures: ``check_floors`` lists what fell below.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .analyse import Analyser
from .corpus import Document
from .errors import InputError
from .extract import compose_text
from .judge import JudgeModel
from .labels import SCOPE_ALL, LabelRecord
from .match import Ruleset
from .models import AnalysedDoc, Judgement, Polarity, polarity_of

Z95 = 1.959964
MAX_LISTED = 200


@dataclass(frozen=True)
class DocDecision:
    """What the product decides for one article: every candidate, judged."""

    judgements: Mapping[tuple[str, Polarity], Judgement]
    sentences: Mapping[tuple[str, Polarity], str]  # the best sentence of each candidate

    def accepted(self, rupture: str) -> Polarity | None:
        best: Judgement | None = None
        for pol in Polarity:
            j = self.judgements.get((rupture, pol))
            if j is not None and j.accepted and (best is None or j.score > best.score):
                best = j
        return best.polarity if best else None


def decide(doc: AnalysedDoc, ruleset: Ruleset, judge: JudgeModel) -> DocDecision:
    items = ruleset.match_items(doc)
    judgements = {
        (j.rupture_id, j.polarity): j
        for j in judge.judge_doc(doc, items, ruleset.vocabulary(doc.language))
    }
    sentences: dict[tuple[str, Polarity], str] = {}
    for m in sorted(items, key=lambda m: -len(m.terms)):
        key = (m.rupture_id, polarity_of(m.kind))
        if key in judgements and key not in sentences:
            sentences[key] = doc.sentences[m.best].text
    return DocDecision(judgements, sentences)


def decide_documents(
    records: Sequence[LabelRecord],
    docs: Mapping[str, Document],
    ruleset: Ruleset,
    judge: JudgeModel,
    analyser: Analyser,
) -> dict[str, DocDecision]:
    ids = sorted({r.id for r in records if r.id in docs})
    texts = [(compose_text(docs[i].title, docs[i].text), "fr") for i in ids]
    return {
        i: decide(doc, ruleset, judge)
        for i, doc in zip(ids, analyser.analyse_many(texts), strict=True)
    }


@dataclass(frozen=True)
class Metric:
    tp: int
    fp: int
    fn: int
    precision: float | None
    recall: float | None
    f1: float | None
    precision_ci: tuple[float, float] | None
    recall_ci: tuple[float, float] | None


def wilson(k: int, n: int) -> tuple[float, float] | None:
    if n == 0:
        return None
    p = k / n
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denom
    return (round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4))


def metric(tp: int, fp: int, fn: int) -> Metric:
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f1 = 2 * p * r / (p + r) if p is not None and r is not None and p + r > 0 else None
    return Metric(
        tp, fp, fn, _round(p), _round(r), _round(f1), wilson(tp, tp + fp), wilson(tp, tp + fn)
    )


def _round(x: float | None) -> float | None:
    return round(x, 4) if x is not None else None


@dataclass(frozen=True)
class Error:
    kind: str  # false-positive | miss
    id: str
    rupture: str
    polarity: str
    truth: str  # evidence | counter | none
    score: float | None
    sentence: str | None  # the product's sentence (false positive) or the label's span (miss)


@dataclass
class EvalReport:
    labels: int  # records used
    missing: int  # labelled articles not found in the corpus / store
    micro: dict[str, Metric]  # polarity → metric over the article set
    per_rupture: dict[str, dict[str, Metric]]  # polarity → rupture → metric
    stream_precision: dict[str, float | None]  # evidence: raw and weighted, over matcher pairs
    stream_pairs: int
    errors: list[Error] = field(default_factory=list)
    #: polarity → [labelled (article, rupture) pairs of that polarity, those with a sentence hit
    #: of an item of that polarity]: the recall no judge can pass (every hit, either polarity)
    candidates: dict[str, list[int]] = field(default_factory=dict)
    #: polarity → the label's confidence (high | low) → [labelled pairs, found by the product]:
    #: whether the misses are the clear developments or the readers' borderline calls
    by_confidence: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    #: polarity → "<rupture> <guide bullet>" → [labelled pairs, with a sentence hit of that
    #: polarity, found by the product]: which bullets of the guide the terms do not reach
    by_bullet: dict[str, dict[str, list[int]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def evaluate(
    records: Sequence[LabelRecord], decisions: Mapping[str, DocDecision], rupture_ids: Sequence[str]
) -> EvalReport:
    counts: dict[Polarity, dict[str, list[int]]] = {
        p: defaultdict(lambda: [0, 0, 0]) for p in Polarity
    }
    errors: list[Error] = []
    cover: dict[Polarity, list[int]] = {p: [0, 0] for p in Polarity}
    by_conf: dict[Polarity, dict[str, list[int]]] = {p: {} for p in Polarity}
    by_bullet: dict[Polarity, dict[str, list[int]]] = {p: {} for p in Polarity}
    used = missing = 0
    stream_ok = stream_acc = 0
    w_ok: dict[str, float] = defaultdict(float)
    w_acc: dict[str, float] = defaultdict(float)
    weights: dict[str, float] = {}
    for rec in records:
        dec = decisions.get(rec.id)
        if dec is None:
            missing += 1
            continue
        used += 1
        if rec.drawn_by == "matcher" and rec.scope != SCOPE_ALL:
            truth = rec.truth(rec.scope)
            pred = dec.accepted(rec.scope)
            if rec.stream_weight is not None:
                weights[rec.scope] = rec.stream_weight
            if pred is Polarity.EVIDENCE:
                stream_acc += 1
                w_acc[rec.scope] += 1
                if truth is Polarity.EVIDENCE:
                    stream_ok += 1
                    w_ok[rec.scope] += 1
        for rupture in rec.judged(rupture_ids):
            label = rec.label(rupture)
            truth = label.polarity if label is not None else None
            pred = dec.accepted(rupture)
            if label is not None:
                cover[label.polarity][0] += 1
                cover[label.polarity][1] += (rupture, label.polarity) in dec.judgements
                seen = by_conf[label.polarity].setdefault(label.confidence, [0, 0])
                seen[0] += 1
                seen[1] += pred is label.polarity
                key = f"{rupture} {label.bullet or '?'}"
                row = by_bullet[label.polarity].setdefault(key, [0, 0, 0])
                row[0] += 1
                row[1] += (rupture, label.polarity) in dec.judgements
                row[2] += pred is label.polarity
            for pol in Polarity:
                c = counts[pol][rupture]
                if truth is pol and pred is pol:
                    c[0] += 1
                elif pred is pol:
                    c[1] += 1
                    j = dec.judgements.get((rupture, pol))
                    errors.append(
                        Error(
                            "false-positive",
                            rec.id,
                            rupture,
                            str(pol),
                            str(truth or "none"),
                            j.score if j else None,
                            dec.sentences.get((rupture, pol)),
                        )
                    )
                elif truth is pol:
                    c[2] += 1
                    j = dec.judgements.get((rupture, pol))
                    span = label.span if label is not None else None
                    errors.append(
                        Error(
                            "miss",
                            rec.id,
                            rupture,
                            str(pol),
                            str(truth),
                            j.score if j else None,
                            span,
                        )
                    )
    micro = {}
    per: dict[str, dict[str, Metric]] = {}
    for pol in Polarity:
        tot = [sum(c[i] for c in counts[pol].values()) for i in range(3)]
        micro[str(pol)] = metric(*tot)
        per[str(pol)] = {r: metric(*counts[pol][r]) for r in rupture_ids if any(counts[pol][r])}
    weighted = None
    if weights and any(w_acc.values()):
        # per rupture: precision among accepted pairs × the rupture's accepted share of the stream
        num = sum(
            weights.get(r, 0) * (w_ok[r] / n_acc) * (n_acc / _sampled(records, r))
            for r, n_acc in w_acc.items()
            if n_acc
        )
        den = sum(
            weights.get(r, 0) * (n_acc / _sampled(records, r))
            for r, n_acc in w_acc.items()
            if n_acc
        )
        weighted = round(num / den, 4) if den else None
    stream = {
        "raw": round(stream_ok / stream_acc, 4) if stream_acc else None,
        "weighted": weighted,
        "accepted": float(stream_acc),
    }
    n_pairs = sum(
        1 for r in records if r.drawn_by == "matcher" and r.scope != SCOPE_ALL and r.id in decisions
    )
    errors.sort(key=lambda e: (e.kind, e.rupture, -(e.score or 0)))
    return EvalReport(
        used,
        missing,
        micro,
        per,
        stream,
        n_pairs,
        errors,
        {str(p): c for p, c in cover.items()},
        {str(p): dict(sorted(c.items())) for p, c in by_conf.items()},
        {str(p): dict(sorted(c.items(), key=_bullet_order)) for p, c in by_bullet.items()},
    )


def _bullet_order(item: tuple[str, list[int]]) -> tuple[str, str, int]:
    """``"<rupture> E10"`` after ``"<rupture> E9"``: by rupture, letter, then number."""
    rupture, _, bullet = item[0].rpartition(" ")
    digits = "".join(ch for ch in bullet if ch.isdigit())
    return rupture, bullet.rstrip("0123456789"), int(digits) if digits else 0


def _sampled(records: Iterable[LabelRecord], rupture: str) -> int:
    return max(1, sum(1 for r in records if r.drawn_by == "matcher" and r.scope == rupture))


# --------------------------------------------------------------------------- floors

FLOOR_KEYS = (
    "evidence.precision",
    "evidence.recall",
    "counter.precision",
    "counter.recall",
    "stream.weighted",
    "evidence.worst_rupture_precision",
)
#: ``evidence.worst_rupture_precision`` is the lowest evidence precision among the ruptures with
#: at least this many evidence labels (issue 7: none of them under 0.5).
WORST_RUPTURE_MIN_LABELS = 5


def worst_rupture_precision(report: EvalReport) -> float | None:
    """The lowest evidence precision of a rupture with ``WORST_RUPTURE_MIN_LABELS`` labels or
    more (a rupture with no accepted article has no precision and is left out)."""
    values = [
        m.precision
        for m in report.per_rupture["evidence"].values()
        if m.tp + m.fn >= WORST_RUPTURE_MIN_LABELS and m.precision is not None
    ]
    return min(values) if values else None


def measured(report: EvalReport) -> dict[str, float | None]:
    return {
        "evidence.precision": report.micro["evidence"].precision,
        "evidence.recall": report.micro["evidence"].recall,
        "counter.precision": report.micro["counter"].precision,
        "counter.recall": report.micro["counter"].recall,
        "stream.weighted": report.stream_precision.get("weighted"),
        "evidence.worst_rupture_precision": worst_rupture_precision(report),
    }


def read_floors(path: Path) -> dict[str, float]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: cannot read floors: {e}") from None
    floors = data.get("floors") if isinstance(data, dict) else None
    if not isinstance(floors, dict) or not all(isinstance(v, int | float) for v in floors.values()):
        raise InputError(f'{path}: expected {{"floors": {{name: number}}}}')
    unknown = set(floors) - set(FLOOR_KEYS)
    if unknown:
        raise InputError(
            f"{path}: unknown floor(s) {', '.join(sorted(unknown))} (valid: {', '.join(FLOOR_KEYS)})"
        )
    return {k: float(v) for k, v in floors.items()}


def check_floors(report: EvalReport, floors: Mapping[str, float]) -> list[str]:
    """One line per figure below its floor (empty: all floors hold)."""
    got = measured(report)
    out = []
    for k, floor in floors.items():
        v = got.get(k)
        if v is None or v + 1e-9 < floor:
            out.append(f"{k} = {v if v is not None else 'n/a'} is below its floor {floor}")
    return out


def new_floors(report: EvalReport, old: Mapping[str, float], allow_lower: bool) -> dict[str, float]:
    """Floors raised to the measured figures; lowering one needs ``allow_lower``."""
    got = measured(report)
    out = dict(old)
    lowered = []
    for k in FLOOR_KEYS:
        v = got.get(k)
        if v is None:
            continue
        v = math.floor(v * 100) / 100  # two decimals, rounded down: noise-free to re-measure
        if k in old and v < old[k]:
            lowered.append(f"{k}: {old[k]} → {v}")
            if not allow_lower:
                continue
        out[k] = v
    if lowered and not allow_lower:
        raise InputError("refusing to lower floor(s) without --allow-lower: " + "; ".join(lowered))
    return out
