"""Tables. The same definitions serve SQLite and PostgreSQL.

Timestamps are stored as timezone-aware UTC (``UtcDateTime`` turns SQLite's naive values back
into aware ones). ``articles.week`` is the ISO week of the article's effective date, stored so
that every count and every digest windows on the same dates.

These definitions are what the code queries; the database is built and changed by the
migrations in ``migrations/versions`` (a change here needs a revision there:
``tests/store/test_migrations.py`` compares a migrated database with these tables).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect


class UtcDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        dt: datetime = value
        if dt.tzinfo is None:
            return dt.replace(tzinfo=UTC)
        return dt.astimezone(UTC)


metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

sources = Table(
    "sources",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("name", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("language", String(8), nullable=False),
    Column("tags", JSON, nullable=False, default=list),
    Column("kind", String(16), nullable=False, default="feed"),  # feed | import
    Column("interval_minutes", Integer, nullable=False, default=60),
    Column("fetch_pages", Boolean, nullable=False, default=True),
    Column("configured", Boolean, nullable=False, default=True),  # present in sources.yaml
    Column("enabled", Boolean, nullable=False, default=True),
    Column("disabled_reason", Text),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_attempt_at", UtcDateTime),
    Column("last_success_at", UtcDateTime),
    Column("next_fetch_at", UtcDateTime),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("consecutive_hard_failures", Integer, nullable=False, default=0),
    Column("total_failures", Integer, nullable=False, default=0),
    Column("last_status", String(16)),
    Column("last_reason", Text),
    Column("last_http_status", Integer),
    Column("items_total", Integer, nullable=False, default=0),
)

fetch_attempts = Table(
    "fetch_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", String(100), ForeignKey("sources.id"), nullable=False, index=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("http_status", Integer),
    Column("items", Integer, nullable=False, default=0),
    Column("new_items", Integer, nullable=False, default=0),
    Column("elapsed", Float, nullable=False, default=0.0),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", Text, nullable=False),
    Column("url_hash", String(64), nullable=False, unique=True),
    Column("guid", Text),
    Column("title", Text, nullable=False, default=""),
    Column("summary", Text, nullable=False, default=""),
    Column("published_at", UtcDateTime, nullable=False),  # effective date
    Column("published_raw", UtcDateTime),  # as the feed / corpus said
    Column("date_flag", String(16)),  # None | missing | future
    Column("week", String(8), nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("language", String(8)),
    Column("html", Text),
    Column("text", Text),
    Column("content_hash", String(64)),
    Column("dup_of", Integer, ForeignKey("articles.id")),
    # page: waits for its page download; ready: waits for processing; done; failed
    Column("state", String(8), nullable=False),
    Column("page_status", Text),
    Column("processed_at", UtcDateTime),
    # revision 0004: a worker's claim on a ready article, until ``lease_until`` (``signals.claims``)
    Column("claimed_by", String(64)),
    Column("lease_until", UtcDateTime),
    Index("ix_articles_state", "state", "id"),
    Index("ix_articles_week", "week"),
    Index("ix_articles_content_hash", "content_hash"),
    Index("ix_articles_published", "published_at"),  # revision 0002: export selects a period
    Index("ix_articles_week_state", "week", "state", "dup_of"),  # revision 0005: weekly counts
)

article_sources = Table(
    "article_sources",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
    Column("source_id", String(100), ForeignKey("sources.id"), primary_key=True),
    Column("guid", Text),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Index("ix_article_sources_source", "source_id"),
)

analyses = Table(
    "analyses",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
    Column("keys_version", String(16), nullable=False),
    Column("language", String(8), nullable=False),
    # [[sentence text, "space separated keys"], ...]: what re-matching needs, without the model
    Column("sentences", JSON, nullable=False),
    # revision 0006: the languages stored, in a few index probes (``keyindex.languages``)
    Index("ix_analyses_language", "language"),
)

#: revision 0006: every distinct key of an article's stored analysis (``analyses.sentences``),
#: so that a re-match after an edit finds the articles a changed term can hit by its first key
#: (``signals.rematch_plan``). Keys longer than ``keyindex.MAX_KEY`` are left out.
analysis_keys = Table(
    "analysis_keys",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
    Index("ix_analysis_keys_article", "article_id"),
    sqlite_with_rowid=False,  # the primary key is the table: one B-tree less to write
)

entities = Table(
    "entities",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
    Column("text", String(300), primary_key=True),
    Column("label", String(8), primary_key=True),
    Column("count", Integer, nullable=False),
)

matches = Table(
    "matches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("article_id", Integer, ForeignKey("articles.id"), nullable=False),
    Column("rupture_id", String(100), nullable=False),
    Column("item_id", String(100), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("sentence", Text, nullable=False),
    Column("weight", Float, nullable=False, default=1.0),
    Column("ruleset_version", String(40), nullable=False),
    UniqueConstraint("article_id", "item_id", name="uq_matches_article_item"),
    Index("ix_matches_rupture", "rupture_id", "kind"),
)

#: Articles on which the NER model has run (entities are computed only for evidence).
entity_runs = Table(
    "entity_runs",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
)

#: The article-level decision per (article, rupture, polarity) candidate; what the digest counts.
judgements = Table(
    "judgements",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
    Column("rupture_id", String(100), primary_key=True),
    Column("polarity", String(8), primary_key=True),  # evidence | counter
    Column("score", Float, nullable=False),
    Column("accepted", Boolean, nullable=False),
    Column("reasons", JSON, nullable=False),
    Index("ix_judgements_rupture", "rupture_id", "polarity", "accepted"),
)

#: Analysts' verdicts on (article, rupture, polarity): they override the judge in every count.
verdicts = Table(
    "verdicts",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
    Column("rupture_id", String(100), primary_key=True),
    Column("polarity", String(8), primary_key=True),
    Column("verdict", String(10), nullable=False),  # confirmed | rejected
    Column("who", String(200), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("note", Text, nullable=False, default=""),
)

#: MinHash LSH buckets of processed article bodies (see ``signals.neardup``): two articles sharing
#: a (band, bucket) within the time window are near-duplicate candidates.
near_dup_bands = Table(
    "near_dup_bands",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
    Column("band", Integer, primary_key=True),
    Column("bucket", BigInteger, nullable=False),
    Column("published_at", UtcDateTime, nullable=False),
    Index("ix_near_dup_bands_bucket", "bucket"),
)

weekly_scores = Table(
    "weekly_scores",
    metadata,
    Column("week", String(8), primary_key=True),
    Column("rupture_id", String(100), primary_key=True),
    Column("ruleset_version", String(40), nullable=False),
    Column("evidence", Integer, nullable=False),
    Column("analysed", Integer, nullable=False),
    Column("rate", Float, nullable=False),
    Column("baseline_rate", Float, nullable=False),
    Column("rate_ratio", Float),
    Column("p_value", Float, nullable=False),
    Column("q_value", Float, nullable=False),
    Column("sources", Integer, nullable=False),
    Column("doubts", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("confidence", String(8), nullable=False),
    Column("computed_at", UtcDateTime, nullable=False),
)

locks = Table(
    "locks",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("acquired_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
)
