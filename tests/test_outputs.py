"""Unwritable report paths: one line on stderr, exit 2, no traceback, nothing created."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from signals import pipeline
from signals.cli import cli
from signals.errors import InputError
from signals.outputs import check_writable_dir, writing_to


def test_a_path_under_a_file_is_refused_without_creating_anything(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match=r"file.txt is not a directory"):
        check_writable_dir(blocker / "reports")
    with pytest.raises(InputError, match=r"is not a directory"):
        check_writable_dir(blocker)
    check_writable_dir(tmp_path / "new" / "reports")  # creatable: fine
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("command", [["digest"], ["demo", "--days", "7"]])
def test_commands_give_one_line(tmp_path: Path, command: list[str]) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x", encoding="utf-8")
    res = CliRunner().invoke(
        cli,
        ["--db", f"sqlite:///{tmp_path / 's.db'}", "--reports", str(blocker / "reports"), *command],
    )
    assert res.exit_code == 2, res.output
    assert res.output.strip().splitlines() == [
        f"error: --reports {blocker / 'reports'}: {blocker} is not a directory"
    ]
    assert isinstance(res.exception, SystemExit)  # an exit code, not an uncaught exception
    assert not (tmp_path / "s.db").exists()  # refused before any work


def test_a_write_failing_midway_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = tmp_path / "reports"

    def failing(_ctx: pipeline.Context, _week: str | None = None) -> list[Path]:
        raise PermissionError(13, "Permission denied", str(reports / "2025-W15.md.tmp"))

    monkeypatch.setattr(pipeline, "digest", failing)
    db = tmp_path / "s.db"
    runner = CliRunner()
    runner.invoke(
        cli, ["--db", f"sqlite:///{db}", "--now", "2025-01-01", "import", str(_corpus(tmp_path))]
    )
    res = runner.invoke(cli, ["--db", f"sqlite:///{db}", "--reports", str(reports), "digest"])
    assert res.exit_code == 2, res.output
    assert res.output.strip() == (
        f"error: --reports {reports}: cannot write {reports / '2025-W15.md.tmp'}: Permission denied"
    )


def test_other_os_errors_are_not_blamed_on_the_reports(tmp_path: Path) -> None:
    with pytest.raises(ConnectionRefusedError), writing_to(tmp_path):
        raise ConnectionRefusedError(111, "Connection refused")
    with pytest.raises(FileNotFoundError), writing_to(tmp_path / "reports"):
        raise FileNotFoundError(2, "No such file", str(tmp_path / "elsewhere.txt"))


def _corpus(tmp_path: Path) -> Path:
    p = tmp_path / "c.jsonl"
    p.write_text(
        '{"url": "https://ex.org/a", "title": "t", "text": "Un texte.", "published": "2024-12-30", '
        '"source": "ex"}\n',
        encoding="utf-8",
    )
    return p
