"""Do real, dated developments turn a rupture `gaining`? Hit rate and false-alarm rate of the
weekly statuses over the French TV news 2013-2022 (no look-ahead: each week is scored as the
digest would have scored it that week, from the weeks before it only).

    .venv/bin/python bench/event_windows.py --cache /tmp/tv-keys.pkl [--window 1 4] [--baseline 8 52]

The first run analyses the 175k reports (tokeniser + stemmer only) and caches the sentence keys;
later runs re-match and re-judge from the cache, so comparing YAML edits, judge models and
scoring parameters takes a minute. Events: bench/events.yaml. A rupture-week is an *alarm*
when its status is `gaining` or `new`; an event window is *hit* when at least one of its weeks
is an alarm (for a `polarity: counter` window: a week its counter-evidence rose,
``counter_rising``); the false-alarm rate is the share of the rupture-weeks outside every window of
that rupture (and at least 4 weeks away from one) that are alarms (``signals.events``, shared
with ``signals backtest --events``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import lzma
import os
import pickle
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from signals.analyse import Analyser  # noqa: E402
from signals.config import load_scenarios  # noqa: E402
from signals.events import ALARMS, evaluate_events, load_events  # noqa: E402
from signals.extract import compose_text  # noqa: E402
from signals.judge import accept_all, load_model  # noqa: E402
from signals.match import compile_ruleset  # noqa: E402
from signals.models import AnalysedDoc, Polarity, Sentence  # noqa: E402
from signals.score import ScoreParams, WeeklyCounts, iso_week, score_week  # noqa: E402

DATA = Path(os.environ.get("SIGNALS_SHARED_DATA", ROOT.parent / "shared" / "data"))
TV = DATA / "backtest/fr-tvnews-2013-2022/tvnews_fr2_fr3_tf1_2013_2022.jsonl.xz"


def analysed(
    cache: Path | None, limit: int | None
) -> list[tuple[str, str, tuple[tuple[str, ...], ...]]]:
    """(week, source, sentence keys) per report, from the cache when it exists."""
    if cache and cache.exists():
        with cache.open("rb") as f:
            return pickle.load(f)  # noqa: S301 - our own cache file
    analyser = Analyser(entities=False)
    rows, texts = [], []
    with lzma.open(TV, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if limit and i >= limit:
                break
            o = json.loads(line)
            rows.append(
                (iso_week(datetime.fromisoformat(o["date"]).replace(tzinfo=UTC)), o["media"])
            )
            texts.append((compose_text(o["title"] or "", o["description"] or ""), "fr"))
    t0 = time.perf_counter()
    out = []
    for (week, media), doc in zip(rows, analyser.analyse_many(texts), strict=True):
        out.append((week, media, tuple(s.keys for s in doc.sentences)))
    print(f"analysed {len(out)} reports in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if cache:
        with cache.open("wb") as f:
            pickle.dump(out, f)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--scenarios", type=Path, default=ROOT / "scenarios.yaml")
    ap.add_argument(
        "--judge", type=Path, default=None, help="judge model (default: the shipped one)"
    )
    ap.add_argument(
        "--sentence-hits", action="store_true", help="count every sentence hit (no judge)"
    )
    defaults = ScoreParams()
    ap.add_argument("--window", type=int, nargs="+", default=[defaults.window_weeks])
    ap.add_argument("--baseline", type=int, nargs="+", default=[defaults.baseline_weeks])
    ap.add_argument("--json", type=Path, default=None, help="write the per-event table here")
    args = ap.parse_args()
    docs = analysed(args.cache, args.limit)
    analyser = Analyser(entities=False)
    ruleset = compile_ruleset(load_scenarios(args.scenarios), analyser)
    judge = accept_all() if args.sentence_hits else load_model(args.judge)
    t0 = time.perf_counter()
    n_week: dict[str, int] = defaultdict(int)
    ev: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    src: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    co: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    first: dict[str, str] = {}
    for week, media, keys in docs:
        n_week[week] += 1
        doc = AnalysedDoc("fr", tuple(Sentence("", k) for k in keys))
        for j in judge.judge_doc(doc, ruleset.match_items(doc), ruleset.vocabulary(doc.language)):
            if not j.accepted:
                continue
            if j.polarity is Polarity.EVIDENCE:
                ev[j.rupture_id][week] += 1
                src[j.rupture_id][week].add(media)
                if j.rupture_id not in first or week < first[j.rupture_id]:
                    first[j.rupture_id] = week
            else:
                co[j.rupture_id][week] += 1
    print(
        f"matched and judged {len(docs)} reports in {time.perf_counter() - t0:.0f} s",
        file=sys.stderr,
    )
    weeks = sorted(n_week)
    rupture_ids = [r.id for r in ruleset.scenarios.ruptures]
    counts = WeeklyCounts(
        analysed=dict(n_week),
        evidence={r: dict(v) for r, v in ev.items()},
        sources={r: {w: len(s) for w, s in v.items()} for r, v in src.items()},
        doubts={r: dict(v) for r, v in co.items()},
        first_evidence_week=first,
        history_start=weeks[0],
    )
    events = load_events(ROOT / "bench/events.yaml", set(rupture_ids))
    results = []
    for window in args.window:
        for baseline in args.baseline:
            params = dataclasses.replace(defaults, baseline_weeks=baseline, window_weeks=window)
            alarms: dict[str, set[str]] = defaultdict(set)
            counter_alarms: dict[str, set[str]] = defaultdict(set)
            scored = weeks[baseline + window :]
            for w in scored:
                for s in score_week(counts, w, rupture_ids, params):
                    if s.status in ALARMS:
                        alarms[s.rupture_id].add(w)
                    if s.counter_rising:
                        counter_alarms[s.rupture_id].add(w)
            rep = evaluate_events(
                events, alarms, weeks, scored, rupture_ids, window, counter_alarms
            )
            table = [
                {
                    "rupture": r.event.rupture,
                    "from": str(r.event.start),
                    "to": str(r.event.end),
                    "what": r.event.what,
                    "weeks": list(r.weeks),
                    "hit_weeks": list(r.hit_weeks),
                    "polarity": r.event.polarity,
                    "evidence": [ev[r.event.rupture].get(w, 0) for w in r.weeks],
                    "counter": [co[r.event.rupture].get(w, 0) for w in r.weeks],
                }
                for r in rep.results
            ]
            print(f"\nwindow {window} week(s), baseline {baseline} weeks: {rep.summary()}")
            rising = sum(len(v) for v in counter_alarms.values())
            total = len(scored) * len(rupture_ids)
            print(
                f"counter-evidence rising in {rising}/{total} rupture-weeks ({rising / total:.1%})"
            )
            for t in table:
                print(
                    f"  {'HIT ' if t['hit_weeks'] else 'miss'} {t['rupture']:<26} {t['from']}..{t['to']} "
                    + (
                        f"counter/week {t['counter']}  "
                        if t["polarity"] == "counter"
                        else f"evidence/week {t['evidence']}  "
                    )
                    + t["what"]
                )
            results.append(
                {
                    "window": window,
                    "baseline": baseline,
                    "hits": rep.hits,
                    "windows": len(table),
                    "false_alarms": rep.false_alarms,
                    "other_weeks": rep.other_weeks,
                    "events": table,
                }
            )
    if args.json:
        args.json.write_text(
            json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )


if __name__ == "__main__":
    main()
