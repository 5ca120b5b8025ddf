"""`signals.schedule`: jobs/schedule.yaml validated (one trigger per job, crontab, time zone,
unique ids) and turned into APScheduler triggers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import ValidationError

from signals.errors import ConfigError
from signals.schedule import Schedule, ScheduledJob, describe, load_schedule

REPO = Path(__file__).resolve().parents[1]


def test_the_shipped_schedule_loads() -> None:
    s = load_schedule(REPO / "jobs" / "schedule.yaml")
    assert s.jobs and len({j.id for j in s.jobs}) == len(s.jobs)
    assert set(s.enabled_jobs()) <= {j.id for j in s.jobs}


def test_exactly_one_trigger() -> None:
    with pytest.raises(ValidationError, match="exactly one of 'every_minutes' and 'cron'"):
        ScheduledJob(id="j", command="run")
    with pytest.raises(ValidationError, match="exactly one of 'every_minutes' and 'cron'"):
        ScheduledJob(id="j", command="run", every_minutes=5, cron="0 * * * *")


def test_bad_values_are_refused() -> None:
    with pytest.raises(ValidationError, match="not a crontab expression '61 \\* \\* \\* \\*'"):
        ScheduledJob(id="j", command="run", cron="61 * * * *")
    with pytest.raises(ValidationError):
        ScheduledJob(id="j", command="rm -rf", every_minutes=5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ScheduledJob(id="j", command="run", every_minutes=0)
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        Schedule(
            timezone="Mars/Olympus", jobs=[ScheduledJob(id="j", command="run", every_minutes=5)]
        )
    with pytest.raises(ValidationError):
        Schedule(jobs=[])


def test_triggers_follow_the_time_zone() -> None:
    paris = ZoneInfo("Europe/Paris")
    cron = ScheduledJob(id="d", command="digest", cron="30 7 * * mon").trigger(paris)
    assert isinstance(cron, CronTrigger)
    first = cron.get_next_fire_time(None, datetime(2025, 6, 1, 12, tzinfo=UTC))  # a Sunday
    assert first is not None and first.astimezone(UTC) == datetime(2025, 6, 2, 5, 30, tzinfo=UTC)
    interval = ScheduledJob(id="f", command="fetch", every_minutes=15).trigger(paris)
    assert isinstance(interval, IntervalTrigger) and interval.interval.total_seconds() == 900


def test_enabled_jobs_and_describe() -> None:
    s = Schedule(
        timezone="Europe/Paris",
        jobs=[
            ScheduledJob(id="f", command="fetch", every_minutes=15),
            ScheduledJob(id="d", command="digest", cron="30 7 * * mon", misfire_grace_minutes=60),
            ScheduledJob(id="off", command="process", every_minutes=5, enabled=False),
        ],
    )
    assert list(s.enabled_jobs()) == ["f", "d"] and s.tz == ZoneInfo("Europe/Paris")
    assert describe(s.jobs[0]) == "[fetch, every 15 min, grace 10 min]"
    assert describe(s.jobs[1]) == "[digest, cron '30 7 * * mon', grace 60 min]"


def test_a_file_with_problems_names_the_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_text(
        "jobs:\n  - {id: a, command: run, every_minutes: 5}\n"
        "  - {id: a, command: fetch, every_minutes: 5}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as e:
        load_schedule(path)
    assert [(p.line, p.key, p.message) for p in e.value.problems] == [
        (3, "jobs[1](a).id", "duplicate job id 'a'")
    ]
