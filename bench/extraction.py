"""Extraction fidelity and speed: ``signals.extract`` against trafilatura's defaults, one run.

Pages: the 990 real pages of ../shared/data/extraction/trafilatura-eval (gzipped HTML; gold in
``evaldata.json``: snippets that must appear in the main text, ``with``, and snippets that must
not, ``without``). Each page is decoded once, as the fetcher does (``decode_html``), and both
extractors get the same ``str``. Scoring is trafilatura's own snippet evaluation: a ``with``
snippet found is a true positive (else a false negative), a ``without`` snippet found a false
positive; precision, recall and F1 are summed over the corpus.

For each repeat both extractors run over all pages, taking turns page by page; pages/s are
medians over --repeats (the output does not change between repeats, so F1 is computed once).
Usage:
    .venv/bin/python bench/extraction.py --repeats 3
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import trafilatura

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from signals.extract import extract  # noqa: E402
from signals.fetch import decode_html  # noqa: E402

DEFAULT = (
    Path(os.environ.get("SIGNALS_SHARED_DATA", REPO.parent / "shared" / "data"))
    / "extraction"
    / "trafilatura-eval"
)


@dataclass(frozen=True)
class Page:
    url: str
    html: str
    must: tuple[str, ...]
    must_not: tuple[str, ...]


@dataclass
class Score:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0

    def add(self, text: str, page: Page) -> None:
        for s in page.must:
            if s in text:
                self.tp += 1
            else:
                self.fn += 1
        for s in page.must_not:
            if s in text:
                self.fp += 1
            else:
                self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_pages(root: Path, limit: int | None) -> list[Page]:
    gold = json.loads((root / "evaldata.json").read_text(encoding="utf-8"))
    paths = {}
    with (root / "index_with_lang.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            paths[rec["url"]] = root / rec["path"]
    pages = []
    for url, item in gold.items():
        path = paths.get(url)
        if path is None or not path.exists():
            continue
        pages.append(
            Page(
                url,
                decode_html(gzip.decompress(path.read_bytes()), None),
                tuple(item.get("with", ())),
                tuple(item.get("without", ())),
            )
        )
        if limit is not None and len(pages) >= limit:
            break
    return pages


def ours(page: Page) -> str:
    return extract(page.html, page.url).text


def defaults(page: Page) -> str:
    return trafilatura.extract(page.html, url=page.url) or ""


def run(
    extractors: dict[str, Callable[[Page], str]], pages: list[Page], scores: dict[str, Score] | None
) -> dict[str, float]:
    """Pages per second of each extractor over ``pages``. The extractors take turns page by
    page (in alternating order), so a busy machine slows them alike; scores when given."""
    spent = dict.fromkeys(extractors, 0.0)
    names = list(extractors)
    for i, page in enumerate(pages):
        for name in names if i % 2 == 0 else reversed(names):
            t0 = time.perf_counter()
            text = extractors[name](page)
            spent[name] += time.perf_counter() - t0
            if scores is not None:
                scores[name].add(text, page)
    return {name: len(pages) / spent[name] for name in names}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT, help="the trafilatura-eval folder")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--limit", type=int, default=None, help="only the first N pages")
    args = ap.parse_args()
    if not (args.data / "evaldata.json").exists():
        print(f"no evaldata.json in {args.data}", file=sys.stderr)
        return 2
    pages = load_pages(args.data, args.limit)
    extractors: dict[str, Callable[[Page], str]] = {
        "signals.extract": ours,
        "trafilatura defaults": defaults,
    }
    scores = {name: Score() for name in extractors}
    rates: dict[str, list[float]] = {name: [] for name in extractors}
    for r in range(args.repeats):
        for name, rate in run(extractors, pages, scores if r == 0 else None).items():
            rates[name].append(rate)
    print(f"{len(pages)} pages, {args.repeats} repeats (median pages/s)")
    print(f"{'extractor':<22} {'precision':>9} {'recall':>7} {'F1':>6} {'pages/s':>8}")
    for name in extractors:
        s = scores[name]
        print(
            f"{name:<22} {s.precision:>9.3f} {s.recall:>7.3f} {s.f1:>6.3f} {statistics.median(rates[name]):>8.1f}"
        )
    a, b = (statistics.median(rates[n]) for n in extractors)
    print(
        f"ratio signals/defaults: F1 {scores['signals.extract'].f1 / max(scores['trafilatura defaults'].f1, 1e-9):.3f}, "
        f"pages/s {a / b:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
