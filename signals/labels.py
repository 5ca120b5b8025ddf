"""Labelled judgements: the files in ``labels/`` (see labels/PROTOCOL.md) and analysts' verdicts.

One JSON object per line::

    {"id": "<article URL>", "corpus": "tv", "date": "2019-03-01", "split": "dev",
     "scope": "all" | "<rupture id>", "drawn_by": "query:my-data" | "random" | "matcher",
     "labels": [{"rupture": "my-data", "label": "evidence" | "counter", "bullet": "E2",
                 "confidence": "high" | "low", "span": "<= 30 words quoted", "why": "..."}]}

``scope: all`` means the article was judged against every rupture (absence = NOT RELEVANT);
otherwise only against that one rupture (a matcher-flagged pair, or an analyst's verdict).
Files hold ids, judgements and short quoted spans, never the articles' texts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .models import Polarity

SCOPE_ALL = "all"
MAX_SPAN_WORDS = 30
MAX_SHOWN_ERRORS = 20


@dataclass(frozen=True)
class Label:
    rupture: str
    polarity: Polarity
    bullet: str | None = None
    confidence: str = "high"
    span: str | None = None
    why: str | None = None


@dataclass(frozen=True)
class LabelRecord:
    id: str  # the article URL
    scope: str  # "all" or one rupture id
    labels: tuple[Label, ...]
    split: str = "dev"
    corpus: str | None = None
    date: str | None = None
    drawn_by: str = "unknown"
    stream_weight: float | None = None  # matcher pairs: flagged pairs this sample stands for
    round: int | None = None  # the labelling round (PROTOCOL.md) from 3 on; None: rounds 1-2
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    def judged(self, rupture_ids: Sequence[str]) -> list[str]:
        return list(rupture_ids) if self.scope == SCOPE_ALL else [self.scope]

    def label(self, rupture: str) -> Label | None:
        """The judgement of ``rupture`` (None: not relevant)."""
        return next((lab for lab in self.labels if lab.rupture == rupture), None)

    def truth(self, rupture: str) -> Polarity | None:
        lab = self.label(rupture)
        return lab.polarity if lab is not None else None


def _parse(obj: object, known: set[str] | None) -> LabelRecord:
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    rid = obj.get("id")
    if not isinstance(rid, str) or not rid.startswith(("http://", "https://")):
        raise ValueError(f"'id' must be the article's http(s) URL, got {rid!r}")
    scope = obj.get("scope", SCOPE_ALL)
    if not isinstance(scope, str) or (
        known is not None and scope != SCOPE_ALL and scope not in known
    ):
        raise ValueError(f"'scope' must be 'all' or a rupture id, got {scope!r}")
    raw_labels = obj.get("labels", [])
    if not isinstance(raw_labels, list):
        raise ValueError("'labels' must be a list")
    labels = []
    for lab in raw_labels:
        if not isinstance(lab, dict):
            raise ValueError("each label must be an object")
        r = lab.get("rupture")
        if not isinstance(r, str) or (known is not None and r not in known):
            raise ValueError(f"unknown rupture {r!r}")
        if scope != SCOPE_ALL and r != scope:
            raise ValueError(f"label for {r!r} outside the record's scope {scope!r}")
        try:
            pol = Polarity(str(lab.get("label")))
        except ValueError:
            raise ValueError(
                f"'label' must be 'evidence' or 'counter', got {lab.get('label')!r}"
            ) from None
        conf = lab.get("confidence", "high")
        if conf not in ("high", "low"):
            raise ValueError(f"'confidence' must be 'high' or 'low', got {conf!r}")
        span = lab.get("span")
        if span is not None and (not isinstance(span, str) or len(span.split()) > MAX_SPAN_WORDS):
            raise ValueError(f"'span' must be a quote of at most {MAX_SPAN_WORDS} words")
        labels.append(Label(r, pol, lab.get("bullet"), conf, span, lab.get("why")))
    if len({lab.rupture for lab in labels}) != len(labels):
        raise ValueError("two labels for the same rupture")
    weight = obj.get("stream_weight")
    if weight is not None and not isinstance(weight, int | float):
        raise ValueError("'stream_weight' must be a number")
    split = obj.get("split", "dev")
    if not isinstance(split, str):
        raise ValueError("'split' must be a string")
    drawn_by = str(obj.get("drawn_by", "unknown"))
    round_name = obj.get("round")
    if round_name is not None and not (
        isinstance(round_name, str) and re.fullmatch(r"r\d+", round_name)
    ):
        raise ValueError(f"'round' must be like 'r18', got {round_name!r}")
    prefix = re.match(r"r(\d+):", drawn_by)
    number = round_name[1:] if round_name else prefix.group(1) if prefix else None
    return LabelRecord(
        id=rid,
        scope=scope,
        labels=tuple(labels),
        split=split,
        corpus=obj.get("corpus") if isinstance(obj.get("corpus"), str) else None,
        date=obj.get("date") if isinstance(obj.get("date"), str) else None,
        drawn_by=drawn_by,
        stream_weight=float(weight) if weight is not None else None,
        round=int(number) if number is not None else None,
    )


def read_labels(
    paths: Iterable[Path], rupture_ids: Iterable[str] | None = None
) -> list[LabelRecord]:
    """Every record of the files (read by ``corpus.read_jsonl``), validated whole first: any bad
    line raises, listing the lines."""
    from .corpus import LineStats, read_jsonl

    known = set(rupture_ids) if rupture_ids is not None else None
    records: list[LabelRecord] = []
    errors: list[str] = []
    invalid = 0
    for path in paths:
        stats = LineStats()
        records += read_jsonl(path, lambda obj: _parse(obj, known), skip_invalid=True, stats=stats)
        invalid += stats.invalid
        errors += stats.errors
    if invalid:
        more = invalid - min(len(errors), MAX_SHOWN_ERRORS)
        raise InputError(
            f"{invalid} invalid label line(s):\n"
            + "\n".join(errors[:MAX_SHOWN_ERRORS])
            + (f"\n... and {more} more" if more > 0 else "")
        )
    return records


def record_to_json(rec: LabelRecord) -> dict[str, object]:
    out: dict[str, object] = {
        "id": rec.id,
        "split": rec.split,
        "scope": rec.scope,
        "drawn_by": rec.drawn_by,
    }
    if rec.corpus:
        out["corpus"] = rec.corpus
    if rec.date:
        out["date"] = rec.date
    if rec.stream_weight is not None:
        out["stream_weight"] = rec.stream_weight
    if rec.round is not None:
        out["round"] = f"r{rec.round}"
    out["labels"] = [
        {
            k: v
            for k, v in (
                ("rupture", lab.rupture),
                ("label", str(lab.polarity)),
                ("bullet", lab.bullet),
                ("confidence", lab.confidence),
                ("span", lab.span),
                ("why", lab.why),
            )
            if v is not None
        }
        for lab in rec.labels
    ]
    return out


def write_labels(records: Iterable[LabelRecord], path: Path) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(record_to_json(rec), ensure_ascii=False) + "\n")
            n += 1
    return n


def by_split(records: Iterable[LabelRecord], split: str | None) -> Iterator[LabelRecord]:
    return (r for r in records if split is None or r.split == split)
