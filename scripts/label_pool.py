"""Draw the articles and matcher-flagged pairs that readers label (see labels/PROTOCOL.md).

Reads the real corpora from ``../shared/data`` (or ``SIGNALS_DATA``), never copies them into the
repository: it writes reading batches (with the texts, for the readers) into a scratch folder
given on the command line, outside the repository.

    python scripts/label_pool.py --out /tmp/labelling --seed 2026

* ``articles_NN.jsonl``: articles judged against all 19 ruptures: per rupture up to ``--per-query``
  hits of the broad queries in ``labels/queries.yaml`` (written from the evidence guide, not from
  scenarios.yaml), plus ``--random`` articles drawn at random from the stream.
* ``pairs_NN.jsonl``: (article, rupture) pairs the current matcher flags (a sentence hit of an
  evidence or doubt item) in a random stream sample, stratified per rupture.
* with ``--doubt-pairs N``, ``<pair-prefix>_doubt_NN.jsonl``: per rupture up to N more pairs of the
  same stream sample that a *doubt* item flags (counter-evidence candidates, which the stratified
  pairs hold few of). They are not a uniform sample of the flags, so ``label_append.py
  --doubt-pairs`` stores them as ``rNN:doubt``, outside stream precision.
"""

from __future__ import annotations

import argparse
import gzip
import json
import lzma
import os
import random
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from signals.analyse import Analyser, strip_accents  # noqa: E402
from signals.config import load_scenarios  # noqa: E402
from signals.match import compile_ruleset  # noqa: E402
from signals.models import ItemKind  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from label_consolidate import split_of  # noqa: E402

DATA = Path(os.environ.get("SIGNALS_DATA", ROOT.parent / "shared" / "data"))
TV = DATA / "backtest/fr-tvnews-2013-2022/tvnews_fr2_fr3_tf1_2013_2022.jsonl.xz"
LM = DATA / "feeds/lemonde-rss-2022/items_dedup.jsonl.gz"


def load_corpus() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    with lzma.open(TV, "rt", encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            docs.append(
                {
                    "id": o["url"],
                    "corpus": "tv",
                    "date": o["date"],
                    "source": o["media"],
                    "title": o["title"] or "",
                    "text": o["description"] or "",
                }
            )
    with gzip.open(LM, "rt", encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            if not (o.get("published") or "").startswith("2022"):
                continue
            docs.append(
                {
                    "id": o["link"],
                    "corpus": "lm",
                    "date": o["published"][:10],
                    "source": "Le Monde",
                    "title": o["title"] or "",
                    "text": o["description"] or "",
                }
            )
    return docs


def fold(s: str) -> str:
    return strip_accents(s.lower())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--per-query", type=int, default=40)
    ap.add_argument("--random", type=int, default=300)
    ap.add_argument("--batch", type=int, default=105)
    ap.add_argument(
        "--stream", type=int, default=40000, help="stream sample size for matcher flags"
    )
    ap.add_argument("--pairs-per-rupture", type=int, default=24)
    ap.add_argument("--pair-batch", type=int, default=70)
    ap.add_argument("--exclude", type=Path, help="ids already labelled (one per line)")
    ap.add_argument("--queries", type=Path, default=ROOT / "labels/queries.yaml")
    ap.add_argument("--prefix", default="articles", help="file name prefix of the article batches")
    ap.add_argument("--no-pairs", action="store_true", help="draw articles only")
    ap.add_argument(
        "--split",
        choices=("dev", "test"),
        help="draw only articles whose URL falls in this split (label_consolidate.split_of)",
    )
    ap.add_argument("--pair-prefix", default="pairs", help="file name prefix of the pair batches")
    ap.add_argument(
        "--doubt-pairs",
        type=int,
        default=0,
        help="per rupture, this many more pairs flagged by a doubt item (counter-evidence)",
    )
    args = ap.parse_args()
    rng = random.Random(args.seed)
    docs = load_corpus()
    if args.split:
        docs = [d for d in docs if split_of(d["id"]) == args.split]
    print(f"{len(docs)} documents", file=sys.stderr)
    queries = yaml.safe_load(args.queries.read_text())
    exclude = set(args.exclude.read_text().split()) if args.exclude else set()

    chosen: dict[str, dict[str, Any]] = {}
    reason: dict[str, str] = {}
    folded = [fold(d["title"] + " . " + d["text"]) for d in docs]
    for rupture, patterns in queries.items():
        rx = re.compile("|".join(f"(?:{p})" for p in patterns))
        hits = [i for i, t in enumerate(folded) if rx.search(t) and docs[i]["id"] not in exclude]
        tv = [i for i in hits if docs[i]["corpus"] == "tv"]
        lm = [i for i in hits if docs[i]["corpus"] == "lm"]
        n_lm = min(len(lm), args.per_query // 4)
        pick = rng.sample(lm, n_lm) + rng.sample(tv, min(len(tv), args.per_query - n_lm))
        print(f"{rupture}: {len(hits)} query hits, {len(pick)} drawn", file=sys.stderr)
        for i in pick:
            if docs[i]["id"] not in chosen:
                chosen[docs[i]["id"]] = docs[i]
                reason[docs[i]["id"]] = f"query:{rupture}"
    pool = [d for d in docs if d["id"] not in chosen and d["id"] not in exclude]
    for d in rng.sample(pool, min(args.random, len(pool))):
        chosen[d["id"]] = d
        reason[d["id"]] = "random"
    arts = list(chosen.values())
    rng.shuffle(arts)
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for b in range(0, len(arts), args.batch):
        path = args.out / f"{args.prefix}_{b // args.batch + 1:02d}.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for d in arts[b : b + args.batch]:
                f.write(json.dumps({**d, "drawn_by": reason[d["id"]]}, ensure_ascii=False) + "\n")
                manifest.append({"id": d["id"], "corpus": d["corpus"], "drawn_by": reason[d["id"]]})
    (args.out / f"{args.prefix}_manifest.jsonl").write_text(
        "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in manifest), encoding="utf-8"
    )
    print(
        f"{len(arts)} articles in {(len(arts) + args.batch - 1) // args.batch} batches",
        file=sys.stderr,
    )

    if args.no_pairs:
        return
    # Matcher-flagged pairs in a random stream sample (keys only: no model needed).
    scenarios = load_scenarios(ROOT / "scenarios.yaml")
    analyser = Analyser(entities=False)
    ruleset = compile_ruleset(scenarios, analyser)
    stream = rng.sample(
        [d for d in docs if d["id"] not in chosen and d["id"] not in exclude], args.stream
    )
    flagged: dict[str, list[tuple[dict[str, Any], list[str]]]] = defaultdict(list)
    doubted: dict[str, set[str]] = defaultdict(set)  # rupture → ids a doubt item flags
    texts = [(f"{d['title']}.\n{d['text']}", "fr") for d in stream]
    for d, doc in zip(stream, analyser.analyse_many(texts), strict=True):
        per: dict[str, list[str]] = defaultdict(list)
        for h in ruleset.match(doc):
            per[h.rupture_id].append(h.item_id)
            if h.kind is ItemKind.DOUBT:
                doubted[h.rupture_id].add(d["id"])
        for r, items in per.items():
            flagged[r].append((d, items))
    pairs = []
    for r, lst in sorted(flagged.items()):
        print(f"flagged {r}: {len(lst)} of {len(stream)}", file=sys.stderr)
        for d, items in rng.sample(lst, min(len(lst), args.pairs_per_rupture)):
            pairs.append(pair_entry(d, r, items, len(lst), len(stream)))
    rng.shuffle(pairs)
    write_batches(args.out, args.pair_prefix, pairs, args.pair_batch)
    if not args.doubt_pairs:
        return
    taken = {(p["id"], p["rupture"]) for p in pairs}
    extra = []
    for r, lst in sorted(flagged.items()):
        left = [
            (d, items) for d, items in lst if d["id"] in doubted[r] and (d["id"], r) not in taken
        ]
        print(f"doubt-flagged {r}: {len(left)} more of {len(stream)}", file=sys.stderr)
        for d, items in rng.sample(left, min(len(left), args.doubt_pairs)):
            extra.append(pair_entry(d, r, items, len(lst), len(stream)))
    rng.shuffle(extra)
    write_batches(args.out, f"{args.pair_prefix}_doubt", extra, args.pair_batch)


def pair_entry(
    d: dict[str, Any], rupture: str, items: list[str], flagged: int, stream: int
) -> dict[str, Any]:
    """A pair to read: the article, the rupture, and how often the matcher flags that rupture."""
    return {
        **d,
        "rupture": rupture,
        "flagged_items": items,
        "flagged_total": flagged,
        "stream_size": stream,
    }


def write_batches(out: Path, prefix: str, pairs: list[dict[str, Any]], size: int) -> None:
    for b in range(0, len(pairs), size):
        path = out / f"{prefix}_{b // size + 1:02d}.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for p in pairs[b : b + size]:
                f.write(json.dumps(p, ensure_ascii=False) + "\n")
    print(
        f"{prefix}: {len(pairs)} pairs in {(len(pairs) + size - 1) // size} batches",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
