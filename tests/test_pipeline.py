"""``pipeline.run_job``, the one job runner behind the CLI, ``serve`` and the demo: the stages
each job kind runs, its typed result and summary lines, the lock, ``--limit``, and stopping
between batches."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from signals import pipeline
from signals.devserver import Response, serve
from signals.errors import EmptyWeekError, LockedError
from signals.lock import job_lock
from signals.pipeline import Job, JobKind, run_job
from signals.process import BATCH
from signals.settings import Settings
from signals.store import repo
from signals.store import schema as t

from .conftest import python_lines

NOW = datetime(2022, 3, 9, 12, tzinfo=UTC)
SCENARIOS = """\
ruptures:
  - id: monnaie
    title: Monnaies locales
    watch:
      - {id: monnaie-locale, label: Monnaie locale, any: [monnaie locale]}
"""
RSS = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>F</title>
<link>http://example.org/</link><description>d</description>
<item><title>La monnaie locale</title><link>http://example.org/a/1</link>
<description>La monnaie locale circule.</description>
<pubDate>Mon, 07 Mar 2022 10:00:00 GMT</pubDate></item></channel></rss>"""


def _settings(tmp_path: Path, sources: str = "sources: []\n") -> Settings:
    (tmp_path / "sources.yaml").write_text(sources, encoding="utf-8")
    (tmp_path / "scenarios.yaml").write_text(SCENARIOS, encoding="utf-8")
    return Settings(
        db_url=f"sqlite:///{tmp_path / 's.db'}",
        sources_path=tmp_path / "sources.yaml",
        scenarios_path=tmp_path / "scenarios.yaml",
        reports_dir=tmp_path / "reports",
        now=NOW,
    )


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[pipeline.Context]:
    c = pipeline.Context.open(_settings(tmp_path))
    yield c
    c.close()


def _add_ready(ctx: pipeline.Context, n: int) -> None:
    with ctx.store.begin() as c:
        repo.ensure_import_source(c, "import-test", "fr")
        for i in range(n):
            text = (
                f"Article {i}. La monnaie locale numéro {i} circule dans les commerces du quartier."
            )
            repo.add_article(
                c,
                repo.NewArticle(
                    url=f"http://example.org/a/{i}",
                    guid=None,
                    title=f"Article {i}",
                    summary="",
                    text=text,
                    published_at=NOW - timedelta(days=2),
                    published_raw=None,
                    date_flag=None,
                    week="2022-W10",
                    language="fr",
                    state="ready",
                ),
                "import-test",
                NOW,
            )


def _count(ctx: pipeline.Context, state: str) -> int:
    with ctx.store.engine.connect() as c:
        return int(
            c.execute(
                select(func.count()).select_from(t.articles).where(t.articles.c.state == state)
            ).scalar_one()
        )


def _no_lock_left(ctx: pipeline.Context) -> bool:
    with ctx.store.engine.connect() as c:
        return c.execute(select(t.locks)).all() == []


def test_job_kinds_name_their_stages() -> None:
    assert [k.value for k in JobKind] == ["run", "fetch", "process", "digest"]
    assert {k for k in JobKind if k.fetches} == {JobKind.RUN, JobKind.FETCH}
    assert {k for k in JobKind if k.processes} == {JobKind.RUN, JobKind.PROCESS}
    with pytest.raises(ValueError):
        JobKind("sometimes")


def test_process_job_result_and_summary(ctx: pipeline.Context) -> None:
    _add_ready(ctx, BATCH + 5)
    res = run_job(ctx, Job(JobKind.PROCESS))
    assert res.fetched is None and res.written == [] and not res.stopped
    assert res.processed is not None
    assert (res.processed.processed, res.processed.duplicates, res.processed.failed) == (
        BATCH + 5,
        0,
        0,
    )
    assert res.lines() == [
        f"process: {BATCH + 5} analysed, 0 duplicates, 0 near-duplicates, 0 failed, 0 re-matched"
    ]
    assert _count(ctx, "done") == BATCH + 5
    assert _no_lock_left(ctx)
    again = run_job(ctx, Job(JobKind.PROCESS))  # nothing left: an empty report, not an error
    assert again.processed is not None and again.processed.processed == 0


def test_process_limit_is_exact(ctx: pipeline.Context) -> None:
    _add_ready(ctx, BATCH + 10)
    for limit, done in ((5, 5), (BATCH + 2, BATCH + 7)):
        res = run_job(ctx, Job(JobKind.PROCESS, limit=limit))
        assert res.processed is not None and res.processed.processed == limit
        assert _count(ctx, "done") == done


def test_should_stop_ends_processing_on_a_batch_boundary(ctx: pipeline.Context) -> None:
    _add_ready(ctx, 3 * BATCH)
    calls = {"n": 0}

    def stop_after_first_batch() -> bool:
        # asked before the lock wait, before processing, then once before each batch
        return _count(ctx, "done") >= BATCH

    def counting() -> bool:
        calls["n"] += 1
        return stop_after_first_batch()

    res = run_job(ctx, Job(JobKind.PROCESS), counting)
    assert res.stopped and res.stopped_in is JobKind.PROCESS
    assert res.processed is not None and res.processed.processed == BATCH
    assert _count(ctx, "done") == BATCH and _count(ctx, "ready") == 2 * BATCH  # whole batches only
    assert res.lines()[0].endswith("(stopped between batches)")
    assert calls["n"] >= 2
    assert _no_lock_left(ctx)
    rest = run_job(ctx, Job(JobKind.RUN))  # the next run does the rest
    assert rest.processed is not None and rest.processed.processed == 2 * BATCH and not rest.stopped


def test_a_held_lock_is_locked_error_and_a_stopping_wait_gives_up(ctx: pipeline.Context) -> None:
    _add_ready(ctx, 1)
    with (
        job_lock(ctx.store, pipeline.FETCH_LOCK),
        pytest.raises(LockedError, match="another 'fetch' job is running"),
    ):  # another `signals run`
        run_job(ctx, Job(JobKind.RUN))
    with job_lock(ctx.store, pipeline.DIGEST_LOCK):  # what another `signals digest` holds
        started = datetime.now(UTC)
        with pytest.raises(LockedError):
            run_job(ctx, Job(JobKind.DIGEST, lock_wait=timedelta(minutes=5)), lambda: True)
        assert datetime.now(UTC) - started < timedelta(seconds=30), "a stopping job does not wait"
    assert _count(ctx, "ready") == 1  # nothing ran


def test_locks_per_kind_a_process_runs_beside_a_fetch_and_a_digest(ctx: pipeline.Context) -> None:
    _add_ready(ctx, 3)
    with job_lock(ctx.store, pipeline.FETCH_LOCK), job_lock(ctx.store, pipeline.DIGEST_LOCK):
        res = run_job(ctx, Job(JobKind.PROCESS))
    assert res.processed is not None and res.processed.processed == 3
    assert _count(ctx, "done") == 3


def _feed_settings(tmp_path: Path, base_url: str) -> Settings:
    return _settings(
        tmp_path,
        "defaults: {fetch_pages: false}\n"
        'fetch: {allow_networks: ["127.0.0.0/8"], concurrency: 1}\n'
        f"sources:\n  - {{id: f0, name: F0, url: '{base_url}/f0.xml'}}\n",
    )


def test_run_job_fetches_then_processes(tmp_path: Path) -> None:
    hits: list[str] = []

    def router(path: str, _headers: dict[str, str]) -> Response:
        hits.append(path)
        return Response(200, RSS.encode(), {"Content-Type": "application/rss+xml"})

    with serve(router) as srv:
        ctx = pipeline.Context.open(_feed_settings(tmp_path, srv.base_url))
        try:
            res = run_job(ctx, Job(JobKind.RUN))
        finally:
            ctx.close()
    assert hits == ["/f0.xml"]
    assert res.fetched is not None and (
        res.fetched.due,
        res.fetched.ok,
        res.fetched.new_articles,
    ) == (1, 1, 1)
    assert res.processed is not None and res.processed.processed == 1
    assert res.lines() == [
        "fetch: 1 due, 1 ok, 0 not modified, 0 failed; 1 items, 1 new articles; "
        "pages 0 ok, 0 failed",
        "process: 1 analysed, 0 duplicates, 0 near-duplicates, 0 failed, 0 re-matched",
    ]


def test_stopping_before_the_first_feed_fetches_nothing(tmp_path: Path) -> None:
    hits: list[str] = []

    def router(path: str, _headers: dict[str, str]) -> Response:
        hits.append(path)
        return Response(200, RSS.encode(), {"Content-Type": "application/rss+xml"})

    stop = threading.Event()
    with serve(router) as srv:
        ctx = pipeline.Context.open(_feed_settings(tmp_path, srv.base_url))
        try:
            stop.set()
            res = run_job(ctx, Job(JobKind.RUN), stop.is_set)
            assert _no_lock_left(ctx)
        finally:
            ctx.close()
    assert hits == []
    assert (
        res.stopped
        and res.stopped_in is JobKind.FETCH
        and res.fetched is None
        and res.processed is None
    )
    assert res.lines() == ["fetch: stopped before its next feed or page batch"]


def test_digest_job_writes_the_week_it_is_given(ctx: pipeline.Context) -> None:
    _add_ready(ctx, 3)
    run_job(ctx, Job(JobKind.PROCESS))
    res = run_job(ctx, Job(JobKind.DIGEST, week="2022-W10"))
    assert res.fetched is None and res.processed is None
    names = sorted(p.name for p in res.written)
    assert "2022-W10.json" in names and "2022-W10.md" in names
    assert res.lines() == [f"wrote {p}" for p in res.written]
    data = json.loads((ctx.settings.reports_dir / "2022-W10.json").read_text(encoding="utf-8"))
    assert data["week"] == "2022-W10" and data["articles_analysed"] == 3
    with pytest.raises(EmptyWeekError):  # no week: the last complete one before now, empty here
        run_job(ctx, Job(JobKind.DIGEST))
    assert not (ctx.settings.reports_dir / "2022-W09.json").exists()


def test_configure_keeps_the_ruleset_until_the_scenarios_change(
    ctx: pipeline.Context, tmp_path: Path
) -> None:
    first = ctx.ruleset()
    ctx.configure(ctx.sources, ctx.scenarios)
    assert ctx.ruleset() is first
    from signals.config import load_scenarios

    p = tmp_path / "other.yaml"
    p.write_text(
        SCENARIOS.replace("monnaie locale]", "monnaie locale, monnaie fondante]"), encoding="utf-8"
    )
    ctx.configure(ctx.sources, load_scenarios(p))
    assert ctx.ruleset() is not first and ctx.ruleset().version != first.version


@pytest.mark.slow
def test_sigterm_ends_a_cli_process_job_between_batches(tmp_path: Path) -> None:
    """``signals process`` gets SIGTERM after its first batch: it finishes that batch, prints its
    summary and exits 0; only whole batches are stored and the lock is released."""
    s = _settings(tmp_path)
    ctx = pipeline.Context.open(s)
    n = 12 * BATCH
    _add_ready(ctx, n)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNALS_")}
    cmd = [
        sys.executable,
        "-m",
        "signals",
        "--db",
        s.db_url,
        "--sources",
        str(s.sources_path),
        "--scenarios",
        str(s.scenarios_path),
        "--now",
        NOW.isoformat(),
        "process",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path
    )
    try:
        deadline = time.monotonic() + 120
        while _count(ctx, "done") < BATCH and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    done = _count(ctx, "done")
    assert BATCH <= done < n and done % BATCH == 0, done
    assert (
        f"process: {done} analysed" in out.decode() and "(stopped between batches)" in out.decode()
    )
    assert "stopped: SIGTERM received" in err.decode()
    assert _no_lock_left(ctx)
    ctx.close()


#: What an idle run (nothing due, nothing pending) must not import: the NLP, HTTP, feed
#: parsing, extraction, reports, progress bars, migrations, near-duplicate hashing.
HEAVY = (
    "spacy",
    "httpx",
    "feedparser",
    "trafilatura",
    "sklearn",
    "jinja2",
    "rich",
    "alembic",
    "datasketch",
    "numpy",
    "scipy",
    "sqlalchemy.dialects.postgresql",
)


#: What the fast path of an idle run (``signals.fast_run``) does not import either.
FULL_CLI = ("click", "pydantic", "sqlalchemy", "yaml")


def test_an_idle_run_imports_none_of_the_heavy_libraries(tmp_path: Path) -> None:
    """A first ``run`` fetches and analyses one item (and caches the compiled ruleset); the
    same ``run`` again, nothing due and nothing pending, in a fresh process as cron starts it:
    none of ``HEAVY`` is in ``sys.modules`` at its end, through the full CLI, and none of
    ``FULL_CLI`` either through ``python -m signals`` (the fast path)."""
    code = (
        "import json, runpy, sys\n"
        "args, full = json.loads(sys.argv[1]), sys.argv[2] == 'full'\n"
        "sys.argv = ['signals', *args]\n"
        "try:\n"
        "    if full:\n"
        "        from signals.cli import main\n"
        "        main()\n"
        "    else:\n"
        "        runpy.run_module('signals', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        f"print(json.dumps([m for m in {list(HEAVY + FULL_CLI)!r} if m in sys.modules]))\n"
    )
    env = {"SIGNALS_CACHE_DIR": str(tmp_path / "cache")}

    def router(_path: str, _headers: dict[str, str]) -> Response:
        return Response(200, RSS.encode(), {"Content-Type": "application/rss+xml"})

    with serve(router) as srv:
        s = _settings(
            tmp_path,
            'defaults: {fetch_pages: false, language: fr}\nfetch: {allow_networks: ["127.0.0.0/8"]}\n'
            f"sources:\n  - {{id: f, name: F, url: '{srv.base_url}/f.xml'}}\n",
        )
        args = [
            "--db",
            s.db_url,
            "--sources",
            str(s.sources_path),
            "--scenarios",
            str(s.scenarios_path),
            "--reports",
            str(s.reports_dir),
            "--now",
            NOW.isoformat(),
            "run",
        ]

        def run(path: str) -> tuple[list[str], str]:
            *summary, imported = python_lines(code, json.dumps(args), path, env=env)
            return json.loads(imported), "\n".join(summary)

        first, first_summary = run("full")
        assert "fetch: 1 due, 1 ok" in first_summary and "process: 1 analysed" in first_summary
        assert "httpx" in first and "spacy" in first  # the check sees what a run imports
        full, full_summary = run("full")
        fast, fast_summary = run("fast")
    assert "fetch: 0 due" in full_summary and "process: 0 analysed" in full_summary
    assert fast_summary == full_summary
    assert [m for m in full if m in HEAVY] == []
    assert "sqlalchemy" in full  # the check sees the full CLI
    assert fast == []
