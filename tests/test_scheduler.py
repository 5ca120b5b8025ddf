"""Issue 4, case 11 — the service: ``signals serve`` runs the jobs under APScheduler 3 on the
schedule in ``jobs/schedule.yaml`` (max_instances 1, coalesce, misfire grace of minutes);
three missed runs give ONE catch-up; SIGTERM finishes the current batch and exits 0; SIGHUP
and a check before each job reload the configuration, keeping the last good version of an
invalid file; every job takes the CLI's lock; ``jobs/`` also holds cron and systemd files.
"""

from __future__ import annotations

import configparser
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from click.testing import CliRunner
from sqlalchemy import func, select

from signals.cli import cli
from signals.devserver import Response, serve
from signals.errors import ConfigError
from signals.lock import job_lock
from signals.process import BATCH
from signals.scheduler import Config, ScheduledJob, Service, load_schedule
from signals.settings import Settings
from signals.store import open_store, repo
from signals.store import schema as t

from .conftest import REPO

JOBS = REPO / "jobs"
WAIT = 120  # bound for subprocess events (spaCy import on a busy machine); never reached normally
SCENARIOS = """\
ruptures:
  - id: monnaie
    title: Monnaies locales
    watch:
      - {id: monnaie-locale, label: Monnaie locale, any: [monnaie locale]}
"""


def _files(tmp_path: Path, schedule: str, sources: str = "sources: []\n") -> Settings:
    (tmp_path / "schedule.yaml").write_text(schedule, encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(sources, encoding="utf-8")
    (tmp_path / "scenarios.yaml").write_text(SCENARIOS, encoding="utf-8")
    return Settings(
        db_url=f"sqlite:///{tmp_path / 's.db'}",
        sources_path=tmp_path / "sources.yaml",
        scenarios_path=tmp_path / "scenarios.yaml",
        reports_dir=tmp_path / "reports",
    )


EVERY_30 = "timezone: Europe/Paris\njobs:\n  - {id: run, command: run, every_minutes: 30, misfire_grace_minutes: 30}\n"


class Recorder:
    """A stand-in job body: records each run and can be held."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, Config]] = []
        self.ran = threading.Event()

    def __call__(self, _service: Service, spec: ScheduledJob, cfg: Config) -> str:
        self.runs.append((spec.id, cfg))
        self.ran.set()
        return "recorded"


# --------------------------------------------------------------------------- the schedule file


def test_the_schedule_in_jobs_runs_often_and_digests_weekly() -> None:
    sched = load_schedule(JOBS / "schedule.yaml")
    jobs = sched.enabled_jobs()
    assert sched.timezone == "Europe/Paris"
    assert jobs["run"].command == "run" and jobs["run"].every_minutes == 30
    assert (
        jobs["run"].misfire_grace_minutes >= jobs["run"].every_minutes
    )  # a catch-up is always run
    trig = jobs["digest"].trigger(sched.tz)
    assert isinstance(trig, CronTrigger)
    nxt = trig.get_next_fire_time(None, datetime(2022, 3, 9, 12, 0, tzinfo=sched.tz))
    assert nxt is not None and (nxt.isoweekday(), nxt.hour, nxt.minute) == (1, 6, 0)
    assert nxt.astimezone(UTC) == datetime(2022, 3, 14, 5, 0, tzinfo=UTC)  # CET = UTC+1
    assert jobs["digest"].misfire_grace_minutes >= 1 and jobs["digest"].lock_wait_minutes > 0


def test_schedule_errors_name_file_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "schedule.yaml"
    bad.write_text(
        "timezone: Europe/Pariss\njobs:\n"
        "  - id: run\n    command: run\n    every_minutes: 30\n    cron: '0 6 * * mon'\n"
        "  - id: digest\n    command: digest\n    cron: '61 6 * * mon'\n    misfire: 3\n"
        "  - id: run\n    command: fetch\n    every_minutes: 5\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as e:
        load_schedule(bad)
    text = str(e.value)
    assert f"{bad}:1: timezone: Value error, unknown time zone 'Europe/Pariss'" in text
    assert (
        f"{bad}:3: jobs[0](run): Value error, give exactly one of 'every_minutes' and 'cron'"
        in text
    )
    assert (
        f"{bad}:9: jobs[1](digest).cron: Value error, not a crontab expression '61 6 * * mon'"
        in text
    )
    assert f"{bad}:10: jobs[1](digest).misfire: unknown key (valid keys: " in text
    bad.write_text(
        "timezone: UTC\njobs:\n  - {id: run, command: run, every_minutes: 5}\n"
        "  - {id: run, command: digest, cron: '0 6 * * 1'}\n",
        encoding="utf-8",
    )
    with pytest.raises(
        ConfigError, match=r"schedule.yaml:4: jobs\[1\]\(run\).id: duplicate job id 'run'"
    ):
        load_schedule(bad)
    bad.write_text("jobs: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"schedule.yaml:2: \(syntax\): invalid YAML"):
        load_schedule(bad)


def test_serve_refuses_a_bad_start(tmp_path: Path) -> None:
    s = _files(tmp_path, "jobs:\n  - {id: run, command: sometimes, every_minutes: 5}\n")
    base = [
        "--db",
        s.db_url,
        "--sources",
        str(s.sources_path),
        "--scenarios",
        str(s.scenarios_path),
    ]
    res = CliRunner().invoke(cli, [*base, "serve", "--schedule", str(tmp_path / "schedule.yaml")])
    assert res.exit_code == 2
    assert (
        "schedule.yaml:2: jobs[0](run).command: Input should be 'run', 'fetch', 'process' or 'digest'"
        in res.output
    )
    res = CliRunner().invoke(cli, [*base, "--now", "2022-03-07", "serve"])
    assert res.exit_code == 2 and "--now cannot be used with serve" in res.output


# --------------------------------------------------------------------------- APScheduler policy


def test_jobs_have_one_instance_coalescing_and_a_grace_of_minutes(tmp_path: Path) -> None:
    s = _files(tmp_path, (JOBS / "schedule.yaml").read_text(encoding="utf-8"))
    service = Service(s, tmp_path / "schedule.yaml", runner=Recorder())
    jobs = {j.id: j for j in service.scheduler.get_jobs()}
    assert set(jobs) == {"run", "digest"}
    for job in jobs.values():
        assert job.max_instances == 1 and job.coalesce is True
        assert 60 <= job.misfire_grace_time <= 24 * 3600
    assert isinstance(jobs["run"].trigger, IntervalTrigger)
    assert jobs["run"].trigger.interval == timedelta(minutes=30)
    assert str(service.scheduler.timezone) == "Europe/Paris"
    service.shutdown()


@pytest.mark.parametrize(
    ("coalesce", "grace_hours", "expected"), [(True, None, 1), (True, 3, 1), (False, 3, 3)]
)
def test_three_missed_runs_give_one_catch_up(
    tmp_path: Path, coalesce: bool, grace_hours: int | None, expected: int
) -> None:
    """The job's next run time is put 3 intervals minus 1 minute in the past: 3 missed runs,
    the latest 29 minutes ago, within the configured 30-minute grace. With our coalesce=True
    it runs once, even with a grace covering all three; the contrast (coalesce=False, grace
    3 h) shows APScheduler would otherwise have run it 3 times in a row."""
    rec = Recorder()
    service = Service(_files(tmp_path, EVERY_30), tmp_path / "schedule.yaml", runner=rec)
    service.start(paused=True)
    changes: dict[str, object] = {"coalesce": coalesce}
    if grace_hours is not None:
        changes["misfire_grace_time"] = grace_hours * 3600
    service.scheduler.modify_job(
        "run", next_run_time=datetime.now(UTC) - timedelta(minutes=3 * 30 - 1), **changes
    )
    # APScheduler dispatches the events of a submission after all its runs: the first event
    # means every run of that submission is done
    submitted = threading.Event()
    service.scheduler.add_listener(lambda _e: submitted.set(), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    service.scheduler.resume()
    assert submitted.wait(WAIT)
    service.shutdown()
    assert len(rec.runs) == expected
    assert [o.status for o in service.outcomes] == ["ok"] * expected


def test_a_missed_run_beyond_the_grace_is_skipped_not_run_late(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rec = Recorder()
    service = Service(
        _files(tmp_path, EVERY_30.replace("misfire_grace_minutes: 30", "misfire_grace_minutes: 5")),
        tmp_path / "schedule.yaml",
        runner=rec,
    )
    caplog.set_level(logging.WARNING, logger="apscheduler")
    service.start(paused=True)
    service.scheduler.modify_job(
        "run", next_run_time=datetime.now(UTC) - timedelta(minutes=3 * 30 - 1)
    )
    service.scheduler.resume()
    deadline = time.monotonic() + WAIT
    while "was missed by" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.02)
    service.shutdown()
    assert rec.runs == [] and "was missed by" in caplog.text


# --------------------------------------------------------------------------- reload


def test_reload_keeps_the_last_good_configuration(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    s = _files(
        tmp_path, EVERY_30, "sources:\n  - {id: a, name: A, url: 'http://example.org/a.xml'}\n"
    )
    rec = Recorder()
    service = Service(s, tmp_path / "schedule.yaml", runner=rec)
    service.start(paused=True)  # jobs in the job store, none due
    good = service.config
    caplog.set_level(logging.INFO, logger="signals.scheduler")
    # three broken files: YAML syntax, an unknown key, a bad cron expression
    s.scenarios_path.write_text("ruptures:\n  - id: x\n    title: [unclosed\n", encoding="utf-8")
    s.sources_path.write_text(
        "sources:\n  - {id: a, name: A, url: 'http://example.org/a.xml', every: 3}\n",
        encoding="utf-8",
    )
    (tmp_path / "schedule.yaml").write_text(
        "jobs:\n  - {id: run, command: run, cron: '0 25 * * *'}\n", encoding="utf-8"
    )
    assert service.reload() is False
    assert service.config is good
    assert f"{s.scenarios_path}:4: (syntax): invalid YAML" in caplog.text
    assert f"{s.sources_path}:2: sources[0](a).every: unknown key" in caplog.text
    assert (
        "schedule.yaml:2: jobs[0](run).cron: Value error, not a crontab expression" in caplog.text
    )
    assert caplog.text.count("keeping the last good configuration") == 3
    assert service.scheduler.get_job("run").trigger.interval == timedelta(minutes=30)
    # the check before each job: the job runs with the last good configuration, and says so
    service._execute("run")
    assert rec.runs[-1][1] is good
    assert "runs with the last good configuration" in caplog.text
    # an unchanged broken file is not reported again; a fixed one is taken
    caplog.clear()
    assert service.reload() is False and "keeping the last good" not in caplog.text
    (tmp_path / "schedule.yaml").write_text(
        "jobs:\n  - {id: run, command: run, every_minutes: 15}\n", encoding="utf-8"
    )
    s.sources_path.write_text(
        "sources:\n  - {id: b, name: B, url: 'http://example.org/b.xml'}\n", encoding="utf-8"
    )
    assert service.reload() is True
    assert (
        service.config.sources.sources[0].id == "b" and service.config.scenarios is good.scenarios
    )
    assert service.scheduler.get_job("run").trigger.interval == timedelta(minutes=15)
    assert set(service.config_errors()) == {str(s.scenarios_path)}
    service.shutdown()


def test_every_job_takes_the_cli_lock(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    s = _files(tmp_path, "jobs:\n  - {id: run, command: run, every_minutes: 30}\n")
    service = Service(s, tmp_path / "schedule.yaml")  # the real job body
    caplog.set_level(logging.INFO, logger="signals.scheduler")
    store = open_store(s.db_url)
    with job_lock(store, "fetch"):  # what `signals run` from cron holds
        service._execute("run")
    assert service.outcomes[-1].status == "skipped"
    assert "job run skipped: another 'fetch' job is running (pid" in caplog.text
    service._execute("run")  # free again: it runs
    assert service.outcomes[-1].status == "ok", service.outcomes[-1]
    service.shutdown()
    store.dispose()


# --------------------------------------------------------------------------- signals (subprocess)


def _serve(s: Settings, tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    err = tmp_path / "serve.err"
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
        "--reports",
        str(s.reports_dir),
        "serve",
        "--schedule",
        str(tmp_path / "schedule.yaml"),
    ]
    with err.open("wb") as fh:
        return subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=fh, env=env, cwd=tmp_path
        ), err


def _wait_for(pred: object, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


RSS = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{code}</title>
<link>http://example.org/</link><description>d</description>
<item><title>Article {code}</title><link>http://example.org/{code}/1</link><description>Texte {code}.</description>
<pubDate>Mon, 07 Mar 2022 10:00:00 GMT</pubDate></item></channel></rss>"""


@pytest.mark.slow
def test_sigterm_during_fetch_stores_the_feed_in_flight_and_stops(tmp_path: Path) -> None:
    requested, release = threading.Event(), threading.Event()
    hits: list[str] = []

    def router(path: str, _headers: dict[str, str]) -> Response:
        hits.append(path)
        requested.set()
        release.wait(WAIT)
        code = path.strip("/").split(".")[0]
        return Response(
            200, RSS.format(code=code).encode(), {"Content-Type": "application/rss+xml"}
        )

    with serve(router) as srv:
        sources = (
            "defaults: {fetch_pages: false}\n"
            'fetch: {allow_networks: ["127.0.0.0/8"], concurrency: 1}\nsources:\n'
            + "".join(
                f"  - {{id: f{i}, name: F{i}, url: '{srv.base_url}/f{i}.xml'}}\n" for i in range(3)
            )
        )
        s = _files(
            tmp_path,
            "jobs:\n  - {id: run, command: run, every_minutes: 30, at_start: true}\n",
            sources,
        )
        proc, err = _serve(s, tmp_path)
        try:
            assert requested.wait(WAIT), err.read_text()
            proc.send_signal(signal.SIGTERM)  # while the first feed is in flight
            _wait_for(lambda: "SIGTERM received" in err.read_text(), "the service to see SIGTERM")
            release.set()
            assert proc.wait(WAIT) == 0, err.read_text()
        finally:
            release.set()
            if proc.poll() is None:
                proc.kill()
    log = err.read_text()
    assert (
        "job run stopped after its current batch" in log
        and "fetch: stopped before its next feed or page batch" in log
    )
    assert log.rstrip().endswith("signals.scheduler: stopped")
    assert hits == ["/f0.xml"], "no new feed was started after SIGTERM"
    store = open_store(s.db_url)
    with store.engine.connect() as c:
        assert [r.url for r in c.execute(select(t.articles))] == ["http://example.org/f0/1"]
        due = {r.id: r.next_fetch_at for r in c.execute(select(t.sources))}
        assert due["f0"] is not None and due["f1"] is None and due["f2"] is None  # f1, f2: next run
        assert c.execute(select(t.locks)).all() == []
    store.dispose()


@pytest.mark.slow
def test_sigterm_during_processing_ends_on_a_batch_boundary_and_sighup_reloads(
    tmp_path: Path,
) -> None:
    n = 10 * BATCH
    s = _files(
        tmp_path,
        "timezone: Europe/Paris\njobs:\n  - {id: run, command: run, every_minutes: 30, at_start: true}\n",
    )
    store = open_store(s.db_url)
    words = [
        "La",
        "monnaie",
        "locale",
        "de",
        "la",
        "ville",
        "circule",
        "dans",
        "les",
        "commerces",
        "du",
        "quartier",
        "et",
        "la",
        "mairie",
        "de",
        "Lyon",
        "annonce",
        "une",
        "extension",
        "du",
        "dispositif",
        "aux",
        "marchés",
        "du",
        "dimanche.",
    ]
    with store.begin() as c:
        repo.ensure_import_source(c, "import-test", "fr")
        for i in range(n):
            text = " ".join(f"{w}{i}" if j % 9 == 0 else w for j, w in enumerate(words * 12))
            repo.add_article(
                c,
                repo.NewArticle(
                    url=f"http://example.org/a/{i}",
                    guid=None,
                    title=f"Article {i}",
                    summary="",
                    text=text,
                    published_at=datetime(2022, 3, 7, tzinfo=UTC),
                    published_raw=None,
                    date_flag=None,
                    week="2022-W10",
                    language="fr",
                    state="ready",
                ),
                "import-test",
                datetime(2022, 3, 7, tzinfo=UTC),
            )
    proc, err = _serve(s, tmp_path)

    def done() -> int:
        with store.engine.connect() as c:
            return int(
                c.execute(
                    select(func.count()).select_from(t.articles).where(t.articles.c.state == "done")
                ).scalar_one()
            )

    try:
        _wait_for(lambda: "signals serve: started" in err.read_text(), "the service to start")
        # SIGHUP with a broken sources.yaml: logged, the last good one stays in force
        s.sources_path.write_text(
            "sources:\n  - {id: Bad Id, name: x, url: 'ftp://x'}\n", encoding="utf-8"
        )
        proc.send_signal(signal.SIGHUP)
        _wait_for(
            lambda: "keeping the last good configuration" in err.read_text(), "the reload error"
        )
        _wait_for(lambda: done() >= BATCH, "the first batch")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(WAIT) == 0, err.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    log = err.read_text()
    assert "SIGHUP: reloading the configuration" in log
    assert f"reload: {s.sources_path}:2: sources[0](Bad Id).id: must be kebab-case" in log
    assert "SIGTERM received" in log and "job run stopped after its current batch" in log
    assert log.rstrip().endswith("signals.scheduler: stopped")
    finished = done()
    with store.engine.connect() as c:
        analysed = c.execute(select(func.count()).select_from(t.analyses)).scalar_one()
        assert c.execute(select(t.locks)).all() == []
    store.dispose()
    print(
        f"\ncase 11: SIGTERM after the first batch: {finished} of {n} articles processed "
        f"({finished // BATCH} whole batches), {analysed} analyses"
    )
    assert BATCH <= finished < n, "stopped early, after whole batches"
    assert finished % BATCH == 0 and analysed == finished, "no half-written batch"


# --------------------------------------------------------------------------- jobs/ for cron and systemd


def _unit(name: str) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(interpolation=None, strict=False)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read(JOBS / name, encoding="utf-8")
    return cp


def test_cron_and_systemd_files_do_the_same_jobs() -> None:
    cron = [
        ln
        for ln in (JOBS / "crontab.example").read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.startswith("#") and "=" not in ln.split()[0]
    ]
    assert any(ln.startswith("*/30 * * * *") and "signals -q run" in ln for ln in cron)
    assert any(
        ln.split()[:5] == ["15", "6", "*", "*", "1"] and "signals -q digest" in ln for ln in cron
    )
    run, digest, service = (
        _unit("signals-run.service"),
        _unit("signals-digest.service"),
        _unit("signals.service"),
    )
    assert (
        run["Service"]["ExecStart"].endswith("signals -q run")
        and run["Service"]["SuccessExitStatus"] == "75"
    )
    assert digest["Service"]["ExecStart"].endswith("signals -q digest")
    assert "signals serve --schedule jobs/schedule.yaml" in service["Service"]["ExecStart"]
    assert (
        service["Service"]["KillSignal"] == "SIGTERM" and "-HUP" in service["Service"]["ExecReload"]
    )
    run_timer, digest_timer = _unit("signals-run.timer"), _unit("signals-digest.timer")
    assert (
        run_timer["Timer"]["OnCalendar"] == "*:00/30" and run_timer["Timer"]["Persistent"] == "true"
    )
    assert digest_timer["Timer"]["OnCalendar"] == "Mon *-*-* 06:00:00 Europe/Paris"
    assert run_timer["Timer"]["Unit"] == "signals-run.service"
    assert digest_timer["Timer"]["Unit"] == "signals-digest.service"
