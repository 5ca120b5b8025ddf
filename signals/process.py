"""The process stage: extract → collapse duplicates → analyse → match, batch by batch.

Any number of workers (processes, machines) share the queue. A batch is *claimed* in a short
transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) with a lease, extracted and analysed
outside any transaction, then written in one short transaction (``Store.transaction``: retried
on a deadlock) only if the claim is still ours. A worker killed mid-batch (even ``kill -9``)
wrote nothing of it; once its lease expires the batch is claimable again, so nothing is lost
or stored twice. Readers never queue behind the analysis.

Exact copies (same normalised text) and near-copies (``signals.neardup``) are collapsed *before*
the NLP against what is stored, and checked again in the write transaction, which is
serialised between workers, if any original was stored since the first check (a token in
``meta`` that every write of originals changes): a copy of an original that another worker
wrote meanwhile is still collapsed (its analysis is then thrown away).

Named entities are not computed here: the digest asks for those of the articles it shows
(:func:`ensure_entities`), once each, so the NER model runs on a few percent of the stream.

Before the first batch, ``signals.rematch`` brings the stored history to the current ruleset
and judge if ``scenarios.yaml`` or the judge model changed.
"""

from __future__ import annotations

import logging
import os
import socket
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial

from sqlalchemy import Connection

from .analyse import KEYS_VERSION, Analyser
from .extract import compose_text, content_hash, extract
from .fetch import effective_date
from .judge import JudgeModel
from .languages import decide_language
from .lock import local_process_gone, owner_token
from .match import Ruleset, hits_of
from .models import Extracted
from .neardup import DEFAULT_PARAMS, NearDupParams, band_keys_many, jaccard, shingles
from .progress import NO_PROGRESS, Progress, Task
from .rematch import META_RULESET, rematch, scoring_version
from .score import iso_week
from .store import Store, claims, near, repo

log = logging.getLogger(__name__)
BATCH = 64
#: How long a worker holds a claimed batch before another may take it over (a killed worker's
#: batch is redone after this); a batch takes seconds.
LEASE = timedelta(minutes=10)


@dataclass
class ProcessReport:
    processed: int = 0
    duplicates: int = 0
    near_duplicates: int = 0
    failed: int = 0
    rematched: int = 0
    seconds: float = 0.0
    discarded: int = 0  # claimed, but another worker took the batch over (our lease expired)

    def add(self, other: ProcessReport) -> None:
        for f in (
            "processed",
            "duplicates",
            "near_duplicates",
            "failed",
            "rematched",
            "seconds",
            "discarded",
        ):
            setattr(self, f, getattr(self, f) + getattr(other, f))


#: Feed dates the page's date replaces (see ``fetch.dates.effective_date``).
REDATABLE = ("missing", "future")


@dataclass(frozen=True)
class Content:
    """What processing takes from an article: its text, its language, maybe a better date."""

    text: str
    language: str
    redate: repo.Redate | None = None


def article_content(art: repo.ReadyArticle) -> Content:
    """Title + page text (trafilatura), falling back to stored text, then the feed summary.

    The language is decided here, once: the entry's, else the page's, else the source's
    (``languages.decide_language``). A feed date that was missing or in the future is replaced
    by the page's date when that one is plausible (not over 24 h after we first saw the item);
    ``date_flag`` then becomes ``page`` and ``published_raw`` keeps what the feed said."""
    page = Extracted(text="")
    if art.html:
        page = extract(art.html, art.url, with_date=art.date_flag in REDATABLE)
    body = page.text or art.text or art.summary or ""
    language = decide_language(art.language, page.language, art.source_language)
    return Content(compose_text(art.title or "", body), language, _redate(art, page.published))


def _redate(art: repo.ReadyArticle, page_date: datetime | None) -> repo.Redate | None:
    if page_date is None or art.date_flag not in REDATABLE or art.first_seen_at is None:
        return None
    published, flag = effective_date(page_date, art.first_seen_at)
    if flag is not None:  # the page's date is implausible too
        return None
    return repo.Redate(published, iso_week(published))


def process_pending(
    store: Store,
    ruleset: Ruleset,
    judge: JudgeModel,
    analyser: Analyser,
    clock: Callable[[], datetime],
    batch_size: int = BATCH,
    limit: int | None = None,
    neardup: NearDupParams | None = DEFAULT_PARAMS,
    progress: Progress = NO_PROGRESS,
    lease: timedelta = LEASE,
    should_stop: Callable[[], bool] = lambda: False,
) -> ProcessReport:
    """Process ready articles, one claimed batch at a time, until none is left, ``limit``
    articles are done or ``should_stop()`` says so between batches; ``neardup`` None turns
    near-duplicate collapse off. Any number of workers may run this at once on one database:
    each claims batches for ``lease``."""
    report = ProcessReport()
    report.rematched += rematch(store, ruleset, judge, analyser, progress=progress)
    total = None
    if progress.enabled:  # the count is only for the bar
        with store.begin() as conn:
            total = repo.count_articles(conn, state="ready")
        total = total if limit is None else min(total, limit)
    # kept_open: without it every batch's commit closes the last connection to a SQLite file,
    # which checkpoints and deletes the WAL (a fifth of the run on short RSS items)
    with store.kept_open(), progress.task("process", total=total) as bar:
        _process_batches(
            store,
            ruleset,
            judge,
            analyser,
            clock,
            batch_size,
            limit,
            neardup,
            report,
            bar,
            lease,
            should_stop,
        )
    return report


def _process_batches(
    store: Store,
    ruleset: Ruleset,
    judge: JudgeModel,
    analyser: Analyser,
    clock: Callable[[], datetime],
    batch_size: int,
    limit: int | None,
    neardup: NearDupParams | None,
    report: ProcessReport,
    bar: Task,
    lease: timedelta,
    should_stop: Callable[[], bool],
) -> None:
    worker = worker_token()
    version = scoring_version(ruleset, judge)
    while not should_stop():
        size = batch_size
        if limit is not None:  # exactly ``limit`` articles: the last batch is cut to fit
            size = min(
                batch_size,
                limit
                - (report.processed + report.duplicates + report.near_duplicates + report.failed),
            )
            if size <= 0:
                break
        now = clock()
        until = datetime.now(UTC) + lease  # wall-clock time: --now is for data, not for leases
        batch = store.transaction(
            partial(
                claims.claim, worker=worker, limit=size, now=datetime.now(UTC), lease_until=until
            )
        )
        if not batch:
            break
        try:
            outcome = _work(store, batch, ruleset, judge, analyser, now, neardup, worker, version)
        except BaseException:  # give the batch back at once (a kill -9 leaves it to the lease)
            store.transaction(partial(claims.release, ids=[a.id for a in batch], worker=worker))
            raise
        if outcome is None:
            break
        report.add(outcome)
        bar.advance(len(batch))


def worker_token() -> str:
    """Who holds a claim: ``host:pid:start:random`` (a pid is reused, the token is not)."""
    return owner_token(socket.gethostname()[:30], os.getpid())


def reclaim_dead(store: Store) -> int:
    """Give back at once the claims of workers of this host that are gone (``kill -9``, a
    crash): their leases need not run out. Those of other hosts wait for their lease."""
    host = socket.gethostname()[:30]
    with store.engine.connect() as conn:
        workers = claims.claimants(conn)
    released = 0
    for w in workers:
        parts = w.split(":")
        if (
            len(parts) == 4
            and parts[0] == host
            and parts[1].isdigit()
            and local_process_gone(int(parts[1]), parts[2])
        ):
            n = store.transaction(partial(claims.release_all, worker=w))
            log.warning("released %d articles claimed by worker %s, which is gone", n, w)
            released += n
    return released


@dataclass
class _Item:
    """One claimed article on its way: its content and what the collapse decided."""

    art: repo.ReadyArticle
    content: Content
    hash: str
    published: datetime
    shingles: frozenset[str]
    keys: list[tuple[int, int]]
    copy_of: int | None = None
    near: bool = False


def _work(
    store: Store,
    batch: list[repo.ReadyArticle],
    ruleset: Ruleset,
    judge: JudgeModel,
    analyser: Analyser,
    now: datetime,
    neardup: NearDupParams | None,
    worker: str,
    version: str,
) -> ProcessReport | None:
    """Extract, collapse and analyse a claimed batch outside any transaction, then write it in
    one short one. None when the batch was not written: the ruleset changed meanwhile (the
    worker stops) or another worker took part of it over after our lease expired (its work
    stands, ours is discarded)."""
    items: list[_Item] = []
    failed: list[tuple[int, str]] = []
    for art in batch:
        try:
            content = article_content(art)
        except Exception as e:  # one bad page must not stop the batch
            log.warning("article %s failed extraction: %s", art.url, e)
            failed.append((art.id, f"extract: {e}"))
            continue
        published = content.redate.published_at if content.redate else art.published_at
        sh = shingles(content.text, neardup.shingle_words) if neardup is not None else frozenset()
        items.append(_Item(art, content, content_hash(content.text), published, sh, []))
    if neardup is not None:  # the batch's signatures in a few numpy operations
        for it, keys in zip(
            items, band_keys_many([it.shingles for it in items], neardup), strict=True
        ):
            it.keys = keys
    with store.engine.connect() as conn:  # a read: copies of what is stored skip the NLP
        mark = repo.originals_mark(conn)  # first: an original stored after it changes it
        _collapse(conn, items, neardup, write=False)
        conn.rollback()
    todo = [it for it in items if it.copy_of is None]
    docs = analyser.analyse_many([(it.content.text, it.content.language) for it in todo])
    done: dict[int, repo.Processed] = {}
    for it, doc in zip(todo, docs, strict=True):
        items_matched = ruleset.match_items(doc)
        judgements = judge.judge_doc(doc, items_matched, ruleset.vocabulary(doc.language))
        done[it.art.id] = repo.Processed(
            it.art.id,
            it.content.text,
            it.hash,
            it.content.language,
            doc,
            hits_of(items_matched, doc),
            judgements,
            it.content.redate,
        )

    def write(conn: Connection) -> ProcessReport | None:
        ids = [a.id for a in batch]
        if claims.still_ours(conn, ids, worker) != set(ids):
            log.warning(
                "lease expired on a batch of %d articles; another worker redid it: discarded",
                len(ids),
            )
            claims.release(conn, ids, worker)
            return ProcessReport(discarded=len(ids))
        if (applied := claims.meta_shared(conn, META_RULESET)) not in (None, version):
            log.warning(
                "scenarios changed while processing (now %s); stopping: the next run uses them",
                applied,
            )
            claims.release(conn, ids, worker)
            return None
        out = ProcessReport(failed=len(failed))
        for aid, reason in failed:
            repo.mark_failed(conn, aid, reason, now)
        # the analyses of the originals found before the NLP, before waiting for the other
        # workers' writes: nothing in them depends on those (the rare one found a copy below
        # is forgotten again), so only the duplicate decisions are serialised
        first = [done[it.art.id] for it in items if it.copy_of is None]
        repo.store_analyses(conn, first, ruleset.version, KEYS_VERSION, now)
        claims.serialise_writes(conn)
        if repo.originals_mark(conn) == mark:  # no original stored since the check: it stands
            _add_new_bands(conn, items, neardup)
        else:  # again: originals other workers wrote since
            _collapse(conn, items, neardup, write=True)
            repo.forget_processed(
                conn, [it.art.id for it in items if it.copy_of is not None and it.art.id in done]
            )
        for it in items:
            if it.copy_of is not None:
                repo.mark_duplicate(conn, it.art.id, it.copy_of, it.content.text, it.hash, now)
                out.near_duplicates += it.near
                out.duplicates += not it.near
        rows = [done[it.art.id] for it in items if it.copy_of is None]
        if rows:
            repo.announce_originals(conn)
            repo.apply_redates(conn, rows)
        out.processed = len(rows)
        claims.release(conn, ids, worker)
        return out

    return store.transaction(write)


def _collapse(
    conn: Connection, items: list[_Item], params: NearDupParams | None, write: bool
) -> None:
    """Decide which items copy an original: a stored one (exact or near) or an earlier item of
    the batch. Decisions already made are kept; ``write`` (inside the write transaction) also
    stores the new originals' LSH buckets, and follows a copy whose batch original turned out
    to be a copy itself to the real original."""
    pending = [it for it in items if it.copy_of is None]
    # in the write pass the batch's originals are stored already (``repo.store_analyses``)
    seen = repo.find_duplicates(
        conn, [it.hash for it in pending], exclude=[it.art.id for it in items] if write else ()
    )
    stored = _stored_bands(conn, pending, params) if params is not None else None
    batch = _BatchOriginals()  # this batch's originals so far
    new_bands: list[near.NewBands] = []
    for it in pending:
        original = seen.get(it.hash)
        if original is not None:
            it.copy_of, it.near = original, False
            continue
        if params is not None and stored is not None:
            copy_of = _near_original(it, params, stored, batch, write)
            if copy_of is not None:
                it.copy_of, it.near = copy_of, True
                continue
            if write and it.keys:
                new_bands.append(near.NewBands(it.art.id, it.keys, it.published))
        seen[it.hash] = it.art.id
        batch.add(it)
    if write:
        near.add_bands(conn, new_bands)
        by_id = {it.art.id: it for it in items}
        for it in items:
            hops = 0
            while (
                it.copy_of in by_id and by_id[it.copy_of].copy_of is not None and hops < len(items)
            ):
                it.copy_of = by_id[it.copy_of].copy_of
                hops += 1


def _add_new_bands(conn: Connection, items: list[_Item], params: NearDupParams | None) -> None:
    """Store the LSH buckets of the batch's originals, as ``_collapse``'s write pass does when
    it finds nothing new: with the same stored originals, the check made before the NLP gives
    the same decisions (the write pass tries the same candidates, only in another order, and
    none of them matched)."""
    if params is not None:
        near.add_bands(
            conn,
            [
                near.NewBands(it.art.id, it.keys, it.published)
                for it in items
                if it.copy_of is None and it.keys
            ],
        )


class _BatchOriginals:
    """A batch's originals so far, in the order they came, indexed by band bucket (comparing
    each article with every earlier one grew with the square of the batch)."""

    def __init__(self) -> None:
        self.items: dict[int, _Item] = {}
        self._by_key: dict[tuple[int, int], list[int]] = defaultdict(list)

    def add(self, it: _Item) -> None:
        self.items[it.art.id] = it
        for key in it.keys:
            self._by_key[key].append(it.art.id)

    def sharing(self, keys: Iterable[tuple[int, int]]) -> list[_Item]:
        """The originals sharing a band bucket with ``keys``, in the order they came."""
        ids = {i for key in keys for i in self._by_key.get(key, ())}
        return [it for i, it in self.items.items() if i in ids] if ids else []


@lru_cache(maxsize=4096)
def _stored_shingles(text: str, k: int) -> frozenset[str]:
    """Shingles of a stored original: the same few (a programme's recurring headlines page)
    share band buckets with many later items, batch after batch."""
    return shingles(text, k)


def _window(it: _Item, params: NearDupParams) -> tuple[datetime, datetime]:
    window = timedelta(days=params.window_days)
    return it.published - window, it.published + window


def _stored_bands(conn: Connection, items: list[_Item], params: NearDupParams) -> near.StoredBands:
    """The stored bands any of ``items`` could share, in one query for the batch."""
    with_keys = [it for it in items if it.keys]
    if not with_keys:
        return near.StoredBands(conn, [], datetime.now(UTC), datetime.now(UTC))
    windows = [_window(it, params) for it in with_keys]
    return near.StoredBands(
        conn,
        (k for it in with_keys for k in it.keys),
        min(w[0] for w in windows),
        max(w[1] for w in windows),
    )


def _near_original(
    it: _Item,
    params: NearDupParams,
    stored: near.StoredBands,
    batch: _BatchOriginals,
    write: bool,
) -> int | None:
    """The original this item nearly copies, or None. Stored originals sharing a band bucket
    come first, oldest first; then the batch's own originals. In the write pass the batch's
    originals count as stored ones (their buckets are, for the articles that follow, in the
    same transaction), so both are tried together, oldest first."""
    keys = it.keys
    if not keys:
        return None
    start, end = _window(it, params)
    wanted = set(keys)
    in_batch = [other for other in batch.sharing(wanted) if start <= other.published <= end]
    originals = stored.originals(stored.sharing(keys, start, end, it.art.id))
    texts = {o.id: o.text for o in originals}
    candidates = [o.id for o in originals]
    if write:  # one list, ordered as the stored ones are: (stored date, id)
        order = {o.id: (o.published_at, o.id) for o in originals}
        order.update({o.art.id: (o.art.published_at, o.art.id) for o in in_batch})
        candidates = sorted(order, key=order.__getitem__)
    else:
        candidates += [o.art.id for o in in_batch]
    for cand_id in candidates:
        cand = (
            batch.items[cand_id].shingles
            if cand_id in batch.items
            else _stored_shingles(texts[cand_id], params.shingle_words)
        )
        if jaccard(it.shingles, cand) >= params.threshold:
            return cand_id
    return None


def add_entities(conn: Connection, analyser: Analyser, articles: list[tuple[int, str]]) -> None:
    """Named entities (the NER model) only for articles that became evidence, once each."""
    todo = [(aid, text) for aid, text in articles if not repo.has_entities_run(conn, aid)]
    if todo:
        for (aid, _), ents in zip(todo, analyser.entities([text for _, text in todo]), strict=True):
            repo.save_entities(conn, aid, ents)


def ensure_entities(store: Store, analyser: Analyser, article_ids: list[int]) -> None:
    """Entities for articles that became evidence after a re-match (lazily, at digest time)."""
    with store.begin() as conn:
        missing = repo.articles_without_entities(conn, article_ids)
        add_entities(conn, analyser, missing)
