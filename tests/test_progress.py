"""Progress bars: drawn by rich on a terminal (rate, ETA), absent under cron (no TTY), and
never imported by the core modules."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from signals import pipeline, progress
from signals.cli import cli
from signals.corpus import import_jsonl
from signals.settings import Settings

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2024, 1, 10, tzinfo=UTC)
YAML = """ruptures:
  - id: local-money
    title: Monnaies locales
    watch:
      - {id: w1, label: monnaie locale, any: ["monnaie locale"]}
"""


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=120), out


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(7):
            fh.write(
                json.dumps(
                    {
                        "url": f"https://ex.org/{i}",
                        "title": f"Article {i}",
                        "text": f"La monnaie locale numéro {i} se porte bien.",
                        "published": "2024-01-02",
                        "source": "Ex",
                    }
                )
                + "\n"
            )
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    scenarios = tmp_path / "scenarios.yaml"
    scenarios.write_text(YAML, encoding="utf-8")
    return Settings(
        db_url=f"sqlite:///{tmp_path / 's.db'}",
        scenarios_path=scenarios,
        cache_dir=tmp_path / "cache",
        now=NOW,
    )


def test_a_forced_terminal_draws_a_bar_with_rate_and_eta() -> None:
    console, out = _terminal()
    bars = progress.for_terminal(console=console)
    assert bars.enabled
    with bars.task("process", total=10) as task:
        for _ in range(10):
            task.advance()
    text = out.getvalue()
    assert "process" in text and "10/10" in text
    assert "/s" in text and "ETA" in text
    assert "\x1b[" in text  # drawn with terminal control codes


def test_unknown_total_ends_complete() -> None:
    console, out = _terminal()
    with progress.for_terminal(console=console).task("import: read") as task:
        task.advance(3)
    assert "3/3" in out.getvalue()


def test_no_tty_quiet_or_dumb_terminal_means_no_progress() -> None:
    assert progress.for_terminal() is progress.NO_PROGRESS  # pytest captures stdout: not a TTY
    console, out = _terminal()
    assert progress.for_terminal(quiet=True, console=console) is progress.NO_PROGRESS
    assert progress.for_terminal(console=Console(file=io.StringIO())) is progress.NO_PROGRESS
    dumb = Console(file=io.StringIO(), force_terminal=True, _environ={"TERM": "dumb"})
    assert progress.for_terminal(console=dumb) is progress.NO_PROGRESS
    with progress.NO_PROGRESS.task("x", total=2) as task:  # the null task accepts everything
        task.advance(2)
        task.set_total(3)
    assert out.getvalue() == ""


def test_import_and_process_report_to_the_bar(settings: Settings, corpus: Path) -> None:
    console, out = _terminal()
    bars = progress.for_terminal(console=console)
    ctx = pipeline.Context.open(settings, need_sources=False)
    try:
        rep = import_jsonl(ctx.store, corpus, settings.clock, progress=bars)
        assert rep.imported == 7
        prep = pipeline.process(ctx, progress=bars)
        assert prep.processed == 7
    finally:
        ctx.close()
    text = out.getvalue()
    assert "import: read" in text and "import: write" in text and "process" in text
    assert "7/7" in text


def test_rematch_reports_to_the_bar(settings: Settings, corpus: Path) -> None:
    ctx = pipeline.Context.open(settings, need_sources=False)
    try:
        import_jsonl(ctx.store, corpus, settings.clock)
        pipeline.process(ctx)
        console, out = _terminal()
        from signals.rematch import rematch

        n = rematch(
            ctx.store,
            ctx.ruleset(),
            ctx.judge(),
            ctx.analyser(),
            force=True,
            progress=progress.for_terminal(console=console),
        )
    finally:
        ctx.close()
    assert n == 7
    assert "re-match" in out.getvalue() and "7/7" in out.getvalue()


def test_cli_without_a_tty_prints_only_the_summary(settings: Settings, corpus: Path) -> None:
    base = [
        "--db",
        settings.db_url,
        "--scenarios",
        str(settings.scenarios_path),
        "--cache-dir",
        str(settings.cache_dir),
        "--now",
        "2024-01-10",
    ]
    runner = CliRunner()
    res = runner.invoke(cli, [*base, "import", str(corpus)])
    assert res.exit_code == 0, res.output
    assert res.output == "import: 7 lines, 7 new articles, 0 already known, 0 invalid\n"
    res = runner.invoke(cli, [*base, "process"])
    assert res.exit_code == 0, res.output
    assert (
        res.output
        == "process: 7 analysed, 0 duplicates, 0 near-duplicates, 0 failed, 0 re-matched\n"
    )


def test_core_modules_never_import_rich_spacy_or_trafilatura() -> None:
    """rich blocked (httpx imports it optionally, for its own CLI): our modules still import, and
    a start-up loads neither spaCy nor trafilatura."""
    code = (
        "import sys; sys.modules['rich'] = None; "
        "import signals.cli, signals.pipeline, signals.process, signals.collect, signals.corpus; "
        "print(sorted(m for m in ('spacy', 'trafilatura') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_nothing_to_do_draws_no_bar() -> None:
    console, out = _terminal()
    with progress.for_terminal(console=console).task("process", total=0) as task:
        task.advance(0)
    assert out.getvalue() == ""
