"""P3 (issue 8): whole `process` with 10,000 watch terms ÷ with 100 terms, same texts, side by side.

Texts: real Le Monde RSS items (title + description), or any JSON Lines file with --corpus.
The rulesets are generated from real words of the same corpus, but from items that are not
processed: word bigrams of at least 4 letters each, drawn at random among the distinct ones, 10
terms per watch item, 10 items per rupture. Three rulesets:

  small       --small (100) bigrams
  large       --large (10,000) bigrams: random bigrams of the same year's news hit far more
              articles than a real watch list, so this run also judges, stores and runs NER on
              far more evidence (the "extra hits" cost)
  large-same  the small ruleset's terms plus bigrams whose keys occur in none of the processed
              texts, --large in all: the same hits as the small one, so its ratio is the cost of
              the number of terms alone (P3)

For each repeat, on a fresh SQLite store each (the order of the three rotating between repeats),
the whole `process` stage (extract → dedup →
analyse → match → judge → NER on the evidence → store) runs with each ruleset, compiled
beforehand (compile time is reported apart: the ruleset cache pays it once per edit). Then the
matcher alone (``Ruleset.match_items`` over the analysed texts) is timed with each, which splits
the large run's extra time into the matcher's share and the extra hits' share. Medians over
--repeats. Usage:
    .venv/bin/python bench/terms_scale.py --n 1000 --repeats 3
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

from signals.analyse import BREAK, Analyser  # noqa: E402
from signals.config import Scenarios  # noqa: E402
from signals.extract import compose_text  # noqa: E402
from signals.judge import load_model  # noqa: E402
from signals.match import Ruleset, compile_ruleset  # noqa: E402
from signals.models import AnalysedDoc  # noqa: E402

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


def key_ngrams(docs: list[AnalysedDoc], longest: int = 4) -> set[tuple[str, ...]]:
    """Every run of 1 to ``longest`` consecutive keys of the texts' sentences."""
    out: set[tuple[str, ...]] = set()
    for d in docs:
        for sent in d.sentences:
            keys = sent.keys
            for n in range(1, longest + 1):
                out.update(keys[i : i + n] for i in range(len(keys) - n + 1))
    return out


def absent_terms(
    candidates: list[str], docs: list[AnalysedDoc], analyser: Analyser, n: int
) -> list[str]:
    """``n`` of ``candidates`` whose keys occur in none of ``docs`` (they can never hit)."""
    present = key_ngrams(docs)
    out = []
    for term in candidates:
        keys = tuple(k for k in analyser.term_keys(term, "fr") if k != BREAK)
        if keys and len(keys) <= 4 and keys not in present:
            out.append(term)
            if len(out) == n:
                return out
    sys.exit(f"only {len(out)} bigrams absent from the texts for {n} terms")


def matcher_seconds(ruleset: Ruleset, docs: list[AnalysedDoc]) -> float:
    t0 = time.perf_counter()
    for d in docs:
        ruleset.match_items(d)
    return time.perf_counter() - t0


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
    rng = random.Random(args.seed)
    terms = rng.sample(vocab, args.large)
    analyser = Analyser(entities=False)
    judge = load_model()
    analyser.analyse("Échauffement du modèle.", "fr")
    list(analyser.entities(["Échauffement du modèle à Paris."]))
    docs = list(analyser.analyse_many((compose_text(r["title"], r["text"]), "fr") for r in rows))
    small = terms[: args.small]
    taken = set(small)
    unused = [t for t in vocab if t not in taken]
    rng.shuffle(unused)
    same = small + absent_terms(unused, docs, analyser, args.large - args.small)
    sets = {"small": small, "large": terms, "large-same": same}
    rulesets: dict[str, Ruleset] = {}
    compile_s: dict[str, float] = {}
    for name, ts in sets.items():
        t0 = time.perf_counter()
        rs = compile_ruleset(scenarios_with(ts), analyser)
        rs.index("fr")  # the language index is built on first use: build it now, outside the timing
        compile_s[name] = time.perf_counter() - t0
        rulesets[name] = rs
    times: dict[str, list[float]] = {name: [] for name in sets}
    matcher: dict[str, list[float]] = {name: [] for name in sets}
    hits: dict[str, int] = {}
    names = list(sets)
    for r in range(args.repeats):
        for name in names[r % 3 :] + names[: r % 3]:  # each ruleset runs first in turn
            with tempfile.TemporaryDirectory(prefix="signals-bench-terms-") as tmp:
                store = imported_store(Path(tmp), rows)
                seconds, _ = timed_process(store, rulesets[name], judge, analyser)
                times[name].append(seconds)
                with store.engine.connect() as conn:
                    hits[name] = conn.exec_driver_sql(
                        "SELECT count(DISTINCT article_id) FROM matches"
                    ).scalar_one()
                store.dispose()
        for name in sets:
            matcher[name].append(matcher_seconds(rulesets[name], docs))
        print(
            f"repeat {r + 1}/{args.repeats}: "
            + ", ".join(
                f"{k} {v[-1]:.2f} s (matcher {matcher[k][-1]:.3f} s)" for k, v in times.items()
            ),
            file=sys.stderr,
        )
    med = {k: statistics.median(v) for k, v in times.items()}
    mmed = {k: statistics.median(v) for k, v in matcher.items()}
    print(
        f"texts: {len(rows)}, repeats: {args.repeats}; terms: word bigrams of other items of the corpus"
    )
    for name, ts in sets.items():
        print(
            f"  {name:10} {len(ts):>6} terms: process {med[name]:6.2f} s ({len(rows) / med[name]:6.1f} "
            f"articles/s; runs: {', '.join(f'{x:.2f}' for x in times[name])}); matcher alone "
            f"{mmed[name]:.3f} s; articles hit {hits[name]}; compile {compile_s[name]:.2f} s"
        )
    if hits["large-same"] != hits["small"]:
        print(f"  WARNING: large-same hits {hits['large-same']} articles, small {hits['small']}")
    extra = med["large"] - med["small"]
    from_matcher = mmed["large"] - mmed["small"]
    print(
        f"  large - small: {extra:.2f} s, of which the matcher {from_matcher:.2f} s and the extra "
        f"hits (judging, storing, NER of {hits['large'] - hits['small']} more articles) "
        f"{extra - from_matcher:.2f} s"
    )
    print(
        f"  matcher alone, {args.large} ÷ {args.small} terms: "
        f"{mmed['large-same'] / mmed['small']:.2f} with the same hits, "
        f"{mmed['large'] / mmed['small']:.2f} with random bigrams"
    )
    for name, label in (("large-same", "same hits"), ("large", "random bigrams")):
        ratio = med[name] / med["small"]
        print(
            f"  time {args.large} ÷ {args.small} terms, {label} = {ratio:.2f} (P3 target ≤ {TARGET}: "
            f"{'met' if ratio <= TARGET else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
