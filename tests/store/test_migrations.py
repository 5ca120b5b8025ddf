"""Alembic migrations: a database made by release 0.1.0 (``create_all``, no ``alembic_version``)
is stamped and upgraded with its data intact; a new one is built by the migrations and equals
``schema.py``; a table-rebuilding revision keeps rows and foreign keys. SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from signals.cli import cli
from signals.errors import StoreError
from signals.store import migrate, open_store
from signals.store import schema as t
from signals.store.migrations import baseline

T0 = datetime(2025, 4, 8, 10, 0, tzinfo=UTC)
TEST_REVISION = '''"""Test only: rebuild articles (SQLite copy-and-move) with a new nullable column."""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("articles", recreate="always" if sqlite else "auto") as batch:
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True)))
'''


def _release_database(url: str, without: frozenset[str] = frozenset()) -> None:
    """A database as Signals 0.1.0 leaves it: ``create_all`` of its tables, then its rows."""
    engine = create_engine(url, poolclass=NullPool)
    tables = [tb for name, tb in baseline.metadata.tables.items() if name not in without]
    with engine.begin() as c:
        baseline.metadata.create_all(c, tables=tables)
        c.execute(t.meta.insert().values(key="schema_version", value="1"))
        c.execute(
            t.sources.insert().values(
                id="le-monde",
                name="Le Monde",
                url="https://www.lemonde.fr/rss/une.xml",
                language="fr",
                tags=["presse"],
                kind="feed",
                interval_minutes=60,
                fetch_pages=True,
                configured=True,
                enabled=True,
                consecutive_failures=0,
                consecutive_hard_failures=0,
                total_failures=1,
                items_total=2,
                last_success_at=T0,
            )
        )
        c.execute(
            t.fetch_attempts.insert().values(
                source_id="le-monde",
                started_at=T0,
                status="ok",
                reason="",
                items=2,
                new_items=2,
                elapsed=0.4,
            )
        )
        for i, url_ in ((1, "https://ex.org/a"), (2, "https://ex.org/b")):
            c.execute(
                t.articles.insert().values(
                    id=i,
                    url=url_,
                    url_hash=f"h{i}",
                    title=f"Monnaie locale {i}",
                    summary="",
                    published_at=T0,
                    week="2025-W15",
                    first_seen_at=T0,
                    language="fr",
                    text="La monnaie locale.",
                    content_hash="c" if i == 1 else "d",
                    dup_of=None,
                    state="done",
                    processed_at=T0,
                )
            )
            c.execute(
                t.article_sources.insert().values(
                    article_id=i, source_id="le-monde", first_seen_at=T0
                )
            )
        c.execute(
            t.analyses.insert().values(
                article_id=1,
                keys_version="k1",
                language="fr",
                sentences=[["La monnaie locale.", "monnai local"]],
            )
        )
        c.execute(
            t.matches.insert().values(
                article_id=1,
                rupture_id="monnaie",
                item_id="monnaie-locale",
                kind="watch",
                sentence="La monnaie locale.",
                weight=1.0,
                ruleset_version="r1",
            )
        )
        if "judgements" not in without:
            c.execute(
                t.judgements.insert().values(
                    article_id=1,
                    rupture_id="monnaie",
                    polarity="evidence",
                    score=0.9,
                    accepted=True,
                    reasons=["title"],
                )
            )
            c.execute(
                t.verdicts.insert().values(
                    article_id=1,
                    rupture_id="monnaie",
                    polarity="evidence",
                    verdict="confirmed",
                    who="alice",
                    at=T0,
                    note="",
                )
            )
            c.execute(t.entity_runs.insert().values(article_id=1))
        c.execute(t.entities.insert().values(article_id=1, text="Bristol", label="LOC", count=2))
    engine.dispose()


def _dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every baseline table (by the baseline's columns), sorted."""
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as c:
        present = set(inspect(c).get_table_names())
        out = {
            name: sorted((tuple(r) for r in c.execute(select(*tb.columns))), key=repr)
            for name, tb in baseline.metadata.tables.items()
            if name in present
        }
    engine.dispose()
    return out


def _revision(url: str) -> str | None:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as c:
        rev = migrate.current_revision(c)
    engine.dispose()
    return rev


def _db(url: str, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["--db", url, "db", *args])
    return res.exit_code, res.output


def test_head_is_the_single_head_of_the_shipped_revisions() -> None:
    script = migrate._script(migrate.MIGRATIONS)
    assert script.get_heads() == [migrate.HEAD]
    assert [s.revision for s in script.walk_revisions()][-1] == migrate.BASELINE


def test_release_database_is_stamped_and_upgraded_with_data_intact(db_url: str) -> None:
    _release_database(db_url)
    before = _dump(db_url)
    assert sum(map(len, before.values())) == 13
    code, out = _db(db_url, "current")
    assert code == 0 and out.startswith("none: made before migrations, not at head 0006"), out
    assert _revision(db_url) is None  # `db current` changed nothing

    store = open_store(db_url)  # what every command does
    with store.engine.connect() as c:
        assert migrate.schema_state(c).at_head
        assert "ix_articles_published" in {ix["name"] for ix in inspect(c).get_indexes("articles")}
        assert (
            c.execute(select(t.meta.c.value).where(t.meta.c.key == "schema_version")).scalar()
            == "1"
        )
        # the code reads the upgraded rows through the current tables
        row = c.execute(select(t.articles.c.published_at).where(t.articles.c.id == 1)).scalar_one()
        assert row == T0
    store.dispose()
    assert _dump(db_url) == before
    assert _db(db_url, "current") == (0, "0006 (head)\n")
    assert _db(db_url, "upgrade") == (0, f"db: {db_url} at revision 0006 (head)\n")


def test_a_new_database_is_built_by_the_migrations_and_equals_schema_py(db_url: str) -> None:
    code, out = _db(db_url, "upgrade")
    assert code == 0 and out == f"db: {db_url} upgraded from none to 0006 (head)\n", out
    engine = create_engine(db_url, poolclass=NullPool)
    with engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), t.metadata)
        assert c.execute(select(t.meta.c.value)).scalars().all() == ["1"]
    engine.dispose()
    assert diff == [], f"schema.py and the migrations differ (add a revision): {diff}"


def test_release_database_made_before_the_judge_gets_its_tables(sqlite_url: str) -> None:
    _release_database(sqlite_url, without=baseline.LATE_TABLES)
    before = _dump(sqlite_url)
    open_store(sqlite_url).dispose()
    after = _dump(sqlite_url)
    assert _revision(sqlite_url) == migrate.HEAD
    assert {k: v for k, v in after.items() if k not in baseline.LATE_TABLES} == before
    assert all(after[name] == [] for name in baseline.LATE_TABLES)


@pytest.mark.parametrize(
    "damage, message",
    [
        ("drop", "missing tables matches"),
        ("version", "meta.schema_version is '2', not '1'"),
    ],
)
def test_a_database_that_is_not_a_release_one_is_left_untouched(
    sqlite_url: str, damage: str, message: str
) -> None:
    _release_database(sqlite_url)
    engine = create_engine(sqlite_url, poolclass=NullPool)
    with engine.begin() as c:
        if damage == "drop":
            c.execute(text("DROP TABLE matches"))
        else:
            c.execute(t.meta.update().values(value="2"))
    engine.dispose()
    before = _dump(sqlite_url)
    with pytest.raises(StoreError, match=message) as e:
        open_store(sqlite_url)
    assert str(e.value).endswith("left untouched")
    assert _revision(sqlite_url) is None and _dump(sqlite_url) == before


def test_a_revision_this_release_does_not_know_is_refused(sqlite_url: str) -> None:
    open_store(sqlite_url).dispose()
    engine = create_engine(sqlite_url, poolclass=NullPool)
    with engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(
        StoreError,
        match="at revision 0099, unknown to this Signals .head 0006.: was it "
        "upgraded by a newer release",
    ):
        open_store(sqlite_url)
    res = CliRunner().invoke(cli, ["--db", sqlite_url, "status"])
    assert res.exit_code == 3 and res.output.count("\n") == 1, res.output


def test_a_table_rebuilding_revision_keeps_rows_and_foreign_keys(
    db_url: str, tmp_path: Path
) -> None:
    """The path a later revision takes: a test-only revision directory (the shipped ones plus
    a 0007 that rebuilds ``articles``, which eight tables point to) on a release database."""
    location = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    (location / "versions" / "v0007_test_rebuild.py").write_text(TEST_REVISION, encoding="utf-8")
    _release_database(db_url)
    before = _dump(db_url)
    store = open_store(db_url, upgrade=False)
    assert store.upgrade(location=location) == (None, "0007")
    with store.engine.connect() as c:
        assert "reviewed_at" in {col["name"] for col in inspect(c).get_columns("articles")}
        if store.is_sqlite:
            assert c.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            # the rebuilt table still enforces the references to it
            with pytest.raises(IntegrityError, match="FOREIGN KEY"):
                c.exec_driver_sql("DELETE FROM articles WHERE id = 1")
    store.dispose()
    assert _revision(db_url) == "0007"
    assert _dump(db_url) == before
    with pytest.raises(
        StoreError, match="unknown to this Signals"
    ):  # the shipped code: 0007 is not its own
        open_store(db_url)


def test_concurrent_first_opens_build_the_database_once(db_url: str) -> None:
    """Four writers starting together on a new database: one builds it, the others wait for
    the lock and find it at head (no duplicate table, no second baseline row)."""
    from concurrent.futures import ThreadPoolExecutor

    def first_open(_: int) -> tuple[str | None, str]:
        store = open_store(db_url, upgrade=False)
        try:
            return store.upgrade()
        finally:
            store.dispose()

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(first_open, range(4)))
    assert sorted(before or "none" for before, _ in results) == ["0006", "0006", "0006", "none"]
    assert {after for _, after in results} == {"0006"}
    engine = create_engine(db_url, poolclass=NullPool)
    with engine.connect() as c:
        assert c.execute(select(t.meta.c.value)).scalars().all() == ["1"]
        assert c.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    engine.dispose()


FAILING_REVISIONS = {
    "raises": """
def upgrade() -> None:
    op.create_index("ix_articles_guid", "articles", ["guid"])
    raise RuntimeError("revision 0007 failed halfway")
""",
    "breaks-foreign-keys": """
def upgrade() -> None:
    op.execute("DELETE FROM articles WHERE id = 1")
""",
}


@pytest.mark.parametrize("kind", sorted(FAILING_REVISIONS))
def test_a_failing_revision_changes_nothing(sqlite_url: str, tmp_path: Path, kind: str) -> None:
    """Every pending revision runs in one transaction: a release database whose upgrade fails
    in 0007 (an error, or rows that break foreign keys while they are off) is left as it was,
    not even stamped."""
    location = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    head = (
        'from alembic import op\n\nrevision = "0007"\ndown_revision = "0006"\nbranch_labels = None\n'
        "depends_on = None\n"
    )
    (location / "versions" / "v0007_fails.py").write_text(
        head + FAILING_REVISIONS[kind], encoding="utf-8"
    )
    _release_database(sqlite_url)
    before = _dump(sqlite_url)
    store = open_store(sqlite_url, upgrade=False)
    with pytest.raises(
        StoreError,
        match="to 0007: RuntimeError: revision 0007 failed halfway; nothing changed"
        if kind == "raises"
        else r"the migration broke 7 foreign key\(s\), first "
        r"\('verdicts', 1, 'articles', 0\); nothing changed",
    ):
        store.upgrade(location=location)
    store.dispose()
    assert _revision(sqlite_url) is None and _dump(sqlite_url) == before
    engine = create_engine(sqlite_url, poolclass=NullPool)
    with engine.connect() as c:
        assert {ix["name"] for ix in inspect(c).get_indexes("articles")} == {
            "ix_articles_state",
            "ix_articles_week",
            "ix_articles_content_hash",
        }
    engine.dispose()
