"""Issue 8, item 4 — parallel workers: batches claimed with a lease, analysed outside any
transaction, written only while the claim is ours.

* a worker killed (SIGKILL) mid-batch on PostgreSQL: its claimed articles cannot be taken
  while its lease runs, are redone once it expires, and the store ends exactly as an
  uninterrupted run leaves it (same states, same originals, same matches: nothing lost or
  doubled);
* 4 workers (``--workers 4``) over 400 real Le Monde items on PostgreSQL: every article
  processed exactly once, every copy collapsed into one original;
* ``--workers 2`` on SQLite, with ``signals status`` read during the run (the reader waits
  for no writer; its latency is measured in ``bench/workers.py``).
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from signals.cli import cli
from signals.process import reclaim_dead, worker_token
from signals.store import claims, open_store
from signals.store import schema as t
from signals.workers import can_fork, split_limit

from .conftest import REPO, shared

ITEMS = ("feeds", "lemonde-rss-2022", "items_dedup.jsonl.gz")
FIELDS = ("--field", "url=link", "--field", "text=description")
RUN_TIMEOUT = 240


def _base(url: str) -> list[str]:
    return [
        "--db",
        url,
        "--scenarios",
        str(REPO / "scenarios.yaml"),
        "--now",
        "2022-12-31T12:00:00Z",
    ]


def _slice(tmp_path: Path, n: int) -> Path:
    """The first ``n`` Le Monde items, each credited to the feed it was first seen in (the
    items carry no source field)."""
    out = tmp_path / f"lemonde-{n}.jsonl"
    if not out.exists():
        with (
            gzip.open(shared(*ITEMS), "rt", encoding="utf-8") as src,
            out.open("w", encoding="utf-8") as dst,
        ):
            for line in itertools.islice(src, n):
                item = json.loads(line)
                item["source"] = f"lemonde-{(item.get('categories') or ['une'])[0]}"
                dst.write(json.dumps(item, ensure_ascii=False) + "\n")
    return out


def _import(url: str, n: int, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, [*_base(url), "-q", "import", str(_slice(tmp_path, n)), *FIELDS])
    assert res.exit_code == 0, res.output


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SIGNALS_")}


def _start(url: str, tmp_path: Path, name: str, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    err = tmp_path / f"{name}.err"
    with err.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "signals", *_base(url), "process", *args],
            stdout=subprocess.DEVNULL,
            stderr=fh,
            env=_env(),
            cwd=tmp_path,
        )
    return proc, err


def _run(url: str, tmp_path: Path, name: str, *args: str) -> None:
    proc, err = _start(url, tmp_path, name, *args)
    assert proc.wait(RUN_TIMEOUT) == 0, err.read_text()


def _snapshot(url: str) -> dict[str, object]:
    """What processing decided, by URL (ids differ between databases)."""
    store = open_store(url)
    a = t.articles
    with store.engine.connect() as c:
        urls = dict(c.execute(select(a.c.id, a.c.url)).all())
        rows = c.execute(select(a.c.url, a.c.state, a.c.dup_of, a.c.claimed_by)).all()
        matches = c.execute(
            select(
                t.matches.c.article_id,
                t.matches.c.rupture_id,
                t.matches.c.item_id,
                t.matches.c.sentence,
            )
        ).all()
        analysed = c.execute(select(t.analyses.c.article_id)).scalars().all()
    store.dispose()
    return {
        "articles": {r.url: (r.state, urls.get(r.dup_of), r.claimed_by) for r in rows},
        "matches": sorted(
            (urls[m.article_id], m.rupture_id, m.item_id, m.sentence) for m in matches
        ),
        "analysed": sorted(urls[i] for i in analysed),
    }


def _assert_exactly_once(url: str, n: int) -> None:
    """Every article processed once: none left ready or claimed, one analysis per original
    (none for a copy), no match stored twice, every copy pointing at an original."""
    store = open_store(url)
    a = t.articles
    with store.engine.connect() as c:
        states = dict(c.execute(select(a.c.state, func.count()).group_by(a.c.state)).all())
        assert sum(states.values()) == n and states.get("ready", 0) == 0, states
        assert c.execute(select(func.count()).where(a.c.claimed_by.is_not(None))).scalar() == 0
        analyses = c.execute(select(func.count()).select_from(t.analyses)).scalar()
        distinct = c.execute(select(func.count(func.distinct(t.analyses.c.article_id)))).scalar()
        originals = c.execute(
            select(func.count()).where(a.c.state == "done", a.c.dup_of.is_(None))
        ).scalar()
        assert analyses == distinct == originals, (analyses, distinct, originals)
        m = t.matches.c
        doubled = c.execute(
            select(m.article_id)
            .group_by(m.article_id, m.rupture_id, m.item_id, m.sentence)
            .having(func.count() > 1)
        ).all()
        assert doubled == []
        orig = a.alias("orig")
        chained = c.execute(
            select(a.c.id).join(orig, orig.c.id == a.c.dup_of).where(orig.c.dup_of.is_not(None))
        ).all()
        assert chained == [], "a copy points at another copy"
        # one original per normalised text: copies seen by concurrent workers were collapsed
        split = c.execute(
            select(a.c.content_hash)
            .where(a.c.state == "done", a.c.dup_of.is_(None))
            .group_by(a.c.content_hash)
            .having(func.count() > 1)
        ).all()
        assert split == []
    store.dispose()


def _held(url: str) -> tuple[set[int], datetime | None]:
    store = open_store(url)
    a = t.articles
    with store.engine.connect() as c:
        rows = c.execute(
            select(a.c.id, a.c.lease_until).where(a.c.state == "ready", a.c.claimed_by.is_not(None))
        ).all()
    store.dispose()
    return {r.id for r in rows}, max((r.lease_until for r in rows), default=None)


def _done(url: str) -> int:
    store = open_store(url)
    with store.engine.connect() as c:
        n = c.execute(select(func.count()).where(t.articles.c.state == "done")).scalar()
    store.dispose()
    return int(n or 0)


def test_claims_of_a_dead_local_worker_are_released_at_once(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    with store.begin() as c:
        c.execute(t.sources.insert().values(id="s", name="s", url="-", language="fr"))
        for i in range(3):
            c.execute(
                t.articles.insert().values(
                    url=f"https://x.org/{i}",
                    url_hash=f"h{i}",
                    published_at=datetime.now(UTC),
                    week="2022-W01",
                    first_seen_at=datetime.now(UTC),
                    state="ready",
                )
            )
    later = datetime.now(UTC) + timedelta(hours=1)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    gone = f"{socket.gethostname()[:30]}:{int(dead.stdout)}:-:abc"
    with store.begin() as c:
        assert len(claims.claim(c, gone, 2, datetime.now(UTC), later)) == 2  # a worker that died
        assert len(claims.claim(c, worker_token(), 1, datetime.now(UTC), later)) == 1  # us: alive
        assert claims.claim(c, "x", 5, datetime.now(UTC), later) == []  # all held
    assert reclaim_dead(store) == 2
    with store.begin() as c:
        assert len(claims.claim(c, "x", 5, datetime.now(UTC), later)) == 2
    store.dispose()


def test_workers_are_forked_only_from_a_single_threaded_process() -> None:
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not can_fork()  # a fork would copy locks the other thread holds: spawn
    finally:
        release.set()
        other.join()


def test_split_limit() -> None:
    assert split_limit(None, 3) == [None, None, None]
    assert split_limit(10, 4) == [3, 3, 2, 2]
    assert split_limit(2, 4) == [1, 1]


@pytest.mark.slow
@pytest.mark.postgres
def test_a_killed_workers_batch_is_redone_after_its_lease(
    pg_url: str, sqlite_url: str, tmp_path: Path
) -> None:
    n = 160
    _import(pg_url, n, tmp_path)
    _import(sqlite_url, n, tmp_path)
    _run(sqlite_url, tmp_path, "reference")  # uninterrupted, one worker

    victim, err = _start(pg_url, tmp_path, "victim", "--lease", "20")
    try:
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline and victim.poll() is None:
            held, _ = _held(pg_url)
            if held and _done(pg_url) > 0:  # a batch written, the next one claimed: mid-run
                # freeze it, then look again: between the look and the kill it must not write
                # its batch and release the claim (which made this test fail at random)
                victim.send_signal(signal.SIGSTOP)
                held, _ = _held(pg_url)
                if held:
                    victim.send_signal(signal.SIGKILL)
                    break
                victim.send_signal(signal.SIGCONT)
            time.sleep(0.01)
        assert victim.wait(30) == -signal.SIGKILL, err.read_text()
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
    held, until = _held(pg_url)
    assert held and until is not None, "the killed worker held a claimed batch"

    store = open_store(pg_url)
    a = t.articles
    with store.begin() as c:  # as if it ran on another machine: only its lease can free the batch
        c.execute(
            update(a)
            .where(a.c.claimed_by.is_not(None))
            .values(
                claimed_by=func.concat(
                    "other-host", func.substr(a.c.claimed_by, func.strpos(a.c.claimed_by, ":"))
                )
            )
        )
    assert reclaim_dead(store) == 0
    # while its lease runs, nobody else can take the batch
    with store.engine.connect() as c, c.begin():
        probe = claims.claim(
            c, "probe", n, datetime.now(UTC), datetime.now(UTC) + timedelta(seconds=1)
        )
        assert not held & {a.id for a in probe}
        c.rollback()
    store.dispose()

    time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 0.5)  # the lease expires
    _run(pg_url, tmp_path, "again")
    _assert_exactly_once(pg_url, n)
    assert _snapshot(pg_url) == _snapshot(sqlite_url)


@pytest.mark.slow
@pytest.mark.postgres
def test_four_workers_process_every_article_exactly_once(pg_url: str, tmp_path: Path) -> None:
    n = 400
    _import(pg_url, n, tmp_path)
    res = subprocess.run(
        [sys.executable, "-m", "signals", *_base(pg_url), "process", "--workers", "4"],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=tmp_path,
        timeout=RUN_TIMEOUT,
    )
    assert res.returncode == 0, res.stderr
    line = res.stdout.strip().splitlines()[-1]
    counts = [int(w) for w in line.replace(",", " ").split() if w.isdigit()]
    assert line.startswith("process: ") and sum(counts[:4]) == n, line  # analysed+dups+near+failed
    _assert_exactly_once(pg_url, n)


def _status(url: str, tmp_path: Path) -> Sequence[str]:
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "signals",
            *_base(url),
            "--sources",
            str(REPO / "sources.yaml"),
            "status",
        ],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=tmp_path,
        timeout=RUN_TIMEOUT,
    )
    assert res.returncode == 0, res.stderr
    return res.stdout.splitlines()


@pytest.mark.slow
def test_two_workers_on_sqlite_and_a_reader_during_the_run(sqlite_url: str, tmp_path: Path) -> None:
    n = 120
    _import(sqlite_url, n, tmp_path)
    run, err = _start(sqlite_url, tmp_path, "two", "--workers", "2")
    try:
        deadline = time.monotonic() + RUN_TIMEOUT
        while _done(sqlite_url) == 0 and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.05)
        reads = 0
        while run.poll() is None and reads < 3:  # read while the workers write
            assert _status(sqlite_url, tmp_path)[0].startswith("articles: ")
            reads += 1
        assert run.wait(RUN_TIMEOUT) == 0, err.read_text()
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert "database is locked" not in err.read_text()
    _assert_exactly_once(sqlite_url, n)
