"""Every query Signals runs. Functions take an open ``Connection`` inside a transaction
(``Store.begin()``), so callers decide what is committed together."""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, Table, and_, bindparam, delete, func, or_, select, update

from ..config import SourceSpec
from ..models import (
    EVIDENCE_KINDS,
    AnalysedDoc,
    Entity,
    Hit,
    ItemKind,
    Judgement,
    Polarity,
    polarity_of,
)
from . import keyindex
from . import schema as t


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def _insert(conn: Connection, table: Table) -> Any:
    """INSERT that can say ON CONFLICT DO NOTHING on both dialects (each dialect's module
    imported on first use: on SQLite, PostgreSQL's costs a twentieth of a second of start-up)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


# --------------------------------------------------------------------------- meta


def get_meta(conn: Connection, key: str) -> str | None:
    return conn.execute(select(t.meta.c.value).where(t.meta.c.key == key)).scalar()


def set_meta(conn: Connection, key: str, value: str) -> None:
    stmt = _insert(conn, t.meta).values(key=key, value=value)
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class SourceState:
    id: str
    name: str
    url: str
    language: str
    kind: str
    interval_minutes: int
    fetch_pages: bool
    configured: bool
    enabled: bool
    disabled_reason: str | None
    etag: str | None
    last_modified: str | None
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    next_fetch_at: datetime | None
    consecutive_failures: int
    consecutive_hard_failures: int
    total_failures: int
    last_status: str | None
    last_reason: str | None
    last_http_status: int | None
    items_total: int


def _source(row: Any) -> SourceState:
    m = row._mapping
    return SourceState(**{f: m[f] for f in SourceState.__dataclass_fields__})


def sync_sources(conn: Connection, specs: Sequence[SourceSpec]) -> None:
    """Bring the sources table in line with sources.yaml, keeping fetch state. A source that
    left the file stays (its articles keep their provenance) but is no longer fetched."""
    existing = {r.id: r for r in conn.execute(select(t.sources)).all()}
    for s in specs:
        values = dict(
            name=s.name,
            url=s.url,
            language=s.language,
            tags=list(s.tags),
            kind="feed",
            interval_minutes=s.interval_minutes,
            fetch_pages=s.fetch_pages,
            configured=True,
        )
        old = existing.get(s.id)
        if old is None:
            conn.execute(t.sources.insert().values(id=s.id, enabled=s.enabled, **values))
            continue
        if old.url != s.url or (
            s.enabled and not old.enabled and old.disabled_reason == "configuration"
        ):
            # a new URL or a re-enabled source gets a clean slate
            values.update(
                etag=None,
                last_modified=None,
                next_fetch_at=None,
                consecutive_failures=0,
                consecutive_hard_failures=0,
                disabled_reason=None,
                enabled=True,
            )
        if not s.enabled:
            values.update(enabled=False, disabled_reason="configuration")
        conn.execute(update(t.sources).where(t.sources.c.id == s.id).values(**values))
    wanted = {s.id for s in specs}
    gone = [sid for sid, r in existing.items() if r.kind == "feed" and sid not in wanted]
    if gone:
        conn.execute(update(t.sources).where(t.sources.c.id.in_(gone)).values(configured=False))


def ensure_import_source(conn: Connection, source_id: str, language: str) -> None:
    stmt = _insert(conn, t.sources).values(
        id=source_id,
        name=source_id,
        url=f"import:{source_id}",
        language=language,
        tags=[],
        kind="import",
        interval_minutes=0,
        fetch_pages=False,
        configured=False,
        enabled=False,
        disabled_reason="imported corpus",
    )
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["id"]))


def all_sources(conn: Connection) -> list[SourceState]:
    return [_source(r) for r in conn.execute(select(t.sources).order_by(t.sources.c.id)).all()]


def articles_per_source(conn: Connection) -> dict[str, int]:
    """source id → articles linked to it (copies included: each source saw its own)."""
    q = select(t.article_sources.c.source_id, func.count()).group_by(t.article_sources.c.source_id)
    return {sid: int(n) for sid, n in conn.execute(q).all()}


def due_sources(conn: Connection, now: datetime) -> list[SourceState]:
    q = (
        select(t.sources)
        .where(
            t.sources.c.kind == "feed",
            t.sources.c.configured.is_(True),
            t.sources.c.enabled.is_(True),
            or_(t.sources.c.next_fetch_at.is_(None), t.sources.c.next_fetch_at <= now),
        )
        .order_by(t.sources.c.id)
    )
    return [_source(r) for r in conn.execute(q).all()]


def update_source(conn: Connection, source_id: str, **values: Any) -> None:
    conn.execute(update(t.sources).where(t.sources.c.id == source_id).values(**values))


def record_attempt(
    conn: Connection,
    source_id: str,
    started_at: datetime,
    status: str,
    reason: str,
    http_status: int | None,
    items: int,
    new_items: int,
    elapsed: float,
) -> None:
    conn.execute(
        t.fetch_attempts.insert().values(
            source_id=source_id,
            started_at=started_at,
            status=status,
            reason=reason,
            http_status=http_status,
            items=items,
            new_items=new_items,
            elapsed=elapsed,
        )
    )


def prune_attempts(conn: Connection, before: datetime) -> int:
    """Delete the fetch attempts started before ``before``; returns how many went."""
    res = conn.execute(delete(t.fetch_attempts).where(t.fetch_attempts.c.started_at < before))
    return int(res.rowcount or 0)


# --------------------------------------------------------------------------- articles


@dataclass(frozen=True)
class NewArticle:
    url: str  # canonical
    guid: str | None
    title: str
    summary: str
    published_at: datetime  # effective
    published_raw: datetime | None
    date_flag: str | None
    week: str
    language: str | None
    state: str  # page | ready
    html: str | None = None
    text: str | None = None


def add_article(
    conn: Connection, art: NewArticle, source_id: str, now: datetime
) -> tuple[int, bool]:
    """Insert the article unless its canonical URL is known; link it to the source either way.
    Returns (article id, whether it is new)."""
    h = url_hash(art.url)
    stmt = (
        _insert(conn, t.articles)
        .values(
            url=art.url,
            url_hash=h,
            guid=art.guid,
            title=art.title,
            summary=art.summary,
            published_at=art.published_at,
            published_raw=art.published_raw,
            date_flag=art.date_flag,
            week=art.week,
            first_seen_at=now,
            language=art.language,
            state=art.state,
            html=art.html,
            text=art.text,
        )
        .on_conflict_do_nothing(index_elements=["url_hash"])
        .returning(t.articles.c.id)
    )
    inserted = conn.execute(stmt).scalar()
    is_new = inserted is not None
    article_id: int = (
        inserted
        if inserted is not None
        else conn.execute(select(t.articles.c.id).where(t.articles.c.url_hash == h)).scalar_one()
    )
    link = (
        _insert(conn, t.article_sources)
        .values(
            article_id=article_id,
            source_id=source_id,
            guid=art.guid,
            first_seen_at=now,
        )
        .on_conflict_do_nothing(index_elements=["article_id", "source_id"])
    )
    conn.execute(link)
    return article_id, is_new


def add_articles(
    conn: Connection, arts: Sequence[NewArticle], source_id: str, now: datetime
) -> int:
    """:func:`add_article` for many, in URL-hash order; returns how many were new. Concurrent
    writers inserting overlapping URLs then take the unique-index locks in one order, so on
    PostgreSQL they wait for each other instead of deadlocking."""
    return sum(
        add_article(conn, a, source_id, now)[1] for a in sorted(arts, key=lambda a: url_hash(a.url))
    )


@dataclass(frozen=True)
class PendingPage:
    id: int
    url: str
    summary: str


def pending_pages(conn: Connection, limit: int) -> list[PendingPage]:
    q = (
        select(t.articles.c.id, t.articles.c.url, t.articles.c.summary)
        .where(t.articles.c.state == "page")
        .order_by(t.articles.c.id)
        .limit(limit)
    )
    return [PendingPage(r.id, r.url, r.summary) for r in conn.execute(q).all()]


def save_page(conn: Connection, article_id: int, html: str | None, status: str) -> None:
    conn.execute(
        update(t.articles)
        .where(t.articles.c.id == article_id, t.articles.c.state == "page")
        .values(html=html, page_status=status, state="ready")
    )


@dataclass(frozen=True)
class ReadyArticle:
    id: int
    url: str
    title: str
    summary: str
    html: str | None
    text: str | None
    language: str | None  # the feed entry's (or the import's); None until processed otherwise
    published_at: datetime
    source_language: str | None = None  # of the source that first brought the article
    date_flag: str | None = None
    first_seen_at: datetime | None = None


def ready_query(limit: int, *where: Any) -> Select[Any]:
    """The next ``limit`` ready articles (oldest first) with what processing needs, the first
    source's language included; ``where`` narrows it (e.g. to unclaimed rows)."""
    a, links = t.articles, t.article_sources
    source_language = (
        select(t.sources.c.language)
        .join(links, links.c.source_id == t.sources.c.id)
        .where(links.c.article_id == a.c.id)
        .order_by(links.c.first_seen_at, links.c.source_id)
        .limit(1)
        .scalar_subquery()
        .label("source_language")
    )
    return (
        select(
            a.c.id,
            a.c.url,
            a.c.title,
            a.c.summary,
            a.c.html,
            a.c.text,
            a.c.language,
            a.c.published_at,
            source_language,
            a.c.date_flag,
            a.c.first_seen_at,
        )
        .where(a.c.state == "ready", *where)
        .order_by(a.c.id)
        .limit(limit)
    )


def claim_ready(conn: Connection, limit: int) -> list[ReadyArticle]:
    """The next batch to process. On PostgreSQL rows are locked with SKIP LOCKED, so any
    number of workers can share the queue; on SQLite the write transaction serialises them."""
    q = ready_query(limit)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True, of=t.articles)
    return [ReadyArticle(**r._mapping) for r in conn.execute(q).all()]


#: The meta key of a token that changes (a fresh random value) whenever originals are stored:
#: read before a worker's duplicate checks and again in its write transaction, equal means no
#: original was stored meanwhile, so the checks need not run again.
ORIGINALS_MARK = "originals_written"


def originals_mark(conn: Connection) -> str | None:
    """The current ``ORIGINALS_MARK`` token (None: no original ever stored with one)."""
    return get_meta(conn, ORIGINALS_MARK)


def find_duplicates(
    conn: Connection, content_hashes: Sequence[str], exclude: Sequence[int] = ()
) -> dict[str, int]:
    """Content hash → the earliest processed original with that normalised text (syndicated
    copies), for one batch in one query; ``exclude``: articles that are not candidates (the
    batch's own, already written in this transaction)."""
    if not content_hashes:
        return {}
    a = t.articles
    q = (
        select(a.c.content_hash, func.min(a.c.id))
        .where(
            a.c.content_hash.in_(sorted(set(content_hashes))),
            a.c.state == "done",
            a.c.dup_of.is_(None),
        )
        .group_by(a.c.content_hash)
    )
    if exclude:
        q = q.where(a.c.id.not_in(list(exclude)))
    return {h: int(i) for h, i in conn.execute(q).all()}


def mark_duplicate(
    conn: Connection, article_id: int, original_id: int, text: str, content_hash: str, now: datetime
) -> None:
    """Collapse a copy into its original: the copy's sources count for the original."""
    rows = conn.execute(
        select(t.article_sources).where(t.article_sources.c.article_id == article_id)
    ).all()
    for r in rows:
        conn.execute(
            _insert(conn, t.article_sources)
            .values(
                article_id=original_id,
                source_id=r.source_id,
                guid=r.guid,
                first_seen_at=r.first_seen_at,
            )
            .on_conflict_do_nothing(index_elements=["article_id", "source_id"])
        )
    conn.execute(
        update(t.articles)
        .where(t.articles.c.id == article_id)
        .values(
            state="done", dup_of=original_id, text=text, content_hash=content_hash, processed_at=now
        )
    )


@dataclass(frozen=True)
class Redate:
    """The page's date, replacing a feed date that was missing or in the future."""

    published_at: datetime
    week: str
    date_flag: str = "page"


@dataclass(frozen=True)
class Processed:
    """One analysed article, ready to be written."""

    article_id: int
    text: str
    content_hash: str
    language: str
    doc: AnalysedDoc
    hits: Sequence[Hit]
    judgements: Sequence[Judgement] = ()
    redate: Redate | None = None


def save_processed(
    conn: Connection,
    article_id: int,
    text: str,
    content_hash: str,
    language: str,
    doc: AnalysedDoc,
    hits: Sequence[Hit],
    ruleset_version: str,
    keys_version: str,
    now: datetime,
    judgements: Sequence[Judgement] = (),
    redate: Redate | None = None,
) -> None:
    save_processed_many(
        conn,
        [Processed(article_id, text, content_hash, language, doc, hits, judgements, redate)],
        ruleset_version,
        keys_version,
        now,
    )


def save_processed_many(
    conn: Connection,
    rows: Sequence[Processed],
    ruleset_version: str,
    keys_version: str,
    now: datetime,
) -> None:
    """Analyses, entities, sentence hits and judgements of a batch, replacing older ones, and the
    articles marked done: a few multi-row statements per batch instead of several per article."""
    if not rows:
        return
    store_analyses(conn, rows, ruleset_version, keys_version, now)
    announce_originals(conn)
    apply_redates(conn, rows)


def announce_originals(conn: Connection) -> None:
    """Replace ``ORIGINALS_MARK``: originals were stored, other workers' checks must run again."""
    set_meta(conn, ORIGINALS_MARK, uuid.uuid4().hex)


def store_analyses(
    conn: Connection,
    rows: Sequence[Processed],
    ruleset_version: str,
    keys_version: str,
    now: datetime,
) -> None:
    """What ``save_processed_many`` writes but the mark and the redates: what does not depend on
    the other workers' writes (``signals.process`` writes it before waiting for them)."""
    if not rows:
        return
    ids = [r.article_id for r in rows]
    # only articles analysed before have keys, hits and judgements to replace: for the others
    # (nearly every article of a run) the deletes are skipped, which a young PostgreSQL store,
    # whose statistics are not gathered yet, ran as scans of whole tables (the key index first)
    before = [
        int(i)
        for i in conn.execute(
            select(t.analyses.c.article_id).where(t.analyses.c.article_id.in_(ids))
        ).scalars()
    ]
    if before:
        conn.execute(delete(t.analyses).where(t.analyses.c.article_id.in_(before)))
    conn.execute(
        t.analyses.insert(),
        [
            {
                "article_id": r.article_id,
                "keys_version": keys_version,
                "language": r.doc.language,
                "sentences": [[s.text, " ".join(s.keys)] for s in r.doc.sentences],
            }
            for r in rows
        ],
    )
    keyindex.replace(
        conn,
        [(r.article_id, keyindex.keys_of(s.keys for s in r.doc.sentences)) for r in rows],
        stored=before,
    )
    for r in rows:
        if r.doc.entities:
            save_entities(conn, r.article_id, r.doc.entities)
    replace_matches_many(
        conn, [(r.article_id, r.hits, r.judgements) for r in rows], ruleset_version, before
    )
    conn.execute(
        update(t.articles)
        .where(t.articles.c.id == bindparam("aid"))
        .values(
            state="done",
            text=bindparam("new_text"),
            content_hash=bindparam("new_hash"),
            language=bindparam("new_language"),
            processed_at=now,
        ),
        [
            {
                "aid": r.article_id,
                "new_text": r.text,
                "new_hash": r.content_hash,
                "new_language": r.language,
            }
            for r in rows
        ],
    )


def apply_redates(conn: Connection, rows: Sequence[Processed]) -> None:
    """The page dates of those of ``rows`` that have one (``Processed.redate``)."""
    redated = [
        {
            "aid": r.article_id,
            "new_published": r.redate.published_at,
            "new_week": r.redate.week,
            "new_flag": r.redate.date_flag,
        }
        for r in rows
        if r.redate is not None
    ]
    if redated:
        conn.execute(
            update(t.articles)
            .where(t.articles.c.id == bindparam("aid"))
            .values(
                published_at=bindparam("new_published"),
                week=bindparam("new_week"),
                date_flag=bindparam("new_flag"),
            ),
            redated,
        )


def forget_processed(conn: Connection, article_ids: Sequence[int]) -> None:
    """Undo ``store_analyses`` and ``save_entities`` for these articles of the transaction (found
    to be copies after all): their analyses, indexed keys, hits, judgements and entities."""
    if not article_ids:
        return
    ids = list(article_ids)
    for table in (
        t.analyses,
        t.analysis_keys,
        t.matches,
        t.judgements,
        t.entities,
        t.entity_runs,
    ):
        conn.execute(delete(table).where(table.c.article_id.in_(ids)))


def save_entities(conn: Connection, article_id: int, entities: Sequence[Entity]) -> None:
    """The article's named entities (replacing older ones), and that NER has run on it."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for e in entities:
        counts[(e.text[:300], e.label)] += 1
    conn.execute(delete(t.entities).where(t.entities.c.article_id == article_id))
    if counts:
        conn.execute(
            t.entities.insert(),
            [
                {"article_id": article_id, "text": k[0], "label": k[1], "count": c}
                for k, c in counts.items()
            ],
        )
    conn.execute(
        _insert(conn, t.entity_runs)
        .values(article_id=article_id)
        .on_conflict_do_nothing(index_elements=["article_id"])
    )


def has_entities_run(conn: Connection, article_id: int) -> bool:
    q = select(t.entity_runs.c.article_id).where(t.entity_runs.c.article_id == article_id)
    return conn.execute(q).first() is not None


def articles_without_entities(
    conn: Connection, article_ids: Sequence[int]
) -> list[tuple[int, str]]:
    """(id, text) of those articles on which NER has not run yet."""
    if not article_ids:
        return []
    done = select(t.entity_runs.c.article_id)
    q = select(t.articles.c.id, t.articles.c.text).where(
        t.articles.c.id.in_(list(article_ids)), t.articles.c.id.not_in(done)
    )
    return [(int(i), text or "") for i, text in conn.execute(q).all()]


def mark_failed(conn: Connection, article_id: int, reason: str, now: datetime) -> None:
    conn.execute(
        update(t.articles)
        .where(t.articles.c.id == article_id)
        .values(state="failed", page_status=reason[:500], processed_at=now)
    )


def replace_matches(
    conn: Connection,
    article_id: int,
    hits: Sequence[Hit],
    ruleset_version: str,
    judgements: Sequence[Judgement] = (),
) -> None:
    """The article's sentence hits and their article-level judgements, replacing older ones."""
    replace_matches_many(conn, [(article_id, hits, judgements)], ruleset_version)


def replace_matches_many(
    conn: Connection,
    rows: Sequence[tuple[int, Sequence[Hit], Sequence[Judgement]]],
    ruleset_version: str,
    stored: Sequence[int] | None = None,
) -> None:
    """Several articles' hits and judgements, replacing older ones, in a few statements;
    ``stored``: those of the articles that may have some already (None: any of them)."""
    if not rows:
        return
    ids = [aid for aid, _, _ in rows] if stored is None else list(stored)
    if ids:
        conn.execute(delete(t.judgements).where(t.judgements.c.article_id.in_(ids)))
    judged = [
        {
            "article_id": aid,
            "rupture_id": j.rupture_id,
            "polarity": str(j.polarity),
            "score": j.score,
            "accepted": j.accepted,
            "reasons": list(j.reasons),
        }
        for aid, _, judgements in rows
        for j in judgements
    ]
    if judged:
        conn.execute(t.judgements.insert(), judged)
    if ids:
        conn.execute(delete(t.matches).where(t.matches.c.article_id.in_(ids)))
    matched = [
        {
            "article_id": aid,
            "rupture_id": h.rupture_id,
            "item_id": h.item_id,
            "kind": str(h.kind),
            "sentence": h.sentence[:5000],
            "weight": h.weight,
            "ruleset_version": ruleset_version,
        }
        for aid, hits, _ in rows
        for h in hits
    ]
    if matched:
        conn.execute(t.matches.insert(), matched)


def set_matches_version(conn: Connection, ruleset_version: str) -> None:
    """Every stored match marked as computed with ``ruleset_version`` (the re-match found that
    the edit leaves them as they are)."""
    conn.execute(
        update(t.matches)
        .where(t.matches.c.ruleset_version != ruleset_version)
        .values(ruleset_version=ruleset_version)
    )


@dataclass(frozen=True)
class StoredAnalysis:
    article_id: int
    language: str
    keys_version: str
    sentences: list[tuple[str, str]]


def count_analyses(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(t.analyses)).scalar_one())


def iter_analyses(conn: Connection, after_id: int, limit: int) -> list[StoredAnalysis]:
    q = (
        select(t.analyses)
        .where(t.analyses.c.article_id > after_id)
        .order_by(t.analyses.c.article_id)
        .limit(limit)
    )
    return [
        StoredAnalysis(r.article_id, r.language, r.keys_version, [tuple(s) for s in r.sentences])
        for r in conn.execute(q).all()
    ]


def update_keys(
    conn: Connection, article_id: int, sentences: list[list[str]], keys_version: str
) -> None:
    conn.execute(
        update(t.analyses)
        .where(t.analyses.c.article_id == article_id)
        .values(sentences=sentences, keys_version=keys_version)
    )


# --------------------------------------------------------------------------- counts and reports


def count_articles(conn: Connection, **where: Any) -> int:
    q = select(func.count()).select_from(t.articles)
    for k, v in where.items():
        q = q.where(t.articles.c[k] == v)
    return int(conn.execute(q).scalar_one())


def analysed_per_week(conn: Connection, weeks: Sequence[str]) -> dict[str, int]:
    q = (
        select(t.articles.c.week, func.count())
        .where(
            t.articles.c.week.in_(weeks),
            t.articles.c.state == "done",
            t.articles.c.dup_of.is_(None),
        )
        .group_by(t.articles.c.week)
    )
    return {w: int(n) for w, n in conn.execute(q).all()}


def _kind_filter(kinds: Iterable[str]) -> Any:
    return t.matches.c.kind.in_(list(kinds))


def kinds_of(polarity: Polarity) -> list[str]:
    if polarity is Polarity.EVIDENCE:
        return sorted(str(k) for k in EVIDENCE_KINDS)
    return [str(ItemKind.DOUBT)]


def _verdict_of_judgement() -> Any:
    """The join of ``verdicts`` to the ``judgements`` row they are about."""
    j, v = t.judgements, t.verdicts
    return and_(
        v.c.article_id == j.c.article_id,
        v.c.rupture_id == j.c.rupture_id,
        v.c.polarity == j.c.polarity,
    )


def counted(
    polarity: Polarity, rupture_id: str | None = None, weeks: Sequence[str] | None = None
) -> Any:
    """(article_id, rupture_id) pairs that count: accepted by the judge and not rejected by an
    analyst, or confirmed by an analyst. Copies collapsed into an original never count.

    ``rupture_id`` / ``weeks`` narrow both branches of the union (the same pairs as filtering
    its result, but SQLite then reads one week's judgements, not the whole history's: the
    weekly digest over 1M articles, ``bench/digest_scale.py``)."""
    j, v = t.judgements, t.verdicts
    judged = (
        select(j.c.article_id, j.c.rupture_id)
        .outerjoin(v, _verdict_of_judgement())
        .where(
            j.c.polarity == str(polarity),
            j.c.accepted.is_(True),
            or_(v.c.verdict.is_(None), v.c.verdict != "rejected"),
        )
    )
    confirmed = select(v.c.article_id, v.c.rupture_id).where(
        v.c.polarity == str(polarity), v.c.verdict == "confirmed"
    )
    if rupture_id is not None:
        judged = judged.where(j.c.rupture_id == rupture_id)
        confirmed = confirmed.where(v.c.rupture_id == rupture_id)
    if weeks is not None:
        in_weeks = select(t.articles.c.id).where(t.articles.c.week.in_(list(weeks)))
        judged = judged.where(j.c.article_id.in_(in_weeks))
        confirmed = confirmed.where(v.c.article_id.in_(in_weeks))
    return judged.union(confirmed).subquery()


def rupture_counts(
    conn: Connection, weeks: Sequence[str], polarity: Polarity
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """rupture → week → counted articles, and → distinct sources of those articles."""
    c = counted(polarity)  # narrowing to ``weeks`` (a year and more) was 4x slower on 1M articles
    base = (
        select(c.c.rupture_id, t.articles.c.week, t.articles.c.id.label("aid"))
        .join(t.articles, t.articles.c.id == c.c.article_id)
        .where(t.articles.c.week.in_(weeks), t.articles.c.dup_of.is_(None))
        .distinct()
        .subquery()
    )
    # one pass: the union is evaluated once for both counts (an article without any source
    # counts as an article, and a rupture-week whose articles have none gets no source count)
    links = t.article_sources
    q = (
        select(
            base.c.rupture_id,
            base.c.week,
            func.count(base.c.aid.distinct()),
            func.count(links.c.source_id.distinct()),
        )
        .select_from(base.outerjoin(links, links.c.article_id == base.c.aid))
        .group_by(base.c.rupture_id, base.c.week)
    )
    arts: dict[str, dict[str, int]] = defaultdict(dict)
    srcs: dict[str, dict[str, int]] = defaultdict(dict)
    for rid, week, n_articles, n_sources in conn.execute(q).all():
        arts[rid][week] = int(n_articles)
        if n_sources:
            srcs[rid][week] = int(n_sources)
    return dict(arts), dict(srcs)


def counted_article_ids(conn: Connection, week: str, polarity: Polarity) -> list[int]:
    c = counted(polarity, weeks=[week])
    q = (
        select(c.c.article_id)
        .join(t.articles, t.articles.c.id == c.c.article_id)
        .where(t.articles.c.week == week, t.articles.c.dup_of.is_(None))
        .distinct()
    )
    return sorted(int(i) for i in conn.execute(q).scalars())


def first_evidence_weeks(
    conn: Connection, polarity: Polarity = Polarity.EVIDENCE
) -> dict[str, str]:
    c = counted(polarity)
    q = (
        select(c.c.rupture_id, func.min(t.articles.c.week))
        .join(t.articles, t.articles.c.id == c.c.article_id)
        .where(t.articles.c.dup_of.is_(None))
        .group_by(c.c.rupture_id)
    )
    return {rid: w for rid, w in conn.execute(q).all()}


def first_analysed_week(conn: Connection) -> str | None:
    """The earliest week with an analysed article: where the store's history begins.

    Week by week from the first, each an index probe: ``min(week) WHERE state = 'done'`` read
    every analysed article through ``ix_articles_state`` (0.7 s on 1M articles)."""
    a = t.articles
    week = conn.execute(select(func.min(a.c.week))).scalar()
    while week is not None:
        done = select(a.c.id).where(a.c.week == week, a.c.state == "done").limit(1)
        if conn.execute(done).first() is not None:
            return str(week)
        week = conn.execute(select(func.min(a.c.week)).where(a.c.week > week)).scalar()
    return None


@dataclass(frozen=True)
class MatchedArticle:
    article_id: int
    url: str
    title: str
    published_at: datetime
    language: str | None
    sources: tuple[str, ...]
    item_ids: tuple[str, ...]
    kinds: tuple[str, ...]
    sentences: tuple[str, ...]
    weight: float
    score: float = 1.0  # the judge's probability
    reasons: tuple[str, ...] = ()
    verdict: str | None = None  # confirmed | rejected, from an analyst


def _group_articles(
    conn: Connection,
    rows: Sequence[Any],
    extra: dict[int, tuple[float, tuple[str, ...], str | None]],
) -> list[MatchedArticle]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        grouped[r.article_id].append(r)
    if not grouped:
        return []
    srcq = (
        select(t.article_sources.c.article_id, t.sources.c.name)
        .join(t.sources, t.sources.c.id == t.article_sources.c.source_id)
        .where(t.article_sources.c.article_id.in_(list(grouped)))
        .order_by(t.sources.c.name)
    )
    src: dict[int, list[str]] = defaultdict(list)
    for aid, name in conn.execute(srcq).all():
        src[aid].append(name)
    out = []
    for aid, rs in grouped.items():
        first = rs[0]
        score, reasons, verdict = extra.get(aid, (1.0, (), None))
        out.append(
            MatchedArticle(
                article_id=aid,
                url=first.url,
                title=first.title,
                published_at=first.published_at,
                language=first.language,
                sources=tuple(src[aid]),
                item_ids=tuple(r.item_id for r in rs),
                kinds=tuple(r.kind for r in rs),
                sentences=tuple(r.sentence for r in rs),
                weight=sum(r.weight for r in rs),
                score=score,
                reasons=reasons,
                verdict=verdict,
            )
        )
    out.sort(
        key=lambda a: (
            a.verdict != "confirmed",
            -a.score,
            -len(set(a.item_ids)),
            -len(a.sources),
            a.published_at,
        )
    )
    return out


def _match_rows(
    conn: Connection, rupture_id: str, kinds: Iterable[str], article_ids: Sequence[int]
) -> list[Any]:
    """The hits of one rupture's items of ``kinds`` in these articles (not copies).

    Read by article (``uq_matches_article_item``), rupture and kind kept here: with them in
    the query SQLite read every hit of the rupture in the history (``ix_matches_rupture``)."""
    wanted = set(kinds)
    out: list[Any] = []
    for i in range(0, len(article_ids), 500):
        q = (
            select(
                t.matches.c.article_id,
                t.matches.c.rupture_id,
                t.matches.c.item_id,
                t.matches.c.kind,
                t.matches.c.sentence,
                t.matches.c.weight,
                t.articles.c.url,
                t.articles.c.title,
                t.articles.c.published_at,
                t.articles.c.language,
            )
            .join(t.articles, t.articles.c.id == t.matches.c.article_id)
            .where(
                t.articles.c.dup_of.is_(None),
                t.matches.c.article_id.in_(list(article_ids[i : i + 500])),
            )
            .order_by(t.matches.c.article_id, t.matches.c.id)
        )
        out += [r for r in conn.execute(q).all() if r.rupture_id == rupture_id and r.kind in wanted]
    return out


def counted_week(conn: Connection, week: str, polarity: Polarity) -> dict[str, list[int]]:
    """rupture → the week's counted article ids (sorted): what :func:`counted_articles` reads
    for every rupture at once."""
    c = counted(polarity, weeks=[week])
    q = (
        select(c.c.rupture_id, c.c.article_id)
        .join(t.articles, t.articles.c.id == c.c.article_id)
        .where(t.articles.c.week == week)
    )
    out: dict[str, set[int]] = defaultdict(set)
    for rid, aid in conn.execute(q).all():
        out[str(rid)].add(int(aid))
    return {rid: sorted(ids) for rid, ids in out.items()}


def near_line_week(
    conn: Connection, week: str, polarity: Polarity, min_score: float, per_rupture: int
) -> dict[str, list[int]]:
    """rupture → the week's candidates the judge rejected with a score of at least
    ``min_score`` (best first, at most ``per_rupture``): not counted, not a copy, and neither
    confirmed (those count) nor rejected by an analyst."""
    j, v, a = t.judgements, t.verdicts, t.articles
    q = (
        select(j.c.rupture_id, j.c.article_id)
        .join(a, a.c.id == j.c.article_id)
        .outerjoin(v, _verdict_of_judgement())
        .where(
            a.c.week == week,
            a.c.dup_of.is_(None),
            j.c.polarity == str(polarity),
            j.c.accepted.is_(False),
            j.c.score >= min_score,
            v.c.verdict.is_(None),
        )
        .order_by(j.c.rupture_id, j.c.score.desc(), j.c.article_id)
    )
    out: dict[str, list[int]] = defaultdict(list)
    for rid, aid in conn.execute(q).all():
        if len(out[str(rid)]) < per_rupture:
            out[str(rid)].append(int(aid))
    return dict(out)


def counted_articles(
    conn: Connection,
    rupture_id: str,
    week: str,
    polarity: Polarity,
    article_ids: Sequence[int] | None = None,
) -> list[MatchedArticle]:
    """The week's counted articles of one rupture and polarity with their hits, best first.
    ``article_ids``: those articles instead, already read (``counted_week(…)[rupture_id]``, or
    the candidates of ``near_line_week``, which are not counted), with their judgement."""
    ids = (
        list(article_ids)
        if article_ids is not None
        else counted_week(conn, week, polarity).get(rupture_id, [])
    )
    if not ids:
        return []
    j, v = t.judgements, t.verdicts
    extra: dict[int, tuple[float, tuple[str, ...], str | None]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        jq = (
            select(j.c.article_id, j.c.score, j.c.reasons, v.c.verdict)
            .outerjoin(v, _verdict_of_judgement())
            .where(
                j.c.rupture_id == rupture_id,
                j.c.polarity == str(polarity),
                j.c.article_id.in_(chunk),
            )
        )
        for aid, score, reasons, verdict in conn.execute(jq).all():
            extra[aid] = (float(score), tuple(reasons or ()), verdict)
        vq = select(v.c.article_id, v.c.verdict).where(
            v.c.rupture_id == rupture_id, v.c.polarity == str(polarity), v.c.article_id.in_(chunk)
        )
        for aid, verdict in conn.execute(vq).all():
            score, reasons, _ = extra.get(aid, (1.0, (), None))
            extra[aid] = (score, reasons, verdict)
    return _group_articles(conn, _match_rows(conn, rupture_id, kinds_of(polarity), ids), extra)


def matched_articles(
    conn: Connection, rupture_id: str, week: str, kinds: Iterable[str]
) -> list[MatchedArticle]:
    """Articles of one rupture and week with sentence hits of ``kinds`` (e.g. announcers)."""
    kinds = list(kinds)
    q = (
        select(t.matches.c.article_id)
        .join(t.articles, t.articles.c.id == t.matches.c.article_id)
        .where(
            t.matches.c.rupture_id == rupture_id,
            _kind_filter(kinds),
            t.articles.c.week == week,
        )
        .distinct()
    )
    ids = sorted(int(i) for i in conn.execute(q).scalars())
    return _group_articles(conn, _match_rows(conn, rupture_id, kinds, ids), {})


def entity_counts(
    conn: Connection, article_ids: Sequence[int], limit: int = 10
) -> list[tuple[str, int]]:
    if not article_ids:
        return []
    q = (
        select(t.entities.c.text, func.count(t.entities.c.article_id.distinct()).label("n"))
        .where(
            t.entities.c.article_id.in_(list(article_ids)), t.entities.c.label.in_(["PER", "ORG"])
        )
        .group_by(t.entities.c.text)
        .order_by(func.count(t.entities.c.article_id.distinct()).desc(), t.entities.c.text)
        .limit(limit)
    )
    return [(name, int(n)) for name, n in conn.execute(q).all()]


def active_sources(conn: Connection, week: str) -> int:
    q = (
        select(func.count(t.article_sources.c.source_id.distinct()))
        .join(t.articles, t.articles.c.id == t.article_sources.c.article_id)
        .where(t.articles.c.week == week)
    )
    return int(conn.execute(q).scalar_one())


def export_rows(conn: Connection, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    """Every match of articles published in [start, end), oldest first, with the article-level
    judgement of its (rupture, polarity): ``score``, ``accepted``, ``reasons`` (empty for
    announcers, which are not judged)."""
    srcname = (
        select(func.min(t.sources.c.name))
        .select_from(
            t.article_sources.join(t.sources, t.sources.c.id == t.article_sources.c.source_id)
        )
        .where(t.article_sources.c.article_id == t.articles.c.id)
        .scalar_subquery()
    )
    jq = (
        select(
            t.judgements.c.article_id,
            t.judgements.c.rupture_id,
            t.judgements.c.polarity,
            t.judgements.c.score,
            t.judgements.c.accepted,
            t.judgements.c.reasons,
        )
        .join(t.articles, t.articles.c.id == t.judgements.c.article_id)
        .where(t.articles.c.published_at >= start, t.articles.c.published_at < end)
    )
    judged = {(r.article_id, r.rupture_id, r.polarity): r for r in conn.execute(jq)}
    q = (
        select(
            t.articles.c.id,
            t.articles.c.url,
            t.articles.c.title,
            srcname.label("source"),
            t.articles.c.published_at,
            t.matches.c.rupture_id,
            t.matches.c.item_id,
            t.matches.c.kind,
            t.matches.c.sentence,
        )
        .join(t.articles, t.articles.c.id == t.matches.c.article_id)
        .where(t.articles.c.published_at >= start, t.articles.c.published_at < end)
        .order_by(t.articles.c.published_at, t.articles.c.id, t.matches.c.item_id)
    )
    for r in conn.execute(q):
        d = dict(r._mapping)
        aid = d.pop("id")
        d["published"] = d.pop("published_at").isoformat()
        pol = polarity_of(ItemKind(d["kind"]))
        j = judged.get((aid, d["rupture_id"], str(pol))) if pol is not None else None
        d["score"] = round(float(j.score), 4) if j is not None else None
        d["accepted"] = bool(j.accepted) if j is not None else None
        d["reasons"] = "; ".join(j.reasons or ()) if j is not None else ""
        yield d


# --------------------------------------------------------------------------- review and verdicts


def review_rows(
    conn: Connection,
    start: datetime,
    end: datetime,
    include_rejected: bool,
    min_score: float = 0.0,
) -> Iterator[dict[str, Any]]:
    """Judged candidates of articles published in [start, end) with their analyst verdict: the
    accepted ones, and with ``include_rejected`` the rejected ones scored ``min_score`` or more."""
    j, v, a = t.judgements, t.verdicts, t.articles
    srcname = (
        select(func.min(t.sources.c.name))
        .select_from(
            t.article_sources.join(t.sources, t.sources.c.id == t.article_sources.c.source_id)
        )
        .where(t.article_sources.c.article_id == a.c.id)
        .scalar_subquery()
    )
    q = (
        select(
            a.c.id,
            a.c.url,
            a.c.title,
            srcname.label("source"),
            a.c.published_at,
            j.c.rupture_id,
            j.c.polarity,
            j.c.score,
            j.c.accepted,
            j.c.reasons,
            v.c.verdict,
            v.c.who,
            v.c.note,
        )
        .join(a, a.c.id == j.c.article_id)
        .outerjoin(v, _verdict_of_judgement())
        .where(a.c.published_at >= start, a.c.published_at < end, a.c.dup_of.is_(None))
        .order_by(a.c.published_at, a.c.id, j.c.rupture_id, j.c.polarity)
    )
    if not include_rejected:
        q = q.where(j.c.accepted.is_(True))
    elif min_score > 0:
        q = q.where(or_(j.c.accepted.is_(True), j.c.score >= min_score))
    for r in conn.execute(q):
        yield dict(r._mapping)


def best_sentence(conn: Connection, article_id: int, rupture_id: str, kinds: Iterable[str]) -> str:
    q = (
        select(t.matches.c.sentence)
        .where(
            t.matches.c.article_id == article_id,
            t.matches.c.rupture_id == rupture_id,
            _kind_filter(kinds),
        )
        .order_by(t.matches.c.weight.desc(), t.matches.c.id)
        .limit(1)
    )
    return str(conn.execute(q).scalar() or "")


def article_ids_by_url(conn: Connection, urls: Iterable[str]) -> dict[str, int]:
    wanted = {url_hash(u): u for u in urls}
    out: dict[str, int] = {}
    keys = list(wanted)
    for i in range(0, len(keys), 500):
        q = select(t.articles.c.url_hash, t.articles.c.id).where(
            t.articles.c.url_hash.in_(keys[i : i + 500])
        )
        for h, aid in conn.execute(q).all():
            out[wanted[h]] = int(aid)
    return out


def save_verdicts(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Upsert analysts' verdicts (the latest verdict on a pair wins)."""
    for row in rows:
        conn.execute(
            delete(t.verdicts).where(
                t.verdicts.c.article_id == row["article_id"],
                t.verdicts.c.rupture_id == row["rupture_id"],
                t.verdicts.c.polarity == row["polarity"],
            )
        )
    if rows:
        conn.execute(t.verdicts.insert(), list(rows))


def all_verdicts(conn: Connection) -> list[dict[str, Any]]:
    q = (
        select(t.verdicts, t.articles.c.url, t.articles.c.published_at)
        .join(t.articles, t.articles.c.id == t.verdicts.c.article_id)
        .order_by(t.verdicts.c.at, t.verdicts.c.article_id)
    )
    return [dict(r._mapping) for r in conn.execute(q)]


def stored_analyses(conn: Connection, article_ids: Sequence[int]) -> list[StoredAnalysis]:
    out = []
    for i in range(0, len(article_ids), 500):
        q = select(t.analyses).where(t.analyses.c.article_id.in_(list(article_ids[i : i + 500])))
        out += [
            StoredAnalysis(
                r.article_id, r.language, r.keys_version, [tuple(s) for s in r.sentences]
            )
            for r in conn.execute(q).all()
        ]
    return out


def existing_article_ids(conn: Connection, ids: Sequence[int]) -> set[int]:
    out: set[int] = set()
    for i in range(0, len(ids), 500):
        q = select(t.articles.c.id).where(t.articles.c.id.in_(list(ids[i : i + 500])))
        out.update(int(x) for x in conn.execute(q).scalars())
    return out


def judged_ruptures(conn: Connection) -> set[str] | None:
    """Rupture ids present in the judgements (None when nothing is judged yet)."""
    ids = {str(x) for x in conn.execute(select(t.judgements.c.rupture_id).distinct()).scalars()}
    return ids or None


# --------------------------------------------------------------------------- explain and preview


@dataclass(frozen=True)
class ArticleRef:
    """An article's identity and provenance, for explanations and previews."""

    id: int
    url: str
    title: str
    published_at: datetime
    week: str
    language: str | None
    state: str
    dup_of: int | None
    sources: tuple[str, ...]  # source ids


def _article_refs(conn: Connection, where: Any) -> list[ArticleRef]:
    a = t.articles
    rows = conn.execute(
        select(
            a.c.id,
            a.c.url,
            a.c.title,
            a.c.published_at,
            a.c.week,
            a.c.language,
            a.c.state,
            a.c.dup_of,
        )
        .where(where)
        .order_by(a.c.id)
    ).all()
    if not rows:
        return []
    src: dict[int, list[str]] = defaultdict(list)
    ids = [int(r.id) for r in rows]
    for i in range(0, len(ids), 500):
        q = (
            select(t.article_sources.c.article_id, t.article_sources.c.source_id)
            .where(t.article_sources.c.article_id.in_(ids[i : i + 500]))
            .order_by(t.article_sources.c.source_id)
        )
        for aid, sid in conn.execute(q).all():
            src[int(aid)].append(str(sid))
    return [
        ArticleRef(
            int(r.id),
            r.url,
            r.title,
            r.published_at,
            r.week,
            r.language,
            r.state,
            r.dup_of,
            tuple(src[int(r.id)]),
        )
        for r in rows
    ]


def find_article(
    conn: Connection, article_id: int | None = None, urls: Sequence[str] = ()
) -> ArticleRef | None:
    """The article with this id, or the first of ``urls`` (exact, then canonical spellings) stored."""
    if article_id is not None:
        found = _article_refs(conn, t.articles.c.id == article_id)
        return found[0] if found else None
    for u in urls:
        found = _article_refs(conn, t.articles.c.url_hash == url_hash(u))
        if found:
            return found[0]
    return None


def article_refs(conn: Connection, ids: Sequence[int]) -> dict[int, ArticleRef]:
    out: dict[int, ArticleRef] = {}
    for i in range(0, len(ids), 500):
        out.update(
            (r.id, r) for r in _article_refs(conn, t.articles.c.id.in_(list(ids[i : i + 500])))
        )
    return out


def article_judgements(conn: Connection, article_id: int) -> list[Judgement]:
    """The stored article-level judgements of one article (as the digest counts them)."""
    j = t.judgements
    q = select(j).where(j.c.article_id == article_id).order_by(j.c.rupture_id, j.c.polarity)
    return [
        Judgement(
            r.rupture_id,
            Polarity(r.polarity),
            float(r.score),
            bool(r.accepted),
            tuple(r.reasons or ()),
        )
        for r in conn.execute(q).all()
    ]


def analysed_weeks(conn: Connection) -> list[str]:
    """Every week with an analysed article, in order."""
    q = (
        select(t.articles.c.week)
        .where(t.articles.c.state == "done")
        .distinct()
        .order_by(t.articles.c.week)
    )
    return [str(w) for w in conn.execute(q).scalars()]


def verdict_pairs(conn: Connection) -> dict[tuple[int, str, str], str]:
    """(article id, rupture id, polarity) → the analyst's verdict (confirmed | rejected)."""
    v = t.verdicts
    q = select(v.c.article_id, v.c.rupture_id, v.c.polarity, v.c.verdict)
    return {(int(a), str(r), str(p)): str(x) for a, r, p, x in conn.execute(q).all()}
