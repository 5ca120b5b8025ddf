"""``signals.fast_run``: an idle ``run`` answered without click, pydantic or SQLAlchemy, with
the full run's output; everything else left to the full run, which behaves as before."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import click.testing
import pytest
from click.testing import CliRunner

from signals import fast_run, idle_token
from signals.cli import cli
from signals.devserver import Response, serve
from signals.lock import job_lock
from signals.store import open_store, repo

from .conftest import REPO, new_article
from .test_pipeline import NOW, RSS, SCENARIOS

IDLE = [
    "fetch: 0 due, 0 ok, 0 not modified, 0 failed; 0 items, 0 new articles; pages 0 ok, 0 failed",
    "process: 0 analysed, 0 duplicates, 0 near-duplicates, 0 failed, 0 re-matched",
]
#: A fresh interpreter running ``python -m signals ARGS`` (what cron starts; ``cli``: the full
#: CLI alone); writes which of click, pydantic and SQLAlchemy it imported to ``marker``.
RUN_MODULE = (
    "import json, runpy, sys\n"
    "marker, target, sys.argv = sys.argv[1], sys.argv[2], ['signals', *sys.argv[3:]]\n"
    "code = 0\n"
    "try:\n"
    "    if target == 'cli':\n"
    "        from signals.cli import main\n"
    "        main()\n"
    "    else:\n"
    "        runpy.run_module('signals', run_name='__main__')\n"
    "except SystemExit as e:\n"
    "    code = e.code\n"
    "open(marker, 'w').write(json.dumps("
    "[m for m in ('click', 'pydantic', 'sqlalchemy') if m in sys.modules]))\n"
    "sys.exit(code)\n"
)


@dataclass
class Workspace:
    tmp: Path
    args: list[str]  # the global options, without "run"

    @property
    def db(self) -> Path:
        return self.tmp / "s.db"

    def full_run(self, *extra: str, now: datetime = NOW) -> click.testing.Result:
        """The full CLI (in this process: no fast path), which writes the idle token."""
        return CliRunner().invoke(cli, [*self.args, "--now", now.isoformat(), *extra, "run"])

    def argv(self, *extra: str, now: datetime = NOW) -> list[str]:
        return [*self.args, "--now", now.isoformat(), *extra, "run"]


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """One feed served on 127.0.0.1, fetched and processed by a first full run (so the next
    run at ``NOW`` is idle and the idle token is written)."""

    def router(_path: str, _headers: dict[str, str]) -> Response:
        return Response(200, RSS.encode(), {"Content-Type": "application/rss+xml"})

    with serve(router) as srv:
        (tmp_path / "sources.yaml").write_text(
            "defaults: {fetch_pages: false, language: fr, interval_minutes: 60}\n"
            'fetch: {allow_networks: ["127.0.0.0/8"]}\n'
            f"sources:\n  - {{id: f, name: F, url: '{srv.base_url}/f.xml'}}\n",
            encoding="utf-8",
        )
        (tmp_path / "scenarios.yaml").write_text(SCENARIOS, encoding="utf-8")
        w = Workspace(
            tmp_path,
            [
                "--db",
                f"sqlite:///{tmp_path / 's.db'}",
                "--sources",
                str(tmp_path / "sources.yaml"),
                "--scenarios",
                str(tmp_path / "scenarios.yaml"),
                "--reports",
                str(tmp_path / "reports"),
                "--cache-dir",
                str(tmp_path / "cache"),
            ],
        )
        first = w.full_run()
        assert first.exit_code == 0, first.output
        assert "fetch: 1 due, 1 ok" in first.output and "process: 1 analysed" in first.output
        yield w


def _fast(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[bool, str]:
    taken = fast_run.try_idle(argv)
    out = capsys.readouterr()
    assert out.err == ""
    return taken, out.out


@dataclass
class Proc:
    code: int
    out: str
    err: str
    imported: list[str]  # of click, pydantic, sqlalchemy


def _process(
    ws: Workspace, argv: list[str], env: dict[str, str] | None = None, target: str = "module"
) -> Proc:
    marker = ws.tmp / "imported.json"
    res = subprocess.run(
        [sys.executable, "-c", RUN_MODULE, str(marker), target, *argv],
        cwd=os.getcwd(),  # the idle token's configuration includes the working directory
        env={
            "PYTHONPATH": str(REPO),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"],
            **(env or {}),
        },
        capture_output=True,
        text=True,
    )
    return Proc(res.returncode, res.stdout, res.stderr, json.loads(marker.read_text()))


# --------------------------------------------------------------------------- taken


def test_an_idle_run_imports_neither_click_nor_pydantic_nor_sqlalchemy_and_prints_the_same(
    ws: Workspace,
) -> None:
    for quiet in ([], ["-q"]):
        fast = _process(ws, [*quiet, *ws.argv()])
        full = _process(ws, [*quiet, *ws.argv()], target="cli")
        assert fast.imported == []
        assert {"click", "pydantic", "sqlalchemy"} <= set(full.imported)  # the check sees them
        assert (fast.code, fast.out, fast.err) == (full.code, full.out, full.err)
        assert (fast.code, fast.err) == (0, "")
        assert fast.out.splitlines() == ([] if quiet else IDLE)


def test_the_environment_variables_select_the_same_configuration(ws: Workspace) -> None:
    opts = dict(zip(ws.args[::2], ws.args[1::2], strict=True))
    env = {
        "SIGNALS_DB": opts["--db"],
        "SIGNALS_SOURCES": opts["--sources"],
        "SIGNALS_SCENARIOS": opts["--scenarios"],
        "SIGNALS_CACHE_DIR": opts["--cache-dir"],
        "SIGNALS_NOW": NOW.isoformat(),
    }
    proc = _process(ws, ["run"], env=env)
    assert (proc.code, proc.out.splitlines(), proc.err, proc.imported) == (0, IDLE, "", [])


def test_idle_in_this_process_prints_what_the_full_run_prints(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    full = ws.full_run()
    assert full.exit_code == 0
    assert _fast(ws.argv(), capsys) == (True, full.output)
    assert _fast(["-q", *ws.argv()], capsys) == (True, "")
    assert _fast([*ws.argv()[:-1], "--quiet", "run"], capsys) == (True, "")


# --------------------------------------------------------------------------- falls back


def _falls_back(ws: Workspace, capsys: pytest.CaptureFixture[str], *extra: str) -> None:
    assert _fast(ws.argv(*extra), capsys) == (False, "")


def test_a_due_feed_falls_back_and_is_fetched(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    later = NOW + timedelta(hours=2)
    assert _fast(ws.argv(now=later), capsys) == (False, "")
    res = ws.full_run(now=later)
    assert res.exit_code == 0 and "fetch: 1 due, 1 ok" in res.output
    assert _fast(ws.argv(now=later), capsys) == (True, "\n".join(IDLE) + "\n")


def _add_article(ws: Workspace, state: str) -> None:
    store = open_store(f"sqlite:///{ws.db}")
    try:
        with store.begin() as conn:
            repo.add_article(conn, new_article("http://example.org/a/2", state, NOW), "f", NOW)
    finally:
        store.dispose()


def test_a_pending_article_falls_back_and_is_processed(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    _add_article(ws, "ready")
    _falls_back(ws, capsys)
    res = ws.full_run()
    assert res.exit_code == 0 and "process: 1 analysed" in res.output


def test_a_pending_page_falls_back(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    _add_article(ws, "page")
    _falls_back(ws, capsys)


@pytest.mark.parametrize("name", ["sources.yaml", "scenarios.yaml"])
def test_an_edited_configuration_file_falls_back_then_is_fast_again(
    ws: Workspace, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    path = ws.tmp / name
    path.write_text(path.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    _falls_back(ws, capsys)
    res = ws.full_run()
    assert res.exit_code == 0 and res.output.splitlines() == IDLE
    assert _fast(ws.argv(), capsys) == (True, res.output)


def test_an_edited_judge_model_falls_back(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    judge = ws.tmp / "judge.json"
    judge.write_bytes((REPO / "signals" / "judge_model.json").read_bytes())
    assert ws.full_run("--judge", str(judge)).exit_code == 0
    assert _fast(ws.argv("--judge", str(judge)), capsys)[0]
    judge.write_bytes(judge.read_bytes() + b"\n")
    _falls_back(ws, capsys, "--judge", str(judge))


def test_other_options_fall_back(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    _falls_back(ws, capsys, "--cache-dir", str(ws.tmp / "other-cache"))  # no token there
    _falls_back(ws, capsys, "--db", f"sqlite:///{ws.tmp / 'other.db'}")
    _falls_back(ws, capsys, "-v")
    assert not (ws.tmp / "other.db").exists()  # the fast path creates nothing


@pytest.mark.parametrize(
    ("sql", "full_run_says"),
    [
        ("UPDATE alembic_version SET version_num = '0005'", None),  # another schema revision
        ("UPDATE sources SET name = 'G'", IDLE[0]),  # another configuration's sync
        ("UPDATE meta SET value = 'x' WHERE key = 'ruleset_version'", "1 re-matched"),
        ("UPDATE fetch_attempts SET started_at = '2021-01-01 00:00:00.000000'", IDLE[0]),
    ],
)
def test_a_database_changed_behind_the_token_falls_back(
    ws: Workspace, capsys: pytest.CaptureFixture[str], sql: str, full_run_says: str | None
) -> None:
    with sqlite3.connect(ws.db) as conn:
        conn.execute(sql)
    _falls_back(ws, capsys)
    if full_run_says is not None:  # and the full run does what it did before the fast path
        res = ws.full_run()
        assert res.exit_code == 0 and full_run_says in res.output


@pytest.mark.parametrize("damage", ["missing", "corrupt", "other format"])
def test_a_missing_or_corrupt_token_falls_back(
    ws: Workspace, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    (path,) = (ws.tmp / "cache").glob(idle_token.PATTERN)
    if damage == "missing":
        path.unlink()
    elif damage == "corrupt":
        path.write_bytes(path.read_bytes()[:40])
    else:
        path.write_text(path.read_text().replace('"format": 1', '"format": 0'))
    _falls_back(ws, capsys)
    assert ws.full_run().exit_code == 0
    assert _fast(ws.argv(), capsys)[0]  # the full run wrote it again


def test_a_missing_database_falls_back_and_creates_nothing(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    for p in ws.tmp.glob("s.db*"):
        p.unlink()
    _falls_back(ws, capsys)
    assert not ws.db.exists()


def test_a_postgresql_url_falls_back(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--db", "postgresql+psycopg://signals@127.0.0.1/signals", "run"]
    assert fast_run.parse(argv, {}) is not None
    assert _fast(argv, capsys) == (False, "")


def test_a_held_lock_falls_back_and_the_full_run_says_so(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(f"sqlite:///{ws.db}")
    try:
        with job_lock(store, "fetch"):
            _falls_back(ws, capsys)
            res = ws.full_run()
    finally:
        store.dispose()
    assert res.exit_code == 75 and "another 'fetch' job is running" in res.output


# --------------------------------------------------------------------------- argv


def _parsed(argv: list[str], env: dict[str, str] | None = None) -> fast_run.Invocation | None:
    return fast_run.parse(argv, env or {})


def test_parse_reads_the_options_as_click_does() -> None:
    inv = _parsed(["--db=sqlite:///x.db", "--now", "2022-03-09", "-qq", "run"])
    assert inv is not None
    assert inv.config.db_url == "sqlite:///x.db" and inv.quiet
    assert inv.now == datetime(2022, 3, 9, tzinfo=UTC)
    assert inv.config.cwd == os.getcwd()
    last = _parsed(["--db", "sqlite:///a.db", "--db", "sqlite:///b.db", "run"])
    assert last is not None and last.config.db_url == "sqlite:///b.db"
    env = _parsed(["run"], {"SIGNALS_DB": "sqlite:///e.db", "SIGNALS_SOURCES": ""})
    assert env is not None and env.config.db_url == "sqlite:///e.db"
    assert env.config.sources == "sources.yaml"  # an empty variable counts as unset
    default = _parsed(["run"])
    assert default is not None and (default.now, default.quiet) == (None, False)
    opt = _parsed(["--db", "sqlite:///o.db", "run"], {"SIGNALS_DB": "sqlite:///e.db"})
    assert opt is not None and opt.config.db_url == "sqlite:///o.db"


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["fetch"],
        ["run", "--help"],
        ["-v", "run"],
        ["-qv", "run"],
        ["--version"],
        ["--db"],
        ["--now", "yesterday", "run"],
        ["--now=", "run"],
        ["--unknown", "x", "run"],
        ["run", "run"],
        ["--", "run"],
    ],
)
def test_parse_refuses_anything_else(argv: list[str]) -> None:
    assert _parsed(argv) is None


def test_the_options_are_those_of_the_cli() -> None:
    """Names, environment variables and defaults as ``signals.cli.cli`` declares them."""
    params = {opt: p for p in cli.params for opt in p.opts if isinstance(p, click.Option)}
    for opt, (_setting, envvar, default) in fast_run.OPTIONS.items():
        p = params[opt]
        assert p.envvar == envvar, opt
        assert (None if p.default is None else str(p.default)) == default, opt
        assert not p.multiple and p.nargs == 1, opt
    assert params["-q"].opts == ["-q", "--quiet"] and params["-q"].count
