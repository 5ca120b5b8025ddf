"""Reliability through the real `signals fetch` path (issue 4, cases 1, 5, 6, 7).

Every feed file of ../shared/data/feeds is served on 127.0.0.1 and fetched as a source; the run
must not crash and every source must end `ok` or with a classified failure. Then backoff,
disabling and reset; one article reached through two feeds; missing and future dates.
"""

from __future__ import annotations

import json
import tarfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from signals.cli import cli
from signals.devserver import Response, serve
from signals.fetch import REASONS
from signals.fetch.feeds import PROBLEMS
from signals.store import open_store, repo
from signals.store import schema as t

from .conftest import SHARED_DATA, shared

FEED_SUFFIXES = {
    ".xml",
    ".rss",
    ".atom",
    ".html",
    ".gz",
}  # feeds, and the odd page or gzip among them
NOW = datetime(2024, 5, 6, 12, tzinfo=UTC)


def _write_sources(path: Path, base_url: str, names: list[str], extra: str = "") -> None:
    lines = [
        "defaults: {interval_minutes: 60, fetch_pages: false, language: fr}",
        'fetch: {allow_networks: ["127.0.0.0/8"], concurrency: 8, per_host_concurrency: 8, '
        f"timeout_seconds: 10{extra}}}",
        "sources:",
    ]
    for i, name in enumerate(names):
        lines.append(f"  - {{id: s{i}, name: 'feed {i}', url: '{base_url}/{name}'}}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.slow
@pytest.mark.xdist_group("feeds-corpus")
def test_whole_feed_corpus_through_signals_fetch(tmp_path: Path) -> None:
    root = shared("feeds")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in FEED_SUFFIXES)
    # a sample of the Le Monde snapshots: one day of all 16 feeds
    archive = SHARED_DATA / "feeds" / "lemonde-rss-2022" / "lemonde_rss_2022_snapshots.tar.xz"
    with tarfile.open(archive) as tar:
        members = [
            m for m in tar.getmembers() if m.name.startswith("Corpus/2022/Mar/15/") and m.isfile()
        ]
        tar.extractall(tmp_path / "lemonde", members=members, filter="data")
    files += sorted((tmp_path / "lemonde").rglob("*.xml"))
    assert len(files) > 2400
    by_name = {f"f/{i}": p for i, p in enumerate(files)}

    def router(path: str, _headers: dict[str, str]) -> Response:
        p = by_name.get(path.lstrip("/"))
        if p is None:
            return Response(404)
        return Response(200, p.read_bytes(), {"Content-Type": "application/xml"})

    db = f"sqlite:///{tmp_path / 'corpus.db'}"
    with serve(router) as srv:
        sources = tmp_path / "sources.yaml"
        _write_sources(sources, srv.base_url, list(by_name))
        res = CliRunner().invoke(
            cli, ["--db", db, "--sources", str(sources), "--now", NOW.isoformat(), "fetch"]
        )
    assert res.exit_code == 0, res.output
    store = open_store(db)
    with store.engine.connect() as c:
        rows = repo.all_sources(c)
        n_articles = c.execute(select(t.articles.c.id)).all()
    store.dispose()
    assert len(rows) == len(files)
    outcomes = Counter(r.last_status for r in rows)
    assert set(outcomes) <= {"ok", "soft", "hard", "temp"}, outcomes
    assert all(r.last_status is not None for r in rows), "every feed was attempted"
    known = set(REASONS) | set(PROBLEMS)
    unclassified = [
        (r.url, r.last_reason) for r in rows if r.last_status != "ok" and r.last_reason not in known
    ]
    assert not unclassified, unclassified[:10]
    # feedparser's fixtures include fragments with no entries: those are classified, not ok
    assert outcomes["ok"] > 0.8 * len(files), outcomes
    reasons = Counter(r.last_reason for r in rows if r.last_status != "ok")
    print(f"{len(files)} feeds: {dict(outcomes)}; failures by reason: {dict(reasons)}")
    assert len(n_articles) > 1000


def test_backoff_disable_and_reset(tmp_path: Path) -> None:
    state = {"status": 500}

    def router(_path: str, _headers: dict[str, str]) -> Response:
        if state["status"] == 200:
            body = (
                b"<?xml version='1.0'?><rss version='2.0'><channel><title>x</title>"
                b"<item><title>Une monnaie locale</title><link>https://ex.org/a</link></item></channel></rss>"
            )
            return Response(200, body, {"Content-Type": "application/rss+xml"})
        if state["status"] == 429:
            return Response(429, b"slow down", {"Retry-After": "7200"})
        return Response(state["status"], b"error")

    db = f"sqlite:///{tmp_path / 'b.db'}"
    sources = tmp_path / "sources.yaml"
    with serve(router) as srv:
        _write_sources(
            sources,
            srv.base_url,
            ["feed.xml"],
            ", disable_after_failures: 3, backoff_base_seconds: 60",
        )

        def fetch_at(now: datetime) -> repo.SourceState:
            res = CliRunner().invoke(
                cli, ["--db", db, "--sources", str(sources), "--now", now.isoformat(), "fetch"]
            )
            assert res.exit_code == 0, res.output
            store = open_store(db)
            with store.engine.connect() as c:
                s = repo.all_sources(c)[0]
            store.dispose()
            return s

        s = fetch_at(NOW)
        assert (s.last_status, s.consecutive_failures) == ("temp", 1)
        first_delay = s.next_fetch_at - NOW
        assert timedelta(seconds=48) <= first_delay <= timedelta(seconds=72)  # 60 s ± 20 %
        s = fetch_at(NOW + timedelta(minutes=1, seconds=30))
        assert s.consecutive_failures == 2
        assert (
            timedelta(seconds=96)
            <= s.next_fetch_at - (NOW + timedelta(minutes=1, seconds=30))
            <= timedelta(seconds=144)
        )
        # not due yet: nothing is fetched
        before = s.last_attempt_at
        assert fetch_at(NOW + timedelta(minutes=2)).last_attempt_at == before
        state["status"] = 429
        t429 = NOW + timedelta(hours=1)
        s = fetch_at(t429)
        assert s.next_fetch_at - t429 >= timedelta(seconds=7200), "Retry-After is honoured"
        state["status"] = 200
        s = fetch_at(t429 + timedelta(hours=3))
        assert (s.last_status, s.consecutive_failures, s.enabled) == ("ok", 0, True), (
            "a success resets"
        )
        state["status"] = 410
        s = fetch_at(t429 + timedelta(hours=5))
        assert not s.enabled and "410" in (s.disabled_reason or "")
        res = CliRunner().invoke(cli, ["--db", db, "--sources", str(sources), "status"])
        assert res.exit_code == 0 and "disabled" in res.output and "s0" in res.output


def test_hard_failures_disable_after_n(tmp_path: Path) -> None:
    def router(path: str, _headers: dict[str, str]) -> Response:
        return Response(302, b"", {"Location": path})  # a redirect loop: a hard failure

    db = f"sqlite:///{tmp_path / 'h.db'}"
    sources = tmp_path / "sources.yaml"
    with serve(router) as srv:
        _write_sources(sources, srv.base_url, ["loop.xml"], ", disable_after_failures: 3")
        now = NOW
        for _ in range(3):
            res = CliRunner().invoke(
                cli, ["--db", db, "--sources", str(sources), "--now", now.isoformat(), "fetch"]
            )
            assert res.exit_code == 0
            now += timedelta(days=2)
    store = open_store(db)
    with store.engine.connect() as c:
        s = repo.all_sources(c)[0]
    store.dispose()
    assert s.consecutive_hard_failures == 3 and not s.enabled


def _rss(items: list[tuple[str, str, str | None, str | None]]) -> bytes:
    out = ["<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>"]
    for title, link, guid, date in items:
        out.append(
            f"<item><title>{title}</title><link>{link}</link>"
            + (f"<guid>{guid}</guid>" if guid else "")
            + (f"<pubDate>{date}</pubDate>" if date else "")
            + "<description>Le troc et la monnaie locale progressent.</description></item>"
        )
    out.append("</channel></rss>")
    return "".join(out).encode()


def test_one_article_two_feeds_guids_and_dates(tmp_path: Path) -> None:
    feeds = {
        "a.xml": _rss(
            [
                (
                    "Même article",
                    "https://news.example.org/art?id=1&utm_source=rss#top",
                    "g-1",
                    "Mon, 06 May 2024 08:00:00 +0000",
                ),
                ("Sans date", "https://news.example.org/no-date", None, None),
                (
                    "Du futur",
                    "https://news.example.org/future",
                    "g-2",
                    "Mon, 06 Jan 2031 08:00:00 +0000",
                ),
                (
                    "GUID dupliqué 1",
                    "https://news.example.org/dup-1",
                    "same-guid",
                    "Mon, 06 May 2024 09:00:00 +0000",
                ),
                (
                    "GUID dupliqué 2",
                    "https://news.example.org/dup-2",
                    "same-guid",
                    "Mon, 06 May 2024 09:00:00 +0000",
                ),
            ]
        ),
        "b.xml": _rss(
            [
                (
                    "Même article",
                    "HTTPS://NEWS.example.org:443/art?fbclid=xyz&id=1",
                    "other-guid",
                    "Mon, 06 May 2024 08:00:00 +0000",
                )
            ]
        ),
    }

    def router(path: str, _headers: dict[str, str]) -> Response:
        body = feeds.get(path.lstrip("/"))
        return (
            Response(200, body, {"Content-Type": "application/rss+xml"}) if body else Response(404)
        )

    db = f"sqlite:///{tmp_path / 'd.db'}"
    sources = tmp_path / "sources.yaml"
    with serve(router) as srv:
        _write_sources(sources, srv.base_url, ["a.xml", "b.xml"])
        for _ in range(2):  # a second run changes nothing
            res = CliRunner().invoke(
                cli, ["--db", db, "--sources", str(sources), "--now", NOW.isoformat(), "run"]
            )
            assert res.exit_code == 0, res.output
    store = open_store(db)
    with store.engine.connect() as c:
        arts = {r.url: r for r in c.execute(select(t.articles)).all()}
        links = c.execute(select(t.article_sources)).all()
    store.dispose()
    assert set(arts) == {
        "https://news.example.org/art?id=1",
        "https://news.example.org/no-date",
        "https://news.example.org/future",
        "https://news.example.org/dup-1",
        "https://news.example.org/dup-2",
    }
    same = arts["https://news.example.org/art?id=1"]
    assert sorted(lk.source_id for lk in links if lk.article_id == same.id) == ["s0", "s1"]
    nodate = arts["https://news.example.org/no-date"]
    assert (
        nodate.date_flag == "missing" and nodate.published_at == NOW and nodate.week == "2024-W19"
    )
    future = arts["https://news.example.org/future"]
    assert future.date_flag == "future" and future.published_at == NOW and future.week == "2024-W19"
    assert future.published_raw.year == 2031
    # the digest windows on the same effective dates
    res = CliRunner().invoke(
        cli,
        [
            "--db",
            db,
            "--reports",
            str(tmp_path / "r"),
            "--now",
            "2024-05-13T08:00:00+00:00",
            "digest",
        ],
    )
    assert res.exit_code == 0, res.output
    d = json.loads((tmp_path / "r" / "2024-W19.json").read_text(encoding="utf-8"))
    assert d["articles_analysed"] == 5
