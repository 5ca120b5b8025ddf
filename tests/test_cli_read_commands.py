"""Read commands never create a database (exit 3, one line naming the URL, nothing made on
disk or in PostgreSQL); a digest of a week with no article analysed exits 4 and writes nothing,
in the CLI and in the service."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from signals.cli import cli
from signals.scheduler import Service
from signals.settings import Settings
from signals.store.migrate import HEAD

from .conftest import PG_URL, REPO

SCENARIOS = """\
ruptures:
  - id: monnaie
    title: Monnaies locales
    watch:
      - {id: monnaie-locale, label: Monnaie locale, any: [monnaie locale]}
"""


def invoke(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args))
    return res.exit_code, res.output


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    label = (REPO / "labels" / "test.jsonl").read_text(encoding="utf-8").splitlines()[0]
    (tmp_path / "labels.jsonl").write_text(label + "\n", encoding="utf-8")
    (tmp_path / "review.csv").write_text(
        "article_id,rupture_id,polarity,verdict\n", encoding="utf-8"
    )
    return {"labels": tmp_path / "labels.jsonl", "review": tmp_path / "review.csv"}


def read_commands(tmp_path: Path, files: dict[str, Path]) -> list[list[str]]:
    out = str(tmp_path / "out" / "x")
    return [
        ["digest"],
        ["digest", "--week", "2025-W15"],
        ["status"],
        ["status", "--json"],
        ["export", "--since", "2025-01-01"],
        ["export", "--review", "--since", "2025-01-01", "-o", out],
        ["eval", str(files["labels"])],
        ["eval", str(files["labels"]), "--verdicts", "--corpus", str(files["labels"])],
        ["labels", "export", "-o", out],
        ["labels", "import", str(files["review"]), "--who", "a"],
        ["db", "current"],
    ]


def test_read_commands_on_a_missing_sqlite_file_exit_3_and_create_nothing(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    url = f"sqlite:///{tmp_path / 'typo' / 'demoo.db'}"
    for cmd in read_commands(tmp_path, files):
        code, out = invoke(
            "--db",
            url,
            "--reports",
            str(tmp_path / "reports"),
            "--scenarios",
            str(REPO / "scenarios.yaml"),
            "--sources",
            str(REPO / "sources.yaml"),
            *cmd,
        )
        assert code == 3, (cmd, out)
        assert out == (
            f"error: no Signals database at {url} (`signals run`, `import`, `demo` or "
            f"`db upgrade` creates one)\n"
        ), (cmd, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.jsonl", "review.csv"]


def test_an_existing_file_that_is_not_a_signals_database_is_not_touched(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    code, out = invoke(
        "--db", f"sqlite:///{empty}", "--scenarios", str(REPO / "scenarios.yaml"), "digest"
    )
    assert code == 3 and "no Signals database at" in out
    assert empty.stat().st_size == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


def test_writing_commands_create_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 's.db'}"
    assert invoke("--db", url, "db", "upgrade") == (
        0,
        f"db: {url} upgraded from none to {HEAD} (head)\n",
    )
    assert invoke("--db", url, "db", "current") == (0, f"{HEAD} (head)\n")
    url2 = f"sqlite:///{tmp_path / 'new2' / 's.db'}"
    code, out = invoke("--db", url2, "--scenarios", str(REPO / "scenarios.yaml"), "process")
    assert code == 0 and "process: 0 analysed" in out
    assert (tmp_path / "new2" / "s.db").is_file()


def test_postgresql_missing_database_or_tables_exit_3_and_create_nothing(pg_url: str) -> None:
    del pg_url  # only for its skip without a server: a database that does not exist is asked for
    missing = (
        make_url(PG_URL).set(database="signals_no_such_db").render_as_string(hide_password=False)
    )
    code, out = invoke("--db", missing, "--scenarios", str(REPO / "scenarios.yaml"), "digest")
    assert code == 3 and out.count("\n") == 1 and "signals_no_such_db" in out, out


def test_postgresql_database_without_signals_tables_is_refused_and_left_empty(pg_url: str) -> None:
    for cmd in (["digest"], ["status"], ["db", "current"], ["export", "--since", "2025-01-01"]):
        code, out = invoke(
            "--db",
            pg_url,
            "--scenarios",
            str(REPO / "scenarios.yaml"),
            "--sources",
            str(REPO / "sources.yaml"),
            *cmd,
        )
        assert code == 3, (cmd, out)
        assert (
            out.startswith("error: no Signals database at postgresql+psycopg://")
            and out.count("\n") == 1
        )
    engine = create_engine(pg_url, poolclass=NullPool)
    with engine.connect() as c:
        assert inspect(c).get_table_names() == []
    engine.dispose()


def _corpus(path: Path) -> Path:
    lines = [
        {
            "url": f"https://ex.org/{i}",
            "title": f"Une monnaie locale {i}",
            "source": "ex",
            "text": "La monnaie locale circule à Bristol depuis des années.",
            "published": "2025-04-08",
        }
        for i in range(3)
    ]
    path.write_text("".join(json.dumps(d) + "\n" for d in lines), encoding="utf-8")
    return path


def test_a_digest_of_an_empty_week_exits_4_and_keeps_the_existing_digest(tmp_path: Path) -> None:
    (tmp_path / "scenarios.yaml").write_text(SCENARIOS, encoding="utf-8")
    reports = tmp_path / "reports"
    base = [
        "--db",
        f"sqlite:///{tmp_path / 's.db'}",
        "--reports",
        str(reports),
        "--scenarios",
        str(tmp_path / "scenarios.yaml"),
        "--now",
        "2025-04-15",
    ]
    assert invoke(*base, "import", str(_corpus(tmp_path / "c.jsonl")))[0] == 0
    assert invoke(*base, "process")[0] == 0
    code, out = invoke(*base, "digest")  # the last complete week: 2025-W15, which has the data
    assert code == 0 and f"wrote {reports / '2025-W15.md'}" in out, out
    kept = {p.name: p.read_bytes() for p in reports.iterdir()}

    # an earlier week with no article: a warning, exit 4, nothing written
    code, out = invoke(*base, "digest", "--week", "2025-W14")
    assert (code, out) == (
        4,
        f"warning: no article analysed in 2025-W14 in sqlite:///{tmp_path / 's.db'}: "
        "no digest written\n",
    )
    # a digest of that week already there is never replaced by an empty one
    (reports / "2025-W14.md").write_text("the real digest\n", encoding="utf-8")
    empty_db = ["--db", f"sqlite:///{tmp_path / 'other.db'}", *base[2:]]
    assert invoke(*empty_db, "db", "upgrade")[0] == 0
    code, out = invoke(*empty_db, "digest", "--week", "2025-W15")
    assert code == 4 and out.startswith("warning: no article analysed in 2025-W15")
    assert {p.name: p.read_bytes() for p in reports.iterdir() if p.name != "2025-W14.md"} == kept
    assert (reports / "2025-W14.md").read_text(encoding="utf-8") == "the real digest\n"


def test_the_service_logs_an_empty_week_and_keeps_serving(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "schedule.yaml").write_text(
        "jobs:\n  - {id: digest, command: digest, cron: '0 6 * * 1'}\n", encoding="utf-8"
    )
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    (tmp_path / "scenarios.yaml").write_text(SCENARIOS, encoding="utf-8")
    s = Settings(
        db_url=f"sqlite:///{tmp_path / 's.db'}",
        sources_path=tmp_path / "sources.yaml",
        scenarios_path=tmp_path / "scenarios.yaml",
        reports_dir=tmp_path / "reports",
    )
    service = Service(s, tmp_path / "schedule.yaml")  # the real job body
    caplog.set_level(logging.INFO, logger="signals.scheduler")
    try:
        service._execute("digest")
        service._execute("digest")
    finally:
        service.shutdown()
    assert [o.status for o in service.outcomes] == ["skipped", "skipped"]
    assert (
        "job digest: no article analysed in" in caplog.text and "no digest written" in caplog.text
    )
    assert not (tmp_path / "reports").exists()
