"""The schema of release 0.1.0 (``SCHEMA_VERSION = 1``, made by ``create_all``), frozen.

Revision 0001 creates these tables, and a database made by that release is checked against
them before it is stamped. Never edit this file: change the schema with a new revision.
Only DDL matters here (no Python-side defaults, plain ``DateTime(timezone=True)``).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
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
    UniqueConstraint,
)

metadata = MetaData()
Utc = DateTime(timezone=True)

Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

Table(
    "sources",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("name", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("language", String(8), nullable=False),
    Column("tags", JSON, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("interval_minutes", Integer, nullable=False),
    Column("fetch_pages", Boolean, nullable=False),
    Column("configured", Boolean, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", Text),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_attempt_at", Utc),
    Column("last_success_at", Utc),
    Column("next_fetch_at", Utc),
    Column("consecutive_failures", Integer, nullable=False),
    Column("consecutive_hard_failures", Integer, nullable=False),
    Column("total_failures", Integer, nullable=False),
    Column("last_status", String(16)),
    Column("last_reason", Text),
    Column("last_http_status", Integer),
    Column("items_total", Integer, nullable=False),
)

Table(
    "fetch_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", String(100), ForeignKey("sources.id"), nullable=False, index=True),
    Column("started_at", Utc, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("http_status", Integer),
    Column("items", Integer, nullable=False),
    Column("new_items", Integer, nullable=False),
    Column("elapsed", Float, nullable=False),
)

Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", Text, nullable=False),
    Column("url_hash", String(64), nullable=False, unique=True),
    Column("guid", Text),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("published_at", Utc, nullable=False),
    Column("published_raw", Utc),
    Column("date_flag", String(16)),
    Column("week", String(8), nullable=False),
    Column("first_seen_at", Utc, nullable=False),
    Column("language", String(8)),
    Column("html", Text),
    Column("text", Text),
    Column("content_hash", String(64)),
    Column("dup_of", Integer, ForeignKey("articles.id")),
    Column("state", String(8), nullable=False),
    Column("page_status", Text),
    Column("processed_at", Utc),
    Index("ix_articles_state", "state", "id"),
    Index("ix_articles_week", "week"),
    Index("ix_articles_content_hash", "content_hash"),
)

Table(
    "article_sources",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
    Column("source_id", String(100), ForeignKey("sources.id"), primary_key=True),
    Column("guid", Text),
    Column("first_seen_at", Utc, nullable=False),
    Index("ix_article_sources_source", "source_id"),
)

Table(
    "analyses",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
    Column("keys_version", String(16), nullable=False),
    Column("language", String(8), nullable=False),
    Column("sentences", JSON, nullable=False),
)

Table(
    "entities",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
    Column("text", String(300), primary_key=True),
    Column("label", String(8), primary_key=True),
    Column("count", Integer, nullable=False),
)

Table(
    "matches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("article_id", Integer, ForeignKey("articles.id"), nullable=False),
    Column("rupture_id", String(100), nullable=False),
    Column("item_id", String(100), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("sentence", Text, nullable=False),
    Column("weight", Float, nullable=False),
    Column("ruleset_version", String(40), nullable=False),
    UniqueConstraint("article_id", "item_id", name="uq_matches_article_item"),
    Index("ix_matches_rupture", "rupture_id", "kind"),
)

Table(
    "entity_runs",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
)

Table(
    "judgements",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
    Column("rupture_id", String(100), primary_key=True),
    Column("polarity", String(8), primary_key=True),
    Column("score", Float, nullable=False),
    Column("accepted", Boolean, nullable=False),
    Column("reasons", JSON, nullable=False),
    Index("ix_judgements_rupture", "rupture_id", "polarity", "accepted"),
)

Table(
    "verdicts",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
    Column("rupture_id", String(100), primary_key=True),
    Column("polarity", String(8), primary_key=True),
    Column("verdict", String(10), nullable=False),
    Column("who", String(200), nullable=False),
    Column("at", Utc, nullable=False),
    Column("note", Text, nullable=False),
)

Table(
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
    Column("computed_at", Utc, nullable=False),
)

Table(
    "locks",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("acquired_at", Utc, nullable=False),
    Column("heartbeat_at", Utc, nullable=False),
)

#: Tables added during 0.1.0's development, which its ``create_all`` added to older databases
#: on their next start: a database made before them is completed, not refused, when stamped.
LATE_TABLES = frozenset({"entity_runs", "judgements", "verdicts"})
