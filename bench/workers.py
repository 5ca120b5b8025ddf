"""P2 (issue 8): `signals process --workers 2` against `--workers 1` on PostgreSQL, same texts.

For each repeat and each worker count (alternating), a fresh PostgreSQL database gets the same
N articles (`signals import`, not timed), then `python -m signals process --workers W` is timed
as cron would start it. Each worker loads its own model, so the start-up of an idle
`process --workers W` (nothing pending) is measured too and subtracted: throughput =
N ÷ (wall − idle wall). P2 = throughput(2) ÷ throughput(1), medians over repeats (target ≥ 1.7
on 2 cores).

With --readers, the same N articles go to a SQLite database and `signals status` is run
in-process every 0.2 s during a `--workers 2` run: its latency (median, max) against an idle
one shows whether readers wait behind the writers (issue 8: never more than a second).

Usage:
    SIGNALS_BENCH_PG=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/workers.py --n 600 --repeats 3 --readers
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

SHARED = Path(os.environ.get("SIGNALS_SHARED_DATA", REPO.parent / "shared" / "data"))
DEFAULT = SHARED / "feeds" / "lemonde-rss-2022" / "items_dedup.jsonl.gz"
PG = os.environ.get("SIGNALS_BENCH_PG") or os.environ.get(
    "SIGNALS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TARGET = 1.7


def signals(db: str, cache: Path, *args: str) -> float:
    """Wall seconds of one `python -m signals` run (raises on failure)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SIGNALS_")},
        "PYTHONPATH": str(REPO),
        "SIGNALS_CACHE_DIR": str(cache),
    }
    cmd = [
        sys.executable,
        "-m",
        "signals",
        "-q",
        "--db",
        db,
        "--scenarios",
        str(REPO / "scenarios.yaml"),
        *args,
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


class Database:
    """A throw-away PostgreSQL database."""

    def __init__(self) -> None:
        self.name = f"signals_bench_{uuid.uuid4().hex[:10]}"
        self.admin = create_engine(PG, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = make_url(PG).set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self.admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def loaded(db: str, cache: Path, corpus: Path, fields: list[str], n: int) -> None:
    signals(
        db,
        cache,
        "import",
        str(corpus),
        *[a for f in fields for a in ("--field", f)],
        "--limit",
        str(n),
        "--skip-invalid",
    )


def p2(args: argparse.Namespace, cache: Path) -> None:
    walls: dict[int, list[float]] = {1: [], 2: []}
    idles: dict[int, list[float]] = {1: [], 2: []}
    for r in range(args.repeats):
        for w in (1, 2) if r % 2 == 0 else (2, 1):
            db = Database()
            try:
                idles[w].append(
                    signals(db.url, cache, "process", "--workers", str(w))
                )  # nothing pending
                loaded(db.url, cache, args.corpus, args.field, args.n)
                walls[w].append(signals(db.url, cache, "process", "--workers", str(w)))
            finally:
                db.drop()
            print(
                f"repeat {r + 1}, {w} worker(s): {walls[w][-1]:.2f} s (idle {idles[w][-1]:.2f} s)",
                flush=True,
            )
    rate = {w: args.n / (statistics.median(walls[w]) - statistics.median(idles[w])) for w in (1, 2)}
    raw = {w: args.n / statistics.median(walls[w]) for w in (1, 2)}
    print(f"\n{args.n} articles of {args.corpus.name}, PostgreSQL, medians of {args.repeats}")
    for w in (1, 2):
        print(
            f"  {w} worker(s): wall {statistics.median(walls[w]):.2f} s, idle start-up "
            f"{statistics.median(idles[w]):.2f} s -> {rate[w]:.1f} articles/s ({raw[w]:.1f}/s with start-up)"
        )
    ratio = rate[2] / rate[1]
    print(
        f"P2 = two workers / one worker = {ratio:.2f} (target >= {TARGET}; with start-up "
        f"{raw[2] / raw[1]:.2f}) {'met' if ratio >= TARGET else 'NOT met'}"
    )


def readers(args: argparse.Namespace, cache: Path, tmp: Path) -> None:
    from click.testing import CliRunner

    from signals.cli import cli

    db = f"sqlite:///{tmp / 'readers.db'}"
    loaded(db, cache, args.corpus, args.field, args.n)
    status = [
        "--db",
        db,
        "--sources",
        str(REPO / "sources.yaml"),
        "--scenarios",
        str(REPO / "scenarios.yaml"),
        "status",
    ]

    def once() -> float:
        t0 = time.perf_counter()
        res = CliRunner().invoke(cli, status)
        assert res.exit_code == 0, res.output
        return time.perf_counter() - t0

    engine = create_engine(db)

    def query() -> float:  # the database alone, without the CPU of a command
        t0 = time.perf_counter()
        with engine.connect() as c:
            c.execute(text("SELECT count(*) FROM articles WHERE state = 'done'")).scalar()
        return time.perf_counter() - t0

    idle = [once() for _ in range(5)]
    idle_q = [query() for _ in range(5)]
    during: list[float] = []
    during_q: list[float] = []
    done = threading.Event()
    run = threading.Thread(
        target=lambda: (signals(db, cache, "process", "--workers", "2"), done.set())
    )
    run.start()
    time.sleep(3.0)  # the workers' start-up
    while not done.is_set():
        during.append(once())
        during_q.append(query())
        time.sleep(0.2)
    run.join()
    engine.dispose()
    print(
        f"\nSQLite, `signals status` in-process during `process --workers 2` over {args.n} articles: "
        f"{len(during)} reads, median {statistics.median(during or [0]) * 1000:.0f} ms, max "
        f"{max(during or [0]) * 1000:.0f} ms (idle: median {statistics.median(idle) * 1000:.0f} ms); a plain "
        f"count query: median {statistics.median(during_q or [0]) * 1000:.1f} ms, max "
        f"{max(during_q or [0]) * 1000:.1f} ms (idle {statistics.median(idle_q) * 1000:.1f} ms)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--corpus", type=Path, default=DEFAULT)
    ap.add_argument("--field", action="append", default=None, help="as `signals import --field`")
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--readers", action="store_true", help="also measure `status` latency on SQLite"
    )
    ap.add_argument("--no-p2", action="store_true", help="skip the PostgreSQL ratio")
    args = ap.parse_args()
    if args.field is None:
        args.field = ["url=link", "text=description"]
    if not args.corpus.exists():
        raise SystemExit(f"corpus not found: {args.corpus} (set SIGNALS_SHARED_DATA)")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cache = tmp / "cache"
        if args.corpus == DEFAULT:  # the Le Monde items name no source: credit one
            args.corpus = with_source(args.corpus, tmp / "items.jsonl", args.n)
        signals(f"sqlite:///{tmp / 'warm.db'}", cache, "process")  # fill the compiled-ruleset cache
        if not args.no_p2:
            p2(args, cache)
        if args.readers:
            readers(args, cache, tmp)


def with_source(corpus: Path, out: Path, n: int) -> Path:
    import gzip
    import itertools
    import json

    with gzip.open(corpus, "rt", encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        for line in itertools.islice(src, n):
            item = json.loads(line)
            item["source"] = f"lemonde-{(item.get('categories') or ['une'])[0]}"
            dst.write(json.dumps(item, ensure_ascii=False) + "\n")
    return out


if __name__ == "__main__":
    main()
