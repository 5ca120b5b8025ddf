"""P5 (issue 8): re-matching the stored history after a one-term edit ÷ reprocessing it, same store.

Texts: real Le Monde RSS items (title + description), or any JSON Lines file with --corpus. For
each repeat, on a fresh SQLite store with the texts imported:

  process    the whole `process` stage from scratch (extract → dedup → analyse → match → judge
             → NER on the evidence → store): what reprocessing the history would cost
  compile    compiling the edited scenarios.yaml (one term added to one watch item); a real edit
             pays it once (the ruleset cache is keyed by the file's content)
  rematch    what `process` / `digest` do after the edit: re-matching and re-judging, against the
             edited ruleset, the stored analyses that the key index finds for the changed item
             (stored keys, no model; signals/rematch_plan.py)
  full       the same edit re-matched over every stored analysis (``rematch(force=True)``, what
             a judge model change costs, and what every edit cost before the key index)

Medians over --repeats, and the ratios rematch ÷ process (target ≤ 1/20), (compile +
rematch) ÷ process and full ÷ process. Usage:
    .venv/bin/python bench/rematch.py --n 2000 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import LEMONDE_ITEMS, REPO, imported_store, load_items, timed_process  # noqa: E402

from signals.analyse import Analyser  # noqa: E402
from signals.config import Scenarios, load_scenarios  # noqa: E402
from signals.judge import load_model  # noqa: E402
from signals.match import compile_ruleset  # noqa: E402
from signals.rematch import rematch  # noqa: E402

TARGET = 1 / 20
NEW_TERM = "covoiturage solidaire"


def one_term_edit(scenarios: Scenarios) -> Scenarios:
    """The same scenarios with one term added to the first watch item."""
    data = scenarios.model_dump(mode="json", exclude_none=True)
    item = next(it for r in data["ruptures"] for it in r["watch"] if it.get("any"))
    item["any"] = [*item["any"], NEW_TERM]
    return Scenarios.model_validate(data)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--corpus", type=Path, default=LEMONDE_ITEMS)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if not args.corpus.exists():
        sys.exit(f"corpus not found: {args.corpus}")
    rows = load_items(args.corpus, args.n)
    scenarios = load_scenarios(REPO / "scenarios.yaml")
    edited = one_term_edit(scenarios)
    assert edited.fingerprint() != scenarios.fingerprint()
    analyser = Analyser(entities=False)
    ruleset = compile_ruleset(scenarios, analyser)
    judge = load_model()
    analyser.analyse("Échauffement du modèle.", "fr")
    list(analyser.entities(["Échauffement du modèle à Paris."]))
    times: dict[str, list[float]] = {"process": [], "compile": [], "rematch": [], "full": []}
    handled = rematched = full = 0
    for r in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="signals-bench-rematch-") as tmp:
            store = imported_store(Path(tmp), rows)
            seconds, handled = timed_process(store, ruleset, judge, analyser)
            times["process"].append(seconds)
            t0 = time.perf_counter()
            edited_rules = compile_ruleset(edited, analyser)
            times["compile"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            rematched = rematch(store, edited_rules, judge, analyser)
            times["rematch"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            full = rematch(store, edited_rules, judge, analyser, force=True)
            times["full"].append(time.perf_counter() - t0)
            store.dispose()
        print(
            f"repeat {r + 1}/{args.repeats}: "
            + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()),
            file=sys.stderr,
        )
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"texts: {len(rows)} ({handled} processed, {rematched} re-matched after the edit, "
        f"{full} by the full re-match), repeats: {args.repeats}"
    )
    for k, v in med.items():
        print(f"  {k:8} {v:7.2f} s   (runs: {', '.join(f'{x:.2f}' for x in times[k])})")
    ratio = med["rematch"] / med["process"]
    print(
        f"  rematch ÷ process             = {ratio:.3f} (1/{1 / ratio:.1f}; P5 target ≤ 1/20: "
        f"{'met' if ratio <= TARGET else 'NOT met'})"
    )
    print(
        f"  (compile + rematch) ÷ process = {(med['compile'] + med['rematch']) / med['process']:.3f}"
    )
    print(f"  full ÷ process                = {med['full'] / med['process']:.3f}")


if __name__ == "__main__":
    main()
