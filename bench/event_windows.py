"""Do real, dated developments turn a rupture `gaining`? Hit rate and false-alarm rate of the
weekly statuses over the French TV news 2013-2022 (no look-ahead: each week is scored as the
digest would have scored it that week, from the weeks before it only).

    .venv/bin/python bench/event_windows.py --cache /tmp/tv-keys.pkl [--window 1 4] [--baseline 8]

The first run analyses the 175k reports (tokeniser + stemmer only) and caches the sentence keys;
later runs re-match and re-judge from the cache, so comparing YAML edits, judge models and
scoring parameters takes a minute. Events: bench/events.yaml. A rupture-week is an *alarm*
when its status is `gaining` or `new`; an event window is *hit* when at least one of its weeks
is an alarm; the false-alarm rate is the share of the rupture-weeks outside every window of
that rupture (and at least 4 weeks away from one) that are alarms.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import pickle
import sys
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from signals.analyse import Analyser  # noqa: E402
from signals.config import load_scenarios  # noqa: E402
from signals.extract import compose_text  # noqa: E402
from signals.judge import accept_all, load_model  # noqa: E402
from signals.match import compile_ruleset  # noqa: E402
from signals.models import AnalysedDoc, Polarity, Sentence  # noqa: E402
from signals.score import ScoreParams, WeeklyCounts, iso_week, score_week  # noqa: E402

DATA = Path(os.environ.get("SIGNALS_SHARED_DATA", ROOT.parent / "shared" / "data"))
TV = DATA / "backtest/fr-tvnews-2013-2022/tvnews_fr2_fr3_tf1_2013_2022.jsonl.xz"


def analysed(cache: Path | None, limit: int | None) -> list[tuple[str, str, tuple[tuple[str, ...], ...]]]:
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
            rows.append((iso_week(datetime.fromisoformat(o["date"]).replace(tzinfo=UTC)), o["media"]))
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


def _monday(week: str) -> date:
    return date.fromisocalendar(int(week[:4]), int(week[6:]), 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--scenarios", type=Path, default=ROOT / "scenarios.yaml")
    ap.add_argument("--judge", type=Path, default=None, help="judge model (default: the shipped one)")
    ap.add_argument("--sentence-hits", action="store_true", help="count every sentence hit (no judge)")
    ap.add_argument("--window", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--baseline", type=int, nargs="+", default=[8])
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
        for j in judge.judge_doc(doc, ruleset.match_items(doc)):
            if not j.accepted:
                continue
            if j.polarity is Polarity.EVIDENCE:
                ev[j.rupture_id][week] += 1
                src[j.rupture_id][week].add(media)
                if j.rupture_id not in first or week < first[j.rupture_id]:
                    first[j.rupture_id] = week
            else:
                co[j.rupture_id][week] += 1
    print(f"matched and judged {len(docs)} reports in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    weeks = sorted(n_week)
    rupture_ids = [r.id for r in ruleset.scenarios.ruptures]
    counts = WeeklyCounts(analysed=dict(n_week), evidence={r: dict(v) for r, v in ev.items()},
                          sources={r: {w: len(s) for w, s in v.items()} for r, v in src.items()},
                          doubts={r: dict(v) for r, v in co.items()}, first_evidence_week=first,
                          history_start=weeks[0])
    events = yaml.safe_load((ROOT / "bench/events.yaml").read_text(encoding="utf-8"))
    results = []
    for window in args.window:
        for baseline in args.baseline:
            params = ScoreParams(baseline_weeks=baseline, window_weeks=window)
            alarms: dict[str, set[str]] = defaultdict(set)
            for w in weeks[baseline + window:]:
                for s in score_week(counts, w, rupture_ids, params):
                    if s.status in ("gaining", "new"):
                        alarms[s.rupture_id].add(w)
            table = []
            near: dict[str, set[str]] = defaultdict(set)
            for e in events:
                start, end = date.fromisoformat(str(e["from"])), date.fromisoformat(str(e["to"]))
                ws = sorted({iso_week(datetime.combine(start + timedelta(days=d), datetime.min.time(), UTC))
                             for d in range((end - start).days + 1)})
                # the window's alarms may come up to `window - 1` weeks after it (a summed window)
                last = _monday(ws[-1])
                tail = [w for w in weeks if 0 < (_monday(w) - last).days // 7 <= window - 1]
                hit = sorted(set(ws + tail) & alarms[e["rupture"]])
                table.append({**e, "from": str(e["from"]), "to": str(e["to"]), "weeks": ws, "hit_weeks": hit,
                              "evidence": [ev[e["rupture"]].get(w, 0) for w in ws]})
                lo, hi = _monday(ws[0]) - timedelta(weeks=4), _monday(ws[-1]) + timedelta(weeks=4 + window)
                near[e["rupture"]].update(w for w in weeks if lo <= _monday(w) <= hi)
            hits = sum(1 for t in table if t["hit_weeks"])
            other = [(r, w) for r in rupture_ids for w in weeks[baseline + window:] if w not in near[r]]
            false = sum(1 for r, w in other if w in alarms[r])
            print(f"\nwindow {window} week(s), baseline {baseline} weeks: event windows hit {hits}/{len(table)} "
                  f"({hits / len(table):.0%}); false alarms {false}/{len(other)} rupture-weeks "
                  f"({false / len(other):.1%})")
            for t in table:
                print(f"  {'HIT ' if t['hit_weeks'] else 'miss'} {t['rupture']:<26} {t['from']}..{t['to']} "
                      f"evidence/week {t['evidence']}  {t['what']}")
            results.append({"window": window, "baseline": baseline, "hits": hits, "windows": len(table),
                            "false_alarms": false, "other_weeks": len(other), "events": table})
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
