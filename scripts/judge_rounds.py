"""Leave-one-round-out check of judge settings on dev (labels/PROTOCOL.md, README "Judgement").

    python scripts/judge_rounds.py labels/dev.jsonl --corpus TV.jsonl.xz --corpus LM.jsonl.gz \
        --variant '{}' --variant '{"c": 1.0, "rupture_features": false}'

Each later labelling round (r4, r5, ...) is held out in turn: the judge is fitted (``signals
train``'s ``fit``, with the variant's keyword arguments) on every other dev record and measured on
the held-out round's articles and pairs, judged against what was labelled (with the text
model, as ``signals train`` fits it by default; ``"text_model": false`` in a variant leaves it
out, as ``--no-text-model`` does). A round was drawn and
read apart from the others, so this is closer to what fresh news does to the judge than random
folds (whose precision sits about 0.05 above every fresh round's). Prints micro evidence (or
``--polarity counter``) precision, recall and F1 over the held-out rounds, and the counts per
round. Never run it on test: test is only measured.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from signals.analyse import Analyser  # noqa: E402
from signals.cli import cli  # noqa: E402
from signals.config import load_scenarios  # noqa: E402
from signals.corpus import read_documents  # noqa: E402
from signals.extract import compose_text  # noqa: E402
from signals.labels import LabelRecord, by_split, read_labels  # noqa: E402
from signals.match import compile_ruleset  # noqa: E402
from signals.models import AnalysedDoc, Polarity  # noqa: E402
from signals.train import Row, fit, labelled_article  # noqa: E402
from signals.train_text import TextExample  # noqa: E402

#: Rounds 1 and 2 were drawn together, before any judge: trained on, held out only when asked
#: (``--hold r1-2``). (This name was "r12" until round 12 was labelled and fell in with them.)
FIRST = "r1-2"
#: ``signals train``'s defaults that differ from ``fit``'s, read from the command itself.
CLI_DEFAULTS = {
    p.name: p.default
    for p in cli.commands["train"].params  # type: ignore[attr-defined]
    if p.name in ("target_precision", "counter_target_precision", "text_model")
}


def round_of(rec: LabelRecord) -> str:
    """The record's round as held out (``r4``…); rounds 1 and 2 together as :data:`FIRST`."""
    return f"r{rec.round}" if rec.round is not None else FIRST


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("labels", type=Path)
    ap.add_argument("--corpus", type=Path, action="append", required=True)
    ap.add_argument("--variant", action="append", default=[], help="fit() keyword arguments, JSON")
    ap.add_argument("--polarity", choices=[str(p) for p in Polarity], default="evidence")
    ap.add_argument("--hold", nargs="*", help="rounds to hold out (default: r4 and later)")
    args = ap.parse_args()
    variants = [json.loads(v) for v in args.variant] or [{}]
    scenarios = load_scenarios(ROOT / "scenarios.yaml")
    ids = [r.id for r in scenarios.ruptures]
    records = list(by_split(read_labels([args.labels], ids), "dev"))
    docs = read_documents(args.corpus, {r.id for r in records}, {}, False)
    analyser = Analyser(entities=False)
    ruleset = compile_ruleset(scenarios, analyser)
    wanted = [r for r in records if r.id in docs]
    texts = [(compose_text(docs[r.id].title, docs[r.id].text), "fr") for r in wanted]
    pol = Polarity(args.polarity)
    # per round: each labelled article, its analysis, and its text example and candidate rows
    by_round: dict[str, list[tuple[LabelRecord, AnalysedDoc, TextExample, list[Row]]]] = (
        defaultdict(list)
    )
    for rec, doc in zip(wanted, analyser.analyse_many(texts), strict=True):
        example, rows = labelled_article(rec, doc, ruleset, ids, -1)
        by_round[round_of(rec)].append((rec, doc, example, rows))
    hold = args.hold or sorted((r for r in by_round if r not in (FIRST, "r3")), key=_n)
    print(f"{len(wanted)} dev records; held out in turn: {', '.join(hold)}; {pol} judged")
    for kwargs in variants:
        settings = {**CLI_DEFAULTS, **kwargs}
        use_text = settings.pop("text_model", False)
        tot = [0, 0, 0]
        per = []
        for h in hold:
            train = [a for g, arts in by_round.items() if g != h for a in arts]
            rows = [replace(r, record=n) for n, (_, _, _, rs) in enumerate(train) for r in rs]
            examples = [ex for _, _, ex, _ in train] if use_text else []
            model = fit(rows, **settings, texts=examples)
            tp = fp = fn = 0
            for rec, doc, _, _ in by_round[h]:
                judged = set(rec.judged(ids))
                vocab = ruleset.vocabulary(doc.language)
                accepted = {
                    c.rupture_id
                    for c in model.measure(doc, ruleset.match_items(doc), vocab)
                    if c.polarity is pol and c.rupture_id in judged and model.judge(c).accepted
                }
                truth = {rid for rid in judged if rec.truth(rid) is pol}
                tp, fp, fn = (
                    tp + len(accepted & truth),
                    fp + len(accepted - truth),
                    fn + len(truth - accepted),
                )
            per.append(f"{h} {tp}/{fp}/{fn}")
            tot = [tot[0] + tp, tot[1] + fp, tot[2] + fn]
        tp, fp, fn = tot
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print(
            f"{json.dumps(kwargs):50} P {p:.3f} R {r:.3f} F1 {f1:.3f}   (tp/fp/fn) {', '.join(per)}"
        )


def _n(name: str) -> int:
    return int(name[1:])


if __name__ == "__main__":
    main()
