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
  ``scenarios.yaml`` and the schedule (``live_config``). A file that fails validation is
  reported (file, line, key) and the last good configuration stays in force until the file
  is fixed.

This module is glue only: the schedule file is ``schedule``, the configuration in force is
``live_config``, and every job body is ``pipeline.run_job``, the one the CLI runs.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from . import pipeline
from .errors import EmptyWeekError, LockedError, SignalsError
from .live_config import Config, LiveConfig
from .schedule import DEFAULT_SCHEDULE, Schedule, ScheduledJob, describe, load_schedule
from .settings import Settings
from .store import open_store

__all__ = [
    "DEFAULT_SCHEDULE",
    "Config",
    "JobOutcome",
    "ScheduledJob",
    "Service",
    "load_schedule",
    "serve",
]
log = logging.getLogger(__name__)


@dataclass
class JobOutcome:
    job_id: str
    status: str  # ok | skipped | stopped | failed
    detail: str = ""


Runner = Callable[["Service", ScheduledJob, Config], str]


@dataclass
class Service:
    """The scheduler, the configuration in force and the jobs. ``runner`` is replaceable in
    tests; the default runs ``pipeline.run_job``."""

    settings: Settings
    schedule_path: Path = DEFAULT_SCHEDULE
    runner: Runner | None = None
    poll_seconds: float = 0.25
    outcomes: list[JobOutcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stopping = threading.Event()
        self._signals: dict[str, bool] = {"stop": False, "reload": False}
        self._signal_name = ""
        self.live = LiveConfig(
            self.schedule_path, self.settings.sources_path, self.settings.scenarios_path
        )
        cfg = self.live.current
        # one context for every job: the store, the analyser and the compiled ruleset are reused
        self.ctx = pipeline.Context(
            self.settings, cfg.sources, cfg.scenarios, open_store(self.settings.db_url)
        )
        self.scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(max_workers=2)},
            job_defaults={"max_instances": 1, "coalesce": True},
            timezone=cfg.schedule.tz,
        )
        self._apply_schedule(None, cfg.schedule, starting=True)

    @property
    def config(self) -> Config:
        return self.live.current

    # -- configuration

    def reload(self, force: bool = False) -> bool:
        """Load the files that changed (see ``LiveConfig.reload``) and reschedule the jobs
        whose schedule changed. True if the configuration in force changed."""
        old, new = self.live.reload(force)
        if new.schedule != old.schedule:
            self._apply_schedule(old.schedule, new.schedule)
        return new is not old

    def config_errors(self) -> dict[str, str]:
        return self.live.errors()

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
                self._execute,
                spec.trigger(tz),
                args=[job_id],
                id=job_id,
                name=f"{job_id} ({spec.command})",
                replace_existing=True,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=spec.misfire_grace_minutes * 60,
                **kwargs,
            )
            if not starting:
                log.info("job %s (re)scheduled: %s", job_id, describe(spec))

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
            log.warning(
                "job %s runs with the last good configuration: %s is invalid (%s)",
                job_id,
                path,
                err.splitlines()[0],
            )
        started = time.monotonic()
        log.info("job %s (%s) started", job_id, spec.command)
        outcome = self._outcome(
            job_id, lambda: (self.runner or Service.run_command)(self, spec, cfg)
        )
        self.outcomes.append(outcome)
        if outcome.status in ("ok", "stopped"):
            log.info(
                "job %s %s in %.1f s: %s",
                job_id,
                "finished" if outcome.status == "ok" else "stopped after its current batch",
                time.monotonic() - started,
                outcome.detail,
            )

    def _outcome(self, job_id: str, run: Callable[[], str]) -> JobOutcome:
        """Run a job body and classify how it ended (logging skips and failures)."""
        try:
            detail = run()
        except LockedError as e:
            detail = str(e).removesuffix("; exiting")
            log.warning("job %s skipped: %s", job_id, detail)
            return JobOutcome(job_id, "skipped", detail)
        except EmptyWeekError as e:  # a quiet week: say so, keep serving
            detail = str(e)
            log.warning("job %s: %s", job_id, detail)
            return JobOutcome(job_id, "skipped", detail)
        except SignalsError as e:
            log.error("job %s failed: %s", job_id, e)
            return JobOutcome(job_id, "failed", str(e))
        except Exception as e:
            log.exception("job %s failed", job_id)
            return JobOutcome(job_id, "failed", f"{e.__class__.__name__}: {e}")
        return JobOutcome(job_id, "stopped" if self.stopping.is_set() else "ok", detail)

    def run_command(self, spec: ScheduledJob, cfg: Config) -> str:
        """The real job: ``pipeline.run_job``, as the CLI runs it, with the configuration in
        force; stops between batches once the service is stopping."""
        self.ctx.configure(cfg.sources, cfg.scenarios)
        job = pipeline.Job(
            pipeline.JobKind(spec.command), lock_wait=timedelta(minutes=spec.lock_wait_minutes)
        )
        return "; ".join(pipeline.run_job(self.ctx, job, self.stopping.is_set).lines())

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
        jobs = ", ".join(
            f"{j.id} {describe(j)}" for j in self.config.schedule.enabled_jobs().values()
        )
        log.info("signals serve: started (time zone %s): %s", self.config.schedule.timezone, jobs)

    def request_stop(self) -> None:
        self._signals["stop"] = True

    def shutdown(self) -> None:
        self.stopping.set()
        log.info("stopping: the running job (if any) finishes its current batch")
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.ctx.close()
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


def serve(settings: Settings, schedule_path: Path = DEFAULT_SCHEDULE) -> None:
    """The ``signals serve`` entry point (blocks until SIGTERM)."""
    service = Service(settings, schedule_path)
    service.install_signal_handlers()
    service.serve_forever()
