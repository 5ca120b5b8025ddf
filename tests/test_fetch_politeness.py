"""A fetch cycle keeps `per_host_concurrency` for feeds (not only for pages), and a stop
request starts no new feed fetch while the ones in flight are still stored."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from signals.collect import fetch_feeds
from signals.config import FetchSettings, Sources
from signals.devserver import Response, serve
from signals.fetch import FEED_ACCEPT, Fetcher
from signals.models import FetchResult
from signals.store import open_store, repo

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
RSS = (
    "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>"
    "<item><title>Item {n}</title><link>https://news.example/{n}</link>"
    "<pubDate>Sun, 01 Jun 2025 10:00:00 +0000</pubDate></item></channel></rss>"
)


class Peaks:
    """Requests in flight per Host header: the most seen at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: dict[str, int] = {}
        self.peak: dict[str, int] = {}

    def router(self, path: str, headers: dict[str, str]) -> Response:
        host = headers.get("host", "").split(":")[0]
        with self.lock:
            self.now[host] = self.now.get(host, 0) + 1
            self.peak[host] = max(self.peak.get(host, 0), self.now[host])
        time.sleep(0.1)
        with self.lock:
            self.now[host] -= 1
        n = path.rsplit("/", 1)[-1]
        return Response(200, RSS.format(n=n).encode(), {"Content-Type": "application/rss+xml"})


def config(port: int, per_host: int) -> Sources:
    urls = [f"http://127.0.0.1:{port}/feeds/a{i}" for i in range(8)]
    urls += [f"http://localhost:{port}/feeds/b{i}" for i in range(4)]
    return Sources.model_validate(
        {
            "defaults": {"fetch_pages": False, "language": "fr"},
            "fetch": {
                "allow_networks": ["127.0.0.0/8", "::1/128"],
                "concurrency": 8,
                "per_host_concurrency": per_host,
            },
            "sources": [{"id": f"s{i:02d}", "name": f"s{i}", "url": u} for i, u in enumerate(urls)],
        }
    )


@pytest.mark.parametrize("per_host", [1, 2])
def test_feed_fetches_keep_per_host_concurrency(tmp_path: Path, per_host: int) -> None:
    peaks = Peaks()
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    with serve(peaks.router) as srv:
        cfg = config(srv.port, per_host)
        with Fetcher(cfg.fetch) as fetcher:
            rep = fetch_feeds(store, cfg, lambda: NOW, fetcher)
    assert (rep.due, rep.ok, rep.new_articles) == (12, 12, 12)
    # before: every due feed was submitted to one pool of `concurrency` threads: 8 on 127.0.0.1
    assert peaks.peak == {"127.0.0.1": per_host, "localhost": per_host}
    with store.engine.connect() as c:
        assert repo.count_articles(c) == 12
    store.dispose()


class StopAfter(Fetcher):
    """Raises (as a stop request does) from the third fetch on."""

    def __init__(self, settings: FetchSettings) -> None:
        super().__init__(settings)
        self.calls = 0
        self.lock = threading.Lock()

    def fetch(
        self,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
    ) -> FetchResult:
        with self.lock:
            self.calls += 1
            n = self.calls
        if n > 2:
            raise RuntimeError("stop")
        return super().fetch(url, etag, last_modified, accept)


def test_fetch_each_starts_nothing_after_a_raise_and_yields_what_was_in_flight() -> None:
    peaks = Peaks()
    with serve(peaks.router) as srv:
        settings = FetchSettings(
            allow_networks=["127.0.0.0/8"], concurrency=3, per_host_concurrency=3
        )
        requests: list[tuple[str, str | None, str | None]] = [
            (f"{srv.base_url}/feeds/{i}", None, None) for i in range(20)
        ]
        got: list[int] = []
        fetcher = StopAfter(settings)
        with fetcher, pytest.raises(RuntimeError, match="stop"):
            for i, result in fetcher.fetch_each(requests):
                assert result.body is not None
                got.append(i)
        assert sorted(got) == [0, 1]  # the two that were fetched are yielded before the raise
        assert fetcher.calls == 3  # and none was started after the one that raised


def test_kept_open_spares_the_checkpoint_each_commit_pays(tmp_path: Path) -> None:
    """The last connection to close checkpoints the WAL and deletes it (what made each feed's
    transaction cost ~20 ms); with an idle connection kept open the WAL stays."""
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    wal = tmp_path / "s.db-wal"

    def write(n: int) -> None:
        with store.begin() as c:
            repo.record_attempt(c, "src", NOW, "ok", f"{n}", 200, 0, 0, 0.1)

    with store.begin() as c:
        repo.ensure_import_source(c, "src", "fr")
    write(1)
    assert not wal.exists()
    with store.kept_open():
        write(2)
        assert wal.exists()
        write(3)
    assert not wal.exists()
    with store.engine.connect() as c:
        assert repo.count_articles(c) == 0
    store.dispose()
