"""``jobs/schedule.yaml``: when ``signals serve`` runs each job (an interval or a crontab line,
a misfire grace, how long to wait for the lock). Validated like the other YAML files: errors
name the file, the line and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import Field, field_validator, model_validator

from .config import ID_RE, _load, _Strict

DEFAULT_SCHEDULE = Path("jobs/schedule.yaml")
Command = Literal[
    "run", "fetch", "process", "digest"
]  # the pipeline's job kinds (``pipeline.JobKind``)


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
                raise ValueError(
                    f"not a crontab expression {v!r} (minute hour day month day-of-week): {e}"
                ) from None
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
            raise ValueError(
                f"unknown time zone {v!r} (an IANA name such as Europe/Paris)"
            ) from None
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


def describe(spec: ScheduledJob) -> str:
    when = f"every {spec.every_minutes} min" if spec.every_minutes else f"cron '{spec.cron}'"
    return f"[{spec.command}, {when}, grace {spec.misfire_grace_minutes} min]"
