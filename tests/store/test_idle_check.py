"""``store.idle_check``: the standard-library queries of the fast path give the answers of the
SQLAlchemy queries the full run makes (``repo.due_sources``, ``repo.prune_attempts``, ...)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from signals.config import SourceSpec
from signals.lock import job_lock
from signals.store import open_store, repo
from signals.store import schema as t
from signals.store.idle_check import facts, open_ro, sql_time, sqlite_file, work

from ..conftest import new_article

NOW = datetime(2022, 3, 9, 12, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=90)


def _spec(sid: str, enabled: bool = True) -> SourceSpec:
    return SourceSpec(
        sid, sid.upper(), f"http://example.org/{sid}.xml", "fr", (), 60, False, enabled
    )


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "s.db")


def test_sqlite_file_takes_plain_files_only() -> None:
    assert sqlite_file("sqlite:///db/signals.db") == "db/signals.db"
    assert sqlite_file("sqlite:////tmp/x.db") == "/tmp/x.db"
    for url in (
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///x.db?mode=ro",
        "sqlite:///a%20b.db",
        "postgresql+psycopg://u@h/d",
        "",
    ):
        assert sqlite_file(url) is None, url


def test_times_are_compared_as_the_store_writes_them(path: str) -> None:
    store = open_store(f"sqlite:///{path}")
    odd = datetime(2022, 3, 9, 13, 4, 5, 678, tzinfo=UTC).astimezone()  # not UTC, microseconds
    with store.begin() as conn:
        repo.sync_sources(conn, [_spec("a")])
        repo.update_source(conn, "a", next_fetch_at=odd)
    store.dispose()
    with open_ro(path) as conn:
        (raw,) = conn.execute("SELECT next_fetch_at FROM sources").fetchone()
    assert raw == sql_time(odd) == "2022-03-09 13:04:05.000678"


@pytest.mark.parametrize(
    "next_fetch",
    [
        None,
        NOW - timedelta(minutes=1),
        NOW,
        NOW + timedelta(microseconds=1),
        NOW + timedelta(hours=1),
    ],
)
@pytest.mark.parametrize("enabled", [True, False])
def test_a_feed_is_due_exactly_when_the_fetch_would_poll_it(
    path: str, next_fetch: datetime | None, enabled: bool
) -> None:
    store = open_store(f"sqlite:///{path}")
    with store.begin() as conn:
        repo.sync_sources(conn, [_spec("a", enabled), _spec("gone")])
        repo.sync_sources(conn, [_spec("a", enabled)])  # "gone" left sources.yaml
        conn.execute(update(t.sources).values(next_fetch_at=NOW + timedelta(days=1)))
        repo.update_source(conn, "a", next_fetch_at=next_fetch)
        repo.ensure_import_source(conn, "imported", "fr")
        due = repo.due_sources(conn, NOW)
    store.dispose()
    with open_ro(path) as conn:
        reason = work(conn, "fetch", NOW, LONG_AGO)
    assert (reason == "a feed is due") == bool(due)
    assert reason in (None, "a feed is due")


@pytest.mark.parametrize("age_days", [89, 90, 91])
def test_attempts_are_to_prune_exactly_when_the_fetch_would_prune_them(
    path: str, age_days: int
) -> None:
    store = open_store(f"sqlite:///{path}")
    with store.begin() as conn:
        repo.sync_sources(conn, [_spec("a")])
        repo.update_source(conn, "a", next_fetch_at=NOW + timedelta(hours=1))
        repo.record_attempt(conn, "a", NOW - timedelta(days=age_days), "ok", "", 200, 1, 1, 0.1)
    with store.engine.connect() as conn, conn.begin() as tx:
        would_prune = repo.prune_attempts(conn, LONG_AGO)
        tx.rollback()
    store.dispose()
    with open_ro(path) as conn:
        reason = work(conn, "fetch", NOW, LONG_AGO)
    assert (reason == "attempts are to prune") == (would_prune > 0)


def test_the_held_lock_and_pending_articles_are_work(path: str) -> None:
    store = open_store(f"sqlite:///{path}")
    with open_ro(path) as conn:
        assert work(conn, "fetch", NOW, LONG_AGO) is None
    with job_lock(store, "fetch"), open_ro(path) as conn:
        assert work(conn, "fetch", NOW, LONG_AGO) == "the lock is held"
        assert work(conn, "digest", NOW, LONG_AGO) is None
    with store.begin() as conn:
        repo.ensure_import_source(conn, "i", "fr")
        repo.add_article(conn, new_article("http://example.org/a", "ready", NOW), "i", NOW)
    for state, pending in (("done", False), ("failed", False), ("page", True), ("ready", True)):
        with store.begin() as conn:
            conn.execute(update(t.articles).values(state=state))
        with open_ro(path) as conn:
            reason = work(conn, "fetch", NOW, LONG_AGO)
        assert (reason == "an article is pending") == pending, state
    store.dispose()


def test_facts_change_with_the_synced_sources_the_revision_and_the_meta(path: str) -> None:
    store = open_store(f"sqlite:///{path}")
    with store.begin() as conn:
        repo.sync_sources(conn, [_spec("a")])
        repo.set_meta(conn, "k", "v1")

    def now_facts() -> object:
        with open_ro(path) as conn:
            return facts(conn, ["k", "absent"])

    first = now_facts()
    assert first == now_facts()
    assert first.revision == "0006" and first.meta["absent"] is None  # type: ignore[attr-defined]
    with store.begin() as conn:  # a fetch's bookkeeping is not what the sync writes
        repo.update_source(conn, "a", next_fetch_at=NOW, etag="x", consecutive_failures=2)
    assert now_facts() == first
    changes = [
        lambda c: repo.sync_sources(c, [_spec("a", enabled=False)]),
        lambda c: repo.set_meta(c, "k", "v2"),
        lambda c: c.execute(update(t.sources).values(tags=["x"])),
    ]
    seen = [first]
    for change in changes:
        with store.begin() as conn:
            change(conn)
        seen.append(now_facts())
        assert seen[-1] != seen[-2]
    with store.engine.connect() as conn:
        assert conn.execute(select(t.meta.c.value).where(t.meta.c.key == "k")).scalar() == "v2"
    store.dispose()


def test_a_missing_file_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="unable to open"), open_ro(str(tmp_path / "no.db")):
        pass
    assert list(tmp_path.iterdir()) == []
