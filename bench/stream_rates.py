"""Flood check for a `scenarios.yaml` change: (article, rupture) pairs flagged per 1,000 articles of
a random sample of a corpus, per rupture and polarity, as sentence hits (every candidate) and as
the article-level judge accepts them, for one or more rulesets side by side on the same articles.

A rupture above ~30 evidence flags per 1,000 articles of general news needs tighter terms. Usage:
    .venv/bin/python bench/stream_rates.py --corpus ../shared/data/backtest/fr-tvnews-2013-2022/\
tvnews_fr2_fr3_tf1_2013_2022.jsonl.xz --n 20000 --scenarios old.yaml --scenarios scenarios.yaml
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signals.analyse import Analyser  # noqa: E402
from signals.config import load_scenarios  # noqa: E402
from signals.corpus import read_documents  # noqa: E402
from signals.extract import compose_text  # noqa: E402
from signals.judge import load_model  # noqa: E402
from signals.match import compile_ruleset  # noqa: E402
from signals.models import AnalysedDoc, polarity_of  # noqa: E402

Rates = dict[tuple[str, str], tuple[int, int]]  # (rupture, polarity) -> (sentence hits, accepted)


def sample(corpus: Path, n: int, seed: int) -> list[str]:
    docs = read_documents([corpus])
    urls = sorted(docs)
    picked = random.Random(seed).sample(urls, min(n, len(urls)))
    return [compose_text(docs[u].title, docs[u].text) for u in picked]


def rates(path: Path, analysed: list[AnalysedDoc], analyser: Analyser) -> Rates:
    ruleset = compile_ruleset(load_scenarios(path), analyser, str(path))
    judge = load_model(None)
    raw: Counter[tuple[str, str]] = Counter()
    accepted: Counter[tuple[str, str]] = Counter()
    for doc in analysed:
        matches = ruleset.match_items(doc)
        raw.update({(m.rupture_id, str(polarity_of(m.kind))) for m in matches})
        accepted.update(
            (j.rupture_id, str(j.polarity))
            for j in judge.judge_doc(doc, matches, ruleset.vocabulary(doc.language))
            if j.accepted
        )
    return {k: (raw[k], accepted[k]) for k in raw}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--scenarios", type=Path, action="append", required=True)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    analyser = Analyser(entities=False)
    analysed = list(
        analyser.analyse_many((t, "fr") for t in sample(args.corpus, args.n, args.seed))
    )
    per = [rates(p, analysed, analyser) for p in args.scenarios]
    k = len(analysed) / 1000
    print(f"{len(analysed)} articles; flags per 1,000 articles: sentence hits / judge-accepted")
    print("rupture".ljust(28) + "".join(f"  {p.name[:24]:>24}" for p in args.scenarios))
    ruptures = sorted({r for table in per for r, _ in table})
    for pol in ("evidence", "counter"):
        print(f"-- {pol}")
        for r in ruptures:
            cells = []
            for table in per:
                raw, acc = table.get((r, pol), (0, 0))
                cells.append(f"{raw / k:10.1f} / {acc / k:5.1f}".rjust(26))
            print(r.ljust(28) + "".join(cells))


if __name__ == "__main__":
    main()
