"""P6 (issue 8): a weekly digest over a store of 1,000,000 articles on SQLite: wall time and peak RSS.

The store is synthetic but shaped like a real one, written with bulk inserts through the store's
own tables (``signals.store.schema``, SQLAlchemy Core) on a database migrated by ``open_store``:

  articles        --articles rows, published over --weeks ISO weeks (~2 years), state done,
                  titles and texts of the real Le Monde RSS items (cycled), 1 % collapsed copies
  article_sources one source of --sources feeds per article, 5 % with a second source
  analyses        the real sentences and keys of those items (analysed once, at tokeniser speed)
  matches         ~6 % of articles hit 1-3 items of scenarios.yaml (real rupture and item ids)
  judgements      per (article, rupture) hit; about half accepted: ~3 % of articles are evidence
  entities        NER already run on the evidence (``entity_runs``), 3 entities each
  verdicts        a few hundred analysts' verdicts

The database is cached in --cache-dir (keyed by its parameters), so repeats and later runs skip
the generation. ``signals digest --week W`` then runs as a child process (what cron starts),
once to warm the compiled-ruleset cache and the OS page cache, then --repeats times: wall-time
median and the child's peak RSS (``ru_maxrss`` from ``os.wait4``). Usage:
    .venv/bin/python bench/digest_scale.py --articles 1000000 --repeats 3
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from signals.analyse import KEYS_VERSION, Analyser  # noqa: E402
from signals.config import load_scenarios  # noqa: E402
from signals.judge import load_model  # noqa: E402
from signals.match import compile_ruleset  # noqa: E402
from signals.models import EVIDENCE_KINDS, ItemKind  # noqa: E402
from signals.rematch import META_RULESET, META_SCENARIOS, applied_scenarios_json, scoring_version  # noqa: E402
from signals.score import iso_week, week_bounds  # noqa: E402
from signals.store import open_store, repo  # noqa: E402
from signals.store import schema as t  # noqa: E402

ITEMS = (
    Path(os.environ.get("SIGNALS_SHARED_DATA", REPO.parent / "shared" / "data"))
    / "feeds"
    / "lemonde-rss-2022"
    / "items_dedup.jsonl.gz"
)
TARGET_S = 5.0
TARGET_RSS_MB = 1024
CHUNK = 20_000
POOL = 3_000  # distinct real items cycled over the articles
ENTITY_NAMES = [
    "Emmanuel Macron",
    "Union européenne",
    "OTAN",
    "Vladimir Poutine",
    "ONU",
    "Olaf Scholz",
    "Banque centrale européenne",
    "Elisabeth Borne",
    "Joe Biden",
    "Volodymyr Zelensky",
]


def load_pool(n: int) -> list[tuple[str, str]]:
    out = []
    with gzip.open(ITEMS, "rt", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            if d.get("description"):
                out.append((d.get("title") or "", d["description"]))
                if len(out) >= n:
                    break
    return out


def generate(path: Path, n_articles: int, n_weeks: int, n_sources: int, seed: int) -> str:
    """Write the synthetic store at ``path``; returns the week to digest (the last full one)."""
    rng = random.Random(seed)
    pool = load_pool(POOL)
    scenarios = load_scenarios(REPO / "scenarios.yaml")
    analyser = Analyser(entities=False)
    ruleset = compile_ruleset(scenarios, analyser)
    judge = load_model()
    analysed = [
        [[s.text, " ".join(s.keys)] for s in analyser.analyse(f"{ti}.\n{tx}", "fr").sentences]
        for ti, tx in pool
    ]
    evidence_items = [it for it in ruleset.items if it.kind in EVIDENCE_KINDS]
    doubt_items = [it for it in ruleset.items if it.kind is ItemKind.DOUBT]
    announcers = [it for it in ruleset.items if it.kind is ItemKind.ANNOUNCER]
    end_week = "2022-W52"
    end = week_bounds(end_week)[1]
    start = end - timedelta(weeks=n_weeks)
    span = (end - start).total_seconds()
    store = open_store(f"sqlite:///{path}")
    eng = store.engine
    t0 = time.perf_counter()
    with eng.begin() as conn:
        conn.execute(
            t.sources.insert(),
            [
                {
                    "id": f"bench-{i}",
                    "name": f"Bench feed {i}",
                    "url": f"https://feeds{i % 50}.example/{i}.xml",
                    "language": "fr",
                    "tags": [],
                    "kind": "feed",
                    "interval_minutes": 60,
                    "fetch_pages": False,
                    "configured": True,
                    "enabled": True,
                }
                for i in range(n_sources)
            ],
        )
        repo.set_meta(conn, META_RULESET, scoring_version(ruleset, judge))
        repo.set_meta(conn, META_SCENARIOS, applied_scenarios_json(ruleset))
    stamps = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(n_articles))
    verdicts_left = 300
    for lo in range(0, n_articles, CHUNK):
        ids = range(lo + 1, min(n_articles, lo + CHUNK) + 1)
        arts, links, anas, matches, judgements, ents, runs, verdicts = (
            [],
            [],
            [],
            [],
            [],
            [],
            [],
            [],
        )
        for aid in ids:
            k = rng.randrange(len(pool))
            title, text = pool[k]
            when = stamps[aid - 1]
            url = f"https://www.lemonde.example/bench/{aid}.html"
            dup = aid > 1000 and rng.random() < 0.01
            arts.append(
                {
                    "id": aid,
                    "url": url,
                    "url_hash": hashlib.sha256(url.encode()).hexdigest(),
                    "guid": url,
                    "title": title,
                    "summary": text,
                    "published_at": when,
                    "published_raw": when,
                    "week": iso_week(when),
                    "first_seen_at": when,
                    "language": "fr",
                    "text": f"{title}.\n{text}",
                    "content_hash": hashlib.sha1(f"{k}-{aid}".encode()).hexdigest(),
                    "dup_of": aid - rng.randrange(1, 1000) if dup else None,
                    "state": "done",
                    "processed_at": when,
                }
            )
            src = rng.randrange(n_sources)
            links.append(
                {"article_id": aid, "source_id": f"bench-{src}", "guid": url, "first_seen_at": when}
            )
            if rng.random() < 0.05:
                links.append(
                    {
                        "article_id": aid,
                        "source_id": f"bench-{(src + 1) % n_sources}",
                        "guid": url,
                        "first_seen_at": when,
                    }
                )
            if dup:
                continue
            anas.append(
                {
                    "article_id": aid,
                    "keys_version": KEYS_VERSION,
                    "language": "fr",
                    "sentences": analysed[k],
                }
            )
            if rng.random() >= 0.06:
                continue
            hit = rng.sample(evidence_items, rng.randint(1, 3))
            if rng.random() < 0.15 and doubt_items:
                hit.append(rng.choice(doubt_items))
            if rng.random() < 0.1 and announcers:
                hit.append(rng.choice(announcers))
            sentence = analysed[k][0][0]
            seen = set()
            for it in hit:
                if it.item_id in seen:
                    continue
                seen.add(it.item_id)
                matches.append(
                    {
                        "article_id": aid,
                        "rupture_id": it.rupture_id,
                        "item_id": it.item_id,
                        "kind": str(it.kind),
                        "sentence": sentence,
                        "weight": it.weight,
                        "ruleset_version": ruleset.version,
                    }
                )
            evidence = False
            for rid, pol in {
                (it.rupture_id, "counter" if it.kind is ItemKind.DOUBT else "evidence")
                for it in hit
                if it.kind is not ItemKind.ANNOUNCER
            }:
                score = rng.random()
                accepted = score >= 0.5
                evidence |= accepted and pol == "evidence"
                judgements.append(
                    {
                        "article_id": aid,
                        "rupture_id": rid,
                        "polarity": pol,
                        "score": score,
                        "accepted": accepted,
                        "reasons": ["bench"],
                    }
                )
                if verdicts_left and rng.random() < 0.01:
                    verdicts_left -= 1
                    verdicts.append(
                        {
                            "article_id": aid,
                            "rupture_id": rid,
                            "polarity": pol,
                            "verdict": rng.choice(["confirmed", "rejected"]),
                            "who": "bench",
                            "at": when,
                            "note": "",
                        }
                    )
            if evidence:
                runs.append({"article_id": aid})
                ents += [
                    {"article_id": aid, "text": name, "label": "PER", "count": 1}
                    for name in rng.sample(ENTITY_NAMES, 3)
                ]
        with eng.begin() as conn:
            for table, rows in (
                (t.articles, arts),
                (t.article_sources, links),
                (t.analyses, anas),
                (t.matches, matches),
                (t.judgements, judgements),
                (t.entity_runs, runs),
                (t.entities, ents),
                (t.verdicts, verdicts),
            ):
                if rows:
                    conn.execute(table.insert(), rows)
        if (lo // CHUNK) % 10 == 9:
            done = ids[-1]
            rate = done / (time.perf_counter() - t0)
            print(f"  generated {done:,} articles ({rate:,.0f}/s)", file=sys.stderr)
    store.dispose()
    return iso_week(end - timedelta(days=7 * 10))


def run_digest(db: Path, week: str, reports: Path, cache: Path) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS (MB) and output of one
    `python -m signals digest` child (reaped with ``os.wait4`` to read its own usage: on a
    shared machine the CPU time says what the wall time cannot)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "SIGNALS_CACHE_DIR": str(cache)}
    args = [
        sys.executable,
        "-m",
        "signals",
        "--db",
        f"sqlite:///{db}",
        "--reports",
        str(reports),
        "--now",
        datetime.now(UTC).isoformat(),
        "digest",
        "--week",
        week,
    ]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            sys.exit(f"digest failed ({proc.returncode}):\n{err.read()}")
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--articles", type=int, default=1_000_000)
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--sources", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument(
        "--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "signals-bench-digest"
    )
    ap.add_argument("--week", help="Week to digest (default: ten weeks before the store's last).")
    args = ap.parse_args()
    if not ITEMS.exists():
        sys.exit(f"items not found: {ITEMS}")
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    key = f"a{args.articles}-w{args.weeks}-s{args.sources}-r{args.seed}-k{KEYS_VERSION}"
    db = args.cache_dir / f"store-{key}.db"
    meta = args.cache_dir / f"store-{key}.json"
    if not (db.exists() and meta.exists()):
        db.unlink(missing_ok=True)
        print(f"generating {args.articles:,} articles into {db} ...", file=sys.stderr)
        t0 = time.perf_counter()
        week = generate(db, args.articles, args.weeks, args.sources, args.seed)
        meta.write_text(
            json.dumps({"week": week, "seconds": time.perf_counter() - t0}), encoding="utf-8"
        )
        print(f"generated in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    info: dict[str, Any] = json.loads(meta.read_text(encoding="utf-8"))
    week = args.week or info["week"]
    with tempfile.TemporaryDirectory(prefix="signals-bench-digest-") as tmp_s:
        tmp = Path(tmp_s)
        cache = tmp / "cache"
        warm_wall, _, warm_rss, out = run_digest(db, week, tmp / "reports", cache)
        print(
            f"warm-up (compiles the ruleset into the cache): {warm_wall:.2f} s, {warm_rss:.0f} MB",
            file=sys.stderr,
        )
        walls, cpus, rss = [], [], []
        for r in range(args.repeats):
            w, c, m, out = run_digest(db, week, tmp / "reports", cache)
            walls.append(w)
            cpus.append(c)
            rss.append(m)
            print(
                f"repeat {r + 1}/{args.repeats}: {w:.2f} s ({c:.2f} s CPU), {m:.0f} MB",
                file=sys.stderr,
            )
    size = db.stat().st_size / 1e9
    med, peak = statistics.median(walls), max(rss)
    print(
        f"store: {args.articles:,} articles over {args.weeks} weeks, {args.sources} sources, "
        f"SQLite file {size:.2f} GB; digest --week {week}: {out.strip().splitlines()[-1] if out.strip() else ''}"
    )
    print(
        f"wall: median {med:.2f} s (runs: {', '.join(f'{w:.2f}' for w in walls)}; target ≤ {TARGET_S:.0f} s: "
        f"{'met' if med <= TARGET_S else 'NOT met'}); CPU (user + system): median "
        f"{statistics.median(cpus):.2f} s; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"peak RSS: {peak:.0f} MB (target ≤ {TARGET_RSS_MB} MB: {'met' if peak <= TARGET_RSS_MB else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
