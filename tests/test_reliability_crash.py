"""Issue 4, case 8 — crash safety: ``kill -9`` of a real ``signals run`` process at random
points of a Le Monde replay, each followed by a re-run, ends with exactly the articles and
matches of an uninterrupted replay: 0 lost, 0 duplicated.

The replay serves DAYS days × 16 real Le Monde RSS snapshots on 127.0.0.1 (``fetch_pages:
false``). A reference database gets one uninterrupted ``signals run --now <day>`` per day.
A second database gets, per day, runs that are killed with SIGKILL until KILLS_PER_DAY kills
have landed, then one run that completes. Kill points are drawn from a seeded random
(``SIGNALS_CRASH_SEED``) and rotate over three triggers so they spread over the whole run:

* ``fetch``: the HTTP server itself fires the kill a few ms after the k-th feed request;
* ``process``: the test watches the store and fires after N articles are analysed (+ a few
  ms, i.e. inside the next batch's transaction);
* ``time``: a plain delay in [0, duration of the reference run] (start-up, lock, config,
  model load, rematch, the final commits).

Each kill is classified after the fact from the store (which phase it interrupted), and the
test prints the tally.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from signals.devserver import Response, serve
from signals.process import BATCH

from .conftest import REPO, shared

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("replay")]
FIRST_DAY = date(2022, 3, 7)
DAYS = 3
KILLS_PER_DAY = 4
MAX_ATTEMPTS_PER_DAY = 12
SEED = int(os.environ.get("SIGNALS_CRASH_SEED", "20220307"))
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
RUN_TIMEOUT = 180


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Only the replayed days of the archive, extracted once."""
    archive = shared("feeds", "lemonde-rss-2022", "lemonde_rss_2022_snapshots.tar.xz")
    out = tmp_path_factory.mktemp("lemonde-crash")
    prefixes = tuple(
        f"Corpus/2022/{MONTHS[d.month - 1]}/{d.day:02d}/"
        for d in (FIRST_DAY + timedelta(days=i) for i in range(DAYS))
    )
    with tarfile.open(archive) as tar:
        tar.extractall(out, members=[m for m in tar if m.name.startswith(prefixes)], filter="data")
    return out / "Corpus" / "2022"


def day_files(root: Path, day: date) -> dict[str, Path]:
    d = root / MONTHS[day.month - 1] / f"{day.day:02d}"
    files: dict[str, Path] = {}
    for capture in sorted(d.iterdir()):
        for f in capture.glob("*.xml"):
            files[f.stem.replace(",", "_")] = f
    return files


@dataclass
class Feeds:
    """What the server serves today, and an optional kill to fire on the k-th request."""

    current: dict[str, Path] = field(default_factory=dict)
    hits: int = 0
    kill_at: int | None = None
    kill_delay: float = 0.0
    proc: subprocess.Popen[bytes] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def router(self, path: str, _headers: dict[str, str]) -> Response:
        with self.lock:
            self.hits += 1
            if self.kill_at is not None and self.hits == self.kill_at and self.proc is not None:
                proc = self.proc
                threading.Timer(self.kill_delay, lambda: proc.send_signal(signal.SIGKILL)).start()
        f = self.current.get(path.removeprefix("/feeds/").removesuffix(".xml"))
        if f is None:
            return Response(404, b"no snapshot that day")
        return Response(200, f.read_bytes(), {"Content-Type": "application/rss+xml; charset=utf-8"})


def _query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError:  # tables not created yet
        return []
    finally:
        conn.close()


def _count(db: Path, sql: str, *args: Any) -> int:
    rows = _query(db, sql, *args)
    return int(rows[0][0]) if rows else 0


def _day_now(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 20, 0, tzinfo=UTC)


def _due(db: Path, now: datetime, n_feeds: int) -> int:
    rows = _query(db, "select next_fetch_at from sources where kind = 'feed'")
    if not rows:
        return n_feeds
    return sum(
        1
        for (nxt,) in rows
        if nxt is None or datetime.fromisoformat(nxt).replace(tzinfo=UTC) <= now
    )


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Everything that must not differ, keyed by canonical URL (ids may differ)."""
    return {
        "articles": sorted(_query(db, "select url from articles")),
        "states": sorted(
            _query(
                db,
                "select a.url, a.state, d.url, a.content_hash from articles a "
                "left join articles d on d.id = a.dup_of",
            )
        ),
        "links": sorted(
            _query(
                db,
                "select a.url, s.source_id from article_sources s "
                "join articles a on a.id = s.article_id",
            )
        ),
        "matches": sorted(
            _query(
                db,
                "select a.url, m.rupture_id, m.item_id, m.kind, m.sentence from matches m "
                "join articles a on a.id = m.article_id",
            )
        ),
        "analyses": sorted(
            _query(
                db,
                "select a.url, n.sentences from analyses n join articles a on a.id = n.article_id",
            )
        ),
        "entities": sorted(
            _query(
                db,
                "select a.url, e.text, e.label, e.count from entities e "
                "join articles a on a.id = e.article_id",
            )
        ),
    }


def test_kill_9_during_replay_loses_and_duplicates_nothing(snapshots: Path, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    scenarios = tmp_path / "scenarios.yaml"  # a private copy: the repo's file may change meanwhile
    scenarios.write_bytes((REPO / "scenarios.yaml").read_bytes())
    feeds = Feeds()
    days = [FIRST_DAY + timedelta(days=i) for i in range(DAYS)]
    codes = sorted(day_files(snapshots, days[0]))
    assert len(codes) == 16
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNALS_")}
    logs = tmp_path / "logs"
    logs.mkdir()
    n_run = 0

    with serve(feeds.router) as srv:
        sources = tmp_path / "sources.yaml"
        lines = [
            "defaults: {interval_minutes: 60, fetch_pages: false, language: fr}",
            'fetch: {allow_networks: ["127.0.0.0/8"]}',
            "sources:",
        ]
        lines += [
            f"  - {{id: lemonde-{c.replace('_', '-').lower()}, name: 'Le Monde {c}', "
            f"url: '{srv.base_url}/feeds/{c}.xml'}}"
            for c in codes
        ]
        sources.write_text("\n".join(lines) + "\n", encoding="utf-8")

        def start(db: Path, day: date) -> subprocess.Popen[bytes]:
            nonlocal n_run
            n_run += 1
            cmd = [
                sys.executable,
                "-m",
                "signals",
                "-v",
                "--db",
                f"sqlite:///{db}",
                "--sources",
                str(sources),
                "--scenarios",
                str(scenarios),
                "--now",
                _day_now(day).isoformat(),
                "run",
            ]
            with (logs / f"{n_run:03d}.log").open("wb") as err:
                return subprocess.Popen(
                    cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=tmp_path
                )

        def log_tail() -> str:
            return (logs / f"{n_run:03d}.log").read_text(errors="replace")[-3000:]

        # ---- the reference: one uninterrupted run per day
        ref_db = tmp_path / "reference.db"
        durations: dict[date, float] = {}
        expected_done: dict[date, int] = {}
        for day in days:
            feeds.current = day_files(snapshots, day)
            t0 = time.monotonic()
            proc = start(ref_db, day)
            assert proc.wait(RUN_TIMEOUT) == 0, log_tail()
            durations[day] = time.monotonic() - t0
            expected_done[day] = _count(
                ref_db, "select count(*) from articles where state = 'done'"
            )

        # ---- the same replay with kill -9 at random points, each followed by a re-run
        db = tmp_path / "crashed.db"
        plan = ["fetch", "fetch", "process", "time"]  # per day; KILLS_PER_DAY of them
        tally: Counter[str] = Counter()
        landed = attempts = 0
        for day in days:
            now = _day_now(day)
            feeds.current = day_files(snapshots, day)
            kills_today = 0
            for _ in range(MAX_ATTEMPTS_PER_DAY):
                if kills_today == KILLS_PER_DAY:
                    break
                attempts += 1
                kind = plan[kills_today % len(plan)]
                done_before = _count(db, "select count(*) from articles where state = 'done'")
                due = _due(db, now, len(codes))
                if kind == "fetch" and due == 0:
                    kind = "process"
                if kind == "process" and expected_done[day] - done_before < 2:
                    kind = "time"
                feeds.hits = 0
                feeds.kill_at = None
                proc = start(db, day)
                if kind == "fetch":  # a few ms after the k-th feed request reaches the server
                    feeds.kill_delay = rng.uniform(0.0, 0.02)
                    feeds.proc = proc
                    feeds.kill_at = rng.randint(1, due)
                    proc.wait(RUN_TIMEOUT)
                elif kind == "process":  # once N more articles are committed, inside a later batch
                    # leave at least two batches to do, so that the kill lands inside one
                    target = rng.randint(
                        done_before + 1, max(done_before + 1, expected_done[day] - 2 * BATCH)
                    )
                    # short: a batch of Le Monde items is analysed in tens of milliseconds
                    pause = rng.uniform(0.0, 0.01)
                    deadline = time.monotonic() + RUN_TIMEOUT
                    while proc.poll() is None and time.monotonic() < deadline:
                        if (
                            _count(db, "select count(*) from articles where state = 'done'")
                            >= target
                        ):
                            time.sleep(pause)
                            proc.send_signal(signal.SIGKILL)
                            break
                        time.sleep(0.002)
                    proc.wait(RUN_TIMEOUT)
                else:  # anywhere in the run
                    delay = rng.uniform(0.0, durations[day])
                    try:
                        proc.wait(delay)
                    except subprocess.TimeoutExpired:
                        proc.send_signal(signal.SIGKILL)
                        proc.wait(RUN_TIMEOUT)
                feeds.kill_at = None
                if proc.returncode != -signal.SIGKILL:
                    assert proc.returncode == 0, log_tail()
                    continue  # finished before the kill fired: not a kill
                kills_today += 1
                landed += 1
                # where did it land?
                done_after = _count(db, "select count(*) from articles where state = 'done'")
                still_due = _due(db, now, len(codes))
                if still_due > 0:
                    phase = "during fetch" if feeds.hits else "start-up (before fetch)"
                elif done_after >= expected_done[day]:
                    phase = "after the last batch"
                elif done_after > done_before:
                    phase = "during process"
                elif due > 0:
                    phase = "end of fetch or start of process"
                else:
                    phase = "start-up, model load or first batch"
                tally[f"{kind} trigger → {phase}"] += 1
            # the re-run after the last kill of the day completes
            proc = start(db, day)
            assert proc.wait(RUN_TIMEOUT) == 0, log_tail()

    ref, got = snapshot(ref_db), snapshot(db)
    lost = {k: len(set(ref[k]) - set(got[k])) for k in ref}
    extra = {k: len(set(got[k]) - set(ref[k])) for k in ref}
    duplicated = {k: len(got[k]) - len(set(got[k])) for k in ref}
    print(
        f"\ncase 8: {landed} kill -9 in {attempts} killed-or-finished attempts over {DAYS} days "
        f"(seed {SEED}); reference: {len(ref['articles'])} articles, {len(ref['links'])} links, "
        f"{len(ref['analyses'])} analyses, {len(ref['entities'])} entity rows, {len(ref['matches'])} matches"
    )
    for k, v in sorted(tally.items()):
        if v:
            print(f"  {v:3d}  {k}")
    print(f"  lost {lost}\n  extra {extra}\n  duplicated {duplicated}")
    assert landed >= 10, f"only {landed} kills landed"
    assert len(ref["articles"]) > 400 and len(ref["matches"]) >= 5
    assert sum(lost.values()) == 0, lost
    assert sum(extra.values()) == 0, extra
    assert sum(duplicated.values()) == 0, duplicated
    assert got == ref
    assert _count(db, "select count(*) from articles where state != 'done'") == 0
    assert _count(db, "select count(*) from locks") == 0
    # the kills really were spread over the run
    phases = Counter(
        {
            p: sum(v for k, v in tally.items() if k.endswith(p))
            for p in ("during fetch", "during process")
        }
    )
    assert phases["during fetch"] >= 3 and phases["during process"] >= 2, tally
