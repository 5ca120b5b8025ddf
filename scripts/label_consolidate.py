"""Merge the readers' outputs into labels/dev.jsonl and labels/test.jsonl (labels/PROTOCOL.md).

    python scripts/label_consolidate.py --work /tmp/labelling --pairs /tmp/labelling-pairs

The split is fixed by the article URL (SHA-256, 40 % test), so an article and every pair about it
fall in the same split, and re-running never moves a label. Also writes labels/agreement.json:
the second reader's agreement with the first on the double-read sample.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_SHARE = 40  # percent


def split_of(url: str) -> str:
    return "test" if int(hashlib.sha256(url.encode()).hexdigest(), 16) % 100 < TEST_SHARE else "dev"


def read(path: Path) -> list[dict]:
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()
    ]


def clean_label(lab: dict) -> dict:
    return {
        k: lab[k]
        for k in ("rupture", "label", "bullet", "confidence", "span", "why")
        if lab.get(k) is not None
    }


def article_record(i: dict, o: dict, drawn_by: str) -> dict:
    """The labels record of an article judged against all ruptures (reader input, output)."""
    return {
        "id": i["id"],
        "corpus": i["corpus"],
        "date": i["date"],
        "split": split_of(i["id"]),
        "scope": "all",
        "drawn_by": drawn_by,
        "labels": [clean_label(lab) for lab in o["labels"]],
    }


def pair_record(i: dict, o: dict, drawn_by: str = "matcher") -> dict:
    """The labels record of a matcher-flagged (article, rupture) pair (reader input, output).
    Only a uniform sample of the flags (``drawn_by`` "matcher") gets the ``stream_weight`` that
    stream precision reads."""
    weight = {"stream_weight": i["flagged_total"] / i["stream_size"] * 1000}
    return {
        "id": i["id"],
        "corpus": i["corpus"],
        "date": i["date"],
        "split": split_of(i["id"]),
        "scope": i["rupture"],
        "drawn_by": drawn_by,
        **(weight if drawn_by == "matcher" else {}),
        "labels": [] if o["label"] == "none" else [clean_label(o)],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--pairs", type=Path, required=True)
    args = ap.parse_args()
    records: list[dict] = []
    seen: set[str] = set()
    for prefix in ("articles", "round2"):
        for inp in sorted(args.work.glob(f"{prefix}_[0-9][0-9].jsonl")):
            out = args.work / f"out_{inp.name}"
            ins, outs = read(inp), read(out)
            if [o["id"] for o in outs] != [i["id"] for i in ins]:
                sys.exit(f"{out}: ids do not match {inp}")
            for i, o in zip(ins, outs, strict=True):
                if i["id"] in seen:
                    continue
                seen.add(i["id"])
                records.append(article_record(i, o, i["drawn_by"]))
    n_articles = len(records)
    for inp in sorted(args.pairs.glob("pairs_[0-9][0-9].jsonl")):
        out = args.work / f"out_{inp.name}"
        if not out.exists():
            print(f"missing {out}", file=sys.stderr)
            continue
        ins, outs = read(inp), read(out)
        if [(o["id"], o["rupture"]) for o in outs] != [(i["id"], i["rupture"]) for i in ins]:
            sys.exit(f"{out}: pairs do not match {inp}")
        for i, o in zip(ins, outs, strict=True):
            records.append(pair_record(i, o))
    for split in ("dev", "test"):
        path = ROOT / "labels" / f"{split}.jsonl"
        rows = [r for r in records if r["split"] == split]
        path.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
        ev = Counter(lab["label"] for r in rows for lab in r["labels"])
        print(
            f"{path.name}: {sum(r['scope'] == 'all' for r in rows)} articles, "
            f"{sum(r['scope'] != 'all' for r in rows)} pairs, {ev['evidence']} evidence, {ev['counter']} counter"
        )
    print(f"{n_articles} articles, {len(records) - n_articles} pairs in all")

    second = args.work / "out_second_reader.jsonl"
    if second.exists():
        first = {r["id"]: r for r in records if r["scope"] == "all"}
        pairs_same = pairs_total = art_same = 0
        pos_first = pos_second = pos_both = 0
        ruptures = sorted(
            {
                line.split(":", 1)[0]
                for line in (ROOT / "labels/queries.yaml").read_text().splitlines()
                if line and not line.startswith("#")
            }
        )
        for o in read(second):
            a = {lab["rupture"]: lab["label"] for lab in first[o["id"]]["labels"]}
            b = {lab["rupture"]: lab["label"] for lab in o["labels"]}
            art_same += a == b
            for r in ruptures:
                pairs_total += 1
                pairs_same += a.get(r) == b.get(r)
                pos_first += r in a
                pos_second += r in b
                pos_both += r in a and r in b and a[r] == b[r]
        n = len(read(second))
        agreement = {
            "articles": n,
            "articles_identical": art_same,
            "pair_agreement": round(pairs_same / pairs_total, 4),
            "positive_agreement": round(2 * pos_both / (pos_first + pos_second), 4)
            if pos_first + pos_second
            else None,
            "first_reader_labels": pos_first,
            "second_reader_labels": pos_second,
            "same_label_both": pos_both,
        }
        (ROOT / "labels/agreement.json").write_text(
            json.dumps(agreement, indent=2) + "\n", encoding="utf-8"
        )
        print("agreement:", agreement)


if __name__ == "__main__":
    main()
