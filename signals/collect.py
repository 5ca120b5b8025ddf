"""The fetch stage: poll due feeds, store new items as articles, download their pages.

Per source, the items of one response, the source's new state and its validators (ETag /
Last-Modified) are written in ONE transaction, so validators are never saved for items that
were not committed. A failing feed only changes that source's health and schedule.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .config import Sources, SourceSpec, resolve_sources
from .fetch import canonicalize, effective_date, next_attempt, should_disable
from .languages import supported_language
from .models import FetchResult, FetchStatus, ParsedEntry
from .progress import NO_PROGRESS, Progress
from .score import iso_week
from .store import Store, repo

if TYPE_CHECKING:
    from .fetch import Fetcher

log = logging.getLogger(__name__)
PAGE_BATCH = 64
HTML_TYPES = ("text/html", "application/xhtml")


@dataclass
class FetchReport:
    due: int = 0
    ok: int = 0
    not_modified: int = 0
    failed: int = 0
    items: int = 0
    new_articles: int = 0
    pages_ok: int = 0
    pages_failed: int = 0
    attempts_pruned: int = 0
    failures: list[str] = field(default_factory=list)


def entry_to_article(
    entry: ParsedEntry, src: repo.SourceState, feed_url: str, now: datetime
) -> repo.NewArticle | None:
    """A feed entry as an article row, or None when it has no usable http(s) link."""
    link = canonicalize(entry.link, base=feed_url) if entry.link else None
    if link is None and entry.guid and entry.guid.startswith(("http://", "https://")):
        link = canonicalize(entry.guid)
    if link is None:
        return None
    published, flag = effective_date(entry.published, now)
    return repo.NewArticle(
        url=link,
        guid=entry.guid,
        title=entry.title or "",
        summary=entry.summary or "",
        published_at=published,
        published_raw=entry.published,
        date_flag=flag,
        # the entry's language only: the page's and then the source's are weighed at processing
        week=iso_week(published),
        language=supported_language(entry.language),
        state="page" if src.fetch_pages else "ready",
    )


def _store_feed_result(
    store: Store,
    cfg: Sources,
    src: repo.SourceState,
    result: FetchResult,
    started: datetime,
    now: datetime,
    rng: random.Random,
    report: FetchReport,
) -> None:
    status, reason = result.status, result.reason
    entries: list[ParsedEntry] = []
    if status is FetchStatus.OK:
        from .fetch.feeds import parse_feed  # feedparser: only once a feed came back

        feed = parse_feed(result.body or b"", result.headers, result.final_url or src.url)
        if feed.problem:
            status, reason = FetchStatus.SOFT, feed.problem
        else:
            entries = feed.entries
    with store.begin() as conn:
        arts = [
            a
            for a in (entry_to_article(e, src, result.final_url or src.url, now) for e in entries)
            if a is not None
        ]
        new = repo.add_articles(conn, arts, src.id, now)
        values: dict[str, object] = dict(
            last_attempt_at=started,
            last_status=str(status),
            last_reason=reason,
            last_http_status=result.http_status,
        )
        success = status in (FetchStatus.OK, FetchStatus.NOT_MODIFIED)
        if success:
            failures = hard = 0
            values.update(
                last_success_at=now,
                consecutive_failures=0,
                consecutive_hard_failures=0,
                items_total=src.items_total + new,
            )
            if status is FetchStatus.OK:
                values.update(etag=result.etag, last_modified=result.last_modified)
        else:
            failures = src.consecutive_failures + 1
            hard = src.consecutive_hard_failures + (1 if status is FetchStatus.HARD else 0)
            values.update(
                consecutive_failures=failures,
                consecutive_hard_failures=hard,
                total_failures=src.total_failures + 1,
            )
            if should_disable(status, hard, cfg.fetch, reason):
                values.update(enabled=False, disabled_reason=f"{reason} ({hard} hard failures)")
        values["next_fetch_at"] = next_attempt(
            now, status, failures, src.interval_minutes, result.retry_after, cfg.fetch, rng
        )
        repo.update_source(conn, src.id, **values)
        repo.record_attempt(
            conn,
            src.id,
            started,
            str(status),
            reason,
            result.http_status,
            len(entries),
            new,
            result.elapsed,
        )
    report.items += len(entries)
    report.new_articles += new
    if status is FetchStatus.OK:
        report.ok += 1
    elif status is FetchStatus.NOT_MODIFIED:
        report.not_modified += 1
    else:
        report.failed += 1
        report.failures.append(f"{src.id}: {reason}")
        log.warning("source %s failed: %s", src.id, reason)


def _fetcher(fetcher: Fetcher | Callable[[], Fetcher]) -> Fetcher:
    return fetcher() if callable(fetcher) else fetcher


def fetch_feeds(
    store: Store,
    cfg: Sources,
    clock: Callable[[], datetime],
    fetcher: Fetcher | Callable[[], Fetcher],
    rng: random.Random | None = None,
    progress: Progress = NO_PROGRESS,
) -> FetchReport:
    """Poll the due feeds, then download pending pages. ``fetcher`` may be a function making
    one: it is called only when there is something to fetch (an idle run imports no HTTP)."""
    rng = rng or random.Random()
    report = FetchReport()
    specs: list[SourceSpec] = resolve_sources(cfg)
    with store.begin() as conn:
        repo.sync_sources(conn, specs)
        due = repo.due_sources(conn, clock())
    report.due = len(due)
    if due:
        started = clock()
        # at most per_host_concurrency requests in flight per host; each feed stored as it comes
        with store.kept_open(), progress.task("fetch feeds", total=len(due)) as bar:
            for i, result in _fetcher(fetcher).fetch_each(
                [(src.url, src.etag, src.last_modified) for src in due]
            ):
                _store_feed_result(store, cfg, due[i], result, started, clock(), rng, report)
                bar.advance()
    fetch_pages(store, fetcher, report, progress)
    with store.begin() as conn:  # the attempts log stays bounded: keep_attempts_days of history
        report.attempts_pruned = repo.prune_attempts(
            conn, clock() - timedelta(days=cfg.fetch.keep_attempts_days)
        )
    return report


def fetch_pages(
    store: Store,
    fetcher: Fetcher | Callable[[], Fetcher],
    report: FetchReport,
    progress: Progress = NO_PROGRESS,
) -> None:
    """Download pending article pages; a failed page leaves the feed summary as the text."""
    with store.begin() as conn:
        pending = repo.pending_pages(conn, PAGE_BATCH)
        total = repo.count_articles(conn, state="page") if pending and progress.enabled else None
    if not pending:
        return
    with progress.task("fetch pages", total=total) as bar:
        while pending:
            _store_pages(store, _fetcher(fetcher), pending, report)
            bar.advance(len(pending))
            with store.begin() as conn:
                pending = repo.pending_pages(conn, PAGE_BATCH)


def _store_pages(
    store: Store, fetcher: Fetcher, pending: list[repo.PendingPage], report: FetchReport
) -> None:
    results = fetcher.fetch_many([p.url for p in pending])
    with store.begin() as conn:
        for p in pending:
            res = results.get(p.url)
            html = None
            if res is None:
                reason = "not-fetched"
            elif res.status is FetchStatus.OK and (res.content_type or "text/html").startswith(
                HTML_TYPES
            ):
                from .fetch.feeds import decode_html

                html = decode_html(res.body or b"", res.content_type)
                reason = "ok"
            else:
                reason = res.reason if res.status is not FetchStatus.OK else "not-html"
            repo.save_page(conn, p.id, html, reason)
            if html is None:
                report.pages_failed += 1
            else:
                report.pages_ok += 1
