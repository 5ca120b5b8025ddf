"""The only place the stages are wired together: config → fetch → process → digest.

Every entry point (the CLI's ``run``/``fetch``/``process``/``digest``, ``serve`` and the demo)
runs a job through ``run_job``, so a replay with ``--now`` runs exactly the code cron and the
service run: the same job locks, the same stages, the same batches.

Locks per job kind (``docs/DECISIONS.md``, "Locks per job kind"): two fetches exclude each
other (``fetch``), two digests too (``digest``); processes run side by side, any number on any
number of machines, coordinating through claimed batches with a lease (``signals.process``);
a re-match, whoever needs it (a process or a digest), holds ``rematch``. So a fetch, a process
and a digest can run at once.

``should_stop`` is polled between batches (one feed's items, one batch of pages, one batch of
analysed articles: each is one transaction): once it says so, the job stops at the next batch
boundary and its result says ``stopped``. Nothing is half-written either way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from . import ruleset_cache
from .analyse import Analyser
from .config import Scenarios, Sources, load_scenarios, load_sources
from .errors import EmptyWeekError, Stopped
from .judge import JudgeModel, load_model
from .lock import job_lock
from .match import Ruleset, compile_ruleset
from .process import (
    LEASE,
    ProcessReport,
    ensure_entities,
    process_pending,
    reclaim_dead,
)
from .progress import NO_PROGRESS, Progress
from .rematch import rematch
from .settings import Settings
from .store import Store, open_store, redact, repo

if TYPE_CHECKING:
    from .collect import FetchReport
    from .fetch import Fetcher

log = logging.getLogger(__name__)
FETCH_LOCK = "fetch"  # the intake: fetches (and imports) exclude each other, whoever runs them
DIGEST_LOCK = "digest"
ShouldStop = Callable[[], bool]


@dataclass
class Context:
    """What a command needs, loaded once: settings, validated config, store, ruleset."""

    settings: Settings
    sources: Sources
    scenarios: Scenarios
    store: Store
    _analyser: Analyser | None = None
    _ruleset: Ruleset | None = None
    _judge: JudgeModel | None = None
    _ruleset_key: str | None = None  # where ``ruleset()`` caches its compile (None: not cached)
    progress: Progress = NO_PROGRESS  # the CLI sets a terminal bar; jobs report to it

    @classmethod
    def open(cls, settings: Settings, need_sources: bool = True, create: bool = True) -> Context:
        """Load and validate the config; a cached compile of ``scenarios.yaml`` (same bytes,
        same code) stands for its validation and spares the compile (see ``ruleset_cache``).
        ``create=False`` for the commands that only read: no database is created."""
        sources = load_sources(settings.sources_path) if need_sources else Sources()
        cache_dir = settings.cache_dir or ruleset_cache.default_cache_dir()
        key = ruleset_cache.file_key(settings.scenarios_path)
        cached = ruleset_cache.load(cache_dir, key) if key else None
        if cached is not None:
            scenarios = cached.scenarios
        else:
            scenarios = load_scenarios(settings.scenarios_path)
            if key != ruleset_cache.file_key(settings.scenarios_path):
                key = None  # edited while we read it: do not cache under the wrong key
        return cls(
            settings,
            sources,
            scenarios,
            open_store(settings.db_url, create=create),
            _ruleset=cached,
            _ruleset_key=key,
        )

    def analyser(self) -> Analyser:
        """One per process. Analysis is tokeniser-only; the NER model loads only when an
        article first becomes evidence (its entities are shown in the digest)."""
        if self._analyser is None:
            self._analyser = Analyser(
                entities=False,
                tokenizer_cache=self.settings.cache_dir or ruleset_cache.default_cache_dir(),
            )
        return self._analyser

    def judge(self) -> JudgeModel:
        """The article-level judge (``--judge`` or the model shipped with the package)."""
        if self._judge is None:
            self._judge = load_model(self.settings.judge_path)
        return self._judge

    def ruleset(self) -> Ruleset:
        """``scenarios.yaml`` compiled once per run (once per scenarios version in ``serve``;
        cached on disk for the next runs)."""
        if self._ruleset is None:
            self._ruleset = compile_ruleset(
                self.scenarios, self.analyser(), str(self.settings.scenarios_path)
            )
            if self._ruleset_key is not None:
                ruleset_cache.save(
                    self.settings.cache_dir or ruleset_cache.default_cache_dir(),
                    self._ruleset_key,
                    self._ruleset,
                )
        if self._ruleset.analyser is None:  # loaded from the cache
            self._ruleset.analyser = self.analyser()
        return self._ruleset

    def configure(self, sources: Sources, scenarios: Scenarios) -> None:
        """Put a reloaded configuration in force before a ``serve`` job: the compiled ruleset
        is kept while the scenarios are unchanged; the judge model file is read again."""
        if scenarios != self.scenarios:
            self._ruleset = None
        self._judge = None
        self.sources, self.scenarios = sources, scenarios

    def close(self) -> None:
        self.store.dispose()


class LazyFetcher:
    """Makes its fetcher on first call: a run with nothing due imports no HTTP client."""

    def __init__(self, make: Callable[[], Fetcher]) -> None:
        self._make = make
        self._made: Fetcher | None = None

    def __call__(self) -> Fetcher:
        if self._made is None:
            self._made = self._make()
        return self._made

    def close(self) -> None:
        if self._made is not None:
            self._made.close()


def _fetcher(ctx: Context) -> Fetcher:
    from .fetch import Fetcher

    return Fetcher(ctx.sources.fetch)


def fetch(
    ctx: Context, fetcher: Fetcher | LazyFetcher | None = None, progress: Progress | None = None
) -> FetchReport:
    from .collect import fetch_feeds  # feeds, pages: httpx and feedparser only when due

    own = fetcher is None
    fetcher = fetcher or LazyFetcher(lambda: _fetcher(ctx))
    try:
        return fetch_feeds(
            ctx.store, ctx.sources, ctx.settings.clock, fetcher, progress=progress or ctx.progress
        )
    finally:
        if own:
            fetcher.close()


def process(
    ctx: Context,
    limit: int | None = None,
    progress: Progress | None = None,
    lease: timedelta = LEASE,
    should_stop: ShouldStop | None = None,
) -> ProcessReport:
    """Process pending articles (exactly ``limit`` at most), one claimed batch at a time, asking
    ``should_stop`` in between; other workers may be doing the same on the same database."""
    return process_pending(
        ctx.store,
        ctx.ruleset(),
        ctx.judge(),
        ctx.analyser(),
        ctx.settings.clock,
        limit=limit,
        neardup=ctx.sources.dedup.params(),
        progress=progress or ctx.progress,
        lease=lease,
        should_stop=should_stop or never,
    )


def digest(ctx: Context, week: str | None = None, progress: Progress | None = None) -> list[Path]:
    """Write the week's digest. A week with no article analysed raises ``EmptyWeekError`` and
    writes nothing (an existing digest of that week is kept)."""
    from .digest import build_digest, last_complete_week

    now = ctx.settings.clock()
    week = week or last_complete_week(now)
    with ctx.store.engine.connect() as conn:
        if not repo.analysed_per_week(conn, [week]).get(week):
            raise EmptyWeekError(week, redact(ctx.store.url))
    ruleset = ctx.ruleset()
    rematch(ctx.store, ruleset, ctx.judge(), ctx.analyser(), progress=progress or ctx.progress)
    d, _ = build_digest(
        ctx.store,
        ruleset,
        week,
        now,
        entities=lambda ids: ensure_entities(ctx.store, ctx.analyser(), ids),
    )
    from .report.render import write_digest  # jinja2: only when a digest is written

    return write_digest(d, ctx.settings.reports_dir)


# --------------------------------------------------------------------------- jobs


class JobKind(StrEnum):
    """What a job does: ``run`` is fetch then process (cron's entry point)."""

    RUN = "run"
    FETCH = "fetch"
    PROCESS = "process"
    DIGEST = "digest"

    @property
    def fetches(self) -> bool:
        return self in (JobKind.RUN, JobKind.FETCH)

    @property
    def processes(self) -> bool:
        return self in (JobKind.RUN, JobKind.PROCESS)


@dataclass(frozen=True)
class Job:
    """One job to run under its kind's lock."""

    kind: JobKind
    limit: int | None = None  # process: stop after about this many articles
    week: str | None = None  # digest: the ISO week (default: the last complete week before now)
    lock_wait: timedelta = timedelta(0)  # wait this long for the lock, then give up (LockedError)
    workers: int = 1  # process: worker processes on this machine (``signals.workers``)
    lease: timedelta = LEASE  # process: how long a claimed batch is ours


@dataclass
class JobResult:
    """What a job did: the fetch and process reports of the stages it ran, the files it wrote,
    and whether ``should_stop`` ended it at a batch boundary."""

    job: Job
    fetched: FetchReport | None = None
    processed: ProcessReport | None = None
    written: list[Path] = field(default_factory=list)
    stopped: bool = False
    stopped_in: JobKind | None = None  # the stage that was cut short (fetch or process)

    def lines(self) -> list[str]:
        """The summary, one line per stage (the CLI prints them; ``serve`` logs them joined)."""
        out = []
        if self.job.kind.fetches:
            if self.fetched is not None:
                f = self.fetched
                out.append(
                    f"fetch: {f.due} due, {f.ok} ok, {f.not_modified} not modified, {f.failed} failed; "
                    f"{f.items} items, {f.new_articles} new articles; pages {f.pages_ok} ok, "
                    f"{f.pages_failed} failed"
                )
            elif self.stopped_in is JobKind.FETCH:
                out.append("fetch: stopped before its next feed or page batch")
        if self.processed is not None:
            p = self.processed
            out.append(
                f"process: {p.processed} analysed, {p.duplicates} duplicates, "
                f"{p.near_duplicates} near-duplicates, {p.failed} failed, "
                f"{p.rematched} re-matched"
                + (" (stopped between batches)" if self.stopped_in is JobKind.PROCESS else "")
            )
        out += [f"wrote {p}" for p in self.written]
        return out


def idle_lines() -> list[str]:
    """What ``run`` prints when nothing is due and nothing pending (``signals.fast_run``
    prints them from the idle token)."""
    from .collect import FetchReport

    return JobResult(Job(JobKind.RUN), fetched=FetchReport(), processed=ProcessReport()).lines()


def _stoppable(ctx: Context, should_stop: ShouldStop) -> Fetcher:
    from .fetch.stoppable import StoppableFetcher

    return StoppableFetcher(ctx.sources.fetch, should_stop)


def never() -> bool:
    """A ``should_stop`` for jobs that always run to the end."""
    return False


def run_job(ctx: Context, job: Job, should_stop: ShouldStop = never) -> JobResult:
    """Run one job under its kind's lock (``LockedError`` if another job holds it longer than
    ``job.lock_wait``), stopping at the next batch boundary once ``should_stop()`` is true."""
    result = JobResult(job)
    if job.kind.fetches:
        with job_lock(ctx.store, FETCH_LOCK, wait=job.lock_wait, should_stop=should_stop):
            fetcher = LazyFetcher(lambda: _stoppable(ctx, should_stop))
            try:
                result.fetched = fetch(ctx, fetcher)
            except Stopped:
                result.stopped_in = JobKind.FETCH
            finally:
                fetcher.close()
    if job.kind.processes and not should_stop():
        reclaim_dead(ctx.store)
        if job.workers > 1:
            from .workers import run_workers  # multiprocessing: only for --workers

            result.processed = run_workers(ctx, job.workers, job.limit, job.lease, should_stop)
        else:
            result.processed = process(ctx, job.limit, lease=job.lease, should_stop=should_stop)
        if should_stop():
            result.stopped_in = result.stopped_in or JobKind.PROCESS
    if job.kind is JobKind.DIGEST:
        with job_lock(ctx.store, DIGEST_LOCK, wait=job.lock_wait, should_stop=should_stop):
            result.written = digest(ctx, job.week)
    result.stopped = should_stop()
    return result
