"""``signals serve``: the pipeline's jobs under APScheduler 3, on the schedule in
``jobs/schedule.yaml``.

* One ``BackgroundScheduler`` with one in-memory job store (the schedule lives in YAML, so
  nothing is persisted and no two schedulers ever share a job store). Every job has
  ``max_instances=1`` and ``coalesce=True``, and a misfire grace of minutes from the file:
  however many runs were missed (the machine slept, the process was stopped), the job runs
  ONCE on wake-up if the latest missed time is within the grace, else at its next time.
* Every job takes the same database job lock as the CLI (``signals.lock``, name
  ``pipeline``), so cron, systemd timers, a manual run and the service never overlap. A
  ``run`` that finds the lock taken is skipped (the next one comes soon); a ``digest`` waits
  up to ``lock_wait_minutes`` for it.
* ``SIGTERM`` / ``SIGINT``: the running job finishes its current batch (one feed's items, one
  batch of pages, one batch of analysed articles: each is one transaction), then the service
  logs ``stopped`` and exits 0. Nothing is half-written.
* ``SIGHUP``, and a change check before every job, reload ``sources.yaml``,
  ``scenarios.yaml`` and the schedule. A file that fails validation is reported (file, line,
  key) and the last good configuration stays in force until the file is fixed.
"""

from __future__ import annotations

import hashlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import Field, field_validator, model_validator

from .analyse import Analyser
from .config import (
    ID_RE,
    FetchSettings,
    Scenarios,
    Sources,
    _load,
    _Strict,
    load_scenarios,
    load_sources,
)
from .errors import ConfigError, EmptyWeekError, LockedError, SignalsError
from .fetch import FEED_ACCEPT, HTML_ACCEPT, Fetcher
from .lock import job_lock
from .match import Ruleset, compile_ruleset
from .models import FetchResult
from .settings import Settings
from .store import Store, open_store

log = logging.getLogger(__name__)
LOCK = "pipeline"  # the CLI's lock name: the service and cron exclude each other
DEFAULT_SCHEDULE = Path("jobs/schedule.yaml")
Command = Literal["run", "fetch", "process", "digest"]


# --------------------------------------------------------------------------- schedule.yaml


class ScheduledJob(_Strict):
    """One job: a command on an interval (``every_minutes``) or a crontab line (``cron``)."""

    id: str = Field(pattern=ID_RE)
    command: Command
    every_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    cron: str | None = None  # "minute hour day month day-of-week", in the schedule's timezone
    misfire_grace_minutes: int = Field(default=10, ge=1, le=7 * 24 * 60)
    lock_wait_minutes: int = Field(default=0, ge=0, le=24 * 60)
    at_start: bool = False  # also run once as soon as the service starts
    enabled: bool = True
    comment: str | None = None

    @field_validator("cron")
    @classmethod
    def _crontab(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                CronTrigger.from_crontab(v, timezone="UTC")
            except ValueError as e:
                raise ValueError(f"not a crontab expression {v!r} (minute hour day month "
                                 f"day-of-week): {e}") from None
        return v

    @model_validator(mode="after")
    def _one_trigger(self) -> ScheduledJob:
        if (self.every_minutes is None) == (self.cron is None):
            raise ValueError("give exactly one of 'every_minutes' and 'cron'")
        return self

    def trigger(self, tz: ZoneInfo) -> BaseTrigger:
        if self.cron is not None:
            return CronTrigger.from_crontab(self.cron, timezone=tz)
        assert self.every_minutes is not None
        return IntervalTrigger(minutes=self.every_minutes, timezone=tz)


class Schedule(_Strict):
    timezone: str = "UTC"
    jobs: list[ScheduledJob] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (an IANA name such as Europe/Paris)") from None
        return v

    def semantic_problems(self) -> list[tuple[tuple[int | str, ...], str]]:
        out: list[tuple[tuple[int | str, ...], str]] = []
        seen: set[str] = set()
        for i, job in enumerate(self.jobs):
            if job.id in seen:
                out.append((("jobs", i, "id"), f"duplicate job id {job.id!r}"))
            seen.add(job.id)
        return out

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def enabled_jobs(self) -> dict[str, ScheduledJob]:
        return {j.id: j for j in self.jobs if j.enabled}


def load_schedule(path: Path) -> Schedule:
    return _load(path, Schedule)


# --------------------------------------------------------------------------- configuration


def _fingerprint(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as e:
        return f"unreadable:{e.__class__.__name__}"


@dataclass(frozen=True)
class Config:
    """The configuration in force: the last good version of each file."""

    schedule: Schedule
    sources: Sources
    scenarios: Scenarios


@dataclass
class _Watched:
    path: Path
    load: Callable[[Path], Any]
    seen: str = ""  # fingerprint of the content last looked at (good or not)
    error: str | None = None  # why the current content is not in force


class Stopped(Exception):
    """The service is stopping: the current job ends after its current batch."""


class _StoppableFetcher(Fetcher):
    """Refuses to start new feed fetches or page batches once the service is stopping; the
    fetches in flight finish and are stored normally (each feed in its own transaction)."""

    def __init__(self, settings: FetchSettings, stop: threading.Event) -> None:
        super().__init__(settings)
        self._stop = stop
        self._pages = 0

    def fetch(self, url: str, etag: str | None = None, last_modified: str | None = None,
              accept: str = FEED_ACCEPT) -> FetchResult:
        if self._stop.is_set() and not self._pages:
            raise Stopped("stopping: feed not fetched")
        return super().fetch(url, etag, last_modified, accept)

    def fetch_many(self, urls: list[str], accept: str = HTML_ACCEPT) -> dict[str, FetchResult]:
        if self._stop.is_set():
            raise Stopped("stopping: pages not fetched")
        self._pages += 1  # a page batch, once started, is finished
        try:
            return super().fetch_many(urls, accept)
        finally:
            self._pages -= 1


# --------------------------------------------------------------------------- the service


@dataclass
class JobOutcome:
    job_id: str
    status: str  # ok | skipped | stopped | failed
    detail: str = ""


Runner = Callable[["Service", ScheduledJob, Config], str]


@dataclass
class Service:
    """The scheduler, the configuration in force and the jobs. ``runner`` is replaceable in
    tests; the default runs the real pipeline."""

    settings: Settings
    schedule_path: Path = DEFAULT_SCHEDULE
    runner: Runner | None = None
    poll_seconds: float = 0.25
    outcomes: list[JobOutcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stopping = threading.Event()
        self._reload_lock = threading.Lock()
        self._validator = Analyser(entities=False)  # compiles scenarios on reload (keys only)
        self._analyser: Analyser | None = None  # the jobs' analyser, loaded on first use
        self._rulesets: dict[str, Ruleset] = {}
        self._watched = {
            "schedule": _Watched(self.schedule_path, load_schedule),
            "sources": _Watched(self.settings.sources_path, load_sources),
            "scenarios": _Watched(self.settings.scenarios_path, self._load_scenarios),
        }
        self._signals: dict[str, bool] = {"stop": False, "reload": False}
        self._signal_name = ""
        # the first load is strict: a service never starts on a broken configuration
        loaded = {}
        problems = []
        for key, w in self._watched.items():
            w.seen = _fingerprint(w.path)
            try:
                loaded[key] = w.load(w.path)
            except ConfigError as e:
                problems += e.problems
        if problems:
            raise ConfigError(problems)
        self.config = Config(**loaded)
        self.store: Store = open_store(self.settings.db_url)
        self.scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(max_workers=2)},
            job_defaults={"max_instances": 1, "coalesce": True},
            timezone=self.config.schedule.tz,
        )
        self._apply_schedule(None, self.config.schedule, starting=True)

    # -- configuration

    def _load_scenarios(self, path: Path) -> Scenarios:
        scenarios = load_scenarios(path)
        compile_ruleset(scenarios, self._validator, str(path))  # terms must compile too
        return scenarios

    def reload(self, force: bool = False) -> bool:
        """Load the files that changed (all of them if ``force``). A file that fails
        validation is logged and the last good version stays in force. True if the
        configuration in force changed."""
        with self._reload_lock:
            old = self.config
            new: dict[str, Any] = {"schedule": old.schedule, "sources": old.sources,
                                   "scenarios": old.scenarios}
            changed = False
            for key, w in self._watched.items():
                fp = _fingerprint(w.path)
                if fp == w.seen and not force:
                    continue
                w.seen = fp
                try:
                    value = w.load(w.path)
                except ConfigError as e:
                    w.error = str(e)
                    for p in e.problems:
                        log.error("reload: %s", p)
                    log.error("reload: %s is invalid; keeping the last good configuration", w.path)
                    continue
                if w.error:
                    log.info("reload: %s is valid again", w.path)
                w.error = None
                if value != getattr(old, key):
                    new[key] = value
                    changed = True
                    log.info("reload: %s loaded", w.path)
            if changed:
                self.config = Config(**new)
                if new["schedule"] != old.schedule:
                    self._apply_schedule(old.schedule, new["schedule"])
            return changed

    def config_errors(self) -> dict[str, str]:
        return {str(w.path): w.error for w in self._watched.values() if w.error}

    def _apply_schedule(self, old: Schedule | None, new: Schedule, starting: bool = False) -> None:
        tz = new.tz
        if old is not None and old.timezone != new.timezone:
            log.warning("reload: a new time zone applies to jobs as they are rescheduled")
        before = old.enabled_jobs() if old is not None else {}
        after = new.enabled_jobs()
        for job_id in before.keys() - after.keys():
            self.scheduler.remove_job(job_id)
            log.info("job %s removed from the schedule", job_id)
        for job_id, spec in after.items():
            if before.get(job_id) == spec and (old is None or old.timezone == new.timezone):
                continue  # unchanged: keep its timer
            kwargs: dict[str, Any] = {}
            if starting and spec.at_start:
                kwargs["next_run_time"] = datetime.now(tz)
            self.scheduler.add_job(
                self._execute, spec.trigger(tz), args=[job_id], id=job_id, name=f"{job_id} ({spec.command})",
                replace_existing=True, max_instances=1, coalesce=True,
                misfire_grace_time=spec.misfire_grace_minutes * 60, **kwargs)
            if not starting:
                log.info("job %s (re)scheduled: %s", job_id, _describe(spec))

    # -- jobs

    def _execute(self, job_id: str) -> None:
        if self.stopping.is_set():
            return
        try:
            self.reload()  # the file-change check before each job
        except Exception:  # never let a reload problem kill the job thread
            log.exception("reload before job %s failed", job_id)
        cfg = self.config
        spec = cfg.schedule.enabled_jobs().get(job_id)
        if spec is None:
            return
        for path, err in self.config_errors().items():
            log.warning("job %s runs with the last good configuration: %s is invalid (%s)",
                        job_id, path, err.splitlines()[0])
        started = time.monotonic()
        log.info("job %s (%s) started", job_id, spec.command)
        try:
            detail = (self.runner or Service.run_command)(self, spec, cfg)
            status = "stopped" if self.stopping.is_set() else "ok"
        except LockedError as e:
            status, detail = "skipped", str(e).removesuffix("; exiting")
            log.warning("job %s skipped: %s", job_id, detail)
        except Stopped as e:
            status, detail = "stopped", str(e)
        except EmptyWeekError as e:  # a quiet week: say so, keep serving
            status, detail = "skipped", str(e)
            log.warning("job %s: %s", job_id, detail)
        except SignalsError as e:
            status, detail = "failed", str(e)
            log.error("job %s failed: %s", job_id, e)
        except Exception as e:
            status, detail = "failed", f"{e.__class__.__name__}: {e}"
            log.exception("job %s failed", job_id)
        self.outcomes.append(JobOutcome(job_id, status, detail))
        if status in ("ok", "stopped"):
            log.info("job %s %s in %.1f s: %s", job_id, "finished" if status == "ok" else
                     "stopped after its current batch", time.monotonic() - started, detail)

    def analyser(self) -> Analyser:
        if self._analyser is None:
            self._analyser = Analyser(entities=False)
        return self._analyser

    def ruleset(self, scenarios: Scenarios) -> Ruleset:
        """Compiled once per scenarios version (jobs run one at a time under the lock)."""
        fp = scenarios.fingerprint()
        if fp not in self._rulesets:
            self._rulesets = {fp: compile_ruleset(scenarios, self.analyser(), str(self.settings.scenarios_path))}
        return self._rulesets[fp]

    def run_command(self, spec: ScheduledJob, cfg: Config) -> str:
        """The real job: the same pipeline functions as the CLI, under the same lock."""
        from . import pipeline
        from .process import BATCH

        stop = self.stopping
        with job_lock(self.store, LOCK, wait=timedelta(minutes=spec.lock_wait_minutes), stop=stop):
            ctx = pipeline.Context(self.settings, cfg.sources, cfg.scenarios, self.store,
                                   self.analyser(), self.ruleset(cfg.scenarios))
            parts = []
            if spec.command in ("run", "fetch"):
                fetcher = _StoppableFetcher(cfg.sources.fetch, stop)
                try:
                    f = pipeline.fetch(ctx, fetcher)
                    parts.append(f"fetch: {f.due} due, {f.ok} ok, {f.not_modified} not modified, "
                                 f"{f.failed} failed; {f.new_articles} new articles")
                except Stopped:
                    parts.append("fetch: stopped before its next feed or page batch")
                finally:
                    fetcher.close()
            if spec.command in ("run", "process") and not stop.is_set():
                done = dups = failed = 0
                while not stop.is_set():  # one batch (one transaction) per call
                    p = pipeline.process(ctx, limit=BATCH)
                    n = p.processed + p.duplicates + p.failed
                    done, dups, failed = done + p.processed, dups + p.duplicates, failed + p.failed
                    if n == 0:
                        break
                parts.append(f"process: {done} analysed, {dups} duplicates, {failed} failed")
            if spec.command == "digest":
                paths = pipeline.digest(ctx)
                parts.append("digest: wrote " + ", ".join(str(p) for p in paths))
            return "; ".join(parts)

    # -- lifecycle

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # only plain assignments here: the main loop acts on them
        self._signal_name = signal.Signals(signum).name
        self._signals["reload" if signum == signal.SIGHUP else "stop"] = True

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def start(self, paused: bool = False) -> None:
        self.scheduler.start(paused=paused)
        jobs = ", ".join(f"{j.id} {_describe(j)}" for j in self.config.schedule.enabled_jobs().values())
        log.info("signals serve: started (time zone %s): %s", self.config.schedule.timezone, jobs)

    def request_stop(self) -> None:
        self._signals["stop"] = True

    def shutdown(self) -> None:
        self.stopping.set()
        log.info("stopping: the running job (if any) finishes its current batch")
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.store.dispose()
        log.info("stopped")

    def serve_forever(self) -> None:
        """Run until SIGTERM/SIGINT (or ``request_stop``); SIGHUP reloads the configuration."""
        self.start()
        try:
            while not self._signals["stop"]:
                time.sleep(self.poll_seconds)
                if self._signals["reload"]:
                    self._signals["reload"] = False
                    log.info("SIGHUP: reloading the configuration")
                    self.reload(force=True)
            if self._signal_name:
                log.info("%s received", self._signal_name)
        finally:
            self.shutdown()


def _describe(spec: ScheduledJob) -> str:
    when = f"every {spec.every_minutes} min" if spec.every_minutes else f"cron '{spec.cron}'"
    return f"[{spec.command}, {when}, grace {spec.misfire_grace_minutes} min]"


def serve(settings: Settings, schedule_path: Path = DEFAULT_SCHEDULE) -> None:
    """The ``signals serve`` entry point (blocks until SIGTERM)."""
    service = Service(settings, schedule_path)
    service.install_signal_handlers()
    service.serve_forever()
