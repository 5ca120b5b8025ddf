"""Table analysis_keys (key, article_id): the key index of the stored analyses, so that a
re-match after an edit of ``scenarios.yaml`` re-matches only the articles a changed term can hit
(``signals.rematch_plan``) instead of every stored analysis; and an index on
analyses(language), so that it computes the terms' keys only for the languages stored.

``process`` writes an article's keys with its analysis. The analyses stored before this
revision are indexed lazily: until ``meta.key_index`` records a complete index, the next
re-match (after the next edit, or ``rematch(force=True)``) is a full one and indexes every
analysis it re-matches, then records ``key_index``; from then on re-matches are incremental.
A database with no analyses yet needs nothing (its first re-match has nothing to index).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analysis_keys",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_analysis_keys_article", "analysis_keys", ["article_id"])
    op.create_index("ix_analyses_language", "analyses", ["language"])


def downgrade() -> None:
    op.drop_index("ix_analyses_language", table_name="analyses")
    op.drop_index("ix_analysis_keys_article", table_name="analysis_keys")
    op.drop_table("analysis_keys")
