"""Throughput of `process` against bare spaCy on the same texts, measured side by side.

Texts: real Le Monde RSS items (title + description) from ../shared/data, or any JSON Lines
file with --corpus. For each repeat, in one process and on the same texts:

  pipeline   signals' process stage: import into a fresh SQLite store, then extract → dedup
             → analyse (tokenizer + sentencizer + keys) → match (all ruptures) → judge → store,
             timed end to end (NER runs later, when a digest shows the evidence)
  spacy-tok  bare spaCy tokenizer + sentencizer (``spacy.blank("fr")``): the floor (issue 8, P1)
  spacy-full bare ``fr_core_news_sm`` with its default pipeline, ``nlp.pipe`` over the texts
  spacy-ner  bare ``fr_core_news_sm`` with only tok2vec + ner (what the pipeline runs)
  rematch    re-matching the stored history after a scenarios edit (no model)

Medians over --repeats are printed with the ratios. Usage:
    .venv/bin/python bench/throughput.py --n 2000 --repeats 3
    .venv/bin/python bench/throughput.py --n 2000 --repeats 3 --since 2019-01-01 \
        --corpus ../shared/data/backtest/fr-tvnews-2013-2022/tvnews_fr2_fr3_tf1_2013_2022.jsonl.xz
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import spacy

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _common import imported_store, load_items, timed_process  # noqa: E402

from signals.analyse import Analyser  # noqa: E402
from signals.config import load_scenarios  # noqa: E402
from signals.judge import load_model  # noqa: E402
from signals.match import compile_ruleset  # noqa: E402
from signals.rematch import rematch  # noqa: E402

DEFAULT = (
    Path(os.environ.get("SIGNALS_SHARED_DATA", REPO.parent / "shared" / "data"))
    / "feeds"
    / "lemonde-rss-2022"
    / "items_dedup.jsonl.gz"
)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--corpus", type=Path, default=DEFAULT)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--since", help="only texts dated on or after this ISO date (YYYY-MM-DD)")
    args = ap.parse_args()
    if not args.corpus.exists():
        sys.exit(f"corpus not found: {args.corpus}")
    rows = load_items(args.corpus, args.n, since=args.since)
    texts = [f"{r['title']}.\n{r['text']}" for r in rows]
    words = sum(len(t.split()) for t in texts)
    scenarios = load_scenarios(REPO / "scenarios.yaml")
    full = spacy.load("fr_core_news_sm")
    ner = spacy.load(
        "fr_core_news_sm", exclude=["morphologizer", "parser", "attribute_ruler", "lemmatizer"]
    )
    tok = spacy.blank("fr")
    tok.add_pipe("sentencizer")
    analyser = Analyser(entities=False)
    ruleset = compile_ruleset(scenarios, analyser)
    judge = load_model()
    analyser.analyse("Échauffement du modèle.", "fr")
    list(analyser.entities(["Échauffement du modèle à Paris."]))
    results: dict[str, list[float]] = {
        "pipeline": [],
        "spacy-tok": [],
        "spacy-full": [],
        "spacy-ner": [],
        "rematch": [],
    }
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            store = imported_store(Path(tmp), rows)
            seconds, handled = timed_process(store, ruleset, judge, analyser)
            results["pipeline"].append(handled / seconds)
            edited = compile_ruleset(
                scenarios.model_copy(update={"version": scenarios.version + 1}), analyser
            )
            t0 = time.perf_counter()
            n = rematch(store, edited, judge, analyser, force=True)  # every analysis
            results["rematch"].append(n / (time.perf_counter() - t0))
            store.dispose()
        for name, nlp in (("spacy-tok", tok), ("spacy-full", full), ("spacy-ner", ner)):
            t0 = time.perf_counter()
            for _doc in nlp.pipe(texts, batch_size=32):
                pass
            results[name].append(len(texts) / (time.perf_counter() - t0))
    med = {k: statistics.median(v) for k, v in results.items()}
    print(
        f"texts: {len(texts)} ({words / len(texts):.0f} words on average), repeats: {args.repeats}"
    )
    for k, v in med.items():
        print(f"  {k:11} {v:9.1f} articles/s   (runs: {', '.join(f'{x:.1f}' for x in results[k])})")
    print(
        f"  pipeline / spacy-tok  = {med['pipeline'] / med['spacy-tok']:.2f}   (issue 8, P1: >= 0.80)"
    )
    print(f"  pipeline / spacy-full = {med['pipeline'] / med['spacy-full']:.2f}")
    print(f"  pipeline / spacy-ner  = {med['pipeline'] / med['spacy-ner']:.2f}")


if __name__ == "__main__":
    main()
