"""``signals train``: fit the article-level judge on labelled data (scikit-learn, at training only).

Training rows are the matcher's candidates on the labelled articles: every (article, rupture,
polarity) with a sentence hit, in the rupture(s) each record was judged for. The target is 1 when
the label says the same polarity. One L2-regularised logistic regression per polarity over the
:data:`signals.judge.FEATURES` plus one bias per rupture (shrunk towards 0 by the penalty, so a
rupture with few labels keeps the shared weights), one weight per item, and optionally per
rupture the headline's words (``title:``), the vocabulary words the article uses (``vocab:``) and
the weights of :data:`signals.judge.RUPTURE_FEATURES` (``feature:``). The threshold is chosen on
5-fold out-of-fold probabilities: the lowest one whose precision reaches ``target_precision`` (for
counter-evidence ``counter_target_precision``, by default the same), else
the one with the best F1. The result is a small JSON file that can be read and reviewed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from .analyse import Analyser
from .corpus import Document
from .errors import InputError
from .extract import compose_text
from .judge import (
    FEATURES,
    PREFIXES,
    RUPTURE_FEATURES,
    TEXT,
    JudgeModel,
    candidates,
    model_from_json,
)
from .labels import LabelRecord
from .match import Ruleset
from .models import AnalysedDoc, Polarity
from .train_text import TEXT_C, TextExample, fit_text, out_of_fold

MIN_POSITIVES = 5
MIN_WORD_WEIGHT = 0.02
#: Word weights (headline, vocabulary) smaller than MIN_WORD_WEIGHT are left out of the file.
WORD_PREFIXES = ("title:", "vocab:")
#: A rupture gets its own threshold (``rupture_thresholds``) with this many positive and negative
#: candidates of the polarity; the others keep the shared one.
MIN_RUPTURE_LABELS = 10
#: Inverse regularisation strengths. Evidence, with hundreds of word and item weights, is
#: regularised harder: in leave-one-round-out runs on dev (each later labelling round held out
#: in turn), C 0.3 beat 1.0 on precision and recall of the held-out rounds; counter-evidence,
#: with a few dozen positives, did best at 1.0 (docs/DECISIONS.md).
EVIDENCE_C = 0.3
COUNTER_C = 1.0


@dataclass(frozen=True)
class Row:
    rupture_id: str
    polarity: Polarity
    features: Mapping[str, float]
    target: int
    items: tuple[str, ...] = ()
    title_keys: frozenset[str] = frozenset()
    vocab_keys: frozenset[str] = frozenset()
    record: int = -1  # its article's index in TrainingSet.texts (-1: none)
    text: float = 0.0  # the text model's out-of-fold score (set by fit)


@dataclass(frozen=True)
class TrainingSet:
    rows: list[Row]  # the candidates of the labelled articles
    texts: list[TextExample]  # every labelled article found, for the text model


def training_set(
    records: Sequence[LabelRecord],
    docs: Mapping[str, Document],
    ruleset: Ruleset,
    analyser: Analyser,
    rupture_ids: Sequence[str],
) -> TrainingSet:
    wanted = [r for r in records if r.id in docs]
    texts = [(compose_text(docs[r.id].title, docs[r.id].text), "fr") for r in wanted]
    rows = []
    examples = []
    for n, (rec, doc) in enumerate(zip(wanted, analyser.analyse_many(texts), strict=True)):
        example, found = labelled_article(rec, doc, ruleset, rupture_ids, n)
        examples.append(example)
        rows += found
    return TrainingSet(rows, examples)


def labelled_article(
    rec: LabelRecord, doc: AnalysedDoc, ruleset: Ruleset, rupture_ids: Sequence[str], n: int
) -> tuple[TextExample, list[Row]]:
    """One labelled article (the ``n``-th of its set) for the text model, and its candidates in
    the ruptures it was judged for."""
    judged = rec.judged(rupture_ids)
    example = TextExample(
        rec.id,
        tuple(k for s in doc.sentences for k in s.keys),
        {rid: rec.truth(rid) is Polarity.EVIDENCE for rid in judged},
        {rid: rec.truth(rid) is Polarity.COUNTER for rid in judged},
    )
    rows = [
        Row(
            c.rupture_id,
            c.polarity,
            c.features,
            int(rec.truth(c.rupture_id) is c.polarity),
            tuple(sorted({m.item_id for m in c.items})),
            c.title_keys,
            c.vocab_keys,
            n,
        )
        for c in candidates(doc, ruleset.match_items(doc), ruleset.vocabulary(doc.language))
        if c.rupture_id in judged
    ]
    return example, rows


def _features(
    row: Row, title_words: bool, vocab_words: bool, rupture_features: bool, text: bool = False
) -> dict[str, float]:
    out = {f: row.features[f] for f in FEATURES}
    out[f"rupture:{row.rupture_id}"] = 1.0
    if text:
        out[TEXT] = out[f"{TEXT}:{row.rupture_id}"] = row.text
    if rupture_features:
        out.update({f"feature:{row.rupture_id}:{f}": row.features[f] for f in RUPTURE_FEATURES})
    out.update({f"item:{i}": 1.0 for i in row.items})
    if title_words:
        out.update({f"title:{row.rupture_id}:{k}": 1.0 for k in row.title_keys})
    if vocab_words:
        out.update({f"vocab:{row.rupture_id}:{k}": 1.0 for k in row.vocab_keys})
    return out


def _text_side(row: Row, counter_text: bool) -> Polarity:
    """Which text models score ``row``: its polarity's, or the evidence ones without counter ones."""
    return row.polarity if counter_text else Polarity.EVIDENCE


def _threshold(
    probs: Sequence[float], targets: Sequence[int], target_precision: float
) -> tuple[float, dict[str, float]]:
    best_f1: tuple[float, float, dict[str, float]] = (0.0, 0.5, {})
    best_p: tuple[float, float, dict[str, float]] | None = None
    positives = sum(targets)
    for t in sorted(set(round(p, 3) for p in probs)):
        tp = sum(1 for p, y in zip(probs, targets, strict=True) if p >= t and y)
        fp = sum(1 for p, y in zip(probs, targets, strict=True) if p >= t and not y)
        if tp == 0:
            continue
        prec, rec = tp / (tp + fp), tp / positives
        f1 = 2 * prec * rec / (prec + rec)
        stats = {
            "precision": round(prec, 4),
            "recall_of_candidates": round(rec, 4),
            "f1": round(f1, 4),
        }
        if f1 > best_f1[0]:
            best_f1 = (f1, t, stats)
        if prec >= target_precision and (best_p is None or rec > best_p[0]):
            best_p = (rec, t, stats)
    chosen = best_p if best_p is not None else best_f1
    return chosen[1], chosen[2]


def fit(
    rows: Sequence[Row],
    target_precision: float = 0.8,
    counter_target_precision: float | None = None,
    c: float = EVIDENCE_C,
    counter_c: float = COUNTER_C,
    seed: int = 0,
    source: str = "",
    labels_sha256: str | None = None,
    title_words: bool = True,
    rupture_thresholds: bool = False,
    vocab_words: bool = True,
    rupture_features: bool = True,
    texts: Sequence[TextExample] = (),
    text_c: float = TEXT_C,
    counter_text: bool = True,
) -> JudgeModel:
    """The judge fitted on ``rows``; with ``texts`` (every labelled article, as
    :func:`training_set` gives them) also the text model, whose out-of-fold scores become the
    ``text`` feature of the rows (for counter-evidence rows, the counter-evidence text models'
    scores; without ``counter_text``, the evidence ones', as before those models existed)."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    out: dict[str, Any] = {"format": 1, "features": list(FEATURES)}
    report: dict[str, Any] = {}
    use_text = bool(texts)
    if use_text:
        oof = out_of_fold(texts, c=text_c, seed=seed, counter=counter_text)
        rows = [
            replace(r, text=oof.get((r.record, r.rupture_id, _text_side(r, counter_text)), 0.0))
            for r in rows
        ]
        out["text"] = fit_text(texts, c=text_c, counter=counter_text).to_json()
    for pol in Polarity:
        sub = [r for r in rows if r.polarity is pol]
        positives = sum(r.target for r in sub)
        if positives < MIN_POSITIVES or len(sub) - positives < MIN_POSITIVES:
            if pol is Polarity.EVIDENCE:
                raise InputError(
                    f"too few labelled evidence candidates to train ({positives} positive of "
                    f"{len(sub)}; need {MIN_POSITIVES} of each class)"
                )
            # Too few to fit: counter-evidence shares the evidence model's article-level weights
            # (being *about* a doubt looks like being about a signal), without rupture biases.
            ev = out[str(Polarity.EVIDENCE)]
            out[str(pol)] = {
                **ev,
                "coef": {k: v for k, v in ev["coef"].items() if not k.startswith(PREFIXES)},
            }
            report[str(pol)] = {
                "candidates": len(sub),
                "positives": positives,
                "cross_validated": "too few labels: shares the evidence weights",
            }
            continue
        vectorizer = DictVectorizer()
        x = vectorizer.fit_transform(
            [_features(r, title_words, vocab_words, rupture_features, use_text) for r in sub]
        )
        y = [r.target for r in sub]
        strength = counter_c if pol is Polarity.COUNTER else c
        lr = LogisticRegression(C=strength, max_iter=3000, class_weight="balanced")
        folds = StratifiedKFold(n_splits=min(5, positives), shuffle=True, random_state=seed)
        probs = cross_val_predict(lr, x, y, cv=folds, method="predict_proba")[:, 1]
        wanted = (
            counter_target_precision
            if pol is Polarity.COUNTER and counter_target_precision is not None
            else target_precision
        )
        threshold, stats = _threshold(list(probs), y, wanted)
        per_rupture: dict[str, float] = {}
        if rupture_thresholds:
            for rid in sorted({r.rupture_id for r in sub}):
                idx = [i for i, r in enumerate(sub) if r.rupture_id == rid]
                pos = sum(y[i] for i in idx)
                if pos >= MIN_RUPTURE_LABELS and len(idx) - pos >= MIN_RUPTURE_LABELS:
                    per_rupture[rid] = _threshold(
                        [probs[i] for i in idx], [y[i] for i in idx], wanted
                    )[0]
        lr.fit(x, y)
        names = vectorizer.get_feature_names_out()
        coef = {
            str(n): round(float(w), 4)
            for n, w in zip(names, lr.coef_[0], strict=True)
            if abs(w) >= (MIN_WORD_WEIGHT if str(n).startswith(WORD_PREFIXES) else 1e-4)
        }
        out[str(pol)] = {
            "intercept": round(float(lr.intercept_[0]), 4),
            "threshold": threshold,
            "rupture_thresholds": per_rupture,
            "coef": coef,
        }
        report[str(pol)] = {
            "candidates": len(sub),
            "positives": positives,
            "cross_validated": stats,
        }
    out["meta"] = {
        "name": "logistic regression (signals train)",
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "labels": source,
        "labels_sha256": labels_sha256,
        "target_precision": target_precision,
        "counter_target_precision": counter_target_precision or target_precision,
        "C": c,
        "counter_C": counter_c,
        "title_words": title_words,
        "vocab_words": vocab_words,
        "rupture_features": rupture_features,
        "text_model": use_text,
        "counter_text_model": use_text and counter_text,
        "rupture_thresholds": rupture_thresholds,
        "training": report,
    }
    return model_from_json(out, "signals train")
