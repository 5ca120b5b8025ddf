"""Issue 4, case 10 — concurrent writers: 4 processes (multiprocessing, spawn) write to the
same store at once through ``signals.store.repo``, each in hundreds of its own
``Store.begin()`` transactions, the way fetchers and processing workers do:

* "fetch" transactions add a few articles with URLs overlapping the other workers' (in a
  random order) and link each to the worker's source;
* "process" transactions claim a batch of ready articles (``claim_ready``: the write lock on
  SQLite, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and save an analysis and two matches for
  each.

Expected: 0 "database is locked" (or any other) failures, 0 lost rows (articles = distinct
URLs, links = distinct (URL, source) pairs), and no article processed twice. The same on
PostgreSQL, where conflicting inserts may deadlock and are retried (``Store.transaction``).
"""

from __future__ import annotations

import multiprocessing as mp
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import OperationalError

from signals.models import AnalysedDoc, Entity, Hit, ItemKind, Sentence
from signals.store import open_store, repo
from signals.store import schema as t

WORKERS = 4
TRANSACTIONS = 300  # per worker
ARTICLES_PER_TXN = 8
ROUND_POOL = 12
NOW = datetime(2022, 3, 7, 20, 0, tzinfo=UTC)


def _urls(worker: int) -> list[list[str]]:
    """The URLs each 'fetch' transaction of a worker adds (deterministic per worker). Round j
    of every worker draws from the same ROUND_POOL new URLs, in its own random order: the
    same fresh articles reaching several feeds fetched at the same moment, the worst case
    for concurrent inserts (on PostgreSQL, two such transactions can deadlock)."""
    rng = random.Random(1000 + worker)
    return [
        [
            f"https://news.example.org/{j}/{k}"
            for k in rng.sample(range(ROUND_POOL), ARTICLES_PER_TXN)
        ]
        for j in range(TRANSACTIONS // 2)
    ]


def _article(url: str) -> repo.NewArticle:
    return repo.NewArticle(
        url=url,
        guid=url,
        title=f"t {url}",
        summary="s",
        published_at=NOW,
        published_raw=NOW,
        date_flag=None,
        week="2022-W10",
        language="fr",
        state="ready",
    )


@dataclass
class Outcome:
    worker: int
    transactions: int = 0
    processed: list[int] = field(default_factory=list)
    locked: int = 0
    failures: list[str] = field(default_factory=list)
    retries: int = 0
    seconds: float = 0.0


def writer(db_url: str, worker: int, start_at: float) -> Outcome:
    """One process: alternate 'fetch' and 'process' transactions."""
    store = open_store(db_url, create=False)
    out = Outcome(worker)
    source = f"src-{worker}"
    doc = AnalysedDoc("fr", (Sentence("Une phrase.", ("phrase",)),), (Entity("Paris", "LOC"),))
    hits = [
        Hit("r1", "item-a", ItemKind.WATCH, "Une phrase."),
        Hit("r1", "item-b", ItemKind.EARLY_SIGN, "Une phrase."),
    ]
    batches = iter(_urls(worker))
    while time.time() < start_at:  # start all workers together
        time.sleep(0.001)
    t0 = time.monotonic()
    for i in range(TRANSACTIONS):
        try:
            if i % 2 == 0:
                urls = next(batches)

                def fetch(conn: Connection, urls: list[str] = urls) -> None:
                    repo.add_articles(
                        conn, [_article(u) for u in urls], source, NOW
                    )  # as collect does

                store.transaction(fetch)
            else:

                def process(conn: Connection) -> list[int]:
                    claimed = repo.claim_ready(conn, 3)
                    for a in claimed:
                        repo.save_processed(
                            conn, a.id, "text", f"h{a.id}", "fr", doc, hits, "v1", "k1", NOW
                        )
                    return [a.id for a in claimed]

                out.processed += store.transaction(process)
            out.transactions += 1
        except OperationalError as e:
            if "database is locked" in str(e):
                out.locked += 1
            out.failures.append(str(e).splitlines()[0])
        except Exception as e:
            out.failures.append(f"{e.__class__.__name__}: {str(e).splitlines()[0]}")
    out.seconds = time.monotonic() - t0
    out.retries = store.retries
    store.dispose()
    return out


def _run(db_url: str) -> list[Outcome]:
    store = open_store(db_url)
    with store.begin() as conn:
        for w in range(WORKERS):
            repo.ensure_import_source(conn, f"src-{w}", "fr")
    store.dispose()
    ctx = mp.get_context("spawn")
    with ctx.Pool(WORKERS) as pool:
        start_at = time.time() + 4.0  # after every worker has imported signals
        results = [pool.apply_async(writer, (db_url, w, start_at)) for w in range(WORKERS)]
        return [r.get(timeout=600) for r in results]


def _check(db_url: str, outcomes: list[Outcome]) -> None:
    urls = {u for w in range(WORKERS) for batch in _urls(w) for u in batch}
    links = {(u, f"src-{w}") for w in range(WORKERS) for batch in _urls(w) for u in batch}
    processed = [aid for o in outcomes for aid in o.processed]
    store = open_store(db_url)
    with store.engine.connect() as c:
        n_articles = c.execute(select(func.count()).select_from(t.articles)).scalar_one()
        got_urls = set(c.execute(select(t.articles.c.url)).scalars())
        got_links = {
            (r.url, r.source_id)
            for r in c.execute(
                select(t.articles.c.url, t.article_sources.c.source_id).join(
                    t.article_sources, t.article_sources.c.article_id == t.articles.c.id
                )
            )
        }
        n_links = c.execute(select(func.count()).select_from(t.article_sources)).scalar_one()
        n_done = c.execute(
            select(func.count()).select_from(t.articles).where(t.articles.c.state == "done")
        ).scalar_one()
        n_matches = c.execute(select(func.count()).select_from(t.matches)).scalar_one()
        n_analyses = c.execute(select(func.count()).select_from(t.analyses)).scalar_one()
    store.dispose()
    txns = sum(o.transactions for o in outcomes)
    print(
        f"\ncase 10 ({db_url.split(':')[0]}): {WORKERS} processes × {TRANSACTIONS} transactions "
        f"({txns} committed) in {max(o.seconds for o in outcomes):.1f} s; "
        f"'database is locked': {sum(o.locked for o in outcomes)}; other failures: "
        f"{sum(len(o.failures) for o in outcomes) - sum(o.locked for o in outcomes)}; retries: "
        f"{sum(o.retries for o in outcomes)}; articles {n_articles}/{len(urls)}, links {n_links}/{len(links)}, "
        f"processed {len(processed)} (distinct {len(set(processed))}), matches {n_matches}"
    )
    assert [f for o in outcomes for f in o.failures] == []
    assert txns == WORKERS * TRANSACTIONS
    assert n_articles == len(urls) and got_urls == urls, "one row per distinct URL"
    assert n_links == len(links) and got_links == links, "one link per (URL, source)"
    assert len(processed) == len(set(processed)), "no article processed twice"
    assert n_done == len(processed) == n_analyses
    assert n_matches == 2 * len(processed)
    assert all(o.processed for o in outcomes), "every worker won some claims"


@pytest.mark.slow
def test_four_processes_write_sqlite_at_once(sqlite_url: str) -> None:
    _check(sqlite_url, _run(sqlite_url))


@pytest.mark.slow
@pytest.mark.postgres
def test_four_processes_write_postgresql_at_once(pg_url: str) -> None:
    _check(pg_url, _run(pg_url))
