"""P2 (issue 8): `signals process --workers 2` against `--workers 1` on PostgreSQL, same texts.

For each repeat and each worker count (alternating), a fresh PostgreSQL database gets the same
N articles (`signals import`, not timed), then `python -m signals process --workers W` is timed
as cron would start it. P2 = throughput(2) ÷ throughput(1), medians over repeats (target ≥ 1.7
on 2 cores), with the fixed costs of a run subtracted, two ways:

* steady state (P2): a run over the first n0 = 64·W articles (one batch per worker, on a fresh
  database) is timed too; throughput = (N − n0) ÷ (wall − wall over n0), the median over
  repeats of each repeat's pair. What that subtracts is
  everything a run pays whatever N is: start-up, the model loads that the first batches
  trigger (spaCy's French tokenizer and the NER model, seconds of CPU), the first claims;
* idle start-up (the measure before 2026-12-02): throughput = N ÷ (wall − wall of an idle
  `process --workers W`, nothing pending). Since the models load lazily at the first batch,
  the idle run loads none, so this leaves the model loads in the measured time: at N = 1,000
  short RSS items they are as long as the processing itself.

The CPU seconds of each run (the parent and the workers it waited for) are reported too, per
article in the steady state: on a shared machine, the wall times follow the other jobs' load,
the CPU times much less.

`--compare DIR` also times another checkout of the code (e.g. the main branch) with the same
interpreter, alternating with this one, so both are measured side by side in one run.

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
import resource
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


def signals(db: str, cache: Path, *args: str, code: Path = REPO) -> float:
    """Wall seconds of one `python -m signals` run of the code in ``code`` (raises on failure)."""
    return run_timed(db, cache, *args, code=code)[0]


def server_cpu() -> float:
    """CPU seconds used so far by a PostgreSQL server on this machine (its processes named
    ``postgres``, plus the exited backends its postmaster waited for); 0.0 when none is local.
    The server runs on the same two cores as the workers: its share bounds P2."""
    hz, total = os.sysconf("SC_CLK_TCK"), 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if not stat[stat.index("(") + 1 : stat.rindex(")")].startswith("postgres"):
            continue
        f = stat[stat.rindex(")") + 2 :].split()
        total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return total / hz


def run_timed(db: str, cache: Path, *args: str, code: Path = REPO) -> tuple[float, float, float]:
    """Wall and CPU seconds (the process and the workers it waited for) of one run, and the
    database server's CPU seconds meanwhile."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SIGNALS_")},
        "PYTHONPATH": str(code),
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
    s0 = server_cpu()
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
    return wall, cpu, server_cpu() - s0


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


def timed(args: argparse.Namespace, cache: Path, code: Path, w: int, n0: int) -> list[float]:
    """Wall of an idle run, of a run over the first ``n0`` articles and of one over N (each on
    a fresh database), then the CPU seconds of the last two, then the server's CPU seconds
    during the last two."""
    out, cpu, server = [], [], []
    db = Database()
    try:
        out.append(signals(db.url, cache, "process", "--workers", str(w), code=code))  # idle
        loaded(db.url, cache, args.corpus, args.field, n0)
        wall, c, sc = run_timed(db.url, cache, "process", "--workers", str(w), code=code)
        out.append(wall)
        cpu.append(c)
        server.append(sc)
    finally:
        db.drop()
    db = Database()
    try:
        loaded(db.url, cache, args.corpus, args.field, args.n)
        wall, c, sc = run_timed(db.url, cache, "process", "--workers", str(w), code=code)
        out.append(wall)
        cpu.append(c)
        server.append(sc)
    finally:
        db.drop()
    return out + cpu + server


def p2(args: argparse.Namespace, cache: Path, codes: list[Path]) -> None:
    """Both worker counts for each checkout in ``codes``, alternating within each repeat."""
    n0 = {w: 64 * w for w in (1, 2)}
    runs: dict[tuple[Path, int], list[list[float]]] = {(c, w): [] for c in codes for w in (1, 2)}
    for r in range(args.repeats):
        for code in codes if r % 2 == 0 else codes[::-1]:
            for w in (1, 2) if r % 2 == 0 else (2, 1):
                runs[code, w].append(timed(args, cache, code, w, n0[w]))
                idle, first, wall = runs[code, w][-1][:3]
                print(
                    f"{code}: repeat {r + 1}, {w} worker(s): {wall:.2f} s (idle {idle:.2f} s, "
                    f"first {n0[w]} articles {first:.2f} s)",
                    flush=True,
                )
    for code in codes:
        med = {
            w: [statistics.median(x[i] for x in runs[code, w]) for i in range(7)] for w in (1, 2)
        }
        steady = {  # each repeat's pair of runs, side by side in time, then the median
            w: statistics.median((args.n - n0[w]) / (x[2] - x[1]) for x in runs[code, w])
            for w in (1, 2)
        }
        cpu = {
            w: statistics.median((x[4] - x[3]) / (args.n - n0[w]) for x in runs[code, w])
            for w in (1, 2)
        }
        server = {
            w: statistics.median((x[6] - x[5]) / (args.n - n0[w]) for x in runs[code, w])
            for w in (1, 2)
        }
        rate = {w: args.n / (med[w][2] - med[w][0]) for w in (1, 2)}
        raw = {w: args.n / med[w][2] for w in (1, 2)}
        print(
            f"\n{code}: {args.n} articles of {args.corpus.name}, PostgreSQL, medians of "
            f"{args.repeats}"
        )
        for w in (1, 2):
            print(
                f"  {w} worker(s): wall {med[w][2]:.2f} s; first {n0[w]} articles "
                f"{med[w][1]:.2f} s -> {steady[w]:.1f} articles/s steady; idle start-up "
                f"{med[w][0]:.2f} s -> {rate[w]:.1f}/s ({raw[w]:.1f}/s with start-up); CPU "
                f"{med[w][4]:.2f} s ({med[w][3]:.2f} s over the first {n0[w]}): "
                f"{cpu[w] * 1000:.2f} ms per article steady; PostgreSQL server CPU "
                f"{med[w][6]:.2f} s, {server[w] * 1000:.2f} ms per article steady"
            )
        ratio = steady[2] / steady[1]
        print(
            f"P2 = two workers / one worker = {ratio:.2f} steady (target >= {TARGET}) "
            f"{'met' if ratio >= TARGET else 'NOT met'}; {rate[2] / rate[1]:.2f} with the idle "
            f"start-up subtracted, {raw[2] / raw[1]:.2f} with nothing subtracted",
            flush=True,
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
    ap.add_argument(
        "--compare", type=Path, default=None, help="another checkout to time alongside this one"
    )
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
        codes = [args.compare.resolve(), REPO] if args.compare else [REPO]
        for i, code in enumerate(codes):  # fill the compiled-ruleset cache
            signals(f"sqlite:///{tmp / f'warm{i}.db'}", cache, "process", code=code)
        if not args.no_p2:
            p2(args, cache, codes)
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
