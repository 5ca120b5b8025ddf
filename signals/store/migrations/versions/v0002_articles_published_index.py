"""Index articles(published_at): ``export`` and ``export --review`` select a period by it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_articles_published", "articles", ["published_at"])


def downgrade() -> None:
    op.drop_index("ix_articles_published", table_name="articles")
