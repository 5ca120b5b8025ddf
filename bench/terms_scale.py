"""P3 (issue 8): whole `process` with 10,000 watch terms ÷ with 100 terms, same texts, side by side.

Texts: real Le Monde RSS items (title + description), or any JSON Lines file with --corpus.
The two rulesets are generated from real words of the same corpus, but from items that are not
processed (so hits stay as rare as a real watch list's): word bigrams of at least 4 letters each,
drawn at random among the distinct ones, 10 terms per watch item, 10 items per rupture. For each
repeat, on a fresh SQLite store each, the whole `process` stage (extract → dedup → analyse →
match → judge → NER on the evidence → store) runs with the small ruleset, then with the large one,
each compiled beforehand (compile time is reported apart: the ruleset cache pays it once per
edit). Medians over --repeats and the time ratio large ÷ small (target ≤ 1.2). Usage:
    .venv/bin/python bench/terms_scale.py --n 2000 --repeats 3
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import LEMONDE_ITEMS, imported_store, load_items, timed_process  # noqa: E402

from signals.analyse import Analyser  # noqa: E402
from signals.config import Scenarios  # noqa: E402
from signals.judge import load_model  # noqa: E402
from signals.match import Ruleset, compile_ruleset  # noqa: E402

TARGET = 1.2
WORD = re.compile(r"[^\W\d_]{4,}")
TERMS_PER_ITEM = 10
ITEMS_PER_RUPTURE = 10


def corpus_bigrams(rows: list[dict[str, str]]) -> list[str]:
    """Distinct bigrams of two words of 4+ letters, in first-seen order."""
    seen: dict[str, None] = {}
    for r in rows:
        for sentence in re.split(r"[.!?;:]", f"{r['title']}. {r['text']}"):
            words = [w.lower() for w in WORD.findall(sentence)]
            for a, b in zip(words, words[1:], strict=False):
                seen.setdefault(f"{a} {b}", None)
    return list(seen)


def scenarios_with(terms: list[str]) -> Scenarios:
    """Ruptures of watch items of ``TERMS_PER_ITEM`` terms each, covering ``terms``."""
    items = [terms[i : i + TERMS_PER_ITEM] for i in range(0, len(terms), TERMS_PER_ITEM)]
    ruptures = []
    for ri in range(0, len(items), ITEMS_PER_RUPTURE):
        ruptures.append(
            {
                "id": f"bench-{ri // ITEMS_PER_RUPTURE}",
                "title": f"Bench rupture {ri // ITEMS_PER_RUPTURE}",
                "watch": [
                    {"id": f"bench-{ri + k}", "label": f"item {ri + k}", "any": any_}
                    for k, any_ in enumerate(items[ri : ri + ITEMS_PER_RUPTURE])
                ],
            }
        )
    return Scenarios.model_validate({"version": 1, "ruptures": ruptures})


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--corpus", type=Path, default=LEMONDE_ITEMS)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--small", type=int, default=100)
    ap.add_argument("--large", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    if not args.corpus.exists():
        sys.exit(f"corpus not found: {args.corpus}")
    rows = load_items(args.corpus, args.n)
    vocab = corpus_bigrams(load_items(args.corpus, 6000, skip=args.n))
    if len(vocab) < args.large:
        sys.exit(f"only {len(vocab)} distinct bigrams for {args.large} terms")
    terms = random.Random(args.seed).sample(vocab, args.large)
    analyser = Analyser(entities=False)
    judge = load_model()
    analyser.analyse("Échauffement du modèle.", "fr")
    list(analyser.entities(["Échauffement du modèle à Paris."]))
    rulesets: dict[str, Ruleset] = {}
    compile_s: dict[str, float] = {}
    for name, n in (("small", args.small), ("large", args.large)):
        t0 = time.perf_counter()
        rs = compile_ruleset(scenarios_with(terms[:n]), analyser)
        rs.index("fr")  # the language index is built on first use: build it now, outside the timing
        compile_s[name] = time.perf_counter() - t0
        rulesets[name] = rs
    times: dict[str, list[float]] = {"small": [], "large": []}
    hits: dict[str, int] = {}
    for r in range(args.repeats):
        for name in ("small", "large"):
            with tempfile.TemporaryDirectory(prefix="signals-bench-terms-") as tmp:
                store = imported_store(Path(tmp), rows)
                seconds, _ = timed_process(store, rulesets[name], judge, analyser)
                times[name].append(seconds)
                with store.engine.connect() as conn:
                    hits[name] = conn.exec_driver_sql(
                        "SELECT count(DISTINCT article_id) FROM matches"
                    ).scalar_one()
                store.dispose()
        print(
            f"repeat {r + 1}/{args.repeats}: small {times['small'][-1]:.2f} s, large {times['large'][-1]:.2f} s",
            file=sys.stderr,
        )
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"texts: {len(rows)}, repeats: {args.repeats}; terms: word bigrams of other items of the corpus"
    )
    for name, n in (("small", args.small), ("large", args.large)):
        print(
            f"  {n:>6} terms: process {med[name]:6.2f} s ({len(rows) / med[name]:6.1f} articles/s; runs: "
            f"{', '.join(f'{x:.2f}' for x in times[name])}); articles hit {hits[name]}; "
            f"compile {compile_s[name]:.2f} s"
        )
    ratio = med["large"] / med["small"]
    print(
        f"  time {args.large} ÷ {args.small} terms = {ratio:.2f} (P3 target ≤ {TARGET}: "
        f"{'met' if ratio <= TARGET else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
