"""The fetch log (`fetch_attempts`) is pruned by age during every fetch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from signals.collect import fetch_feeds
from signals.config import FetchSettings, Sources
from signals.fetch import Fetcher
from signals.store import open_store, repo
from signals.store import schema as t

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(("keep", "left"), [(90, [1, 89]), (30, [1])])
def test_attempts_older_than_the_setting_are_pruned(
    tmp_path: Path, keep: int, left: list[int]
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    with store.begin() as c:
        repo.ensure_import_source(c, "src", "fr")
        for days in (1, 89, 91, 400):
            repo.record_attempt(
                c, "src", NOW - timedelta(days=days), "ok", f"{days} days", 200, 0, 0, 0.1
            )
    cfg = Sources(fetch=FetchSettings(keep_attempts_days=keep))
    fetcher = Fetcher(cfg.fetch)
    try:
        rep = fetch_feeds(store, cfg, lambda: NOW, fetcher)
    finally:
        fetcher.close()
    assert rep.attempts_pruned == 4 - len(left)
    with store.engine.connect() as c:
        reasons = c.execute(
            select(t.fetch_attempts.c.reason).order_by(t.fetch_attempts.c.started_at.desc())
        )
        assert list(reasons.scalars()) == [f"{d} days" for d in left]
    store.dispose()


def test_the_setting_is_validated() -> None:
    assert FetchSettings().keep_attempts_days == 90
    with pytest.raises(ValueError):
        FetchSettings(keep_attempts_days=0)
