"""Append a later labelling round to labels/dev.jsonl / labels/test.jsonl (labels/PROTOCOL.md).

    python scripts/label_append.py --round r3 --articles A_in.jsonl A_out.jsonl [...] \
        --pairs P_in.jsonl P_out.jsonl [...]

Each ``--articles`` / ``--pairs`` takes the reading batch and the reader's output (same lines, same
order). Records keep the split their URL gives (``label_consolidate.split_of``); an article
already labelled for the same scope is refused, so a round can never overwrite or double a label.
``drawn_by`` is prefixed with the round (``r3:query:my-data``, ``r3:matcher``) except that
matcher pairs keep ``matcher`` so that stream precision counts them. ``--doubt-pairs`` (the
doubt-flagged pairs of ``label_pool.py --doubt-pairs``, not a uniform sample of the flags) are
stored as ``r3:doubt`` with no stream weight: they count in precision and recall, not in stream
precision.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from label_consolidate import article_record, pair_record, read  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--round", required=True)
    ap.add_argument("--articles", nargs=2, action="append", default=[], type=Path)
    ap.add_argument("--pairs", nargs=2, action="append", default=[], type=Path)
    ap.add_argument("--doubt-pairs", nargs=2, action="append", default=[], type=Path)
    ap.add_argument(
        "--to", type=Path, help="write the round alone to TO/<split>.jsonl instead of appending"
    )
    args = ap.parse_args()
    existing: dict[str, list[dict]] = {}
    seen: set[tuple[str, str]] = set()
    for split in ("dev", "test"):
        rows = read(ROOT / "labels" / f"{split}.jsonl")
        existing[split] = rows
        seen |= {(r["id"], r["scope"]) for r in rows}
    new: list[dict] = []

    def add(rec: dict) -> None:
        key = (rec["id"], rec["scope"])
        if key in seen:
            sys.exit(f"{rec['id']} is already labelled for scope {rec['scope']}")
        seen.add(key)
        new.append(rec)

    for inp, out in args.articles:
        ins, outs = read(inp), read(out)
        if [o["id"] for o in outs] != [i["id"] for i in ins]:
            sys.exit(f"{out}: ids do not match {inp}")
        for i, o in zip(ins, outs, strict=True):
            add(article_record(i, o, f"{args.round}:{i['drawn_by']}"))
    pair_files = [(f, "matcher") for f in args.pairs]
    pair_files += [(f, f"{args.round}:doubt") for f in args.doubt_pairs]
    for (inp, out), drawn_by in pair_files:
        ins, outs = read(inp), read(out)
        if [(o["id"], o["rupture"]) for o in outs] != [(i["id"], i["rupture"]) for i in ins]:
            sys.exit(f"{out}: pairs do not match {inp}")
        for i, o in zip(ins, outs, strict=True):
            add({**pair_record(i, o, drawn_by), "round": args.round})
    for split in ("dev", "test"):
        rows = [r for r in new if r["split"] == split]
        if not rows:
            continue
        path = (args.to or ROOT / "labels") / f"{split}.jsonl"
        with path.open("w" if args.to else "a", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        ev = Counter(lab["label"] for r in rows for lab in r["labels"])
        print(
            f"{path.name}: +{sum(r['scope'] == 'all' for r in rows)} articles, "
            f"+{sum(r['scope'] != 'all' for r in rows)} pairs, +{ev['evidence']} evidence, "
            f"+{ev['counter']} counter"
        )


if __name__ == "__main__":
    main()
