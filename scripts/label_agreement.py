"""Agreement of a blind second reader with the first on a sample of a labelling round.

    python scripts/label_agreement.py --articles FIRST_OUT... --articles-second SECOND_OUT \
        --pairs FIRST_OUT... --pairs-second SECOND_OUT -o labels/agreement_round8.json

FIRST_OUT are the first readers' output files of the round (``out_art_NN.jsonl``,
``out_pairs_NN.jsonl``); SECOND_OUT the second reader's, over a sample of the same articles and
pairs. A label is (rupture, evidence/counter); bullets and confidence are not compared. Positive
agreement is 2·both / (first + second), over the positive labels (labels/PROTOCOL.md).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def read(paths: list[Path]) -> list[dict]:
    return [
        json.loads(line)
        for p in paths
        for line in p.read_text(encoding="utf-8").split("\n")
        if line.strip()
    ]


def article_agreement(first: list[dict], second: list[dict], ruptures: int) -> dict[str, float]:
    by_id = {o["id"]: {(lab["rupture"], lab["label"]) for lab in o["labels"]} for o in first}
    a = b = both = identical = differing = 0
    for o in second:
        mine = {(lab["rupture"], lab["label"]) for lab in o["labels"]}
        theirs = by_id[o["id"]]
        a, b, both = a + len(theirs), b + len(mine), both + len(mine & theirs)
        identical += mine == theirs
        # the (article, rupture) decisions that differ: labelled by one only, or other polarity
        differing += len({r for r, _ in mine ^ theirs})
    n = len(second)
    return {
        "articles": n,
        "articles_identical": identical,
        "article_pair_agreement": round(1 - differing / (n * ruptures), 4) if n else 0.0,
        "article_positive_agreement": round(2 * both / (a + b), 4) if a + b else 1.0,
        "first_reader_labels": a,
        "second_reader_labels": b,
        "same_label_both": both,
    }


def pair_agreement(first: list[dict], second: list[dict]) -> dict[str, float]:
    by_key = {(o["id"], o["rupture"]): o["label"] for o in first}
    same = a = b = both = 0
    for o in second:
        theirs = by_key[(o["id"], o["rupture"])]
        same += theirs == o["label"]
        a += theirs != "none"
        b += o["label"] != "none"
        both += theirs != "none" and theirs == o["label"]
    n = len(second)
    return {
        "pairs": n,
        "pairs_same_label": same,
        "pairs_first_positive": a,
        "pairs_second_positive": b,
        "pairs_both_same_positive": both,
        "pairs_positive_agreement": round(2 * both / (a + b), 4) if a + b else 1.0,
        "pairs_agreement": round(same / n, 4) if n else 0.0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", nargs="+", type=Path, required=True)
    ap.add_argument("--articles-second", type=Path, required=True)
    ap.add_argument("--pairs", nargs="+", type=Path, required=True)
    ap.add_argument("--pairs-second", type=Path, required=True)
    ap.add_argument("--ruptures", type=int, default=19)
    ap.add_argument("-o", "--output", type=Path, required=True)
    args = ap.parse_args()
    out = {
        **pair_agreement(read(args.pairs), read([args.pairs_second])),
        **article_agreement(read(args.articles), read([args.articles_second]), args.ruptures),
    }
    args.output.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
