"""Issue 4, case 9 — overlapping runs. Two real ``signals run`` processes started together:
exactly one works, the other exits at once (while the first is still running) with one clear
line and exit code 75; a lock left by a ``kill -9``-ed run is reclaimed by the next run. Then
the lock module's own rules: heartbeat, stale reclaim, waiting, PostgreSQL advisory lock.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from signals.devserver import Response, serve
from signals.errors import LockedError
from signals.lock import job_lock
from signals.store import open_store
from signals.store import schema as t

from .conftest import REPO

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title><link>http://example.org/</link><description>d</description>
<item><title>Un article</title><link>http://example.org/a1</link><description>Bonjour.</description>
<pubDate>Mon, 07 Mar 2022 10:00:00 GMT</pubDate></item>
</channel></rss>"""
WAIT = 120  # generous bound for a subprocess event (import of spaCy on a busy CI machine)


class BlockingFeed:
    """A feed whose response is held until ``release`` is set: the run that fetches it keeps
    the lock for as long as the test wants."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.release = threading.Event()
        self.hits = 0

    def router(self, _path: str, _headers: dict[str, str]) -> Response:
        self.hits += 1
        self.requested.set()
        self.release.wait(WAIT)
        return Response(200, RSS, {"Content-Type": "application/rss+xml"})


def _sources(tmp_path: Path, base_url: str) -> Path:
    p = tmp_path / "sources.yaml"
    p.write_text(
        'defaults: {fetch_pages: false}\nfetch: {allow_networks: ["127.0.0.0/8"]}\n'
        f"sources:\n  - {{id: blocking, name: Blocking, url: '{base_url}/feed.xml'}}\n",
        encoding="utf-8",
    )
    return p


def _start(
    db_url: str, sources: Path, tmp_path: Path, name: str
) -> tuple[subprocess.Popen[bytes], Path]:
    err = tmp_path / f"{name}.err"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNALS_")}
    cmd = [
        sys.executable,
        "-m",
        "signals",
        "--db",
        db_url,
        "--sources",
        str(sources),
        "--scenarios",
        str(REPO / "scenarios.yaml"),
        "--now",
        "2022-03-07T20:00:00Z",
        "run",
    ]
    with err.open("wb") as fh:
        return subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=fh, env=env, cwd=tmp_path
        ), err


def _wait_first(procs: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                return p
        time.sleep(0.02)
    raise AssertionError("no run exited")


@pytest.mark.slow
def test_two_runs_started_together_one_works_other_exits_75(db_url: str, tmp_path: Path) -> None:
    feed = BlockingFeed()
    with serve(feed.router) as srv:
        sources = _sources(tmp_path, srv.base_url)
        # a brand-new database: both runs also race to create the schema
        a, a_err = _start(db_url, sources, tmp_path, "a")
        b, b_err = _start(db_url, sources, tmp_path, "b")
        try:
            first = _wait_first([a, b])
            # the loser exits while the winner is still inside its run, holding the lock
            winner, w_err, l_err = (b, b_err, a_err) if first is a else (a, a_err, b_err)
            assert first.returncode == 75, l_err.read_text()
            assert winner.poll() is None
            assert feed.requested.wait(WAIT)
            message = l_err.read_text().strip().splitlines()
            assert message[-1].startswith("error: another 'fetch' job is running (pid ")
            assert f"pid {winner.pid} on {socket.gethostname()}" in message[-1] and message[
                -1
            ].endswith("exiting")
            feed.release.set()
            assert winner.wait(WAIT) == 0, w_err.read_text()
        finally:
            feed.release.set()
            for p in (a, b):
                if p.poll() is None:
                    p.kill()
                    p.wait()
    assert feed.hits == 1, "exactly one run fetched"
    store = open_store(db_url)
    with store.engine.connect() as c:
        assert c.execute(select(t.locks)).all() == []
        assert len(c.execute(select(t.articles)).all()) == 1
    store.dispose()


@pytest.mark.slow
def test_lock_of_a_killed_run_is_reclaimed(db_url: str, tmp_path: Path) -> None:
    feed = BlockingFeed()
    with serve(feed.router) as srv:
        sources = _sources(tmp_path, srv.base_url)
        victim, _ = _start(db_url, sources, tmp_path, "victim")
        try:
            assert feed.requested.wait(WAIT), "the run never fetched"
            victim.send_signal(signal.SIGKILL)
            assert victim.wait(WAIT) == -signal.SIGKILL
        finally:
            if victim.poll() is None:
                victim.kill()
        store = open_store(db_url)
        with store.engine.connect() as c:
            row = c.execute(select(t.locks)).one()  # the killed run could not release it
        assert row.pid == victim.pid
        feed.release.set()
        again, err = _start(db_url, sources, tmp_path, "again")
        assert again.wait(WAIT) == 0, err.read_text()
    why = "process gone" if db_url.startswith("sqlite") else "its PostgreSQL session is gone"
    assert f"reclaiming lock 'fetch' left by pid {victim.pid}" in err.read_text()
    assert why in err.read_text()
    with store.engine.connect() as c:
        assert c.execute(select(t.locks)).all() == []
        assert len(c.execute(select(t.articles)).all()) == 1
    store.dispose()


# --------------------------------------------------------------------------- the lock module


def _plant(store: object, host: str, pid: int, heartbeat: datetime) -> None:
    with store.begin() as c:  # type: ignore[attr-defined]
        c.execute(
            t.locks.insert().values(
                name="pipeline",
                owner=f"{host}:{pid}:x",
                host=host,
                pid=pid,
                acquired_at=heartbeat,
                heartbeat_at=heartbeat,
            )
        )


def test_heartbeat_keeps_a_long_job_alive(db_url: str) -> None:
    store = open_store(db_url)
    with job_lock(store, "pipeline", heartbeat_every=timedelta(milliseconds=50)):
        with store.engine.connect() as c:
            first = c.execute(select(t.locks.c.heartbeat_at)).scalar_one()
        deadline = time.monotonic() + 30
        latest = first
        while latest == first and time.monotonic() < deadline:
            time.sleep(0.05)
            with store.engine.connect() as c:
                latest = c.execute(select(t.locks.c.heartbeat_at)).scalar_one()
        assert latest > first
        # a long job is never mistaken for a dead one, even with a tiny stale limit
        with (
            pytest.raises(LockedError, match="is running"),
            job_lock(store, "pipeline", stale_after=timedelta(seconds=5)),
        ):
            pass
    store.dispose()


def test_live_lock_from_another_host_is_respected_then_reclaimed_when_stale(
    sqlite_url: str,
) -> None:
    store = open_store(sqlite_url)
    _plant(store, "other-host", 4242, datetime.now(UTC))
    with pytest.raises(LockedError, match=r"pid 4242 on other-host"), job_lock(store, "pipeline"):
        pass
    with store.begin() as c:
        c.execute(update(t.locks).values(heartbeat_at=datetime.now(UTC) - timedelta(hours=1)))
    with job_lock(store, "pipeline") as owner, store.engine.connect() as c:
        assert c.execute(select(t.locks.c.owner)).scalar_one() == owner
    store.dispose()


@pytest.mark.postgres
def test_postgres_advisory_lock_excludes_sessions_and_frees_dead_rows(pg_url: str) -> None:
    a, b = open_store(pg_url), open_store(pg_url)  # two engines: two sessions, like two hosts
    with (
        job_lock(a, "pipeline"),
        pytest.raises(LockedError, match="is running"),
        job_lock(b, "pipeline"),
    ):
        pass
    # a row with a fresh heartbeat from another machine, but nobody holds the advisory lock:
    # its session is gone, so it is reclaimed at once (no need to wait for the stale limit)
    _plant(a, "another-machine", 99, datetime.now(UTC))
    with job_lock(b, "pipeline"), pytest.raises(LockedError), job_lock(a, "pipeline"):
        pass
    a.dispose()
    b.dispose()


def test_waiting_for_the_lock_and_giving_up_on_stop(db_url: str) -> None:
    store = open_store(db_url)
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with job_lock(store, "pipeline"):
            held.set()
            release.wait(WAIT)

    th = threading.Thread(target=holder)
    th.start()
    try:
        assert held.wait(WAIT)
        stop = threading.Event()
        stop.set()
        with (
            pytest.raises(LockedError),
            job_lock(store, "pipeline", wait=timedelta(minutes=5), should_stop=stop.is_set),
        ):
            pass  # a stopping service does not keep waiting
        got: list[str] = []

        def waiter() -> None:
            with job_lock(store, "pipeline", wait=timedelta(seconds=WAIT)) as owner:
                got.append(owner)

        w = threading.Thread(target=waiter)
        w.start()
        release.set()
        w.join(WAIT)
        assert len(got) == 1
    finally:
        release.set()
        th.join(WAIT)
    store.dispose()


def test_a_holder_whose_lock_was_taken_over_says_so(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(sqlite_url)
    caplog.set_level(logging.ERROR, logger="signals.lock")
    with job_lock(store, "pipeline", heartbeat_every=timedelta(milliseconds=20)):
        with store.begin() as c:  # what a reclaim by another process does
            c.execute(t.locks.delete())
        deadline = time.monotonic() + 30
        while "was reclaimed by another process" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
    assert "was reclaimed by another process" in caplog.text
    store.dispose()


def test_a_second_run_is_refused_at_once_while_the_holder_is_inside_a_long_write(
    sqlite_url: str,
) -> None:
    """The busy check is a plain read: it does not queue behind the holder's write
    transaction (which on SQLite would wait up to the 60 s busy timeout, or starve)."""
    store = open_store(sqlite_url)
    outcome: list[str] = []

    def contender() -> None:
        try:
            with job_lock(store, "pipeline"):
                outcome.append("acquired")
        except LockedError as e:
            outcome.append(str(e))

    with job_lock(store, "pipeline"), store.begin() as c:  # a batch being written
        c.execute(update(t.locks).values(heartbeat_at=datetime.now(UTC)))  # holds the write lock
        th = threading.Thread(target=contender)
        th.start()
        th.join(WAIT)  # returns while the write transaction is still open
        assert outcome and outcome[0].startswith("another 'pipeline' job is running"), outcome
    store.dispose()


def test_local_holder_alive_is_kept_even_with_an_old_heartbeat_but_a_reused_pid_is_not(
    sqlite_url: str,
) -> None:
    store = open_store(sqlite_url)
    host = socket.gethostname()[:150]
    me = os.getpid()
    long_ago = datetime.now(UTC) - timedelta(days=1)
    # a live local process with a stale heartbeat (its beats queued behind its own writes)
    _plant(store, host, me, long_ago)
    with pytest.raises(LockedError, match="is running"), job_lock(store, "pipeline"):
        pass
    # the same pid, but the process that took the lock started at another time: pid reused
    with store.begin() as c:
        c.execute(update(t.locks).values(owner=f"{host}:{me}:1:abc"))
    if Path(f"/proc/{me}/stat").exists():
        with job_lock(store, "pipeline"):
            pass
    store.dispose()
