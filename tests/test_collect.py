"""`signals.collect` as a unit: entry → article rules, a feed result → the source's health and
schedule, pages fetched and failed. A fake Fetcher answers; nothing listens on a socket."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from signals import collect
from signals.collect import FetchReport, entry_to_article, fetch_feeds, fetch_pages
from signals.config import FetchSettings, Source, Sources
from signals.models import FetchResult, FetchStatus, ParsedEntry
from signals.store import Store, open_store, repo
from signals.store import schema as t

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)  # Monday of 2025-W23
FEED = "https://news.test/feeds/a.xml"
RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}


def rss(*items: str) -> bytes:
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>A</title>"
        "<link>https://news.test/</link>" + "".join(items) + "</channel></rss>"
    ).encode()


def item(
    title: str,
    link: str | None = None,
    guid: str | None = None,
    date: str = "Sun, 01 Jun 2025 10:00:00 +0000",
) -> str:
    parts = [
        f"<title>{title}</title>",
        f"<description>about {title}</description>",
        f"<pubDate>{date}</pubDate>",
    ]
    if link is not None:
        parts.append(f"<link>{link}</link>")
    if guid is not None:
        parts.append(f"<guid isPermaLink='false'>{guid}</guid>")
    return "<item>" + "".join(parts) + "</item>"


def ok(
    body: bytes,
    etag: str | None = '"v1"',
    last_modified: str | None = "Sun, 01 Jun 2025 11:00:00 GMT",
) -> FetchResult:
    return FetchResult(
        url=FEED,
        status=FetchStatus.OK,
        reason="ok",
        http_status=200,
        final_url=FEED,
        content_type=RSS_TYPE["Content-Type"],
        headers=dict(RSS_TYPE),
        body=body,
        etag=etag,
        last_modified=last_modified,
    )


def failed(
    status: FetchStatus, reason: str, http: int | None = None, retry_after: float | None = None
) -> FetchResult:
    return FetchResult(
        url=FEED, status=status, reason=reason, http_status=http, retry_after=retry_after
    )


def page(body: bytes, content_type: str | None = "text/html; charset=utf-8") -> FetchResult:
    return FetchResult(
        url="",
        status=FetchStatus.OK,
        reason="ok",
        http_status=200,
        content_type=content_type,
        body=body,
    )


@dataclass
class FakeFetcher:
    """What `collect` needs of a Fetcher: ``fetch_each`` (``fetch`` per feed) for feeds,
    ``fetch_many`` for pages."""

    feeds: dict[str, FetchResult] = field(default_factory=dict)
    pages: dict[str, FetchResult] = field(default_factory=dict)
    feed_calls: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    page_calls: list[list[str]] = field(default_factory=list)

    def fetch(
        self, url: str, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        self.feed_calls.append((url, etag, last_modified))
        return self.feeds[url]

    def fetch_each(
        self, requests: list[tuple[str, str | None, str | None]]
    ) -> Iterator[tuple[int, FetchResult]]:
        for i, (url, etag, last_modified) in enumerate(requests):
            yield i, self.fetch(url, etag, last_modified)

    def fetch_many(self, urls: list[str]) -> dict[str, FetchResult]:
        self.page_calls.append(list(urls))
        return {u: self.pages[u] for u in urls if u in self.pages}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 's.db'}")
    yield s
    s.dispose()


def sources(fetch_pages: bool = True, **fetch: object) -> Sources:
    return Sources(
        fetch=FetchSettings(**fetch),  # type: ignore[arg-type]
        sources=[Source(id="a", name="A", url=FEED, fetch_pages=fetch_pages, interval_minutes=30)],
    )


def state(store: Store, source_id: str = "a") -> repo.SourceState:
    with store.engine.connect() as c:
        return next(s for s in repo.all_sources(c) if s.id == source_id)


def articles(store: Store) -> list[dict[str, object]]:
    with store.engine.connect() as c:
        rows = c.execute(select(t.articles).order_by(t.articles.c.url)).all()
    return [dict(r._mapping) for r in rows]


def run(
    store: Store, cfg: Sources, fetcher: FakeFetcher, clock: Clock | None = None
) -> FetchReport:
    return fetch_feeds(store, cfg, clock or Clock(NOW), fetcher, random.Random(7))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- entry_to_article


def _src(fetch_pages: bool = True) -> repo.SourceState:
    return repo.SourceState(
        id="a",
        name="A",
        url=FEED,
        language="fr",
        kind="feed",
        interval_minutes=60,
        fetch_pages=fetch_pages,
        configured=True,
        enabled=True,
        disabled_reason=None,
        etag=None,
        last_modified=None,
        last_attempt_at=None,
        last_success_at=None,
        next_fetch_at=None,
        consecutive_failures=0,
        consecutive_hard_failures=0,
        total_failures=0,
        last_status=None,
        last_reason=None,
        last_http_status=None,
        items_total=0,
    )


def _entry(
    link: str | None,
    guid: str | None = None,
    published: datetime | None = NOW - timedelta(days=1),
    language: str | None = None,
) -> ParsedEntry:
    return ParsedEntry(
        guid=guid, link=link, title="T", summary="S", published=published, language=language
    )


def test_the_link_is_canonical_and_relative_links_resolve_against_the_feed() -> None:
    a = entry_to_article(
        _entry("HTTPS://News.Test:443/a?utm_source=rss&id=2#top"), _src(), FEED, NOW
    )
    assert a is not None and a.url == "https://news.test/a?id=2"
    rel = entry_to_article(_entry("../2025/b.html"), _src(), FEED, NOW)
    assert rel is not None and rel.url == "https://news.test/2025/b.html"


def test_an_http_guid_stands_in_for_a_missing_link_other_guids_do_not() -> None:
    a = entry_to_article(_entry(None, guid="http://news.test/c?fbclid=x"), _src(), FEED, NOW)
    assert a is not None and (a.url, a.guid) == (
        "http://news.test/c",
        "http://news.test/c?fbclid=x",
    )
    assert entry_to_article(_entry(None, guid="tag:news.test,2025:c"), _src(), FEED, NOW) is None
    assert entry_to_article(_entry(None), _src(), FEED, NOW) is None
    assert entry_to_article(_entry("javascript:alert(1)"), _src(), FEED, NOW) is None
    # a link that is no http(s) URL is not rescued by the guid either when the guid is not one
    assert entry_to_article(_entry("mailto:x@news.test", guid="42"), _src(), FEED, NOW) is None


def test_dates_weeks_languages_and_the_next_state() -> None:
    a = entry_to_article(
        _entry("https://news.test/d", language="de-DE"), _src(fetch_pages=False), FEED, NOW
    )
    assert a is not None
    assert (a.published_at, a.date_flag, a.week) == (NOW - timedelta(days=1), None, "2025-W22")
    assert (a.language, a.state, a.title, a.summary) == ("de", "ready", "T", "S")
    undated = entry_to_article(
        _entry("https://news.test/e", published=None, language="pt"), _src(), FEED, NOW
    )
    assert undated is not None
    assert (undated.published_at, undated.published_raw, undated.date_flag) == (
        NOW,
        None,
        "missing",
    )
    assert (undated.week, undated.language, undated.state) == ("2025-W23", None, "page")
    future = entry_to_article(
        _entry("https://news.test/f", published=NOW + timedelta(days=3)), _src(), FEED, NOW
    )
    assert future is not None and (future.published_at, future.date_flag) == (NOW, "future")


# --------------------------------------------------------------------------- feed → source state


def test_an_ok_feed_stores_its_items_validators_and_schedule(store: Store) -> None:
    body = rss(
        item("one", "https://news.test/1?xtor=RSS"),
        item("two", "/2"),
        item("three", guid="https://news.test/3"),
        item("no link", guid="tag:x"),
        item("one again", "https://news.test/1"),
    )
    fetcher = FakeFetcher(feeds={FEED: ok(body)})
    rep = run(store, sources(fetch_pages=False), fetcher)
    assert fetcher.feed_calls == [(FEED, None, None)]  # nothing to revalidate the first time
    assert (rep.due, rep.ok, rep.not_modified, rep.failed) == (1, 1, 0, 0)
    assert (rep.items, rep.new_articles, rep.failures) == (5, 3, [])
    assert [a["url"] for a in articles(store)] == [
        "https://news.test/1",
        "https://news.test/2",
        "https://news.test/3",
    ]
    assert {a["state"] for a in articles(store)} == {"ready"}
    s = state(store)
    assert (s.etag, s.last_modified) == ('"v1"', "Sun, 01 Jun 2025 11:00:00 GMT")
    assert (s.last_status, s.last_reason, s.last_http_status, s.items_total) == ("ok", "ok", 200, 3)
    assert (s.consecutive_failures, s.consecutive_hard_failures, s.total_failures) == (0, 0, 0)
    assert s.last_success_at == NOW and s.last_attempt_at == NOW
    assert s.next_fetch_at == NOW + timedelta(minutes=30)
    with store.engine.connect() as c:
        attempts = c.execute(
            select(
                t.fetch_attempts.c.status, t.fetch_attempts.c["items"], t.fetch_attempts.c.new_items
            )
        ).all()
    assert [tuple(r) for r in attempts] == [("ok", 5, 3)]


def test_not_due_is_not_fetched_and_a_304_keeps_the_validators(store: Store) -> None:
    fetcher = FakeFetcher(feeds={FEED: ok(rss(item("one", "https://news.test/1")))})
    run(store, sources(fetch_pages=False), fetcher)
    rep = run(store, sources(fetch_pages=False), fetcher, Clock(NOW + timedelta(minutes=29)))
    assert rep.due == 0 and len(fetcher.feed_calls) == 1
    fetcher.feeds[FEED] = FetchResult(
        url=FEED, status=FetchStatus.NOT_MODIFIED, reason="not-modified", http_status=304
    )
    later = NOW + timedelta(minutes=31)
    rep = run(store, sources(fetch_pages=False), fetcher, Clock(later))
    assert fetcher.feed_calls[-1] == (FEED, '"v1"', "Sun, 01 Jun 2025 11:00:00 GMT")
    assert (rep.due, rep.ok, rep.not_modified, rep.items, rep.new_articles) == (1, 0, 1, 0, 0)
    s = state(store)
    assert (s.etag, s.last_status, s.items_total, s.last_success_at) == (
        '"v1"',
        "not_modified",
        1,
        later,
    )
    assert s.next_fetch_at == later + timedelta(minutes=30)


def test_failures_back_off_count_and_recover(store: Store) -> None:
    cfg = sources(fetch_pages=False, backoff_base_seconds=600)
    fetcher = FakeFetcher(feeds={FEED: failed(FetchStatus.TEMP, "http-503", 503)})
    rep = run(store, cfg, fetcher)
    assert (rep.ok, rep.failed, rep.failures) == (0, 1, ["a: http-503"])
    s = state(store)
    assert (s.last_status, s.last_reason, s.last_http_status) == ("temp", "http-503", 503)
    assert (s.consecutive_failures, s.consecutive_hard_failures, s.total_failures) == (1, 0, 1)
    assert s.enabled and s.last_success_at is None and s.etag is None
    assert (
        NOW + timedelta(seconds=480) <= s.next_fetch_at <= NOW + timedelta(seconds=720)
    )  # 600 s ± 20 %
    # the second failure in a row doubles the delay; a Retry-After beyond it wins
    second = s.next_fetch_at
    fetcher.feeds[FEED] = failed(FetchStatus.TEMP, "http-429", 429, retry_after=7200)
    run(store, cfg, fetcher, Clock(second))
    s = state(store)
    assert (s.consecutive_failures, s.total_failures) == (2, 2)
    assert s.next_fetch_at == second + timedelta(seconds=7200)
    # a success resets the run of failures but not the total
    fetcher.feeds[FEED] = ok(rss(item("one", "https://news.test/1")))
    run(store, cfg, fetcher, Clock(s.next_fetch_at))
    s = state(store)
    assert (s.consecutive_failures, s.total_failures, s.last_status, s.items_total) == (
        0,
        2,
        "ok",
        1,
    )


def test_hard_failures_disable_the_source_after_the_setting(store: Store) -> None:
    cfg = sources(fetch_pages=False, disable_after_failures=2)
    clock = Clock(NOW)
    fetcher = FakeFetcher(feeds={FEED: failed(FetchStatus.HARD, "blocked-address")})
    run(store, cfg, fetcher, clock)
    s = state(store)
    assert (s.enabled, s.consecutive_hard_failures) == (True, 1)
    clock.now = s.next_fetch_at
    run(store, cfg, fetcher, clock)
    s = state(store)
    assert (s.enabled, s.disabled_reason, s.consecutive_hard_failures) == (
        False,
        "blocked-address (2 hard failures)",
        2,
    )
    clock.now += timedelta(days=30)
    assert run(store, cfg, fetcher, clock).due == 0 and len(fetcher.feed_calls) == 2


def test_a_410_disables_at_once(store: Store) -> None:
    run(store, sources(), FakeFetcher(feeds={FEED: failed(FetchStatus.HARD, "http-410", 410)}))
    s = state(store)
    assert (s.enabled, s.disabled_reason) == (False, "http-410 (1 hard failures)")


def test_a_200_that_is_not_a_feed_is_a_soft_failure_and_saves_no_validators(store: Store) -> None:
    html = FetchResult(
        url=FEED,
        status=FetchStatus.OK,
        reason="ok",
        http_status=200,
        final_url=FEED,
        content_type="text/html",
        headers={"Content-Type": "text/html"},
        body=b"<!DOCTYPE html><html><body><p>Subscribe!</p></body></html>",
        etag='"x"',
    )
    rep = run(store, sources(), FakeFetcher(feeds={FEED: html}))
    assert (rep.ok, rep.failed, rep.items) == (0, 1, 0)
    s = state(store)
    assert s.last_status == "soft" and s.last_reason == rep.failures[0].removeprefix("a: ")
    assert s.last_reason and s.last_reason != "ok"
    assert (s.etag, s.consecutive_failures, s.enabled) == (None, 1, True)


def test_one_failing_source_leaves_the_others_alone(store: Store) -> None:
    other = "https://other.test/rss"
    cfg = Sources(
        fetch=FetchSettings(),
        sources=[
            Source(id="a", name="A", url=FEED, fetch_pages=False),
            Source(id="b", name="B", url=other, fetch_pages=False),
        ],
    )
    fetcher = FakeFetcher(
        feeds={
            FEED: failed(FetchStatus.TEMP, "timeout"),
            other: replace(
                ok(rss(item("b1", "https://other.test/b1"))), url=other, final_url=other
            ),
        }
    )
    rep = run(store, cfg, fetcher)
    assert (rep.due, rep.ok, rep.failed, rep.new_articles, rep.failures) == (
        2,
        1,
        1,
        1,
        ["a: timeout"],
    )
    assert (state(store, "a").last_status, state(store, "b").last_status) == ("temp", "ok")
    assert [a["url"] for a in articles(store)] == ["https://other.test/b1"]


# --------------------------------------------------------------------------- pages


def test_pages_fetched_and_failed(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collect, "PAGE_BATCH", 2)
    urls = [f"https://news.test/{i}" for i in range(1, 6)]
    fetcher = FakeFetcher(
        feeds={FEED: ok(rss(*(item(f"n{i}", u) for i, u in enumerate(urls, 1))))},
        pages={
            urls[0]: page("<html><body><p>Le texte complet é</p></body></html>".encode()),
            urls[1]: page(b"%PDF-1.4", content_type="application/pdf"),
            urls[2]: failed(FetchStatus.SOFT, "http-404", 404),
            urls[3]: page(b"<p>no content type</p>", content_type=None),
        },
    )
    rep = run(store, sources(), fetcher)
    assert rep.new_articles == 5
    assert [len(b) for b in fetcher.page_calls] == [2, 2, 1]  # batches of PAGE_BATCH
    assert sorted(u for b in fetcher.page_calls for u in b) == urls  # each page asked for once
    assert (rep.pages_ok, rep.pages_failed) == (2, 3)
    by_url = {a["url"]: a for a in articles(store)}
    assert [by_url[u]["page_status"] for u in urls] == [
        "ok",
        "not-html",
        "http-404",
        "ok",
        "not-fetched",
    ]
    assert {a["state"] for a in by_url.values()} == {"ready"}
    assert "Le texte complet é" in str(by_url[urls[0]]["html"])
    assert by_url[urls[1]]["html"] is None and by_url[urls[1]]["summary"] == "about n2"


def test_fetch_pages_with_nothing_pending_asks_for_nothing(store: Store) -> None:
    fetcher = FakeFetcher()
    rep = FetchReport()
    fetch_pages(store, fetcher, rep)  # type: ignore[arg-type]
    assert fetcher.page_calls == [] and (rep.pages_ok, rep.pages_failed) == (0, 0)
