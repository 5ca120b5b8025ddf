"""Near-duplicate collapse on real corpora: pairs found, a sample to check by eye, effect on counts.

Runs the same functions ``signals process`` uses (``signals.neardup``) over a JSON Lines corpus,
in published order, with the store's time window, keeping an in-memory LSH index:

    python bench/neardup.py CORPUS [--since 2019-01-01 --until 2019-12-31] [--sample 40 --sample-out F]

Prints the articles read, the near-duplicates found (and how many the exact content hash would
have caught), how many of the collapsed copies the judge accepts as evidence per rupture (the
double counting removed), and the run time. ``--sample-out`` writes random pairs (title and
first words of both) to a file outside the repository for checking by eye.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from signals.analyse import Analyser  # noqa: E402
from signals.config import load_scenarios  # noqa: E402
from signals.corpus import read_documents  # noqa: E402
from signals.extract import compose_text, content_hash  # noqa: E402
from signals.judge import load_model  # noqa: E402
from signals.match import compile_ruleset  # noqa: E402
from signals.neardup import DEFAULT_PARAMS, band_keys, jaccard, shingles  # noqa: E402
from signals.settings import parse_now  # noqa: E402


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_now(str(value)[:25])
    except ValueError:
        return None


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("corpus", type=Path)
    ap.add_argument(
        "--field", action="append", default=[], help="OURS=THEIRS, as for signals import"
    )
    ap.add_argument("--since")
    ap.add_argument("--until")
    ap.add_argument("--threshold", type=float, default=DEFAULT_PARAMS.threshold)
    ap.add_argument("--sample", type=int, default=40)
    ap.add_argument("--sample-out", type=Path)
    ap.add_argument("--scenarios", type=Path, default=Path("scenarios.yaml"))
    args = ap.parse_args()
    params = DEFAULT_PARAMS
    field_map = dict(f.split("=", 1) for f in args.field)
    since = parse_now(args.since) if args.since else datetime.min.replace(tzinfo=UTC)
    until = parse_now(args.until) if args.until else datetime.max.replace(tzinfo=UTC)

    docs = [
        (d, dt)
        for d in read_documents([args.corpus], field_map=field_map).values()
        if (dt := _date(d.published)) is not None and since <= dt <= until
    ]
    docs.sort(key=lambda x: x[1])
    t0 = time.perf_counter()
    index: dict[tuple[int, int], list[int]] = defaultdict(list)
    kept: list[tuple[frozenset[str], datetime]] = []
    hashes: set[str] = set()
    pairs: list[tuple[int, int, float]] = []  # (copy, original, jaccard) as indexes into docs
    exact = eligible = 0
    window = timedelta(days=params.window_days)
    ids: dict[int, int] = {}  # kept index → docs index
    for i, (doc, dt) in enumerate(docs):
        h = content_hash(compose_text(doc.title, doc.text))
        if h in hashes:
            exact += 1
            continue
        hashes.add(h)
        sh = shingles(compose_text(doc.title, doc.text), params.shingle_words)
        keys = band_keys(sh, params)
        if not keys:
            continue
        eligible += 1
        cands = sorted({k for key in keys for k in index.get(key, ())})
        hit = None
        for k in cands:
            csh, cdt = kept[k]
            if abs(dt - cdt) <= window and (j := jaccard(sh, csh)) >= args.threshold:
                hit = (k, j)
                break
        if hit is not None:
            pairs.append((i, ids[hit[0]], hit[1]))
            continue
        ids[len(kept)] = i
        for key in keys:
            index[key].append(len(kept))
        kept.append((sh, dt))
    seconds = time.perf_counter() - t0
    print(
        f"articles {len(docs)}  exact copies {exact}  eligible (≥ {params.min_shingles} shingles) "
        f"{eligible}  near-duplicates {len(pairs)} ({len(pairs) / max(1, len(docs)):.1%})  "
        f"{len(docs) / seconds:.0f} articles/s"
    )
    sims = sorted(j for _, _, j in pairs)
    if sims:
        print(f"jaccard of pairs: min {sims[0]:.2f}  median {sims[len(sims) // 2]:.2f}")

    analyser = Analyser(entities=False)
    ruleset = compile_ruleset(load_scenarios(args.scenarios), analyser, str(args.scenarios))
    judge = load_model(None)
    removed: Counter[str] = Counter()
    copies = [docs[c][0] for c, _, _ in pairs]
    texts = [(compose_text(d.title, d.text), "fr") for d in copies]
    for doc in analyser.analyse_many(texts):
        for j in judge.judge_doc(doc, ruleset.match_items(doc), ruleset.vocabulary(doc.language)):
            if j.accepted and j.polarity.value == "evidence":
                removed[j.rupture_id] += 1
    print(
        f"evidence judgements of collapsed copies (double counts removed): {sum(removed.values())}"
    )
    for rid, n in removed.most_common():
        print(f"  {rid:32} {n}")
    if args.sample_out and pairs:
        rng = random.Random(7)
        with args.sample_out.open("w", encoding="utf-8") as out:
            for c, o, j in rng.sample(pairs, min(args.sample, len(pairs))):
                a, b = docs[c][0], docs[o][0]
                out.write(
                    f"## J={j:.2f}\nCOPY  {docs[c][1]:%Y-%m-%d} {a.source} {a.url}\n  {a.title}\n  "
                    f"{a.text[:400]}\nORIG  {docs[o][1]:%Y-%m-%d} {b.source} {b.url}\n  {b.title}\n  "
                    f"{b.text[:400]}\n\n"
                )
        print(f"sample of pairs written to {args.sample_out}")


if __name__ == "__main__":
    main()
