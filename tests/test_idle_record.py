"""``signals.idle_record``: the full run writes the idle token only when what it read is what
the token says."""

from __future__ import annotations

from pathlib import Path

import pytest

from signals import idle_record, idle_token, rematch
from signals.pipeline import Context, Job, JobKind, idle_lines, run_job
from signals.settings import Settings

from .test_pipeline import NOW, SCENARIOS


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    (tmp_path / "scenarios.yaml").write_text(SCENARIOS, encoding="utf-8")
    return Settings(
        db_url=f"sqlite:///{tmp_path / 's.db'}",
        sources_path=tmp_path / "sources.yaml",
        scenarios_path=tmp_path / "scenarios.yaml",
        now=NOW,
        cache_dir=tmp_path / "cache",
    )


def _run(settings: Settings, edit: Path | None = None) -> Path | None:
    """A full ``run`` and its token (None: not written); ``edit``: a file edited meanwhile."""
    before = idle_record.before_run(settings)
    ctx = Context.open(settings)
    try:
        result = run_job(ctx, Job(JobKind.RUN))
    finally:
        ctx.close()
    if edit is not None:
        edit.write_text(edit.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    idle_record.record(before, ctx, result)
    assert before is not None
    path = before.config.token_path()
    return path if path.exists() else None


def test_a_run_writes_the_token_of_its_configuration(settings: Settings) -> None:
    path = _run(settings)
    assert path is not None and path.parent == settings.cache_dir
    assert not list(settings.sources_path.parent.glob("s.db-*"))  # no WAL files left behind
    before = idle_record.before_run(settings)
    assert before is not None
    token = idle_token.read(before.config)
    assert token is not None and idle_token.still_valid(token)
    assert token.lines == idle_lines() and token.lock == "fetch"
    assert token.keep_attempts_days == 90 and token.db.revision == "0006"


@pytest.mark.parametrize("name", ["sources.yaml", "scenarios.yaml"])
def test_no_token_when_a_file_changed_during_the_run(settings: Settings, name: str) -> None:
    assert _run(settings, edit=settings.sources_path.parent / name) is None


def test_no_token_when_the_database_holds_another_ruleset(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = Context.open(settings)
    result = run_job(ctx, Job(JobKind.RUN))
    ctx.close()
    before = idle_record.before_run(settings)
    monkeypatch.setattr(rematch, "scoring_version", lambda *_: "another")
    idle_record.record(before, ctx, result)
    assert before is not None and not before.config.token_path().exists()


def test_no_token_for_a_stopped_run_or_another_database(settings: Settings) -> None:
    ctx = Context.open(settings)
    result = run_job(ctx, Job(JobKind.RUN), should_stop=lambda: True)
    ctx.close()
    assert result.stopped
    before = idle_record.before_run(settings)
    idle_record.record(before, ctx, result)
    assert before is not None and not before.config.token_path().exists()
    for url in ("postgresql+psycopg://u@h/d", "sqlite://"):
        assert idle_record.before_run(Settings(db_url=url)) is None


def test_an_unwritable_cache_only_means_no_token(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    blocked = Settings(**{**settings.__dict__, "cache_dir": tmp_path / "file" / "cache"})
    assert _run(blocked) is None
