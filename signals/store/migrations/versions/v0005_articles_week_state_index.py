"""Index articles(week, state, dup_of): the digest's per-week counts of analysed originals
(``analysed_per_week``) read it instead of scanning every processed article (1.1 s → 0.2 s a
call on the 1,000,000-article bench store, ``bench/digest_scale.py``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_articles_week_state", "articles", ["week", "state", "dup_of"])


def downgrade() -> None:
    op.drop_index("ix_articles_week_state", table_name="articles")
