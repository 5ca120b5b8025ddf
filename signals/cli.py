"""The ``signals`` command line. Parses options, calls ``pipeline``, and turns ``SignalsError``
into one clear line on stderr and a documented exit code:

    0   success (a failing feed is reported, not fatal)
    1   unexpected runtime error
    2   invalid configuration, input or usage (``check`` found errors)
    3   the database cannot be opened, or a read command found none (nothing is created)
    4   digest: no article analysed in that week (nothing written)
    75  another run holds the job lock (EX_TEMPFAIL: try again later)
    130 interrupted

SIGTERM during ``run``, ``fetch``, ``process`` or ``digest`` ends the job after its current batch
(nothing half-written) with exit 0, as ``serve`` does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import __version__
from .config import load_scenarios, load_sources, summarise
from .errors import ConfigError, InputError, SignalsError
from .outputs import check_writable_dir, writing_to
from .settings import DEFAULT_DB, Settings, parse_now

if TYPE_CHECKING:
    from .pipeline import Context, JobResult

log = logging.getLogger("signals")
F = TypeVar("F", bound=Callable[..., Any])
LOCK = "fetch"  # pipeline.FETCH_LOCK: importing is intake, as fetching
SKIP_INVALID_HELP = (
    "Skip corpus lines that are not valid JSON objects (default: stop at the first, naming it)."
)


def _setup_logging(verbose: int, quiet: int) -> None:
    level = logging.WARNING + 10 * (quiet - verbose)
    level = max(logging.DEBUG, min(level, logging.CRITICAL))
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("httpx", "httpcore", "trafilatura", "charset_normalizer"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


class _Now(click.ParamType[Any]):
    name = "ISO-8601"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value is None or not isinstance(value, str):
            return value
        try:
            return parse_now(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)


class _Group(click.Group):
    """Turns domain errors into one line on stderr and their exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SignalsError as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(
    cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="signals")
@click.option(
    "--db",
    "db_url",
    envvar="SIGNALS_DB",
    default=DEFAULT_DB,
    show_default=True,
    help="SQLAlchemy database URL (env SIGNALS_DB).",
)
@click.option(
    "--sources",
    "sources_path",
    type=click.Path(path_type=Path),
    default=Path("sources.yaml"),
    show_default=True,
    envvar="SIGNALS_SOURCES",
    help="Feeds to poll (env SIGNALS_SOURCES).",
)
@click.option(
    "--scenarios",
    "scenarios_path",
    type=click.Path(path_type=Path),
    default=Path("scenarios.yaml"),
    show_default=True,
    envvar="SIGNALS_SCENARIOS",
    help="Ruptures to watch (env SIGNALS_SCENARIOS).",
)
@click.option(
    "--reports",
    "reports_dir",
    type=click.Path(path_type=Path),
    default=Path("reports"),
    show_default=True,
    envvar="SIGNALS_REPORTS",
    help="Where digests are written.",
)
@click.option(
    "--now",
    type=_Now(),
    envvar="SIGNALS_NOW",
    default=None,
    help="Pretend the current time is this (replays, backtests; env SIGNALS_NOW).",
)
@click.option(
    "--judge",
    "judge_path",
    envvar="SIGNALS_JUDGE",
    type=click.Path(path_type=Path),
    default=None,
    help="Article-level judge model (JSON, from `signals train`); default: the shipped one.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="SIGNALS_CACHE_DIR",
    default=None,
    help="Compiled-ruleset cache (env SIGNALS_CACHE_DIR; default: "
    "$XDG_CACHE_HOME/signals or ~/.cache/signals).",
)
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.option("-q", "--quiet", count=True, help="Less output.")
@click.pass_context
def cli(
    ctx: click.Context,
    db_url: str,
    sources_path: Path,
    scenarios_path: Path,
    reports_dir: Path,
    now: Any,
    judge_path: Path | None,
    cache_dir: Path | None,
    verbose: int,
    quiet: int,
) -> None:
    """Watch news feeds for weak signals of the 19 ruptures and write weekly digests.

    Example: signals run && signals digest
    """
    _setup_logging(verbose, quiet)
    ctx.obj = Settings(
        db_url=db_url,
        sources_path=sources_path,
        scenarios_path=scenarios_path,
        reports_dir=reports_dir,
        now=now,
        judge_path=judge_path,
        cache_dir=cache_dir,
    )
    ctx.meta["quiet"] = quiet > 0


def job_lock(store: Any, name: str, **kwargs: Any) -> Any:
    """``lock.job_lock``, imported when a command runs: ``--help`` does not load SQLAlchemy."""
    from .lock import job_lock as lock

    return lock(store, name, **kwargs)


def _say(msg: str) -> None:
    if not click.get_current_context().meta.get("quiet"):
        click.echo(msg)


def _progress() -> Any:
    """Progress bars on a terminal (not with -q, not under cron: see ``progress.for_terminal``)."""
    from .progress import for_terminal

    return for_terminal(quiet=bool(click.get_current_context().meta.get("quiet")))


def _settings() -> Settings:
    obj = click.get_current_context().obj
    assert isinstance(obj, Settings)
    return obj


# --------------------------------------------------------------------------- commands


@cli.command()
def check() -> None:
    """Validate sources.yaml and scenarios.yaml (and compile every term); when a database
    exists, one line saying what the edit would change (see `signals preview`).

    Example: signals check --scenarios my-scenarios.yaml
    """
    from .analyse import Analyser
    from .match import compile_ruleset

    s = _settings()
    problems = []
    sources = scenarios = None
    try:
        sources = load_sources(s.sources_path)
    except ConfigError as e:
        problems += e.problems
    analyser = Analyser(entities=False)
    try:
        scenarios = load_scenarios(s.scenarios_path)
        compile_ruleset(scenarios, analyser, str(s.scenarios_path))
    except ConfigError as e:
        problems += e.problems
    if problems:
        for p in problems:
            click.echo(f"error: {p}", err=True)
        raise SystemExit(2)
    assert sources is not None and scenarios is not None
    sm = summarise(sources, scenarios)
    _say(
        f"ok: {sm.sources} sources ({sm.enabled_sources} enabled), {sm.ruptures} ruptures, "
        f"{sm.items} items, {sm.terms} terms"
    )
    from .preview import check_summary

    line = check_summary(s.db_url, scenarios, s.judge_path, analyser)
    if line:
        _say(line)


def _open(need_sources: bool = True, create: bool = False) -> Any:
    """The command's context; only the commands that store articles pass ``create``."""
    from .pipeline import Context

    return Context.open(_settings(), need_sources=need_sources, create=create)


def _run_job(
    kind: str,
    need_sources: bool = True,
    create: bool = False,
    after: Callable[[Context, JobResult], None] | None = None,
    **options: Any,
) -> JobResult:
    """Run one pipeline job under the lock; print its summary lines (quiet under ``-q``).
    SIGTERM ends it after its current batch (exit 0, as ``serve``). ``after(ctx, result)``
    is called once the job succeeded and the store is closed."""
    from .pipeline import Job, JobKind, run_job

    ctx = _open(need_sources=need_sources, create=create)
    ctx.progress = _progress()
    try:
        with _stop_on_sigterm() as stop:
            result = run_job(ctx, Job(JobKind(kind), **options), stop.is_set)
    finally:
        ctx.close()
    if after is not None:
        after(ctx, result)
    for line in result.lines():
        _say(line)
    if stop.is_set():
        click.echo("stopped: SIGTERM received; the job ended after its current batch", err=True)
    return result


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[threading.Event]:
    """An event set by SIGTERM while the block runs (the previous handler is restored)."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signal handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGTERM, lambda _sig, _frame: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGTERM, previous)


@cli.command()
def fetch() -> None:
    """Poll the feeds that are due, store new items and download their pages.

    Example: signals fetch -v
    """
    _run_job("fetch", create=True)


@cli.command()
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Stop after this many articles."
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes on this machine (more may run on other machines).",
)
@click.option(
    "--lease",
    "lease_seconds",
    type=click.FloatRange(min=0.1),
    default=600,
    show_default=True,
    envvar="SIGNALS_LEASE_SECONDS",
    metavar="SECONDS",
    help="How long a claimed batch is a worker's; a killed worker's batch is redone after it "
    "(env SIGNALS_LEASE_SECONDS).",
)
def process(limit: int | None, workers: int, lease_seconds: float) -> None:
    """Extract, analyse and match pending articles (and re-match history if scenarios changed).

    Any number of `signals process` may run at once against one database, on any machines.

    Example: signals process --limit 500

    Example: signals process --workers 2
    """
    _run_job(
        "process",
        need_sources=False,
        create=True,
        limit=limit,
        workers=workers,
        lease=timedelta(seconds=lease_seconds),
    )


@cli.command()
def run() -> None:
    """Fetch then process: the entry point for cron.

    Example: */30 * * * * cd /srv/signals && .venv/bin/signals -q run
    """
    from .idle_record import before_run, record

    before = before_run(_settings())  # the idle token of the fast path (``signals.fast_run``)
    _run_job("run", create=True, after=lambda ctx, result: record(before, ctx, result))


@cli.command()
@click.option(
    "--week",
    default=None,
    metavar="YYYY-Www",
    help="ISO week to report (default: the last complete week before now).",
)
@click.option(
    "--from",
    "from_week",
    default=None,
    metavar="YYYY-Www",
    help="Write every week's digest from this week (with --to), in one process.",
)
@click.option(
    "--to",
    "to_week",
    default=None,
    metavar="YYYY-Www",
    help="Last week of --from (default: the last complete week before now).",
)
def digest(week: str | None, from_week: str | None, to_week: str | None) -> None:
    """Write the weekly digest (Markdown, HTML, JSON) into the reports directory.

    A week with no article analysed writes nothing and exits 4.

    Example: signals digest --week 2022-W14

    A range (e.g. after a scenarios.yaml edit): signals digest --from 2022-W01 --to 2022-W14
    """
    from .backtest import week_range
    from .digest import last_complete_week
    from .errors import EmptyWeekError
    from .pipeline import Job, JobKind, run_job
    from .score import week_bounds

    if week is not None and (from_week or to_week):
        raise InputError("--week cannot be combined with --from/--to")
    if to_week is not None and from_week is None:
        raise InputError("--to goes with --from")
    for name, value in (("--week", week), ("--from", from_week), ("--to", to_week)):
        if value is not None:
            try:
                week_bounds(value)
            except ValueError as e:
                raise InputError(f"{name}: {e}") from None
    weeks: list[str | None] = [week]
    if from_week is not None:
        last = to_week or last_complete_week(_settings().clock())
        if last < from_week:
            raise InputError(f"--to {last} is before --from {from_week}")
        weeks = list(week_range(from_week, last))
    check_writable_dir(_settings().reports_dir)
    ctx = _open(need_sources=False)
    ctx.progress = _progress()
    empty: EmptyWeekError | None = None
    try:  # one process: the ruleset, judge and models are loaded once for every week
        with _stop_on_sigterm() as stop, writing_to(ctx.settings.reports_dir):
            for w in weeks:
                if stop.is_set():
                    break
                try:
                    result = run_job(ctx, Job(JobKind.DIGEST, week=w), stop.is_set)
                except EmptyWeekError as e:  # nothing written; an older digest of that week is kept
                    click.echo(f"warning: {e}", err=True)
                    empty = e
                    continue
                for line in result.lines()[:3] if len(weeks) > 1 else result.lines():
                    _say(line)
    finally:
        ctx.close()
    if len(weeks) > 1:
        _say(f"digest: {len(weeks)} weeks, index and feed rewritten")
    if empty is not None:  # a week with no article analysed: said above, exit non-zero
        raise SystemExit(empty.exit_code)


@cli.command()
@click.argument(
    "corpus", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--from",
    "start",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="First day of the period scored.",
)
@click.option(
    "--to",
    "end",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="Last day of the period scored (inclusive).",
)
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="OURS=THEIRS",
    help="Field renaming, as for `import`.",
)
@click.option(
    "--skip-invalid", is_flag=True, help="Import the valid lines even if some are invalid."
)
@click.option(
    "--language", default="fr", show_default=True, help="Language of lines that do not say."
)
@click.option(
    "--events",
    "events_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Dated event windows (as bench/events.yaml): print the hit and false-alarm rates.",
)
def backtest(
    corpus: Path | None,
    start: Any,
    end: Any,
    fields: tuple[str, ...],
    skip_invalid: bool,
    language: str,
    events_path: Path | None,
) -> None:
    """Score every week of a period as the digest would have that week; write reports/history/.

    With CORPUS (JSON Lines, as for `import`), its lines published in the period (and the
    baseline weeks before it) are imported and processed first; without it the database is used.

    Example: signals backtest tvnews.jsonl.xz --field published=date --field source=media
    --field text=description --from 2019-01-01 --to 2019-06-30 --events bench/events.yaml
    """
    from . import pipeline
    from .backtest import import_period, run_backtest
    from .corpus import import_jsonl
    from .events import evaluate_events, load_events
    from .report.history import write_history

    first, last = start.date(), end.date()
    if last < first:
        raise InputError("--to is before --from")
    field_map = _field_map(fields)
    ctx = _open(need_sources=False, create=corpus is not None)  # a corpus is imported: create
    try:
        ids = [r.id for r in ctx.scenarios.ruptures]
        events = load_events(events_path, set(ids)) if events_path else None
        with job_lock(ctx.store, LOCK):
            if corpus is not None:
                rep = import_jsonl(
                    ctx.store,
                    corpus,
                    ctx.settings.clock,
                    field_map,
                    skip_invalid,
                    language,
                    period=import_period(first, last),
                )
                for e in rep.errors:
                    click.echo(f"skipped: {e}", err=True)
                _say(
                    f"import: {rep.lines} lines, {rep.out_of_range} outside the period, {rep.imported} new "
                    f"articles, {rep.known} already known, {rep.invalid} invalid"
                )
            ctx.progress = _progress()
            prep = pipeline.process(ctx)
            for line in pipeline.JobResult(
                pipeline.Job(pipeline.JobKind.PROCESS), processed=prep
            ).lines():
                _say(line)
            bt = run_backtest(ctx.store, ctx.ruleset(), first, last, ctx.settings.clock())
    finally:
        ctx.close()
    try:
        paths = write_history(bt, ctx.settings.reports_dir / "history")
    except OSError as e:
        raise InputError(
            f"cannot write {ctx.settings.reports_dir / 'history'}: {e.strerror}"
        ) from None
    alarms = sum(len(r.alarms) for r in bt.ruptures)
    _say(
        f"backtest: {len(bt.weeks)} weeks ({bt.weeks[0]} to {bt.weeks[-1]}), {alarms} gaining/new rupture-weeks"
    )
    for p in paths:
        _say(f"wrote {p}")
    if events is not None:
        er = evaluate_events(
            events,
            bt.alarms,
            bt.weeks,
            bt.weeks,
            ids,
            bt.params.window_weeks,
            bt.counter_alarms,
        )
        click.echo(er.summary())
        for res in er.results:
            ev = res.event
            click.echo(
                f"  {'HIT ' if res.hit_weeks else 'miss'} {ev.rupture:<26} {ev.start}..{ev.end} "
                f"{','.join(res.hit_weeks) or '-'}  {ev.what}"
            )


@cli.command(name="import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="OURS=THEIRS",
    help="Read our field from another name, e.g. --field published=date (repeatable).",
)
@click.option(
    "--skip-invalid", is_flag=True, help="Import the valid lines even if some are invalid."
)
@click.option(
    "--language", default="fr", show_default=True, help="Language of lines that do not say."
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Read at most this many lines."
)
def import_(
    path: Path, fields: tuple[str, ...], skip_invalid: bool, language: str, limit: int | None
) -> None:
    """Load a dated JSON Lines corpus (url, title, text or html, published, source) as articles.

    Lines are then processed like fetched articles (run `signals process`).
    Files ending in .gz or .xz are decompressed.

    Example: signals import corpus.jsonl.xz --field published=date --field source=media --field text=description
    """
    from .corpus import import_jsonl

    field_map = _field_map(fields)
    ctx = _open(need_sources=False, create=True)
    try:
        with job_lock(ctx.store, LOCK):
            rep = import_jsonl(
                ctx.store,
                path,
                ctx.settings.clock,
                field_map,
                skip_invalid,
                language,
                limit,
                progress=_progress(),
            )
    finally:
        ctx.close()
    for e in rep.errors:
        click.echo(f"skipped: {e}", err=True)
    _say(
        f"import: {rep.lines} lines, {rep.imported} new articles, {rep.known} already known, "
        f"{rep.invalid} invalid"
    )


@cli.command()
@click.option("--since", type=_Now(), required=True, help="Start of the period (inclusive).")
@click.option(
    "--until", type=_Now(), default=None, help="End of the period (exclusive; default: now)."
)
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write here instead of standard output.",
)
@click.option(
    "--review",
    is_flag=True,
    help="A review spreadsheet (CSV): each judged article with its score, reasons and an "
    "empty verdict column, for `signals labels import`.",
)
@click.option(
    "--all-candidates", is_flag=True, help="With --review: also the candidates the judge rejected."
)
@click.option(
    "--min-score",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="With --all-candidates: only the rejected candidates scored this or more (0.4: the "
    "digest's near-the-line list).",
)
def export(
    since: Any,
    until: Any,
    fmt: str,
    output: Path | None,
    review: bool,
    all_candidates: bool,
    min_score: float | None,
) -> None:
    """Every match of a period: url, title, source, published, rupture, item, kind, sentence,
    with the article-level judgement (score, accepted, reasons).

    Example: signals export --since 2022-01-01 --until 2022-04-01 --format csv -o matches.csv

    Review: signals export --review --since 2022-W10 -o review.csv, fill the verdict column
    (right / wrong), then signals labels import review.csv --who alice
    """
    from .corpus import export_matches
    from .review import export_review

    if all_candidates and not review:
        raise InputError("--all-candidates goes with --review")
    if min_score is not None and not all_candidates:
        raise InputError("--min-score goes with --review --all-candidates")

    s = _settings()
    until = until or s.clock()
    if until <= since:
        raise InputError("--until must be after --since")
    ctx = _open(need_sources=False)

    def write(fh: Any) -> int:
        if review:
            return export_review(ctx.store, since, until, fh, all_candidates, min_score or 0.0)
        return export_matches(ctx.store, since, until, fh, fmt)

    try:
        if output is None:
            n = write(sys.stdout)
        else:
            tmp = output.with_name(output.name + ".tmp")
            try:
                with tmp.open("w", encoding="utf-8", newline="") as fh:
                    n = write(fh)
                tmp.replace(output)
            except OSError as e:
                raise InputError(f"cannot write {output}: {e.strerror}") from None
    finally:
        ctx.close()
    click.echo(f"export: {n} {'judged articles to review' if review else 'matches'}", err=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Each source's health: state (new, ok, failing, disabled, removed), last success, errors,
    next fetch; imported corpora listed apart.

    Example: signals status --json
    """
    from .config import resolve_sources
    from .status import status_json, status_lines
    from .store import repo

    ctx = _open()
    try:
        with ctx.store.begin() as conn:
            repo.sync_sources(conn, resolve_sources(ctx.sources))
            rows = repo.all_sources(conn)
            counts = {
                st: repo.count_articles(conn, state=st)
                for st in ("page", "ready", "done", "failed")
            }
            per_source = repo.articles_per_source(conn)
    finally:
        ctx.close()
    if as_json:
        click.echo(json.dumps(status_json(rows, counts, per_source), indent=2, ensure_ascii=False))
        return
    for line in status_lines(rows, counts, per_source):
        click.echo(line)


@cli.command()
@click.option(
    "--days",
    type=click.IntRange(min=7),
    default=None,
    help="Replay only the last N days of the corpus (default: all of it).",
)
def demo(days: int | None) -> None:
    """Serve the bundled demo corpus on 127.0.0.1 and run the real pipeline day by day,
    then write the last week's digest. Uses its own database (db/demo.db) unless --db is given.

    Example: signals demo
    """
    from .demo import run_demo

    s = _settings()
    check_writable_dir(s.reports_dir)
    with writing_to(s.reports_dir):
        paths = run_demo(s, days=days, say=_say)
    for p in paths:
        _say(f"wrote {p}")


@cli.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("schemas"),
    show_default=True,
    help="Where the schema files are.",
)
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing; exit 1 if the files differ from the models (for CI).",
)
def schema(directory: Path, check_only: bool) -> None:
    """Write the JSON Schemas of scenarios.yaml and sources.yaml (for editors), generated from
    the models that validate them.

    Example: signals schema --check
    """
    from .yaml_schema import stale, write

    if check_only:
        bad = stale(directory)
        if bad:
            click.echo(
                f"error: out of date with the models: {', '.join(map(str, bad))} (run `signals schema`)",
                err=True,
            )
            raise SystemExit(1)
        _say(f"schema: {directory} is up to date")
        return
    try:
        paths = write(directory)
    except OSError as e:
        raise InputError(f"cannot write {directory}: {e.strerror}") from None
    for p in paths:
        _say(f"wrote {p}")


@cli.command()
@click.option(
    "--against",
    default=None,
    metavar="REV|FILE",
    help="Compare with this file or git revision of the scenarios file (default: the applied one).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def preview(against: str | None, as_json: bool) -> None:
    """What the current scenarios.yaml would change over the stored history, before applying it:
    matches and evidence gained and lost per item, with examples, and weeks whose status changes.
    Nothing is written.

    Example: signals preview --against HEAD
    """
    from .preview import baseline_scenarios, render_text
    from .preview import preview as run_preview

    ctx = _open(need_sources=False)
    try:
        base, name = baseline_scenarios(ctx.store, against, ctx.settings.scenarios_path)
        p = run_preview(ctx.store, base, ctx.scenarios, ctx.judge(), ctx.analyser(), name)
    finally:
        ctx.close()
    click.echo(p.to_json() if as_json else render_text(p))


@cli.command()
@click.argument("article")
@click.option(
    "--rupture", default=None, metavar="ID", help="Only this rupture's items and judgement."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def explain(article: str, rupture: str | None, as_json: bool) -> None:
    """Why a stored article (URL or id) counts or not: its sentences with every term found,
    the items that fired and why the near ones did not, and its score per rupture.

    Example: signals explain https://example.org/article --rupture post-patrimonial
    """
    from .explain import explain_stored, render_text

    ctx = _open(need_sources=False)
    try:
        ex = explain_stored(ctx.store, article, ctx.ruleset(), ctx.judge(), ctx.analyser(), rupture)
    finally:
        ctx.close()
    click.echo(ex.to_json() if as_json else render_text(ex))


@cli.command()
@click.option(
    "--corpus",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="JSON Lines corpus (as for `import`; .gz/.xz read directly); default: the database.",
)
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="OURS=THEIRS",
    help="Field renaming, as for `import`.",
)
@click.option(
    "--noisy",
    type=click.FloatRange(0, 1),
    default=0.02,
    show_default=True,
    help="An item matching more than this share of articles is noisy.",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Read at most this many articles."
)
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Read one line in N (quick look at a big corpus).",
)
@click.option(
    "--candidates",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Co-occurring words to suggest per rupture.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--fail-on-noisy", is_flag=True, help="Exit 1 when an item is noisy (for CI of scenarios.yaml)."
)
@click.option("--skip-invalid", is_flag=True, help=SKIP_INVALID_HELP)
def tune(
    corpus: Path | None,
    fields: tuple[str, ...],
    noisy: float,
    limit: int | None,
    sample: int,
    candidates: int,
    as_json: bool,
    fail_on_noisy: bool,
    skip_invalid: bool,
) -> None:
    """How every item of scenarios.yaml behaves on the database's articles (or a corpus): matches,
    weeks, dead and noisy items, examples with their article, per-year counts, and co-occurring
    words to consider adding.

    Example: signals tune --corpus tvnews.jsonl.xz --field published=date --field text=description
    """
    from .analyse import Analyser
    from .config import load_scenarios as _load
    from .errors import StoreError
    from .match import compile_ruleset
    from .preview import store_if_exists
    from .tune import read_corpus, render_text, stored_docs, tune_analysed
    from .tune import tune as run_tune

    s = _settings()
    field_map = _field_map(fields)
    analyser = Analyser(entities=False)
    ruleset = compile_ruleset(_load(s.scenarios_path), analyser, str(s.scenarios_path))
    if corpus is not None:
        rep = run_tune(
            read_corpus(corpus, field_map, limit=limit, sample=sample, skip_invalid=skip_invalid),
            ruleset,
            analyser,
            corpus_name=corpus.name,
            noisy=noisy,
            candidates=candidates,
        )
    else:
        if fields:
            raise InputError("--field goes with --corpus")
        store = store_if_exists(s.db_url)
        if store is None:
            raise StoreError(
                f"no database at {s.db_url}: run `signals process` first, or give --corpus"
            )
        try:
            rep = tune_analysed(
                stored_docs(store, analyser, limit, sample),
                ruleset,
                "the database",
                noisy=noisy,
                candidates=candidates,
            )
        finally:
            store.dispose()
    click.echo(rep.to_json() if as_json else render_text(rep, links=sys.stdout.isatty()))
    if fail_on_noisy and rep.noisy:
        raise SystemExit(1)


def _field_map(fields: tuple[str, ...]) -> dict[str, str]:
    field_map = {}
    for f in fields:
        ours, sep, theirs = f.partition("=")
        if not sep or not ours or not theirs:
            raise InputError(f"--field expects OURS=THEIRS, got {f!r}")
        field_map[ours.strip()] = theirs.strip()
    return field_map


@cli.command()
@click.option(
    "--schedule",
    "schedule_path",
    type=click.Path(path_type=Path),
    default=Path("jobs/schedule.yaml"),
    show_default=True,
    envvar="SIGNALS_SCHEDULE",
    help="When each job runs (env SIGNALS_SCHEDULE).",
)
def serve(schedule_path: Path) -> None:
    """Run the jobs (run, digest...) on the schedule in jobs/schedule.yaml until SIGTERM.

    Each job takes the same locks as the CLI, so cron and the service never overlap.
    SIGTERM or Ctrl-C lets the running job finish its current batch, then exits 0; SIGHUP
    (and a check before each job) reloads sources.yaml, scenarios.yaml and the schedule,
    keeping the last good version of a file that is invalid. Logs go to stderr.

    Example: signals serve --schedule jobs/schedule.yaml
    """
    from .scheduler import serve as serve_forever

    s = _settings()
    if s.now is not None:
        raise InputError("--now cannot be used with serve: the service runs on the real clock")
    if not click.get_current_context().meta.get("quiet"):
        sig_log = logging.getLogger("signals")
        if sig_log.getEffectiveLevel() > logging.INFO:
            sig_log.setLevel(logging.INFO)  # a service says what it does (one line per job)
    serve_forever(s, schedule_path)


@cli.command(name="eval")
@click.argument(
    "labels", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--corpus",
    "corpora",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON Lines corpus holding the labelled articles (repeatable; .gz/.xz read directly). "
    "Without it the articles are looked up in the database.",
)
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="OURS=THEIRS",
    help="Field renaming, as for `import`.",
)
@click.option("--split", default=None, help="Only records of this split (dev, test, feedback).")
@click.option("--verdicts", is_flag=True, help="Add the analysts' verdicts stored in the database.")
@click.option(
    "--baseline",
    type=click.Choice(["judge", "sentence-hits"]),
    default="judge",
    show_default=True,
    help="sentence-hits: count every sentence hit, as Signals did before the article-level judge.",
)
@click.option(
    "--floors",
    "floors_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Exit 1 when a figure falls below its floor in this file (labels/floors.json).",
)
@click.option(
    "--update-floors", is_flag=True, help="Raise the floors in --floors to the measured figures."
)
@click.option("--allow-lower", is_flag=True, help="With --update-floors: allow lowering a floor.")
@click.option(
    "--errors",
    "show_errors",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="False positives and misses listed (table output).",
)
@click.option(
    "--by-bullet",
    is_flag=True,
    help="Recall per guide bullet: labelled, with a sentence hit, found (table output; "
    "always in --json).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Machine-readable output (every error listed)."
)
@click.option("--skip-invalid", is_flag=True, help=SKIP_INVALID_HELP)
def eval_(
    labels: tuple[Path, ...],
    corpora: tuple[Path, ...],
    fields: tuple[str, ...],
    split: str | None,
    verdicts: bool,
    baseline: str,
    floors_path: Path | None,
    update_floors: bool,
    allow_lower: bool,
    show_errors: int,
    by_bullet: bool,
    as_json: bool,
    skip_invalid: bool,
) -> None:
    """Precision, recall and F1 of evidence and counter-evidence against labelled articles.

    Example: signals eval labels/test.jsonl --corpus tvnews.jsonl.xz --corpus items_dedup.jsonl.gz
    """
    from .eval_run import run_eval

    if update_floors and floors_path is None:
        raise InputError("--update-floors needs --floors FILE")
    s = _settings()
    report_text, report_json, failed = run_eval(
        s,
        list(labels),
        list(corpora),
        _field_map(fields),
        split,
        verdicts,
        baseline == "sentence-hits",
        floors_path,
        update_floors,
        allow_lower,
        show_errors,
        skip_invalid,
        by_bullet,
    )
    click.echo(json.dumps(report_json, ensure_ascii=False, indent=2) if as_json else report_text)
    if failed:
        click.echo("error: " + "; ".join(failed), err=True)
        sys.exit(1)


@cli.command()
@click.argument(
    "labels", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--corpus",
    "corpora",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="JSON Lines corpus holding the labelled articles (repeatable).",
)
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="OURS=THEIRS",
    help="Field renaming, as for `import`.",
)
@click.option(
    "--split", default="dev", show_default=True, help="Train on this split only (never on test)."
)
@click.option(
    "--target-precision",
    type=click.FloatRange(0.05, 1.0),
    default=0.83,
    show_default=True,
    help="The evidence threshold: the lowest whose out-of-fold precision reaches this. Fresh "
    "labelling rounds held out in turn measured about 0.03 under it (README, Judgement).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the model (JSON); use it with --judge.",
)
@click.option("--skip-invalid", is_flag=True, help=SKIP_INVALID_HELP)
@click.option(
    "--counter-target-precision",
    type=click.FloatRange(0.05, 1.0),
    default=0.6,
    show_default=True,
    help="The same for the counter-evidence model's threshold.",
)
@click.option(
    "--rupture-thresholds/--shared-threshold",
    default=False,
    show_default=True,
    help="Give each rupture with enough labels its own threshold (chosen the same way).",
)
@click.option(
    "--title-words/--no-title-words",
    default=True,
    show_default=True,
    help="Also weigh the headline's words per rupture (title:<rupture>:<key> in the model).",
)
@click.option(
    "--vocab-words/--no-vocab-words",
    default=True,
    show_default=True,
    help="Also weigh which words of the rupture's vocabulary the article uses "
    "(vocab:<rupture>:<key>).",
)
@click.option(
    "--rupture-features/--no-rupture-features",
    default=True,
    show_default=True,
    help="Also weigh a headline hit and the vocabulary counts per rupture "
    "(feature:<rupture>:<name>).",
)
@click.option(
    "--text-model/--no-text-model",
    default=True,
    show_default=True,
    help="Also fit, per rupture, a model of the whole article's words (TF-IDF) on every labelled "
    "article, and weigh its score (text, text:<rupture>).",
)
@click.option(
    "--through-round",
    type=click.IntRange(3, None),
    help="Train only on the labelling rounds up to this one (labels/PROTOCOL.md; rounds 1-2 "
    "always): how the shipped judge is reproduced after later rounds joined dev unused.",
)
@click.option(
    "--counter-text-model/--no-counter-text-model",
    default=True,
    show_default=True,
    help="With the text model, fit counter-evidence its own per-rupture models (trained on the "
    "articles labelled counter-evidence) instead of scoring it with the evidence ones.",
)
def train(
    labels: tuple[Path, ...],
    corpora: tuple[Path, ...],
    fields: tuple[str, ...],
    split: str,
    target_precision: float,
    output: Path,
    skip_invalid: bool,
    counter_target_precision: float,
    rupture_thresholds: bool,
    title_words: bool,
    vocab_words: bool,
    rupture_features: bool,
    text_model: bool,
    counter_text_model: bool,
    through_round: int | None,
) -> None:
    """Fit the article-level judge (logistic regression) on labelled articles; write it as JSON.

    Example: signals train labels/dev.jsonl --corpus tvnews.jsonl.xz -o signals/judge_model.json
    """
    from .analyse import Analyser
    from .config import load_scenarios
    from .corpus import read_documents
    from .labels import by_split, read_labels
    from .match import compile_ruleset
    from .train import fit, training_set

    if split == "test":
        raise InputError("refusing to train on the test split: it is only measured")
    s = _settings()
    scenarios = load_scenarios(s.scenarios_path)
    ids = [r.id for r in scenarios.ruptures]
    records = [
        r
        for r in by_split(read_labels(labels, ids), split)
        if through_round is None or r.round is None or r.round <= through_round
    ]
    rounds = f" through round {through_round}" if through_round is not None else ""
    if not records:
        raise InputError(
            f"no label records of split {split!r} in {', '.join(map(str, labels))}{rounds}"
        )
    docs = read_documents(list(corpora), {r.id for r in records}, _field_map(fields), skip_invalid)
    analyser = Analyser(entities=False)
    ruleset = compile_ruleset(scenarios, analyser, str(s.scenarios_path))
    data = training_set(records, docs, ruleset, analyser, ids)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in labels)).hexdigest()[:16]
    model = fit(
        data.rows,
        target_precision,
        counter_target_precision,
        source=", ".join(p.name for p in labels) + f" [{split}]{rounds}",
        labels_sha256=digest,
        title_words=title_words,
        rupture_thresholds=rupture_thresholds,
        vocab_words=vocab_words,
        rupture_features=rupture_features,
        texts=data.texts if text_model else (),
        counter_text=counter_text_model,
    )
    try:
        output.write_text(
            json.dumps(model.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
    except OSError as e:
        raise InputError(f"cannot write {output}: {e.strerror}") from None
    tr = model.meta["training"]
    _say(
        f"train: {len(records)} records ({len(docs)} found in the corpus), "
        + ", ".join(
            f"{k}: {v['positives']}/{v['candidates']} positive candidates, "
            f"cross-validated {v['cross_validated']}"
            for k, v in tr.items()
        )
        + f"; wrote {output} (version {model.version})"
    )


@cli.group()
def labels() -> None:
    """Analysts' verdicts: import a filled review spreadsheet, export verdicts as labels.

    Example: signals labels import review.csv --who alice
    """


@labels.command(name="import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--who", required=True, help="The analyst's name (stored with each verdict).")
def labels_import(path: Path, who: str) -> None:
    """Store the verdict column of a review spreadsheet (from `export --review`).

    Example: signals labels import review.csv --who alice
    """
    from .review import import_verdicts

    ctx = _open(need_sources=False)
    try:
        rep = import_verdicts(ctx.store, path, who, _settings().clock())
    finally:
        ctx.close()
    _say(
        f"labels: {rep.stored} verdicts stored ({rep.confirmed} right, {rep.rejected} wrong), "
        f"{rep.skipped} rows without a verdict"
    )


@labels.command(name="export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def labels_export(output: Path) -> None:
    """Write the stored verdicts as label records (for `eval` and `train`).

    Example: signals labels export -o labels/feedback.jsonl
    """
    from .labels import write_labels
    from .review import verdict_records

    ctx = _open(need_sources=False)
    try:
        records = verdict_records(ctx.store)
    finally:
        ctx.close()
    try:
        n = write_labels(records, output)
    except OSError as e:
        raise InputError(f"cannot write {output}: {e.strerror}") from None
    _say(f"labels: {n} verdicts written to {output}")


@cli.group()
def db() -> None:
    """The database schema (Alembic migrations): where it stands, and upgrading it.

    Every command applies pending migrations when it opens the database; `db upgrade` does
    it alone (before starting a new release's service, say).

    Example: signals db current
    """


@db.command(name="upgrade")
def db_upgrade() -> None:
    """Create the database, or apply its pending migrations, and say which revision it is at.

    Example: signals --db postgresql+psycopg://signals@dbhost/signals db upgrade
    """
    from .store import open_store, redact

    url = _settings().db_url
    store = open_store(url, create=True, upgrade=False)
    try:
        before, after = store.upgrade()
    finally:
        store.dispose()
    _say(
        f"db: {redact(url)} at revision {after} (head)"
        if before == after
        else f"db: {redact(url)} upgraded from {before or 'none'} to {after} (head)"
    )


@db.command(name="current")
def db_current() -> None:
    """Print the database's revision and whether it is at head (creates nothing, changes nothing).

    Example: signals db current
    """
    from .store import open_store
    from .store.migrate import schema_state

    store = open_store(_settings().db_url, create=False, upgrade=False)
    try:
        with store.engine.connect() as conn:
            st = schema_state(conn)
    finally:
        store.dispose()
    if st.at_head:
        click.echo(f"{st.revision} (head)")
    elif st.revision is None:
        click.echo(
            f"none: made before migrations, not at head {st.head} (`signals db upgrade` stamps "
            f"and upgrades it)"
        )
    else:
        click.echo(f"{st.revision}: not at head {st.head} (run `signals db upgrade`)")


def main() -> None:
    """The full CLI (``signals.entry.main`` tries the fast path of an idle ``run`` first)."""
    cli(prog_name="signals")
