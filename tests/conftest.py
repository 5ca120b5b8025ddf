"""Shared fixtures: a fresh database per test (SQLite file, or a throw-away PostgreSQL
database), the real data folder (skipped with a reason when absent), and a CLI runner."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from signals.score import iso_week
from signals.store import repo

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SIGNALS_SHARED_DATA", REPO.parent / "shared" / "data"))
PG_URL = os.environ.get("SIGNALS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_pg_state: dict[str, str | None] = {}


def pg_unavailable_reason() -> str | None:
    """None when PostgreSQL answers at SIGNALS_TEST_PG, else why not."""
    if "reason" not in _pg_state:
        try:
            eng = create_engine(PG_URL, connect_args={"connect_timeout": 3})
            with eng.connect() as c:
                c.execute(text("select 1"))
            eng.dispose()
            _pg_state["reason"] = None
        except Exception as e:  # driver missing, server down, auth...
            _pg_state["reason"] = f"PostgreSQL not reachable at {PG_URL}: {e.__class__.__name__}"
    return _pg_state["reason"]


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The compiled-ruleset cache of a test session goes to a temporary directory, not ~/.cache."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A brand-new PostgreSQL database for this test, dropped afterwards."""
    reason = pg_unavailable_reason()
    if reason:
        if os.environ.get("SIGNALS_REQUIRE_PG"):
            pytest.fail(reason + " (SIGNALS_REQUIRE_PG is set)")
        pytest.skip(reason)
    name = f"signals_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'signals.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'signals.db'}"
    return str(request.getfixturevalue("pg_url"))


def shared(*parts: str) -> Path:
    """A path inside ../shared/data, or skip the test with a clear reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set SIGNALS_SHARED_DATA to ../shared/data)")
    return path


@pytest.fixture(scope="session")
def demo_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's SQLite database, built once per session by ``signals demo`` (copy it before
    writing: see ``demo_db``)."""
    from click.testing import CliRunner

    from signals.cli import cli

    tmp = tmp_path_factory.mktemp("demo-db")
    db = tmp / "demo.db"
    res = CliRunner().invoke(
        cli,
        [
            "--db",
            f"sqlite:///{db}",
            "--reports",
            str(tmp / "reports"),
            "--scenarios",
            str(REPO / "scenarios.yaml"),
            "-q",
            "demo",
        ],
    )
    assert res.exit_code == 0, res.output
    return db


@pytest.fixture
def demo_db(demo_db_file: Path, tmp_path: Path) -> str:
    """A private copy of the demo database for one test (its URL)."""
    import shutil

    copy = tmp_path / "demo.db"
    shutil.copyfile(demo_db_file, copy)
    return f"sqlite:///{copy}"


def python_lines(code: str, *args: str, env: dict[str, str] | None = None) -> list[str]:
    """The stdout lines of ``python -c code args`` in a fresh process on this checkout (what
    a start-up imports is only seen from a new interpreter)."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env={
            "PYTHONPATH": str(REPO),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **(env or {}),
        },
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.splitlines()


def new_article(url: str, state: str, now: datetime) -> repo.NewArticle:
    """An article row about a local currency, first seen at ``now``, in ``state``."""
    return repo.NewArticle(
        url=url,
        guid=None,
        title="Une monnaie locale",
        summary="La monnaie locale circule.",
        published_at=now - timedelta(days=1),
        published_raw=None,
        date_flag=None,
        week=iso_week(now - timedelta(days=1)),
        language="fr",
        state=state,
    )


def verdict_row(article_id: int, rupture_id: str, verdict: str, at: datetime) -> dict[str, object]:
    """A ``verdicts`` row: an analyst's verdict (confirmed / rejected) on an evidence judgement."""
    return {
        "article_id": article_id,
        "rupture_id": rupture_id,
        "polarity": "evidence",
        "verdict": verdict,
        "who": "a",
        "at": at,
        "note": "",
    }
